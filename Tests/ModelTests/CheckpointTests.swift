import Foundation
import XCTest

@testable import Model
@testable import Tensor

final class CheckpointTests: XCTestCase {
  private var directory = ""

  override func setUpWithError() throws {
    directory = NSTemporaryDirectory() + "model-tests-\(UUID().uuidString)"
    try FileManager.default.createDirectory(
      atPath: directory, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws {
    try? FileManager.default.removeItem(atPath: directory)
  }

  func testSaveLoadRoundTrip() throws {
    var config = try Fixtures.config("softmax")
    config.inputMpp = 0.25
    config.inputLevel = 1
    config.classes = 3
    let model = try SegmentationModel(config: config, seed: 7)
    let stem = directory + "/m"
    try Checkpoint.save(model, stem: stem)
    let loaded = try Checkpoint.load(stem: stem)
    XCTAssertEqual(loaded.config, config)
    let x = Fixtures.subImage(height: 40, width: 33)
    let a = try withNoGrad { try model(x) }, b = try withNoGrad { try loaded(x) }
    XCTAssertEqual(a.shape, [1, 3, 40, 33])
    XCTAssertEqual(a.scalars, b.scalars)
    let json = try String(contentsOfFile: stem + ".json", encoding: .utf8)
    for key in ["\"variant\"", "\"input_mpp\"", "\"mean\"", "\"std\"",
                "\"classes\"", "\"input_level\""] {
      XCTAssertTrue(json.contains(key), key)
    }
  }

  func testMismatchingWeightsAreRejected() throws {
    let config = try Fixtures.config("patch")
    var bigger = config
    bigger.stageDims = [16, 32]
    let path = Fixtures.path("patch.safetensors")
    XCTAssertThrowsError(
      try Checkpoint.load(config: bigger, weightsPath: path)
    ) { error in
      XCTAssertEqual(
        error as? ModelError,
        .weightShape(
          name: "backbone.down.bn.bias", expected: [32], found: [24]))
    }
    var withTokenizer = config
    withTokenizer.variant = .holohisto
    XCTAssertThrowsError(
      try Checkpoint.load(config: withTokenizer, weightsPath: path)
    ) { error in
      XCTAssertEqual(
        error as? ModelError,
        .missingWeight(name: "decoder.inp.bn.bias", path: path))
    }
  }

  func testInvalidConfigNamesTheField() {
    var config = ModelConfig()
    config.encoderWidths = [8, 8]
    XCTAssertThrowsError(try SegmentationModel(config: config)) { error in
      XCTAssertEqual(
        error as? ModelError,
        .invalidConfig(
          field: "encoder_widths", value: "[8, 8]",
          reason: "need log2(patch_size) = 4 positive widths"))
    }
    config = ModelConfig()
    config.stageDims = [128, 100]
    XCTAssertThrowsError(try SegmentationModel(config: config))
  }

  /// Default sizes: parameter counts equal the PyTorch reference's
  /// (codebook included, pre-training decoder excluded).
  func testDefaultParameterCounts() throws {
    let expected: [ModelVariant: Int] = [
      .holohisto: 2_139_634, .patch: 1_837_778, .softmax: 1_954_418,
      .unet: 1_964_114,
    ]
    for (variant, count) in expected {
      let model = try SegmentationModel(config: ModelConfig(variant: variant))
      XCTAssertEqual(model.parameterCount, count, variant.rawValue)
    }
  }
}
