import Dispatch
import Foundation
import Model
import SlideIO
import Tensor

/// Trains a segmentation model: Dice + cross-entropy, AdamW with warm-up
/// and cosine decay, global-norm gradient clipping, validation every
/// `validateEvery` steps (mean Dice over held-out cases), atomic
/// checkpoints, and exact resume.
///
/// Files in `outputFolder`:
/// - `last.safetensors`: everything needed to resume (``TrainingCheckpoint``);
/// - `best.json` + `best.safetensors`: the model with the best validation
///   Dice so far, loadable with `Checkpoint.load(stem:)`;
/// - `log.csv`: `step,learning_rate,loss,seconds,validation_dice`, one row
///   per step (validation cell empty except on validation steps).
///
/// Exact resume rests on three things: batches are a pure function of the
/// step (``BatchSource``), the checkpoint holds every tensor the model
/// updates (weights, batch-norm running statistics, codebook) plus AdamW's
/// moments and step, and nothing else carries state.
///
/// Tokenizer variants: the codebook is not trained by gradient. After each
/// step it follows the encoder by the quantiser's EMA rule, and codes that
/// fell out of use restart on encoder outputs of the batch, drawn with a
/// generator seeded by (seed, step), so resume stays exact.
///
/// Tokenizer pre-training (`objective` `tokenizer`): the same loop trains
/// the encoder and decoder alone on mean squared error between the
/// reconstruction and the normalised input plus the commitment loss, the
/// codebook by EMA as above; validation is the mean PSNR (dB) of the
/// held-out tiles' reconstructions, and `best` is the highest PSNR (the
/// latest checkpoint when there is nothing to validate on). The log's
/// last column is then `validation_psnr`.
public final class Trainer {
  /// What the run's caller sees after each step.
  public struct Progress: Sendable {
    public let step: Int
    public let steps: Int
    public let loss: Double
    public let learningRate: Double
    public let secondsPerStep: Double
    public let validationDice: Double?
    /// Estimated seconds left at the recent pace.
    public var secondsLeft: Double { Double(steps - step) * secondsPerStep }
  }

  /// One row of `log.csv`.
  public struct LogRow: Equatable, Sendable {
    public let step: Int
    public let learningRate: Double
    public let loss: Double
    public let seconds: Double
    public let validationDice: Double?
  }

  public let config: TrainingConfig
  public let model: SegmentationModel
  public let outputFolder: String
  let source: any BatchSource
  let validation: [ValidationCase]
  let optimizer: AdamW
  let schedule: LearningRateSchedule
  /// Steps completed so far (the next step to run).
  public private(set) var step = 0
  public private(set) var bestDice: Double?
  public private(set) var log: [LogRow] = []

  public init(
    config: TrainingConfig, model: SegmentationModel, source: any BatchSource,
    validation: [ValidationCase], outputFolder: String
  ) {
    self.config = config
    self.model = model
    self.source = source
    self.validation = validation
    self.outputFolder = outputFolder
    optimizer = AdamW(
      parameters: config.objective == .tokenizer
        ? model.tokenizerParameters : model.segmentationParameters,
      learningRate: Float(config.learningRate), weightDecay: Float(config.weightDecay))
    schedule = LearningRateSchedule(
      peak: config.learningRate, warmup: config.warmupSteps, total: config.steps,
      floor: config.minLearningRate)
  }

  var checkpointPath: String { outputFolder + "/last.safetensors" }
  var logPath: String { outputFolder + "/log.csv" }

  /// Loads `last.safetensors` and `log.csv` from the output folder, if a
  /// previous run left them; returns whether it did.
  public func resumeIfPossible() throws -> Bool {
    guard FileManager.default.fileExists(atPath: checkpointPath) else { return false }
    let saved = try TrainingCheckpoint.read(
      path: checkpointPath, parameterCount: optimizer.parameters.count)
    guard saved.modelConfig == model.config else {
      throw TrainingError.badCheckpoint(
        path: checkpointPath, detail: "its model config differs from the training config's")
    }
    do {
      try model.store.load(saved.weights, path: checkpointPath)
      try optimizer.restore(saved.optimizer)
    } catch {
      throw TrainingError.badCheckpoint(path: checkpointPath, detail: "\(error)")
    }
    step = saved.step
    bestDice = saved.bestDice
    log = try Self.readLog(logPath).filter { $0.step <= step }
    return true
  }

  /// Runs until `config.steps` (or `stopAfter` more steps), calling
  /// `progress` after every step. Checkpoints every `checkpointEvery` steps
  /// and at the end.
  public func run(stopAfter: Int? = nil, progress: (Progress) -> Void = { _ in }) throws {
    let end = min(config.steps, stopAfter.map { step + $0 } ?? config.steps)
    var recent: [Double] = []
    while step < end {
      let started = DispatchTime.now()
      let rate = schedule.rate(step: step)
      let loss = try trainStep(rate: rate)
      let seconds = Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e9
      step += 1

      var dice: Double? = nil
      if step % config.validateEvery == 0 || step == config.steps {
        dice = try validate()
        if let d = dice, d > (bestDice ?? -1) {
          bestDice = d
          try saveModelAtomically(model, stem: outputFolder + "/best")
        }
      }
      log.append(
        LogRow(step: step, learningRate: rate, loss: loss, seconds: seconds,
          validationDice: dice))
      if step % config.checkpointEvery == 0 || step == end {
        try checkpoint()
        if validation.isEmpty {
          try saveModelAtomically(model, stem: outputFolder + "/best")
        }
      }
      recent.append(seconds)
      if recent.count > 20 { recent.removeFirst() }
      progress(
        Progress(
          step: step, steps: config.steps, loss: loss, learningRate: rate,
          secondsPerStep: recent.reduce(0, +) / Double(recent.count), validationDice: dice))
    }
  }

