import XCTest

@testable import Model
@testable import Tensor

final class TokenizerTests: XCTestCase {
  /// Every quantised vector is bit-for-bit a codebook row, the nearest one
  /// (checked in Double against all K), on the real crop.
  func testQuantizedVectorsAreExactlyNearestCodebookEntries() throws {
    let model = try Fixtures.model("holohisto")
    let q = try withNoGrad { try model.forward(Fixtures.image).quantized! }
    let zq = q.quantized.permuted([0, 2, 3, 1]).scalars
    let z = q.vectors.scalars
    let codebook = model.quantizer!.codebook.scalars
    let k = model.quantizer!.size, d = model.quantizer!.dim
    XCTAssertEqual(q.indices.count, 64)
    for (r, code) in q.indices.enumerated() {
      XCTAssertEqual(Array(zq[(r * d)..<(r * d + d)]),
                     Array(codebook[(code * d)..<(code * d + d)]))
      var best = 0, bestDist = Double.infinity
      for j in 0..<k {
        var dist = 0.0
        for i in 0..<d {
          let e = Double(z[r * d + i]) - Double(codebook[j * d + i])
          dist += e * e
        }
        if dist < bestDist { (best, bestDist) = (j, dist) }
      }
      XCTAssertEqual(code, best, "token \(r)")
    }
  }

  /// Token grid ⌈H/f⌉×⌈W/f⌉ and full-size logits for odd sizes, batch 2.
  func testTokenGridAndOutputSizeForAnySize() throws {
    var config = try Fixtures.config("holohisto")
    for variant in [ModelVariant.holohisto, .patch, .softmax] {
      config.variant = variant
      let model = try SegmentationModel(config: config, seed: 3)
      for (h, w) in [(37, 70), (16, 17), (1, 1)] {
        var rng = Xoshiro256(seed: 1)
        let x = Tensor.uniform([2, 3, h, w], rng: &rng)
        let out = try withNoGrad { try model.forward(x) }
        XCTAssertEqual(out.logits.shape, [2, 2, h, w])
        XCTAssertEqual(out.tokenGrid?.height, (h + 15) / 16)
        XCTAssertEqual(out.tokenGrid?.width, (w + 15) / 16)
        if config.hasTokenizer {
          let codes = try withNoGrad { try model.tokenize(x) }.indices
          XCTAssertEqual(codes.count, 2 * ((h + 15) / 16) * ((w + 15) / 16))
          XCTAssertEqual(codes, out.quantized?.indices)
        } else {
          XCTAssertThrowsError(try model.tokenize(x))
        }
      }
    }
    config.variant = .unet
    let unet = try SegmentationModel(config: config)
    let y = try withNoGrad { try unet(Tensor.zeros([1, 3, 37, 70])) }
    XCTAssertEqual(y.shape, [1, 2, 37, 70])
  }

  func testInvalidInputThrows() throws {
    let model = try Fixtures.model("patch")
    XCTAssertThrowsError(try model(Tensor.zeros([1, 4, 8, 8]))) { error in
      XCTAssertEqual(
        error as? ModelError,
        .invalidInput(
          shape: [1, 4, 8, 8], reason: "expected [N ≥ 1, 3, H ≥ 1, W ≥ 1] RGB"))
    }
  }

  /// Straight-through: the gradient at the encoder output equals the
  /// gradient at the quantised output.
  func testStraightThroughGradient() throws {
    var config = ModelConfig()
    config.tokenDim = 3
    config.codebookSize = 4
    let model = try SegmentationModel(config: config)
    let z = try Tensor(
      shape: [1, 3, 1, 2], values: [0.5, -1, 2, 0.25, 1, 3],
      requiresGrad: true)
    let q = model.quantizer!.quantize(z)
    let r = try Tensor(shape: [1, 3, 1, 2], values: [1, 2, 3, 4, 5, 6])
    (q.quantized * r).sum().backward()
    XCTAssertEqual(z.grad!.scalars, r.scalars)
  }

