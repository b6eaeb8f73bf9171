import Foundation
import SlideIO

extension DiceReport {
  /// One CSV row per patch: `x,y,width,height,scored_pixels`, then
  /// `dice_class_1 … dice_class_{C−1}` and `mean_dice`; coordinates in
  /// level-0 pixels; undefined (empty-vs-empty) scores are empty cells.
  public func csv() -> String {
    let classes = (1..<classCount).map { "dice_class_\($0)" }
    var lines = [(["x", "y", "width", "height", "scored_pixels"] + classes + ["mean_dice"])
      .joined(separator: ",")]
    for patch in patches {
      let scores = (patch.dice + [patch.meanDice]).map { $0.map { String($0) } ?? "" }
      lines.append(
        ([patch.x, patch.y, patch.width, patch.height, patch.scoredPixels].map(String.init)
          + scores).joined(separator: ","))
    }
    return lines.joined(separator: "\n") + "\n"
  }

  /// A JSON object: whole-slide Dice per class and mean, patch mean, empty
  /// patch count, the empty-vs-empty policy, and every patch.
  public func json(prediction: String, truth: String) throws -> Data {
    func value(_ x: Double?) -> Any { x ?? NSNull() }
    let object: [String: Any] = [
      "prediction": prediction,
      "truth": truth,
      "classes": classCount,
      "patch_size": [patchSize.width, patchSize.height],
      "slide_dice_per_class": slideDice.map(value),
      "slide_mean_dice": value(slideMeanDice),
      "patch_mean_dice": value(patchMeanDice),
      "patch_count": patches.count,
      "empty_patch_count": emptyPatchCount,
      "empty_policy":
        "a class absent from both masks has no Dice; it is left out of means",
      "patches": patches.map { patch -> [String: Any] in
        [
          "x": patch.x, "y": patch.y, "width": patch.width, "height": patch.height,
          "scored_pixels": patch.scoredPixels, "dice_per_class": patch.dice.map(value),
          "mean_dice": value(patch.meanDice),
        ]
      },
    ]
    return try JSONSerialization.data(
      withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
  }
}

/// Writes `data` to `path` atomically through ``SlideIO/OutputFile``.
public func writeAtomically(_ data: Data, to path: String, inputs: [String] = []) throws {
  let output = try OutputFile(path: path, inputs: inputs)
  guard FileManager.default.createFile(atPath: output.temporary, contents: data) else {
    output.discard()
    throw SlideError.writeFailed(path: path, detail: "the file could not be created")
  }
  try output.commit()
}