  /// One optimisation step; returns the loss before the update.
  func trainStep(rate: Double) throws -> Double {
    let batch = try source.batch(step: step)
    let loss: Tensor
    let quantized: VectorQuantizer.Output?
    switch config.objective {
    case .segmentation:
      let output = try model.forward(batch.images, training: true)
      loss = try SegmentationLoss.compute(
        output, labels: batch.labels, diceWeight: Float(config.diceWeight))
      quantized = output.quantized
    case .tokenizer:
      let reconstruction = try model.reconstruct(batch.images, training: true)
      loss =
        (reconstruction.output - reconstruction.target).squared().mean()
        + reconstruction.quantized.commitmentLoss
      quantized = reconstruction.quantized
    }
    loss.backward()
    if let quantizer = model.quantizer, let q = quantized {
      let vectors = q.vectors.detached()
      quantizer.updateCodebook(vectors: vectors, indices: q.indices)
      var rng = Xoshiro256(seed: config.seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(step))
      quantizer.restartDeadCodes(vectors: vectors, rng: &rng)
    }
    if config.clipNorm > 0 {
      _ = GradientClipping.clipByGlobalNorm(optimizer.parameters, maxNorm: Float(config.clipNorm))
    }
    optimizer.learningRate = Float(rate)
    optimizer.step()
    optimizer.zeroGrad()
    return Double(loss.item)
  }

  /// Mean Dice over foreground classes and validation cases (argmax of the
  /// evaluation-mode logits); `nil` without validation cases.
  public func validate() throws -> Double? {
    guard !validation.isEmpty else { return nil }
    var scores: [Double] = []
    if config.objective == .tokenizer {
      for item in validation {
        let reconstruction = try withNoGrad { try model.reconstruct(item.image) }
        let h = item.image.shape[2], w = item.image.shape[3]
        let output = model.denormalised(reconstruction.output)
        let cropped = output.shape[2] == h && output.shape[3] == w
          ? output : output.cropped(top: 0, left: 0, height: h, width: w)
        scores.append(ReconstructionMetrics.psnr(cropped, item.image))
      }
      return scores.reduce(0, +) / Double(scores.count)
    }
    for item in validation {
      let logits = try withNoGrad { try model(item.image) }
      let predicted = Self.argmax(logits)
      scores.append(Self.meanDice(predicted, item.labels, classes: model.config.classes))
    }
    return scores.reduce(0, +) / Double(scores.count)
  }

  /// Writes `log.csv`, then `last.safetensors`: in that order a kill at
  /// any moment leaves a log that reaches at least the checkpoint's step
  /// (rows past it are dropped on resume).
  func checkpoint() throws {
    let column = config.objective == .tokenizer ? "validation_psnr" : "validation_dice"
    var text = "step,learning_rate,loss,seconds,\(column)\n"
    for row in log {
      text += "\(row.step),\(row.learningRate),\(row.loss),\(row.seconds),"
        + "\(row.validationDice.map { String($0) } ?? "")\n"
    }
    let output = try OutputFile(path: logPath)
    guard FileManager.default.createFile(atPath: output.temporary, contents: Data(text.utf8))
    else {
      throw SlideError.writeFailed(path: logPath, detail: "cannot create the file")
    }
    try output.commit()
    try TrainingCheckpoint(
      step: step, bestDice: bestDice, weights: model.store.tensors, optimizer: optimizer.state,
      modelConfig: model.config
    ).write(to: checkpointPath)
  }

  static func readLog(_ path: String) throws -> [LogRow] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
    return text.split(separator: "\n").dropFirst().compactMap { line in
      let cells = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
      guard cells.count == 5, let step = Int(cells[0]), let rate = Double(cells[1]),
        let loss = Double(cells[2]), let seconds = Double(cells[3])
      else { return nil }
      return LogRow(
        step: step, learningRate: rate, loss: loss, seconds: seconds,
        validationDice: Double(cells[4]))
    }
  }

  /// Class index of the largest logit per pixel of `[1, C, H, W]`.
  static func argmax(_ logits: Tensor) -> [Int] {
    let c = logits.shape[1]
    let plane = logits.shape[2] * logits.shape[3]
    let values = logits.scalars
    return (0..<plane).map { p in
      var best = 0
      for k in 1..<c where values[k * plane + p] > values[best * plane + p] { best = k }
      return best
    }
  }

  /// Mean Dice over classes 1..<classes that occur in either labelling
  /// (empty versus empty left out; 1 when no class occurs at all).
  static func meanDice(_ predicted: [Int], _ truth: [Int], classes: Int) -> Double {
    var scores: [Double] = []
    for c in 1..<max(2, classes) {
      var tp = 0, p = 0, t = 0
      for (a, b) in zip(predicted, truth) {
        if a == c { p += 1 }
        if b == c { t += 1 }
        if a == c && b == c { tp += 1 }
      }
      if p + t > 0 { scores.append(Double(2 * tp) / Double(p + t)) }
    }
    return scores.isEmpty ? 1 : scores.reduce(0, +) / Double(scores.count)
  }
}
