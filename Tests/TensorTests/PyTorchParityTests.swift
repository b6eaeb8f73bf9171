import XCTest

@testable import Tensor

/// Forward values and gradients against PyTorch (float64 references from
/// scripts/make_tensor_fixtures.py, stored as float32).
final class PyTorchParityTests: XCTestCase {
  func testFixturesPresent() {
    XCTAssertGreaterThan(Fixtures.ops.count, 100, "ops.safetensors missing")
  }

  func testEveryOpMatchesPyTorch() {
    for c in OpCase.all {
      let fixture = c.inputs
      XCTAssertFalse(fixture.isEmpty, "\(c.name): no inputs in fixture")
      let inputs = fixture.enumerated().map { i, t in
        let leaf = tensor(t.shape, t.scalars)
        leaf.requiresGrad = c.differentiable?.contains(i) ?? true
        return leaf
      }
      let outs = c.run(inputs)
      var loss: Tensor?
      for (k, o) in outs.enumerated() {
        guard let expected = Fixtures.ops["\(c.name).out\(k)"],
          let gout = Fixtures.ops["\(c.name).gout\(k)"]
        else {
          XCTFail("\(c.name): fixture lacks out\(k)")
          continue
        }
        assertClose(
          o, expected.reshaped(o.shape == [] ? [] : expected.shape),
          atol: 2e-5, rtol: 1e-4, "\(c.name) out\(k)")
        let term = (o * gout.reshaped(o.shape)).sum()
        loss = loss.map { $0 + term } ?? term
      }
      loss?.backward()
      for (i, x) in inputs.enumerated() where x.requiresGrad {
        guard let expected = Fixtures.ops["\(c.name).grad\(i)"] else {
          XCTFail("\(c.name): fixture lacks grad\(i)")
          continue
        }
        guard let grad = x.grad else {
          XCTFail("\(c.name): input \(i) got no gradient")
          continue
        }
        assertClose(grad, expected, atol: 5e-5, rtol: 2e-4, "\(c.name) grad\(i)")
      }
    }
  }

  func testCodebookIndicesMatchPyTorch() {
    let x = Fixtures.ops["codebook.in0"]!, cb = Fixtures.ops["codebook.in1"]!
    let (_, indices) = x.nearestCodebook(cb)
    XCTAssertEqual(indices, Fixtures.integers("codebook.indices"))
  }

  func testBatchNormRunningStatsMatchPyTorch() {
    let rm = Tensor.zeros([4]), rv = Tensor.ones([4])
    _ = Fixtures.ops["bn_train.in0"]!.batchNorm(
      gamma: Fixtures.ops["bn_train.in1"]!, beta: Fixtures.ops["bn_train.in2"]!,
      runningMean: rm, runningVar: rv, training: true)
    assertClose(rm, Fixtures.ops["bn_train.running_mean"]!, "running mean")
    assertClose(rv, Fixtures.ops["bn_train.running_var"]!, "running var")
  }
}
