import Foundation
import Model

/// What `holohisto train` reads from its JSON config file. Unknown keys are
/// an error (a misspelt key would otherwise silently train with a
/// default). Keys are snake_case, as in the model config.
///
/// ```json
/// { "tiles": "../shared/data/labeled/hubmap-glomeruli-cnsiu",
///   "patch": [512, 512], "downsample": 2, "batch_size": 2,
///   "steps": 2000, "learning_rate": 0.002, "warmup_steps": 100,
///   "validate_every": 200, "checkpoint_every": 50, "seed": 1,
///   "model": { "variant": "holohisto" } }
/// ```
public struct TrainingConfig: Sendable, Equatable {
  /// Folder of image/mask tiles (`images/<split>/*.jpg`,
  /// `masks/<split>/*.png`), relative paths resolved against the config
  /// file's folder. Empty: none (tokenizer pre-training on `slides` alone).
  public var tiles: String
  /// What is trained: the segmentation model (`segmentation`, the
  /// default), or the sequential tokenizer alone by reconstruction
  /// (`tokenizer`: encoder and decoder by gradient on mean squared error
  /// plus the commitment loss, the codebook by EMA; validation reports
  /// PSNR in dB on the held-out tiles instead of Dice).
  public var objective = Objective.segmentation
  /// Unlabelled slides (any readable format) sampled alongside the tiles'
  /// images; tokenizer pre-training only. Relative paths are resolved
  /// against the config file's folder.
  public var slides: [String] = []
  /// Stem of a pre-trained tokenizer checkpoint (`STEM.json` +
  /// `STEM.safetensors`, e.g. a tokenizer run's `best`) whose encoder and
  /// codebook start segmentation training; `nil`: random start.
  public var tokenizer: String?
  /// Split used for training; validation tiles are held out of it.
  public var trainSplit = "train"
  /// Number of training tiles held out for validation (chosen by seed).
  public var validationTiles = 9
  /// Training patch size in pixels of the resampled image (width, height).
  public var patch = [512, 512]
  /// Level-0 pixels per training pixel (2: tiles are halved).
  public var downsample = 2.0
  public var batchSize = 2
  public var steps = 1000
  public var learningRate = 2e-3
  public var warmupSteps = 50
  public var minLearningRate = 1e-5
  public var weightDecay = 1e-2
  /// Global gradient-norm clip.
  public var clipNorm = 1.0
  /// Weight of the soft Dice term next to cross-entropy.
  public var diceWeight = 1.0
  public var validateEvery = 100
  public var checkpointEvery = 50
  public var seed: UInt64 = 0
  /// How training patches are drawn: `random` (centred on random tissue
  /// pixels, the paper's way) or `grid` (a fixed grid over each tile,
  /// visited in a fresh seeded order every epoch; the tile-sampler
  /// ablation).
  public var sampler = Sampler.random
  /// Overlap between neighbouring grid patches, in patch pixels (`grid`).
  public var gridOverlap = 0
  public var model = ModelConfig()

  public enum Objective: String, Sendable, Equatable, CaseIterable {
    case segmentation
    case tokenizer
  }

  public enum Sampler: String, Sendable, Equatable, CaseIterable {
    case random
    case grid
  }

  static let keys = [
    "tiles", "train_split", "validation_tiles", "patch", "downsample", "batch_size", "steps",
    "learning_rate", "warmup_steps", "min_learning_rate", "weight_decay", "clip_norm",
    "dice_weight", "validate_every", "checkpoint_every", "seed", "sampler", "grid_overlap",
    "objective", "slides", "tokenizer", "model",
  ]

  public init(tiles: String) {
    self.tiles = tiles
  }

