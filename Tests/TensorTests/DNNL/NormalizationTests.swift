// oneDNN batch and layer normalisation against naive Double-precision references.
import Testing

@testable import Tensor

/// Naive normalisation over groups of elements: `forward` and its analytic backward.
///
/// `groupOf(i)` names the statistics group of element `i`; `paramOf(i)` the gamma/beta
/// index (channel for batch norm, feature for layer norm).
struct NormReference {
  var count: Int
  var groups: Int
  var parameters: Int
  var groupOf: (Int) -> Int
  var paramOf: (Int) -> Int
  var epsilon: Double

  func statistics(_ x: [Float]) -> (mean: [Double], variance: [Double]) {
    var sum = [Double](repeating: 0, count: groups)
    var members = [Double](repeating: 0, count: groups)
    for i in 0..<count {
      sum[groupOf(i)] += Double(x[i])
      members[groupOf(i)] += 1
    }
    let mean = (0..<groups).map { sum[$0] / members[$0] }
    var squares = [Double](repeating: 0, count: groups)
    for i in 0..<count {
      let deviation = Double(x[i]) - mean[groupOf(i)]
      squares[groupOf(i)] += deviation * deviation
    }
    return (mean, (0..<groups).map { squares[$0] / members[$0] })
  }

  func forward(
    _ x: [Float], _ gamma: [Float], _ beta: [Float], mean: [Double], variance: [Double]
  ) -> [Double] {
    (0..<count).map { i in
      let g = groupOf(i)
      let p = paramOf(i)
      let xhat = (Double(x[i]) - mean[g]) / (variance[g] + epsilon).squareRoot()
      return Double(gamma[p]) * xhat + Double(beta[p])
    }
  }

  /// Gradients of training-mode normalisation (statistics depend on x).
  func backward(_ x: [Float], _ dy: [Float], _ gamma: [Float])
    -> (dx: [Double], dGamma: [Double], dBeta: [Double])
  {
    let (mean, variance) = statistics(x)
    var members = [Double](repeating: 0, count: groups)
    var sumG = [Double](repeating: 0, count: groups)  // Σ gamma·dy
    var sumGX = [Double](repeating: 0, count: groups)  // Σ gamma·dy·xhat
    var dGamma = [Double](repeating: 0, count: parameters)
    var dBeta = [Double](repeating: 0, count: parameters)
    var xhat = [Double](repeating: 0, count: count)
    for i in 0..<count {
      let g = groupOf(i)
      let p = paramOf(i)
      xhat[i] = (Double(x[i]) - mean[g]) / (variance[g] + epsilon).squareRoot()
      let gdy = Double(gamma[p]) * Double(dy[i])
      members[g] += 1
      sumG[g] += gdy
      sumGX[g] += gdy * xhat[i]
      dGamma[p] += Double(dy[i]) * xhat[i]
      dBeta[p] += Double(dy[i])
    }
    let dx = (0..<count).map { i in
      let g = groupOf(i)
      let gdy = Double(gamma[paramOf(i)]) * Double(dy[i])
      return (gdy - sumG[g] / members[g] - xhat[i] * sumGX[g] / members[g])
        / (variance[g] + epsilon).squareRoot()
    }
    return (dx, dGamma, dBeta)
  }
}

func floats(_ values: [Double]) -> [Float] { values.map { Float($0) } }

@Suite("DNNL normalisation")
struct NormalizationTests {
  static let (batch, channels, height, width) = (3, 5, 4, 6)
  static let epsilon: Float = 1e-5

  static var batchNorm: NormReference {
    let plane = height * width
    return NormReference(
      count: batch * channels * plane, groups: channels, parameters: channels,
      groupOf: { ($0 / plane) % channels }, paramOf: { ($0 / plane) % channels },
      epsilon: Double(epsilon))
  }

