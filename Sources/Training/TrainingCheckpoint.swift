import Foundation
import Model
import SlideIO
import Tensor

/// The resumable state of a training run in one safetensors file, so it is
/// replaced atomically as a whole: model tensors under `model/<name>`,
/// AdamW moments under `adamw/m/<i>` and `adamw/v/<i>` (parameter order),
/// and in the metadata the completed step count, AdamW's step, the best
/// validation Dice so far, and the model config as JSON.
struct TrainingCheckpoint {
  var step: Int
  var bestDice: Double?
  var weights: [String: Tensor]
  var optimizer: AdamW.State
  var modelConfig: ModelConfig

  func write(to path: String) throws {
    var tensors: [String: Tensor] = [:]
    for (name, tensor) in weights { tensors["model/\(name)"] = tensor }
    for (i, (m, v)) in zip(optimizer.firstMoments, optimizer.secondMoments).enumerated() {
      tensors["adamw/m/\(i)"] = try Tensor(shape: [m.count], values: m)
      tensors["adamw/v/\(i)"] = try Tensor(shape: [v.count], values: v)
    }
    let config = String(decoding: try JSONEncoder().encode(modelConfig), as: UTF8.self)
    let metadata = [
      "format": "holohisto-training", "step": String(step),
      "adamw_step": String(optimizer.step), "best_dice": bestDice.map { String($0) } ?? "",
      "model_config": config,
    ]
    let output = try OutputFile(path: path)
    do {
      try SafeTensors.write(tensors, metadata: metadata, path: output.temporary)
    } catch {
      output.discard()
      throw error
    }
    try output.commit()
  }

  static func read(path: String, parameterCount: Int) throws -> TrainingCheckpoint {
    let (tensors, metadata) = try SafeTensors.readWithMetadata(path: path)
    guard metadata["format"] == "holohisto-training",
      let step = metadata["step"].flatMap(Int.init),
      let adamStep = metadata["adamw_step"].flatMap(Int.init),
      let configText = metadata["model_config"]
    else {
      throw TrainingError.badCheckpoint(path: path, detail: "not a HoloHisto training state")
    }
    let config = try JSONDecoder().decode(ModelConfig.self, from: Data(configText.utf8))
    var weights: [String: Tensor] = [:]
    for (name, tensor) in tensors where name.hasPrefix("model/") {
      weights[String(name.dropFirst("model/".count))] = tensor
    }
    var m: [[Float]] = []
    var v: [[Float]] = []
    for i in 0..<parameterCount {
      guard let a = tensors["adamw/m/\(i)"], let b = tensors["adamw/v/\(i)"] else {
        throw TrainingError.badCheckpoint(
          path: path, detail: "optimiser state for parameter \(i) of \(parameterCount) missing")
      }
      m.append(a.scalars)
      v.append(b.scalars)
    }
    let best = metadata["best_dice"].flatMap { Double($0) }
    return TrainingCheckpoint(
      step: step, bestDice: best, weights: weights,
      optimizer: AdamW.State(step: adamStep, firstMoments: m, secondMoments: v),
      modelConfig: config)
  }
}

/// Saves a model as `<stem>.json` + `<stem>.safetensors`, each atomically.
func saveModelAtomically(_ model: SegmentationModel, stem: String) throws {
  let folder = (stem as NSString).deletingLastPathComponent
  let name = (stem as NSString).lastPathComponent
  let temporaryStem = (folder.isEmpty ? "." : folder) + "/.\(name).\(getpid()).partial"
  try Checkpoint.save(model, stem: temporaryStem)
  for suffix in [".safetensors", ".json"] {
    guard rename(temporaryStem + suffix, stem + suffix) == 0 else {
      unlink(temporaryStem + suffix)
      throw SlideError.writeFailed(path: stem + suffix, detail: String(cString: strerror(errno)))
    }
  }
}
