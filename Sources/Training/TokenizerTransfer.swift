import Model
import Tensor

/// Starts a segmentation model from a pre-trained sequential tokenizer:
/// the encoder's weights and batch-norm statistics and the codebook with
/// its EMA state (every tensor named `encoder.*` or `quantizer.*`) are
/// copied from a tokenizer run's checkpoint; everything else keeps its
/// fresh initialisation.
public enum TokenizerTransfer {
  /// Copies the tokenizer of checkpoint `stem` (`STEM.json` +
  /// `STEM.safetensors`) into `model`; returns how many tensors it copied.
  /// - Throws: the checkpoint's own loading errors, or
  ///   ``TrainingError/badData(path:detail:)`` when either model has no
  ///   tokenizer or a tensor's shape differs (another patch size, token
  ///   dimension or codebook size).
  @discardableResult
  public static func load(stem: String, into model: SegmentationModel) throws -> Int {
    let source = try Checkpoint.load(stem: stem)
    let path = stem + ".safetensors"
    guard source.quantizer != nil, model.quantizer != nil else {
      throw TrainingError.badData(
        path: path,
        detail: "a tokenizer can only move between variants that have one (holohisto, "
          + "softmax); got \(source.config.variant.rawValue) → \(model.config.variant.rawValue)")
    }
    var weights = model.store.tensors
    var copied = 0
    for (name, tensor) in source.store.tensors
    where name.hasPrefix("encoder.") || name.hasPrefix("quantizer.") {
      guard let target = weights[name], target.shape == tensor.shape else {
        throw TrainingError.badData(
          path: path,
          detail: "its tensor '\(name)' \(tensor.shape) does not fit the model being trained "
            + "(\(weights[name].map { "\($0.shape)" } ?? "absent"))")
      }
      weights[name] = tensor
      copied += 1
    }
    try model.store.load(weights, path: path)
    return copied
  }
}
