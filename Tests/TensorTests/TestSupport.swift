import Foundation
import XCTest

@testable import Tensor

/// Paths of the committed fixtures written by
/// scripts/make_tensor_fixtures.py.
enum Fixtures {
  static let directory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().appendingPathComponent("Fixtures")

  static func path(_ name: String) -> String {
    directory.appendingPathComponent(name).path
  }

  /// Every tensor of ops.safetensors, read once.
  nonisolated(unsafe) static let ops: [String: Tensor] = {
    (try? SafeTensors.read(path: path("ops.safetensors"))) ?? [:]
  }()

  static func integers(_ name: String) -> [Int] {
    (try? SafeTensors.readIntegers(path: path("ops.safetensors"), name: name))?
      .values ?? []
  }
}

/// Asserts equal shapes and `|a − e| ≤ atol + rtol·|e|` element-wise,
/// reporting the worst element.
func assertClose(
  _ actual: Tensor, _ expected: Tensor, atol: Float = 1e-4,
  rtol: Float = 1e-4, _ label: String = "",
  file: StaticString = #filePath, line: UInt = #line
) {
  XCTAssertEqual(
    actual.shape, expected.shape, "\(label): shape", file: file, line: line)
  guard actual.shape == expected.shape else { return }
  let a = actual.scalars, e = expected.scalars
  var worst = 0, excess: Float = -1
  for i in 0..<a.count {
    let over = abs(a[i] - e[i]) - (atol + rtol * abs(e[i]))
    if over > excess || a[i].isNaN {
      excess = a[i].isNaN ? .infinity : over
      worst = i
    }
  }
  if a.count > 0 {
    XCTAssert(
      excess <= 0,
      "\(label): element \(worst) is \(a[worst]), expected \(e[worst])",
      file: file, line: line)
  }
}

func tensor(_ shape: [Int], _ values: [Float]) -> Tensor {
  // The tests build only well-formed literals.
  (try? Tensor(shape: shape, values: values)) ?? Tensor.zeros(shape)
}

/// Σ_k Σ out_k · weight_k, accumulated in Float64.
func weightedSum(_ outs: [Tensor], _ weights: [Tensor]) -> Double {
  var total: Double = 0
  for (o, w) in zip(outs, weights) {
    let a = o.scalars, b = w.scalars
    for i in 0..<a.count { total += Double(a[i]) * Double(b[i]) }
  }
  return total
}

/// Compares `backward()` with central finite differences of
/// `L = Σ_k Σ f(x)_k · w_k` for up to `samples` elements of each input.
///
/// - Parameters:
///   - eps: the step; float32 forward passes need about 1e-2…1e-3.
///   - atol, rtol: allowed |analytic − numeric| ≤ atol + rtol·|numeric|.
func checkGradients(
  _ name: String, inputs: [Tensor], differentiable: Set<Int>? = nil,
  eps: Float = 1e-3, atol: Double = 2e-3, rtol: Double = 1e-2,
  samples: Int = 48, file: StaticString = #filePath, line: UInt = #line,
  _ f: ([Tensor]) -> [Tensor]
) {
  let leaves = inputs.enumerated().map { i, t in
    let leaf = tensor(t.shape, t.scalars)
    leaf.requiresGrad = differentiable?.contains(i) ?? true
    return leaf
  }
  var rng = Xoshiro256(seed: 99)
  let probe = withNoGrad { f(leaves) }
  let weights = probe.map { Tensor.uniform($0.shape, low: -1, high: 1, rng: &rng) }
  var loss: Tensor?
  for (o, w) in zip(f(leaves), weights) {
    let term = (o * w).sum()
    loss = loss.map { $0 + term } ?? term
  }
  loss?.backward()
  for (i, leaf) in leaves.enumerated() where leaf.requiresGrad {
    guard let grad = leaf.grad?.scalars else {
      XCTFail("\(name): input \(i) got no gradient", file: file, line: line)
      continue
    }
    let step = Swift.max(1, leaf.count / samples)
    for j in stride(from: 0, to: leaf.count, by: step) {
      let saved = leaf.scalars[j]
      func lossAt(_ v: Float) -> Double {
        leaf.withUnsafeMutableBufferPointer { $0[j] = v }
        return withNoGrad { weightedSum(f(leaves), weights) }
      }
      let numeric = (lossAt(saved + eps) - lossAt(saved - eps))
        / Double(2 * eps)
      leaf.withUnsafeMutableBufferPointer { $0[j] = saved }
      let analytic = Double(grad[j])
      XCTAssert(
        abs(analytic - numeric) <= atol + rtol * abs(numeric),
        "\(name): d/d input\(i)[\(j)] analytic \(analytic), "
          + "numeric \(numeric)", file: file, line: line)
    }
  }
}
