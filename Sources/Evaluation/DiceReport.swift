import SlideIO

/// Dice scores of a prediction against the truth: per patch and over the
/// whole slide, per class and as the mean over foreground classes
/// (classes 1 and up; class 0 is background and not scored).
///
/// Empty versus empty: where a class is absent from both masks in a patch,
/// its Dice is undefined (`nil`) and left out of that patch's mean and of
/// the means over patches. A patch where every foreground class is absent
/// from both masks has no score at all and is counted in
/// ``emptyPatchCount``.
public struct DiceReport: Sendable, Equatable {
  /// One scored patch.
  public struct Patch: Sendable, Equatable {
    /// Top-left corner in level-0 pixels.
    public let x: Int
    public let y: Int
    /// Size in level-0 pixels (edge patches are clipped to the mask).
    public let width: Int
    public let height: Int
    /// Pixels of the patch that were scored (inside tissue when a tissue
    /// mask restricts scoring).
    public let scoredPixels: Int
    /// Counts per class, index = class.
    public let counts: [ConfusionCounts]

    /// Dice per foreground class (index 0 = class 1).
    public var dice: [Double?] { counts.dropFirst().map(\.dice) }
    /// Mean Dice over the foreground classes that are defined here.
    public var meanDice: Double? { DiceReport.mean(dice) }
  }

  public let classCount: Int
  /// Patch size in level-0 pixels.
  public let patchSize: PixelSize
  public let patches: [Patch]
  /// Counts over the whole slide, per class.
  public let slideCounts: [ConfusionCounts]

  /// Dice over the whole slide per foreground class (index 0 = class 1).
  public var slideDice: [Double?] { slideCounts.dropFirst().map(\.dice) }
  /// Mean whole-slide Dice over foreground classes.
  public var slideMeanDice: Double? { Self.mean(slideDice) }
  /// Mean of per-patch mean Dice over the patches that have a score.
  public var patchMeanDice: Double? { Self.mean(patches.map(\.meanDice)) }
  /// Mean over patches of class `c`'s Dice (c ≥ 1), undefined ones left out.
  public func patchMeanDice(class c: Int) -> Double? {
    Self.mean(patches.map { $0.dice[c - 1] })
  }

  /// Patches with no defined score (every class empty in both masks).
  public var emptyPatchCount: Int { patches.filter { $0.meanDice == nil }.count }

  static func mean(_ values: [Double?]) -> Double? {
    let defined = values.compactMap { $0 }
    return defined.isEmpty ? nil : defined.reduce(0, +) / Double(defined.count)
  }
}
