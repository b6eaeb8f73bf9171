import XCTest

@testable import Tensor

/// Every op's backward against central finite differences of a float32
/// forward, accumulated in Float64 (step 1e-3; tolerance 2e-3 + 1e-2·|g|).
final class GradientCheckTests: XCTestCase {
  /// Inputs moved at least 0.05 away from the points where ReLU and
  /// hardswish have kinks, so the finite difference never straddles one.
  private func avoidingKinks(_ t: Tensor, _ kinks: [Float]) -> Tensor {
    let moved = t.scalars.map { v -> Float in
      var v = v
      for k in kinks where abs(v - k) < 0.05 { v = k + (v < k ? -0.05 : 0.05) }
      return v
    }
    return tensor(t.shape, moved)
  }

  func testEveryOpAgainstFiniteDifferences() {
    for c in OpCase.all where c.name != "codebook" {
      var inputs = c.inputs
      if c.name == "relu" { inputs[0] = avoidingKinks(inputs[0], [0]) }
      if c.name == "hardswish" {
        inputs[0] = avoidingKinks(inputs[0], [-3, 0, 3])
      }
      checkGradients(c.name, inputs: inputs, differentiable: c.differentiable) {
        c.run($0)
      }
    }
  }

  /// The codebook lookup is piecewise constant, so its finite difference
  /// is zero; the straight-through gradient must instead equal the
  /// upstream gradient, and `rows` must scatter-add into the codebook.
  func testCodebookStraightThroughAndRows() {
    let x = tensor([3, 2], [0.1, 0.2, 0.9, 1.1, 0.05, -0.1])
    x.requiresGrad = true
    let cb = tensor([2, 2], [0, 0, 1, 1])
    cb.requiresGrad = true
    let (q, idx) = x.nearestCodebook(cb)
    XCTAssertEqual(idx, [0, 1, 0])
    XCTAssertEqual(q.scalars, [0, 0, 1, 1, 0, 0])
    let w = tensor([3, 2], [1, 2, 3, 4, 5, 6])
    (q * w).sum().backward()
    XCTAssertEqual(x.grad?.scalars, w.scalars)
    XCTAssertNil(cb.grad)
    checkGradients("rows", inputs: [cb]) { [$0[0].rows([1, 0, 1])] }
  }

  func testElementwiseExtrasAndReshape() {
    var rng = Xoshiro256(seed: 5)
    let x = Tensor.uniform([3, 4], low: 0.5, high: 2, rng: &rng)
    checkGradients("exp", inputs: [x]) { [$0[0].exp()] }
    checkGradients("log", inputs: [x]) { [$0[0].log()] }
    checkGradients("sqrt", inputs: [x]) { [$0[0].sqrt()] }
    checkGradients("reshape", inputs: [x]) {
      [$0[0].reshaped([2, -1]) * $0[0].reshaped([2, 6])]
    }
    checkGradients("sum", inputs: [x]) { [$0[0].sum() * $0[0]] }
    checkGradients("broadcasted", inputs: [x]) {
      [$0[0].reshaped([3, 1, 4]).broadcasted(to: [2, 3, 5, 4])]
    }
    checkGradients("scalars", inputs: [x]) { [(($0[0] + 1) * 3 - 2) / 4] }
  }

  func testBroadcastBatchMatmulAndLinearOn3D() {
    var rng = Xoshiro256(seed: 6)
    let a = Tensor.normal([1, 3, 4], rng: &rng)
    let b = Tensor.normal([2, 4, 5], rng: &rng)
    checkGradients("matmul batch 1×2", inputs: [a, b]) { [$0[0].matmul($0[1])] }
    checkGradients("matmul batch 2×1", inputs: [b.permuted([0, 2, 1]), a]) {
      [$0[0].matmul($0[1].permuted([0, 2, 1]))]
    }
    let x = Tensor.normal([2, 3, 4], rng: &rng)
    let w = Tensor.normal([5, 4], rng: &rng), bias = Tensor.normal([5], rng: &rng)
    checkGradients("linear 3-D", inputs: [x, w, bias]) {
      [$0[0].linear(weight: $0[1], bias: $0[2])]
    }
  }

  func testGradientsAccumulateAcrossUsesAndCalls() {
    let x = tensor([2], [1, 2])
    x.requiresGrad = true
    (x * x + x).sum().backward()
    XCTAssertEqual(x.grad?.scalars, [3, 5])
    (x * 2).sum().backward()
    XCTAssertEqual(x.grad?.scalars, [5, 7])
  }

  func testInvalidConstructionThrowsWithValues() {
    XCTAssertThrowsError(try Tensor(shape: [2, 3], values: [1, 2])) { error in
      XCTAssertEqual(error as? TensorError, .countMismatch(shape: [2, 3], count: 2))
      XCTAssertEqual(
        (error as? TensorError)?.description,
        "shape [2, 3] needs 6 elements, got 2.")
    }
  }
}
