import Foundation
import Model
import Sampling
import SlideIO
import Tensor
import XCTest

@testable import Training

/// Random 64×64 crops of two real HuBMAP PAS tiles (shrunk ×8) with their
/// glomerulus masks; crop positions depend only on (seed, step).
struct TinyTileSource: BatchSource {
  let images: [RGBImage]
  let masks: [RGBImage]
  let seed: UInt64
  let size = 64

  init(seed: UInt64) throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("shared/data/labeled/hubmap-glomeruli-cnsiu")
    var images: [RGBImage] = []
    var masks: [RGBImage] = []
    for stem in ["163", "47"] {
      let image = try Slide(path: root.appendingPathComponent("images/test/\(stem).jpg").path)
      let mask = try Slide(path: root.appendingPathComponent("masks/test/\(stem).png").path)
      images.append(Self.shrink(try image.readLevel(0), by: 8))
      masks.append(Self.shrink(try mask.readLevel(0), by: 8))
    }
    self.images = images
    self.masks = masks
    self.seed = seed
  }

  /// Every `factor`-th pixel (nearest), so masks stay binary.
  static func shrink(_ image: RGBImage, by factor: Int) -> RGBImage {
    let w = image.width / factor, h = image.height / factor
    var out = RGBImage(width: w, height: h)
    for y in 0..<h {
      for x in 0..<w {
        for c in 0..<3 {
          let source = (y * factor * image.width + x * factor) * 3 + c
          out.pixels[(y * w + x) * 3 + c] = image.pixels[source]
        }
      }
    }
    return out
  }

  func batch(step: Int) throws -> TrainingBatch {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(step) &* 0xBF58_476D_1CE4_E5B9
    func next() -> Int {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Int(truncatingIfNeeded: state >> 33)
    }
    var pixels: [Float] = []
    var labels: [Int] = []
    var planes = [[Float]](repeating: [], count: 3)
    for _ in 0..<2 {
      let k = next() % images.count
      let image = images[k], mask = masks[k]
      let x0 = next() % (image.width - size), y0 = next() % (image.height - size)
      var local = [[Float]](repeating: [], count: 3)
      for y in y0..<(y0 + size) {
        for x in x0..<(x0 + size) {
          let i = (y * image.width + x) * 3
          for c in 0..<3 { local[c].append(Float(image.pixels[i + c]) / 255) }
          labels.append(mask.pixels[i] > 127 ? 1 : 0)
        }
      }
      for c in 0..<3 { planes[c] = local[c] }
      pixels += planes.flatMap { $0 }
    }
    return TrainingBatch(
      images: try Tensor(shape: [2, 3, size, size], values: pixels), labels: labels)
  }
}

final class TrainingTests: XCTestCase {
  func tinyConfig(folder: String) -> TrainingConfig {
    var config = TrainingConfig(tiles: folder)
    config.steps = 6
    config.learningRate = 3e-3
    config.warmupSteps = 2
    config.validateEvery = 3
    config.checkpointEvery = 3
    config.model.variant = .patch
    config.model.stageDims = [16, 32]
    config.model.stageDepths = [1, 1]
    config.model.headDim = 8
    config.model.decoderDim = 16
    config.model.skipChannels = 8
    return config
  }

  func validationCases(_ source: TinyTileSource) throws -> [ValidationCase] {
    let image = source.images[1], mask = source.masks[1]
    var values = [Float](repeating: 0, count: image.width * image.height * 3)
    let plane = image.width * image.height
    for p in 0..<plane {
      for c in 0..<3 { values[c * plane + p] = Float(image.pixels[p * 3 + c]) / 255 }
    }
    let labels = (0..<plane).map { mask.pixels[$0 * 3] > 127 ? 1 : 0 }
    return [
      ValidationCase(
        name: "47", image: try Tensor(shape: [1, 3, image.height, image.width], values: values),
        labels: labels)
    ]
  }

