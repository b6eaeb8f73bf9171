import XCTest

@testable import Model
@testable import Tensor

/// Every variant against the committed PyTorch reference
/// (scripts/model_reference.py): the same safetensors weights, the same
/// real HuBMAP PAS crop, logits within 1e-4 relative error.
final class ReferenceParityTests: XCTestCase {
  private func check(_ variant: String) throws {
    let model = try Fixtures.model(variant)
    let expected = try Fixtures.expected(variant)
    let out = try withNoGrad { try model.forward(Fixtures.image) }
    let logits = out.logits
    if let (s1, s2) = out.stages {
      // The backbone on its own, so that a fault in it cannot hide behind
      // the full-resolution image branch of the head.
      XCTAssertEqual(s1.shape, expected["stage1"]!.shape)
      XCTAssertEqual(s2.shape, expected["stage2"]!.shape)
      XCTAssertLessThan(relativeError(s1, expected["stage1"]!), 1e-4, variant)
      XCTAssertLessThan(relativeError(s2, expected["stage2"]!), 1e-4, variant)
    }
    let want = expected["logits"]!
    XCTAssertEqual(logits.shape, [1, 2, 128, 128])
    XCTAssertEqual(logits.shape, want.shape)
    XCTAssertLessThan(relativeError(logits, want), 1e-4, variant)
    XCTAssertLessThan(maxRelativeError(logits, want), 1e-4, variant)
    // 100×75: padding to the stride and cropping back.
    let sub = Fixtures.subImage(height: 100, width: 75)
    let subLogits = try withNoGrad { try model(sub) }
    let subWant = expected["sub_logits"]!
    XCTAssertEqual(subLogits.shape, [1, 2, 100, 75])
    XCTAssertEqual(subLogits.shape, subWant.shape)
    XCTAssertLessThan(relativeError(subLogits, subWant), 1e-4, variant)
    XCTAssertLessThan(maxRelativeError(subLogits, subWant), 1e-4, variant)
    // The logits are not trivially constant.
    let v = logits.scalars
    XCTAssertGreaterThan(v.max()! - v.min()!, 0.1, variant)
  }

  func testHoloHistoMatchesReference() throws { try check("holohisto") }
  func testPatchEmbeddingMatchesReference() throws { try check("patch") }
  func testWindowedSoftmaxMatchesReference() throws { try check("softmax") }
  func testUNetMatchesReference() throws { try check("unet") }

  func testTokenizerCodesAndReconstructionMatchReference() throws {
    let model = try Fixtures.model("holohisto")
    let expected = try Fixtures.expected("holohisto")
    let rec = try withNoGrad { try model.reconstruct(Fixtures.image) }
    let wantIndices = try SafeTensors.readIntegers(
      path: Fixtures.path("holohisto.expected.safetensors"), name: "indices")
    XCTAssertEqual(rec.quantized.indices, wantIndices.values)
    XCTAssertEqual(rec.quantized.indices.count, 64)  // 8×8 tokens
    XCTAssertEqual(Set(rec.quantized.indices).count, 10)
    let want = expected["reconstruction"]!
    XCTAssertEqual(rec.output.shape, [1, 3, 128, 128])
    XCTAssertLessThan(relativeError(rec.output, want), 1e-4)
  }

  /// Training mode (batch statistics) on the crop and its mask: loss and
  /// the gradients of parameters along every path (tokenizer through the
  /// straight-through estimator, attention, MBConv, head, U-Net) equal
  /// PyTorch autograd's on the same weights.
  ///
  /// `tolerance`: 1e-3 for the token variants (PyTorch float32 itself is
  /// 4e-4 from float64 there). The U-Net's training gradients are
  /// ill-conditioned on this 8-bit image: nudging the input by 1e-7
  /// (relative) moves PyTorch's float64 gradients by 4.6e-3, because
  /// equal values tie in max pooling (15 positive ties in the first pool)
  /// and rounding decides the winner; ours are 4.6e-3 from float64, so the
  /// U-Net is checked at 1e-2.
  private func checkTraining(_ variant: String, tolerance: Double) throws {
    let model = try Fixtures.model(variant)
    let expected = try Fixtures.expected(variant)
    let out = try model.forward(Fixtures.image, training: true)
    let loss = try SegmentationLoss.compute(out, labels: Fixtures.labels)
    loss.backward()
    let want = expected["train_loss"]!.item
    XCTAssertEqual(loss.item, want, accuracy: 1e-4 * abs(want), variant)
    let grads = expected.filter { $0.key.hasPrefix("grad.") }
    XCTAssertGreaterThanOrEqual(grads.count, 3, variant)
    for (key, g) in grads {
      let name = String(key.dropFirst("grad.".count))
      guard let got = model.store.tensors[name]?.grad else {
        XCTFail("\(variant): no gradient for \(name)")
        continue
      }
      XCTAssertLessThan(
        relativeError(got, g), tolerance, "\(variant) \(name)")
    }
  }

  func testHoloHistoTrainingGradientsMatchReference() throws {
    try checkTraining("holohisto", tolerance: 1e-3)
  }

  func testSoftmaxTrainingGradientsMatchReference() throws {
    try checkTraining("softmax", tolerance: 1e-3)
  }

  func testUNetTrainingGradientsMatchReference() throws {
    try checkTraining("unet", tolerance: 1e-2)
  }
}