  /// EMA statistics and codebook after one update, against the formulas
  /// worked by hand.
  func testEMAUpdate() throws {
    var config = ModelConfig()
    config.tokenDim = 2
    config.codebookSize = 2
    config.emaDecay = 0.5
    let model = try SegmentationModel(config: config)
    let vq = model.quantizer!
    let vectors = try Tensor(shape: [3, 2], values: [1, 2, 3, 4, -2, 0])
    let before = vq.emaSum.scalars
    vq.updateCodebook(vectors: vectors, indices: [0, 0, 1])
    // counts: 0.5·1 + 0.5·2 = 1.5, 0.5·1 + 0.5·1 = 1.
    XCTAssertEqual(vq.emaCount.scalars, [1.5, 1])
    let sums = vq.emaSum.scalars
    XCTAssertEqual(sums[0], 0.5 * before[0] + 0.5 * 4, accuracy: 1e-6)
    XCTAssertEqual(sums[3], 0.5 * before[3] + 0, accuracy: 1e-6)
    let eps: Float = 1e-5, total: Float = 2.5
    let n0 = (1.5 + eps) / (total + 2 * eps) * total
    let n1 = (1 + eps) / (total + 2 * eps) * total
    let cb = vq.codebook.scalars
    XCTAssertEqual(cb[0], sums[0] / n0, accuracy: 1e-6)
    XCTAssertEqual(cb[2], sums[2] / n1, accuracy: 1e-6)
  }

  /// A code never chosen decays below the threshold and is restarted onto
  /// a batch vector; live codes are left alone.
  func testDeadCodeRestart() throws {
    var config = ModelConfig()
    config.tokenDim = 2
    config.codebookSize = 3
    config.emaDecay = 0.5
    config.deadCodeThreshold = 0.1
    let model = try SegmentationModel(config: config)
    let vq = model.quantizer!
    let vectors = try Tensor(shape: [2, 2], values: [1, 2, 3, 4])
    var rng = Xoshiro256(seed: 9)
    for _ in 0..<3 {
      vq.updateCodebook(vectors: vectors, indices: [0, 1])
      XCTAssertEqual(vq.restartDeadCodes(vectors: vectors, rng: &rng), [])
    }
    // Code 2: count 0.5³ = 0.125 ≥ 0.1; one more step gives 0.0625.
    vq.updateCodebook(vectors: vectors, indices: [0, 1])
    let keep = Array(vq.codebook.scalars[0..<4])
    XCTAssertEqual(vq.restartDeadCodes(vectors: vectors, rng: &rng), [2])
    let row = Array(vq.codebook.scalars[4..<6])
    XCTAssertTrue(row == [1, 2] || row == [3, 4], "\(row)")
    XCTAssertEqual(vq.emaCount.scalars[2], 1)
    XCTAssertEqual(Array(vq.codebook.scalars[0..<4]), keep)
  }

  func testPerplexity() {
    XCTAssertEqual(
      VectorQuantizer.perplexity(indices: [0, 1, 2, 3], codebookSize: 8), 4,
      accuracy: 1e-5)
    XCTAssertEqual(
      VectorQuantizer.perplexity(indices: [5, 5, 5], codebookSize: 8), 1,
      accuracy: 1e-6)
    // p = (3/4, 1/4): exp(0.5623…) = 1.7548.
    XCTAssertEqual(
      VectorQuantizer.perplexity(indices: [0, 0, 0, 1], codebookSize: 2),
      1.754_765, accuracy: 1e-5)
  }

  func testPSNR() throws {
    let a = try Tensor(shape: [4], values: [0, 0.5, 1, 0.25])
    let b = try Tensor(shape: [4], values: [0.1, 0.5, 1, 0.25])
    // MSE = 0.01 / 4 → 10·log10(400) = 26.0206 dB.
    XCTAssertEqual(ReconstructionMetrics.psnr(a, b), 26.0206, accuracy: 1e-3)
    XCTAssertEqual(ReconstructionMetrics.psnr(a, a), .infinity)
  }
}