  /// A run killed after its step-3 checkpoint and resumed gives exactly the
  /// losses of an uninterrupted run with the same seed.
  func testResumeRepeatsTheUninterruptedRunExactly() throws {
    try checkResume(tinyConfig(folder: ""))
  }

  /// The same with the VQ tokenizer, whose codebook moves by EMA and
  /// restarts dead codes at every step.
  func testResumeIsExactWithTheTokenizerToo() throws {
    var config = tinyConfig(folder: "")
    config.model.variant = .holohisto
    config.model.encoderWidths = [8, 8, 8, 8]
    config.model.encoderBlocks = 1
    config.model.tokenDim = 8
    config.model.codebookSize = 16
    try checkResume(config)
  }

  func checkResume(_ config: TrainingConfig) throws {
    let source = try TinyTileSource(seed: 3)
    let validation = try validationCases(source)

    let straightFolder = try temporaryFolder(self).path
    let straight = Trainer(
      config: config, model: try SegmentationModel(config: config.model, seed: 5),
      source: source, validation: validation, outputFolder: straightFolder)
    try straight.run()

    let folder = try temporaryFolder(self).path
    let first = Trainer(
      config: config, model: try SegmentationModel(config: config.model, seed: 5),
      source: source, validation: validation, outputFolder: folder)
    try first.run(stopAfter: 3)
    XCTAssertEqual(first.step, 3)

    // A fresh process: new model with different initial weights, resumed.
    let second = Trainer(
      config: config, model: try SegmentationModel(config: config.model, seed: 99),
      source: source, validation: validation, outputFolder: folder)
    XCTAssertTrue(try second.resumeIfPossible())
    XCTAssertEqual(second.step, 3)
    try second.run()

    XCTAssertEqual(second.log.map(\.loss), straight.log.map(\.loss))
    XCTAssertEqual(second.log.count, config.steps)
    XCTAssertEqual(second.bestDice, straight.bestDice)
    let best = try Checkpoint.load(stem: folder + "/best")
    XCTAssertEqual(best.config, config.model)
    let logText = try String(contentsOfFile: folder + "/log.csv", encoding: .utf8)
    XCTAssertEqual(logText.split(separator: "\n").count, config.steps + 1)
  }

  /// Forty steps on real PAS crops: the loss falls by more than 15%.
  func testLossFalls() throws {
    let source = try TinyTileSource(seed: 1)
    let folder = try temporaryFolder(self).path
    var config = tinyConfig(folder: folder)
    config.steps = 40
    config.validateEvery = 40
    config.checkpointEvery = 40
    let trainer = Trainer(
      config: config, model: try SegmentationModel(config: config.model, seed: 2),
      source: source, validation: [], outputFolder: folder)
    try trainer.run()
    let losses = trainer.log.map(\.loss)
    let early = losses.prefix(5).reduce(0, +) / 5
    let late = losses.suffix(5).reduce(0, +) / 5
    XCTAssertLessThan(late, early * 0.85, "losses \(losses)")
  }

  /// Tokenizer pre-training (`objective` tokenizer) on real PAS crops:
  /// validation PSNR of the held-out tile rises, only encoder and decoder
  /// move by gradient (the backbone keeps its start), and resume is exact.
  func testTokenizerObjectiveRaisesPSNR() throws {
    let source = try TinyTileSource(seed: 4)
    let validation = try validationCases(source)
    var config = tinyConfig(folder: "")
    config.objective = .tokenizer
    config.model.variant = .holohisto
    config.model.encoderWidths = [8, 8, 8, 8]
    config.model.encoderBlocks = 1
    config.model.tokenDim = 8
    config.model.codebookSize = 16
    config.learningRate = 3e-3
    config.steps = 16
    config.validateEvery = 1
    config.checkpointEvery = 4
    let folder = try temporaryFolder(self).path
    let model = try SegmentationModel(config: config.model, seed: 5)
    let backbone = model.store.tensors.filter { $0.key.hasPrefix("backbone.") }
      .mapValues(\.scalars)
    let trainer = Trainer(
      config: config, model: model, source: source, validation: validation,
      outputFolder: folder)
    try trainer.run()
    let psnr = trainer.log.compactMap(\.validationDice)
    XCTAssertEqual(psnr.count, 16)
    XCTAssertGreaterThan(psnr.suffix(3).max()!, psnr[0] + 1, "PSNR \(psnr)")
    XCTAssertEqual(trainer.bestDice, psnr.max())
    for (name, values) in backbone {
      XCTAssertEqual(model.store.tensors[name]!.scalars, values, name)
    }
    let header = try String(contentsOfFile: folder + "/log.csv", encoding: .utf8)
      .split(separator: "\n").first
    XCTAssertEqual(header, "step,learning_rate,loss,seconds,validation_psnr")
    try checkResume(config)
  }