  /// Inputs with a per-channel offset and scale, so the statistics are not trivial.
  static func input(seed: UInt64) -> [Float] {
    var random = SeededRandom(seed: seed)
    let plane = height * width
    return (0..<(batch * channels * plane)).map { i in
      let c = Float((i / plane) % channels)
      return random.next() * (1 + c) + c - 2
    }
  }

  @Test("batch norm training forward: output, mean and biased variance")
  func batchNormTraining() throws {
    let reference = Self.batchNorm
    let x = Self.input(seed: 1)
    var random = SeededRandom(seed: 2)
    let gamma = random.array(Self.channels)
    let beta = random.array(Self.channels)
    var y = [Float](repeating: .nan, count: x.count)
    var mean = [Float](repeating: .nan, count: Self.channels)
    var variance = [Float](repeating: .nan, count: Self.channels)
    try DNNL.batchNormForwardTraining(
      batch: Self.batch, channels: Self.channels, height: Self.height, width: Self.width,
      input: x, gamma: gamma, beta: beta, output: &y, mean: &mean, variance: &variance,
      epsilon: Self.epsilon)
    let (expectedMean, expectedVariance) = reference.statistics(x)
    expectClose(mean, floats(expectedMean), absolute: 1e-5, relative: 1e-5, "mean")
    expectClose(variance, floats(expectedVariance), absolute: 1e-5, relative: 1e-4, "var")
    let expected = reference.forward(
      x, gamma, beta, mean: expectedMean, variance: expectedVariance)
    expectNonTrivial(floats(expected))
    expectClose(y, floats(expected), absolute: 1e-5, relative: 1e-4, "y")
  }

  @Test("batch norm inference uses the given statistics")
  func batchNormInference() throws {
    let reference = Self.batchNorm
    let x = Self.input(seed: 3)
    var random = SeededRandom(seed: 4)
    let gamma = random.array(Self.channels)
    let beta = random.array(Self.channels)
    let mean = random.array(Self.channels)
    let variance = random.array(Self.channels).map { $0 + 1.5 }
    var y = [Float](repeating: .nan, count: x.count)
    try DNNL.batchNormForwardInference(
      batch: Self.batch, channels: Self.channels, height: Self.height, width: Self.width,
      input: x, gamma: gamma, beta: beta, mean: mean, variance: variance, output: &y,
      epsilon: Self.epsilon)
    let expected = reference.forward(
      x, gamma, beta, mean: mean.map(Double.init), variance: variance.map(Double.init))
    expectClose(y, floats(expected), absolute: 1e-5, relative: 1e-4, "y")
  }

  @Test("batch norm backward matches the analytic reference")
  func batchNormBackward() throws {
    let reference = Self.batchNorm
    let x = Self.input(seed: 5)
    var random = SeededRandom(seed: 6)
    let gamma = random.array(Self.channels)
    let beta = random.array(Self.channels)
    let dy = random.array(x.count)
    var y = [Float](repeating: .nan, count: x.count)
    var mean = [Float](repeating: .nan, count: Self.channels)
    var variance = [Float](repeating: .nan, count: Self.channels)
    try DNNL.batchNormForwardTraining(
      batch: Self.batch, channels: Self.channels, height: Self.height, width: Self.width,
      input: x, gamma: gamma, beta: beta, output: &y, mean: &mean, variance: &variance,
      epsilon: Self.epsilon)
    var dx = [Float](repeating: .nan, count: x.count)
    var dGamma = [Float](repeating: .nan, count: Self.channels)
    var dBeta = [Float](repeating: .nan, count: Self.channels)
    try DNNL.batchNormBackward(
      batch: Self.batch, channels: Self.channels, height: Self.height, width: Self.width,
      input: x, outputGradient: dy, gamma: gamma, mean: mean, variance: variance,
      inputGradient: &dx, gammaGradient: &dGamma, betaGradient: &dBeta,
      epsilon: Self.epsilon)
    let expected = reference.backward(x, dy, gamma)
    expectNonTrivial(floats(expected.dx))
    expectClose(dx, floats(expected.dx), absolute: 1e-4, relative: 1e-3, "dx")
    expectClose(dGamma, floats(expected.dGamma), absolute: 1e-4, relative: 1e-4, "dGamma")
    expectClose(dBeta, floats(expected.dBeta), absolute: 1e-4, relative: 1e-4, "dBeta")
  }

