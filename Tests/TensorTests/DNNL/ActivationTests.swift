// oneDNN elementwise activations against closed-form references.
import Testing

@testable import Tensor

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Closed-form activations and derivatives in Double.
enum ActivationReference {
  static func value(_ kind: DNNL.Activation, _ x: Double) -> Double {
    switch kind {
    case .relu: max(x, 0)
    case .geluErf: 0.5 * x * (1 + erf(x / 2.0.squareRoot()))
    case .hardswish: x * min(max(x + 3, 0), 6) / 6
    case .sigmoid: 1 / (1 + exp(-x))
    }
  }

  static func derivative(_ kind: DNNL.Activation, _ x: Double) -> Double {
    switch kind {
    case .relu: x > 0 ? 1 : 0
    case .geluErf:
      0.5 * (1 + erf(x / 2.0.squareRoot())) + x * exp(-x * x / 2) / (2 * Double.pi).squareRoot()
    case .hardswish: x < -3 ? 0 : (x > 3 ? 1 : (2 * x + 3) / 6)
    case .sigmoid: value(.sigmoid, x) * (1 - value(.sigmoid, x))
    }
  }
}

@Suite("DNNL activations")
struct ActivationTests {
  /// 1003 values in [-5, 5): covers hard-swish's three pieces; 1003 leaves a vector tail.
  static func input() -> [Float] {
    var random = SeededRandom(seed: 11)
    return random.array(1003).map { $0 * 5 }
  }

  @Test("forward matches the closed form", arguments: DNNL.Activation.allCases)
  func forward(kind: DNNL.Activation) throws {
    let x = Self.input()
    var y = [Float](repeating: .nan, count: x.count)
    try DNNL.activationForward(kind, count: x.count, input: x, output: &y)
    let expected = x.map { Float(ActivationReference.value(kind, Double($0))) }
    expectNonTrivial(expected)
    expectClose(y, expected, absolute: 1e-6, relative: 1e-5, "\(kind)")

    // in place
    var z = x
    try z.withUnsafeMutableBufferPointer { buffer in
      try DNNL.activationForward(
        kind, count: buffer.count, input: buffer.baseAddress!, output: buffer.baseAddress!)
    }
    expectClose(z, expected, absolute: 1e-6, relative: 1e-5, "\(kind) in place")
  }

  @Test("backward matches the closed-form derivative", arguments: DNNL.Activation.allCases)
  func backward(kind: DNNL.Activation) throws {
    let x = Self.input()
    var random = SeededRandom(seed: 12)
    let dy = random.array(x.count)
    var dx = [Float](repeating: .nan, count: x.count)
    try DNNL.activationBackward(
      kind, count: x.count, input: x, outputGradient: dy, inputGradient: &dx)
    let expected = zip(x, dy).map {
      Float(ActivationReference.derivative(kind, Double($0)) * Double($1))
    }
    expectNonTrivial(expected)
    expectClose(dx, expected, absolute: 1e-6, relative: 1e-5, "\(kind)")
  }

  @Test(
    "the closed-form derivatives agree with finite differences", arguments: DNNL.Activation.allCases
  )
  func referenceMatchesFiniteDifferences(kind: DNNL.Activation) {
    let h = 1e-6
    // avoid the kinks (relu at 0, hard-swish at ±3), where the derivative is one-sided
    for x in stride(from: -4.9, to: 4.9, by: 0.37) where abs(x) > 1e-3 && abs(abs(x) - 3) > 1e-3 {
      let numeric =
        (ActivationReference.value(kind, x + h) - ActivationReference.value(kind, x - h))
        / (2 * h)
      #expect(abs(numeric - ActivationReference.derivative(kind, x)) < 1e-6, "\(kind) at \(x)")
    }
  }
}