  /// A pre-trained tokenizer's encoder and codebook (weights, batch-norm
  /// statistics, EMA state) start a new model; nothing else is copied.
  func testTokenizerTransferCopiesEncoderAndCodebookOnly() throws {
    var config = tinyConfig(folder: "").model
    config.variant = .holohisto
    config.encoderWidths = [8, 8, 8, 8]
    config.encoderBlocks = 1
    config.tokenDim = 8
    config.codebookSize = 16
    let pretrained = try SegmentationModel(config: config, seed: 1)
    let stem = try temporaryFolder(self).appendingPathComponent("tok").path
    try Checkpoint.save(pretrained, stem: stem)

    let fresh = try SegmentationModel(config: config, seed: 2)
    let before = fresh.store.tensors.mapValues(\.scalars)
    let copied = try TokenizerTransfer.load(stem: stem, into: fresh)
    var moved = 0
    for (name, tensor) in fresh.store.tensors {
      if name.hasPrefix("encoder.") || name.hasPrefix("quantizer.") {
        XCTAssertEqual(tensor.scalars, pretrained.store.tensors[name]!.scalars, name)
        moved += 1
      } else {
        XCTAssertEqual(tensor.scalars, before[name]!, name)
      }
    }
    XCTAssertEqual(copied, moved)
    XCTAssertGreaterThan(moved, 10)

    var unet = config
    unet.variant = .unet
    XCTAssertThrowsError(
      try TokenizerTransfer.load(stem: stem, into: try SegmentationModel(config: unet, seed: 1)))
    var wider = config
    wider.codebookSize = 32
    XCTAssertThrowsError(
      try TokenizerTransfer.load(stem: stem, into: try SegmentationModel(config: wider, seed: 1))
    ) { XCTAssertTrue("\($0)".contains("quantizer."), "\($0)") }
  }

