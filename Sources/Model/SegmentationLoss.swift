import Tensor

/// The segmentation training objective: mean cross-entropy plus soft Dice
/// over the softmax probabilities (all classes), plus the tokenizer's
/// commitment loss when there is one.
public enum SegmentationLoss {
  /// - Parameters:
  ///   - output: a `SegmentationModel.forward` result, logits
  ///     `[N, C, H, W]`.
  ///   - labels: `N·H·W` class indices in `0..<C`, row-major.
  ///   - diceWeight: weight of the Dice term.
  /// - Returns: shape `[]`.
  /// - Throws: `ModelError.invalidLabels` when the count or a value does
  ///   not fit the logits.
  public static func compute(
    _ output: SegmentationModel.Output, labels: [Int], diceWeight: Float = 1
  ) throws -> Tensor {
    let logits = output.logits
    let n = logits.shape[0], c = logits.shape[1]
    let h = logits.shape[2], w = logits.shape[3]
    guard labels.count == n * h * w, labels.allSatisfy({ $0 >= 0 && $0 < c })
    else {
      throw ModelError.invalidLabels(
        count: labels.count, expected: n * h * w, classes: c)
    }
    let ce = logits.crossEntropy(targets: labels)
    let target = Tensor.oneHot(
      labels, classes: c, batch: n, height: h, width: w)
    let dice = logits.softmax(dim: 1).softDiceLoss(target: target)
    var loss = ce + dice * diceWeight
    if let q = output.quantized { loss = loss + q.commitmentLoss }
    return loss
  }
}
