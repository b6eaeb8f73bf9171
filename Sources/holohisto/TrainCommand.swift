import Foundation
import Model
import SlideIO
import Training

/// `holohisto train --config FILE -o FOLDER`: trains a segmentation model
/// from a folder of image/mask tiles, resuming from the folder's last
/// checkpoint when there is one.
struct TrainCommand {
  static let name = "train"
  static let summary = "Train a segmentation model from image/mask tiles (resumable)."
  static let help = """
    USAGE: holohisto train --config FILE -o FOLDER [--stop-after N]

    Trains with Dice + cross-entropy, AdamW, warm-up and cosine decay and
    gradient clipping, on random patches centred on tissue, augmented
    (flips, 90° turns, HED stain jitter, zoom). Validates on held-out tiles
    every 'validate_every' steps. FOLDER receives last.safetensors (resume
    state), best.json + best.safetensors (the best model so far) and
    log.csv; each is replaced atomically. Running again with the same
    FOLDER resumes exactly where the last checkpoint left off.

    The config is JSON; unknown keys are an error. Keys: tiles (required),
    train_split, validation_tiles, patch [w, h], downsample, batch_size,
    steps, learning_rate, warmup_steps, min_learning_rate, weight_decay,
    clip_norm, dice_weight, validate_every, checkpoint_every, seed,
    sampler ("random": patches centred on random tissue pixels, the
    default; "grid": a fixed grid of patches over each tile, shuffled
    every epoch), grid_overlap (patch pixels), objective ("segmentation",
    the default, or "tokenizer": pre-train the sequential tokenizer by
    reconstruction; validation then reports PSNR), slides (unlabelled
    slides for tokenizer pre-training, any readable format), tokenizer
    (stem of a tokenizer run's checkpoint, e.g. runs/tok/best, to start
    segmentation from), model (an object of model settings, see
    docs/MODEL.md).

    OPTIONS:
      --config FILE     The training config (required).
      -o, --output DIR  Folder for checkpoints and the log (required;
                        created if missing, its parent must exist).
      --stop-after N    Stop after N more steps (a checkpoint is written).
      -h, --help        Show this help.
    """
  static let scanner = ArgumentScanner(
    command: name,
    options: [
      .init(name: "config", short: nil, takesValue: true, valueName: "FILE"),
      .init(name: "output", short: "o", takesValue: true, valueName: "DIR"),
      .init(name: "stop-after", short: nil, takesValue: true, valueName: "N"),
      .init(name: "help", short: "h", takesValue: false),
    ])

  var configPath: String
  var output: String
  var stopAfter: Int?

  init(arguments: [String]) throws(UsageError) {
    let scanned = try Self.scanner.scan(arguments)
    if let extra = scanned.positionals.first {
      throw UsageError("unexpected argument '\(extra)' for 'train'", command: Self.name)
    }
    guard let config = scanned.values["config"], let output = scanned.values["output"] else {
      throw UsageError("'train' needs --config FILE and -o FOLDER", command: Self.name)
    }
    configPath = config
    self.output = output
    if let text = scanned.values["stop-after"] {
      guard let n = Int(text), n > 0 else {
        throw UsageError(
          "--stop-after must be a whole number from 1, got '\(text)'", command: Self.name)
      }
      stopAfter = n
    }
  }

  func run() throws {
    let config = try TrainingConfig.load(path: configPath)
    try prepareFolder()
    let source = try TileBatchSource(config: config)
    let validation = try source.validationCases()
    let model = try SegmentationModel(config: config.model, seed: config.seed)
    if let tokenizer = config.tokenizer {
      // Resuming overwrites these with the checkpoint's own values.
      let copied = try TokenizerTransfer.load(stem: tokenizer, into: model)
      Console.error("tokenizer from \(tokenizer) (\(copied) tensors)")
    }
    // Patches for the next steps are read and augmented on another thread
    // while the model trains on this one.
    let trainer = Trainer(
      config: config, model: model, source: PrefetchingBatchSource(source),
      validation: validation, outputFolder: output)
    if try trainer.resumeIfPossible() {
      Console.error("resuming from step \(trainer.step) of \(config.steps)")
    } else {
      let sampling =
        source.gridPlans.map { "a grid of \($0.count) patches over " } ?? "random patches of "
      Console.error(
        "training \(config.model.variant.rawValue) (\(model.parameterCount) parameters) on "
          + sampling + "\(source.sampler.sources.count) images, validating on "
          + "\(validation.count): \(source.validationStems.joined(separator: ", "))")
    }
    let metric = config.objective == .tokenizer ? "PSNR" : "Dice"
    try trainer.run(stopAfter: stopAfter) { progress in
      var line = "step \(progress.step)/\(progress.steps) loss "
        + String(format: "%.4f", progress.loss)
        + " lr " + String(format: "%.2e", progress.learningRate)
        + String(format: " %.2f s/step ETA ", progress.secondsPerStep)
        + Self.duration(progress.secondsLeft)
      if let score = progress.validationDice {
        line += String(format: " validation \(metric) %.4f", score)
      }
      Console.error(line)
    }
    let best = trainer.bestDice.map { String(format: "%.4f", $0) } ?? "n/a"
    Console.out("step \(trainer.step) of \(config.steps); best validation \(metric) \(best); "
      + "model: \(output)/best.json")
  }

  /// Creates the output folder (not its parents).
  private func prepareFolder() throws {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory) {
      guard isDirectory.boolValue else {
        throw SlideError.writeFailed(path: output, detail: "it exists and is not a folder")
      }
      return
    }
    do {
      try FileManager.default.createDirectory(
        atPath: output, withIntermediateDirectories: false)
    } catch {
      throw SlideError.writeFailed(
        path: output, detail: "the folder cannot be created (does its parent exist?)")
    }
  }

  static func duration(_ seconds: Double) -> String {
    let s = Int(seconds.rounded())
    return s >= 3600 ? "\(s / 3600)h\(s % 3600 / 60)m" : "\(s / 60)m\(s % 60)s"
  }
}
