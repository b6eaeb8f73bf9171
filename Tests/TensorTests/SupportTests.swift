import Foundation
import XCTest

@testable import Tensor

/// safetensors I/O, the generator, initialisers and optimisers.
final class SupportTests: XCTestCase {
  func testSafeTensorsRoundTrip() throws {
    let path = NSTemporaryDirectory() + "tensor-roundtrip.safetensors"
    let a = tensor([2, 3], [1, -2, 3.5, 0, 1e-8, -7])
    let b = tensor([4], [9, 8, 7, 6])
    try SafeTensors.write(["a": a, "b": b], metadata: ["k": "v"], path: path)
    let back = try SafeTensors.read(path: path)
    XCTAssertEqual(back["a"]?.shape, [2, 3])
    XCTAssertEqual(back["a"]?.scalars, a.scalars)
    XCTAssertEqual(back["b"]?.scalars, b.scalars)
  }

  func testSafeTensorsErrorsNameTheProblem() {
    let path = NSTemporaryDirectory() + "tensor-bad.safetensors"
    _ = FileManager.default.createFile(atPath: path, contents: Data([1, 2, 3]))
    XCTAssertThrowsError(try SafeTensors.read(path: path)) { error in
      XCTAssertEqual(
        error as? TensorError,
        .corruptFile(path: path, detail: "3 bytes, shorter than the header"))
    }
    XCTAssertThrowsError(
      try SafeTensors.readIntegers(
        path: Fixtures.path("ops.safetensors"), name: "nope"))
  }

  func testReadsPyTorchIntegers() throws {
    let (shape, values) = try SafeTensors.readIntegers(
      path: Fixtures.path("ops.safetensors"), name: "cross_entropy.targets")
    XCTAssertEqual(shape, [2, 3, 3])
    XCTAssertEqual(values[5], -100)
  }

  func testGeneratorIsReproducibleAndUniform() {
    var a = Xoshiro256(seed: 42), b = Xoshiro256(seed: 42)
    let xs = (0..<5).map { _ in a.next() }
    XCTAssertEqual(xs, (0..<5).map { _ in b.next() })
    var c = Xoshiro256(seed: 43)
    XCTAssertNotEqual(xs[0], c.next())
    var r = Xoshiro256(seed: 1)
    let n = 20_000
    let samples = (0..<n).map { _ in r.nextNormal() }
    let mean = samples.reduce(0, +) / Float(n)
    let variance = samples.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(n)
    XCTAssertEqual(mean, 0, accuracy: 0.03)
    XCTAssertEqual(variance, 1, accuracy: 0.05)
  }

  func testInitialisersHaveTheirStatedScale() {
    var rng = Xoshiro256(seed: 9)
    let w = Tensor.kaimingNormal([64, 32, 3, 3], rng: &rng)
    let v = w.scalars
    let std = (v.map { $0 * $0 }.reduce(0, +) / Float(v.count)).squareRoot()
    XCTAssertEqual(std, (2 / Float(32 * 9)).squareRoot(), accuracy: 0.005)
    let u = Tensor.kaimingUniform([16, 8], rng: &rng).scalars
    let bound = 1.414_213_6 * (3 / Float(8)).squareRoot()
    XCTAssertLessThanOrEqual(u.map(abs).max() ?? 9, bound)
    let t = Tensor.truncatedNormal([1000], std: 1, low: -0.5, high: 0.5, rng: &rng)
    XCTAssertLessThanOrEqual(t.scalars.map(abs).max() ?? 9, 0.5)
  }

  func testAdamWMatchesHandComputedSteps() {
    // One parameter, gradient 2 each step: after step 1 Adam moves by lr
    // (m̂/√v̂ = 1), after decoupled decay p·(1 − lr·λ).
    let p = tensor([1], [1])
    p.requiresGrad = true
    let opt = AdamW(parameters: [p], learningRate: 0.1, weightDecay: 0.5)
    p.setGrad(tensor([1], [2]))
    opt.step()
    XCTAssertEqual(p.item, 1 * (1 - 0.05) - 0.1, accuracy: 1e-5)
  }

  func testSGDMomentumAndClipping() {
    let p = tensor([2], [0, 0])
    p.requiresGrad = true
    let opt = SGD(parameters: [p], learningRate: 1, momentum: 0.5)
    p.setGrad(tensor([2], [3, 4]))
    let norm = GradientClipping.clipByGlobalNorm([p], maxNorm: 1)
    XCTAssertEqual(norm, 5, accuracy: 1e-5)
    XCTAssertEqual(p.grad?.scalars[0] ?? 0, 0.6, accuracy: 1e-4)
    opt.step()
    opt.step()
    // v1 = g, v2 = 0.5 g + g: p = −(g + 1.5 g) = −2.5 g
    XCTAssertEqual(p.scalars[1], -2.5 * 0.8, accuracy: 1e-3)
  }
}
