/// Pixel counts for one class over some area: true positives, false
/// positives, false negatives (true negatives are not needed for Dice).
public struct ConfusionCounts: Sendable, Equatable, Codable {
  public var truePositive = 0
  public var falsePositive = 0
  public var falseNegative = 0

  public init(truePositive: Int = 0, falsePositive: Int = 0, falseNegative: Int = 0) {
    self.truePositive = truePositive
    self.falsePositive = falsePositive
    self.falseNegative = falseNegative
  }

  /// Dice = 2·TP / (2·TP + FP + FN), or `nil` when the class is absent
  /// from both masks (empty versus empty): the score is undefined there,
  /// and ``DiceReport`` leaves such cases out of its means rather than
  /// counting them as perfect, which would inflate scores on empty patches.
  public var dice: Double? {
    let denominator = 2 * truePositive + falsePositive + falseNegative
    return denominator == 0 ? nil : Double(2 * truePositive) / Double(denominator)
  }

  public static func + (a: ConfusionCounts, b: ConfusionCounts) -> ConfusionCounts {
    ConfusionCounts(
      truePositive: a.truePositive + b.truePositive,
      falsePositive: a.falsePositive + b.falsePositive,
      falseNegative: a.falseNegative + b.falseNegative)
  }
}