  @Test("the normalisation reference backward agrees with finite differences")
  func referenceMatchesFiniteDifferences() {
    let reference = Self.batchNorm
    let x = Self.input(seed: 7)
    var random = SeededRandom(seed: 8)
    let gamma = random.array(Self.channels)
    let beta = random.array(Self.channels)
    let dy = random.array(x.count)
    func loss(_ x: [Float]) -> Double {
      let (mean, variance) = reference.statistics(x)
      let y = reference.forward(x, gamma, beta, mean: mean, variance: variance)
      return zip(y, dy).reduce(0) { $0 + $1.0 * Double($1.1) }
    }
    let dx = reference.backward(x, dy, gamma).dx
    let h: Float = 1e-3
    for index in stride(from: 0, to: x.count, by: 23) {
      var plus = x
      var minus = x
      plus[index] += h
      minus[index] -= h
      // the step is a Float, so divide by the step actually taken
      let step = Double(plus[index]) - Double(minus[index])
      let numeric = (loss(plus) - loss(minus)) / step
      #expect(abs(numeric - dx[index]) < 1e-3, "dx[\(index)] \(numeric) vs \(dx[index])")
    }
  }

  @Test("layer norm forward and backward match the reference")
  func layerNorm() throws {
    let (rows, features) = (6, 20)
    let reference = NormReference(
      count: rows * features, groups: rows, parameters: features,
      groupOf: { $0 / features }, paramOf: { $0 % features }, epsilon: Double(Self.epsilon))
    var random = SeededRandom(seed: 9)
    let x = random.array(rows * features).enumerated().map { $1 * 2 + Float($0 / features) }
    let gamma = random.array(features)
    let beta = random.array(features)
    let dy = random.array(rows * features)
    var y = [Float](repeating: .nan, count: x.count)
    var mean = [Float](repeating: .nan, count: rows)
    var variance = [Float](repeating: .nan, count: rows)
    try DNNL.layerNormForward(
      rows: rows, features: features, input: x, gamma: gamma, beta: beta, output: &y,
      mean: &mean, variance: &variance, epsilon: Self.epsilon)
    let (expectedMean, expectedVariance) = reference.statistics(x)
    expectClose(mean, floats(expectedMean), absolute: 1e-5, relative: 1e-5, "mean")
    expectClose(variance, floats(expectedVariance), absolute: 1e-5, relative: 1e-4, "var")
    let expectedY = reference.forward(
      x, gamma, beta, mean: expectedMean, variance: expectedVariance)
    expectClose(y, floats(expectedY), absolute: 1e-5, relative: 1e-4, "y")

    var dx = [Float](repeating: .nan, count: x.count)
    var dGamma = [Float](repeating: .nan, count: features)
    var dBeta = [Float](repeating: .nan, count: features)
    try DNNL.layerNormBackward(
      rows: rows, features: features, input: x, outputGradient: dy, gamma: gamma,
      mean: mean, variance: variance, inputGradient: &dx, gammaGradient: &dGamma,
      betaGradient: &dBeta, epsilon: Self.epsilon)
    let expected = reference.backward(x, dy, gamma)
    expectNonTrivial(floats(expected.dx))
    expectClose(dx, floats(expected.dx), absolute: 1e-4, relative: 1e-3, "dx")
    expectClose(dGamma, floats(expected.dGamma), absolute: 1e-4, relative: 1e-4, "dGamma")
    expectClose(dBeta, floats(expected.dBeta), absolute: 1e-4, relative: 1e-4, "dBeta")
  }
}