  /// Unlabelled slides only serve tokenizer pre-training; a tokenizer to
  /// start from only serves segmentation.
  func testObjectiveSettingsAreChecked() throws {
    let folder = try temporaryFolder(self)
    let path = folder.appendingPathComponent("train.json").path
    func message(_ json: String) -> String {
      _ = FileManager.default.createFile(atPath: path, contents: Data(json.utf8))
      do {
        _ = try TrainingConfig.load(path: path)
        return "loaded"
      } catch {
        return "\(error)".replacingOccurrences(of: path, with: "C")
      }
    }
    XCTAssertEqual(
      message(#"{"tiles": "t", "slides": ["a.svs"]}"#),
      #"C: 'slides' holds unlabelled slides, which only "objective": "tokenizer" uses."#)
    XCTAssertEqual(
      message(#"{"objective": "tokenizer", "tiles": "t", "tokenizer": "x/best"}"#),
      "C: 'tokenizer' must be the stem of a pre-trained tokenizer checkpoint, for segmentation.")
    XCTAssertEqual(
      message(#"{"objective": "tokenizer"}"#), "C: 'tiles' or 'slides' is required.")
    XCTAssertEqual(message(#"{"objective": "tokenize", "tiles": "t"}"#),
      #"C: 'objective' must be "segmentation" or "tokenizer", got tokenize."#)
    XCTAssertEqual(message(#"{"objective": "tokenizer", "slides": ["a.svs"]}"#), "loaded")
    let config = try TrainingConfig.load(path: path)
    XCTAssertEqual(config.tiles, "")
    XCTAssertEqual(config.slides, [folder.appendingPathComponent("a.svs").path])
  }

  /// Read-ahead hands out exactly the wrapped source's batches, in any
  /// order of requests (sequential, a repeat, a jump as after a resume).
  func testPrefetchingGivesTheSameBatches() throws {
    let source = try TinyTileSource(seed: 8)
    let prefetching = PrefetchingBatchSource(source, depth: 3)
    for step in [0, 1, 2, 3, 3, 7, 8, 2] {
      let a = try prefetching.batch(step: step)
      let b = try source.batch(step: step)
      XCTAssertEqual(a.images.scalars, b.images.scalars, "step \(step)")
      XCTAssertEqual(a.labels, b.labels, "step \(step)")
    }
  }

  func testScheduleWarmsUpThenDecays() {
    let s = LearningRateSchedule(peak: 1, warmup: 4, total: 14, floor: 0.1)
    XCTAssertEqual(s.rate(step: 0), 0.25)
    XCTAssertEqual(s.rate(step: 3), 1)
    XCTAssertEqual(s.rate(step: 4), 1)
    XCTAssertEqual(s.rate(step: 13), 0.1, accuracy: 1e-12)
    XCTAssertEqual(s.rate(step: 8) + s.rate(step: 9), 1.1, accuracy: 0.2)
  }

  func testConfigRefusesUnknownKeys() throws {
    let folder = try temporaryFolder(self)
    let path = folder.appendingPathComponent("train.json").path
    _ = FileManager.default.createFile(
      atPath: path, contents: Data(#"{"tiles": "t", "learning_rat": 0.1}"#.utf8))
    XCTAssertThrowsError(try TrainingConfig.load(path: path)) {
      XCTAssertTrue("\($0)".hasPrefix("\(path): unknown config key 'learning_rat' (known: "))
    }
    _ = FileManager.default.createFile(
      atPath: path, contents: Data(#"{"tiles": "t", "model": {"stage_dimz": [8, 16]}}"#.utf8))
    XCTAssertThrowsError(try TrainingConfig.load(path: path)) {
      XCTAssertTrue("\($0)".contains("unknown config key 'model.stage_dimz'"), "\($0)")
    }
    _ = FileManager.default.createFile(
      atPath: path, contents: Data(#"{"tiles": "t", "steps": 0}"#.utf8))
    XCTAssertThrowsError(try TrainingConfig.load(path: path)) {
      XCTAssertEqual(
        "\($0)", "\(path): 'steps' must be a whole number in 1...10000000, got 0.")
    }
  }
}

func temporaryFolder(_ test: XCTestCase) throws -> URL {
  let url = FileManager.default.temporaryDirectory
    .appendingPathComponent("holohisto-training-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
  return url
}

/// The model shipped in models/glomeruli loads and segments a real test
/// tile it never saw (tile 163; its recorded Dice is 0.954).
final class ShippedModelTests: XCTestCase {
  func testShippedModelSegmentsATestTile() throws {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent()
    let data = root.deletingLastPathComponent()
      .appendingPathComponent("shared/data/labeled/hubmap-glomeruli-cnsiu")
    let folder = try temporaryFolder(self)
    for (kind, ext) in [("images", "jpg"), ("masks", "png")] {
      let target = folder.appendingPathComponent("\(kind)/test")
      try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
      try FileManager.default.copyItem(
        at: data.appendingPathComponent("\(kind)/test/163.\(ext)"),
        to: target.appendingPathComponent("163.\(ext)"))
    }
    let model = try Checkpoint.load(
      stem: root.appendingPathComponent("models/glomeruli/holohisto").path)
    XCTAssertEqual(model.config.variant, .holohisto)
    let dataset = try TileFolderDataset(root: folder.path, split: "test")
    let scores = try TileScorer.score(model: model, dataset: dataset, downsample: 2)
    XCTAssertEqual(scores.count, 1)
    XCTAssertEqual(scores[0].dice, 0.954, accuracy: 0.01)
  }
}

/// The tile sampler (`"sampler": "grid"`) on three real HuBMAP tiles.
final class GridSamplingTests: XCTestCase {
  func source() throws -> TileBatchSource {
    let data = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("shared/data/labeled/hubmap-glomeruli-cnsiu")
    let folder = try temporaryFolder(self)
    for kind in ["images/train", "masks/train"] {
      try FileManager.default.createDirectory(
        at: folder.appendingPathComponent(kind), withIntermediateDirectories: true)
    }
    for stem in ["106", "107", "109", "110"] {
      try FileManager.default.createSymbolicLink(
        at: folder.appendingPathComponent("images/train/\(stem).jpg"),
        withDestinationURL: data.appendingPathComponent("images/train/\(stem).jpg"))
      try FileManager.default.createSymbolicLink(
        at: folder.appendingPathComponent("masks/train/\(stem).png"),
        withDestinationURL: data.appendingPathComponent("masks/train/\(stem).png"))
    }
    var config = TrainingConfig(tiles: folder.path)
    config.validationTiles = 1
    config.patch = [256, 256]
    config.downsample = 2
    config.batchSize = 2
    config.seed = 5
    config.sampler = .grid
    return try TileBatchSource(config: config)
  }

  /// Each epoch visits every grid patch once, in an order that changes
  /// between epochs; items are a function of (seed, index) alone.
  func testEveryPatchOncePerEpoch() throws {
    let a = try source(), b = try source()
    let grid = try XCTUnwrap(a.gridPlans)
    // 1600×1200 tiles read as 512-pixel regions (256 at ×2): 4 × 3 places
    // per tile, fewer where a place holds under 10% tissue.
    XCTAssertGreaterThan(grid.count, 3 * 6)
    XCTAssertLessThanOrEqual(grid.count, 3 * 12)
    func key(_ p: RandomPatchSampler.Plan) -> String {
      "\(p.sourceIndex):\(p.level0Origin.x),\(p.level0Origin.y)"
    }
    let n = grid.count
    let first = (0..<n).map { a.plan(item: $0) }
    let second = (n..<(2 * n)).map { a.plan(item: $0) }
    XCTAssertEqual(Set(first.map(key)), Set(grid.map(key)))
    XCTAssertEqual(Set(first.map(key)).count, n)
    XCTAssertEqual(Set(second.map(key)), Set(grid.map(key)))
    XCTAssertNotEqual(first.map(key), second.map(key))
    XCTAssertEqual(first.map(\.index), Array(0..<n))
    XCTAssertEqual((0..<n).map { key(b.plan(item: $0)) }, first.map(key))
    for plan in grid {
      XCTAssertEqual(plan.readSize, PixelSize(width: 512, height: 512))
      XCTAssertTrue((0...(1600 - 512)).contains(plan.levelOrigin.x), key(plan))
      XCTAssertTrue((0...(1200 - 512)).contains(plan.levelOrigin.y), key(plan))
    }
    let batch = try a.batch(step: 1)
    XCTAssertEqual(batch.images.shape, [2, 3, 256, 256])
  }

  func testConfigNamesTheSampler() throws {
    let folder = try temporaryFolder(self)
    let path = folder.appendingPathComponent("train.json").path
    _ = FileManager.default.createFile(
      atPath: path, contents: Data(#"{"tiles": "t", "sampler": "grod"}"#.utf8))
    XCTAssertThrowsError(try TrainingConfig.load(path: path)) {
      XCTAssertEqual("\($0)", "\(path): 'sampler' must be \"random\" or \"grid\", got grod.")
    }
    _ = FileManager.default.createFile(
      atPath: path,
      contents: Data(#"{"tiles": "t", "sampler": "grid", "grid_overlap": 64}"#.utf8))
    let config = try TrainingConfig.load(path: path)
    XCTAssertEqual(config.sampler, .grid)
    XCTAssertEqual(config.gridOverlap, 64)
  }
}
