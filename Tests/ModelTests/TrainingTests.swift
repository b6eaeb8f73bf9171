import XCTest

@testable import Model
@testable import Tensor

final class TrainingTests: XCTestCase {
  /// A few AdamW steps of segmentation training on the real crop and its
  /// glomerulus mask lower the loss (tiny HoloHisto, fresh weights).
  func testSegmentationStepsReduceLoss() throws {
    let config = try Fixtures.config("holohisto")
    let model = try SegmentationModel(config: config, seed: 1)
    let optimiser = AdamW(
      parameters: model.segmentationParameters, learningRate: 3e-2,
      weightDecay: 0)
    var losses: [Float] = []
    for _ in 0..<10 {
      let out = try model.forward(Fixtures.image, training: true)
      let loss = try SegmentationLoss.compute(out, labels: Fixtures.labels)
      optimiser.zeroGrad()
      loss.backward()
      optimiser.step()
      losses.append(loss.item)
    }
    XCTAssertTrue(losses.allSatisfy { $0.isFinite }, "\(losses)")
    XCTAssertLessThan(losses.last!, 0.8 * losses.first!, "\(losses)")
  }

  /// Tokenizer pre-training: reconstruction loss + commitment with EMA
  /// codebook updates lowers the loss and raises PSNR on the real crop.
  func testTokenizerPretrainingImprovesReconstruction() throws {
    let config = try Fixtures.config("holohisto")
    let model = try SegmentationModel(config: config, seed: 2)
    let vq = model.quantizer!
    let optimiser = AdamW(
      parameters: model.tokenizerParameters, learningRate: 1e-2,
      weightDecay: 0)
    var rng = Xoshiro256(seed: 4)
    func psnr() throws -> Double {
      let rec = try withNoGrad { try model.reconstruct(Fixtures.image) }
      return ReconstructionMetrics.psnr(
        model.denormalised(rec.output), Fixtures.image)
    }
    let psnrBefore = try psnr()
    var losses: [Float] = []
    for _ in 0..<10 {
      let rec = try model.reconstruct(Fixtures.image, training: true)
      let loss =
        (rec.output - rec.target).squared().mean()
        + rec.quantized.commitmentLoss
      optimiser.zeroGrad()
      loss.backward()
      optimiser.step()
      vq.updateCodebook(
        vectors: rec.quantized.vectors, indices: rec.quantized.indices)
      vq.restartDeadCodes(vectors: rec.quantized.vectors, rng: &rng)
      losses.append(loss.item)
    }
    XCTAssertLessThan(losses.last!, 0.8 * losses.first!, "\(losses)")
    XCTAssertGreaterThan(try psnr(), psnrBefore + 1)
  }
}
