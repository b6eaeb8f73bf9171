import Tensor

/// Self-describing checkpoints: `<stem>.safetensors` (F32 weights and
/// buffers, names as the reference's `state_dict`) beside `<stem>.json`
/// (the `ModelConfig`: variant, sizes, classes, input µm/px and level,
/// normalisation mean/std).
public enum Checkpoint {
  /// Writes both files.
  ///
  /// - Throws: `ModelError.io`.
  public static func save(_ model: SegmentationModel, stem: String) throws {
    try model.config.save(path: stem + ".json")
    do {
      try SafeTensors.write(
        model.store.tensors,
        metadata: ["format": "pt", "variant": model.config.variant.rawValue],
        path: stem + ".safetensors")
    } catch {
      throw ModelError.io(path: stem + ".safetensors", detail: "\(error)")
    }
  }

  /// Rebuilds the model from `<stem>.json` and loads `<stem>.safetensors`
  /// (every tensor must be there with its shape, and nothing more; a
  /// PyTorch `num_batches_tracked` counter is ignored).
  ///
  /// - Throws: `ModelError` for a bad config or mismatching weights.
  public static func load(stem given: String) throws -> SegmentationModel {
    // A stem given with either file's extension names the same model.
    var stem = given
    for suffix in [".json", ".safetensors"] where stem.hasSuffix(suffix) {
      stem = String(stem.dropLast(suffix.count))
    }
    let config = try ModelConfig.load(path: stem + ".json")
    return try load(config: config, weightsPath: stem + ".safetensors")
  }

  /// Builds a model of `config` and loads the weights file into it.
  public static func load(config: ModelConfig, weightsPath: String) throws
    -> SegmentationModel
  {
    let model = try SegmentationModel(config: config)
    var weights: [String: Tensor]
    do {
      weights = try SafeTensors.read(path: weightsPath)
    } catch let error as TensorError {
      // Reading errors already are one sentence naming the file.
      switch error {
      case .corruptFile, .io: throw error
      default: throw ModelError.io(path: weightsPath, detail: "\(error)")
      }
    } catch {
      throw ModelError.io(path: weightsPath, detail: "\(error)")
    }
    weights = weights.filter { !$0.key.hasSuffix("num_batches_tracked") }
    try model.store.load(weights, path: weightsPath)
    return model
  }
}