  /// Reads and checks a config file.
  /// - Throws: ``TrainingError`` naming the file and the key.
  public static func load(path: String) throws -> TrainingConfig {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw TrainingError.badConfig(path: path, detail: "no such file or not readable")
    }
    guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
      throw TrainingError.badConfig(path: path, detail: "not a JSON object")
    }
    for key in object.keys.sorted() where !keys.contains(key) {
      throw TrainingError.unknownConfigKey(path: path, key: key, known: keys)
    }
    let folder = (path as NSString).deletingLastPathComponent
    func resolve(_ p: String) -> String {
      p.hasPrefix("/") || folder.isEmpty || p.isEmpty
        ? p : (folder as NSString).appendingPathComponent(p)
    }
    /// The value of `key` as one of `E`'s names; `nil` when absent.
    func choice<E: RawRepresentable & CaseIterable>(_ key: String, _: E.Type) throws -> E?
    where E.RawValue == String {
      guard let value = object[key] else { return nil }
      guard let name = value as? String, let parsed = E(rawValue: name) else {
        let names = E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: " or ")
        throw TrainingError.invalidSetting(
          path: path, key: key, detail: "must be \(names), got \(value)")
      }
      return parsed
    }
    let objective = try choice("objective", Objective.self) ?? .segmentation
    var slides: [String] = []
    if let value = object["slides"] {
      guard let list = value as? [String], !list.isEmpty else {
        throw TrainingError.invalidSetting(
          path: path, key: "slides", detail: "must be a non-empty list of paths")
      }
      guard objective == .tokenizer else {
        throw TrainingError.invalidSetting(
          path: path, key: "slides",
          detail: "holds unlabelled slides, which only \"objective\": \"tokenizer\" uses")
      }
      slides = list.map(resolve)
    }
    let tiles = object["tiles"] as? String ?? ""
    guard !tiles.isEmpty || !slides.isEmpty else {
      throw TrainingError.invalidSetting(
        path: path, key: "tiles",
        detail: objective == .tokenizer ? "or 'slides' is required" : "is required")
    }
    var config = TrainingConfig(tiles: resolve(tiles))
    config.objective = objective
    config.slides = slides
    if let value = object["tokenizer"] {
      guard let stem = value as? String, !stem.isEmpty, objective == .segmentation else {
        throw TrainingError.invalidSetting(
          path: path, key: "tokenizer",
          detail: "must be the stem of a pre-trained tokenizer checkpoint, for segmentation")
      }
      config.tokenizer = resolve(stem)
    }

    func int(_ key: String, _ range: ClosedRange<Int>) throws -> Int? {
      guard let value = object[key] else { return nil }
      guard let n = value as? Int, range.contains(n) else {
        throw TrainingError.invalidSetting(
          path: path, key: key, detail: "must be a whole number in \(range), got \(value)")
      }
      return n
    }
    func double(_ key: String, _ range: ClosedRange<Double>) throws -> Double? {
      guard let value = object[key] else { return nil }
      guard let x = value as? Double, range.contains(x) else {
        throw TrainingError.invalidSetting(
          path: path, key: key, detail: "must be a number in \(range), got \(value)")
      }
      return x
    }

    if let v = object["train_split"] as? String { config.trainSplit = v }
    if let v = try int("validation_tiles", 0...10_000) { config.validationTiles = v }
    if let value = object["patch"] {
      guard let p = value as? [Int], p.count == 2, p.allSatisfy({ (16...8192).contains($0) })
      else {
        throw TrainingError.invalidSetting(
          path: path, key: "patch", detail: "must be [width, height] in 16…8192, got \(value)")
      }
      config.patch = p
    }
    if let v = try double("downsample", 0.125...64) { config.downsample = v }
    if let v = try int("batch_size", 1...256) { config.batchSize = v }
    if let v = try int("steps", 1...10_000_000) { config.steps = v }
    if let v = try double("learning_rate", 1e-8...10) { config.learningRate = v }
    if let v = try int("warmup_steps", 0...10_000_000) { config.warmupSteps = v }
    if let v = try double("min_learning_rate", 0...10) { config.minLearningRate = v }
    if let v = try double("weight_decay", 0...10) { config.weightDecay = v }
    if let v = try double("clip_norm", 0...1e6) { config.clipNorm = v }
    if let v = try double("dice_weight", 0...100) { config.diceWeight = v }
    if let v = try int("validate_every", 1...10_000_000) { config.validateEvery = v }
    if let v = try int("checkpoint_every", 1...10_000_000) { config.checkpointEvery = v }
    if let v = try int("seed", 0...Int.max) { config.seed = UInt64(v) }
    if let sampler = try choice("sampler", Sampler.self) { config.sampler = sampler }
    if let v = try int("grid_overlap", 0...8191) {
      guard v < min(config.patch[0], config.patch[1]) else {
        throw TrainingError.invalidSetting(
          path: path, key: "grid_overlap", detail: "must be smaller than the patch, got \(v)")
      }
      config.gridOverlap = v
    }
    if let model = object["model"] {
      config.model = try modelConfig(model, path: path)
    }
    return config
  }

  /// Decodes the `model` object strictly (unknown keys refused) and
  /// validates it.
  private static func modelConfig(_ value: Any, path: String) throws -> ModelConfig {
    guard let object = value as? [String: Any] else {
      throw TrainingError.invalidSetting(path: path, key: "model", detail: "must be an object")
    }
    let defaults = try JSONSerialization.jsonObject(
      with: JSONEncoder().encode(ModelConfig())) as! [String: Any]
    let known = defaults.keys.sorted()
    for key in object.keys.sorted() where defaults[key] == nil {
      throw TrainingError.unknownConfigKey(path: path, key: "model.\(key)", known: known)
    }
    do {
      let data = try JSONSerialization.data(withJSONObject: object)
      let config = try JSONDecoder().decode(ModelConfig.self, from: data)
      try config.validate()
      return config
    } catch {
      throw TrainingError.invalidSetting(path: path, key: "model", detail: "\(error)")
    }
  }
}
