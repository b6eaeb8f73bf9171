import Sampling
import SlideIO

/// Scores a predicted label mask against a truth mask, both read through
/// ``SlideIO/Slide`` at level 0, patch by patch, so masks of any size are
/// scored in memory bounded by two patches.
///
/// Label values: the stored sample of single-channel masks (grey or
/// palette label TIFFs and PNGs; the palette's colours are ignored), else
/// the red sample, is the class, except 255, which is class 1 (binary
/// masks are stored 0/255). Values at or above ``classCount`` (other than
/// 255) are an error.
public struct DiceEvaluator: Sendable {
  /// Number of classes including background (2 for binary masks).
  public var classCount: Int
  /// Patch size in level-0 pixels (default 3840×2160, the paper's 4K patch).
  public var patchSize: PixelSize

  public init(classCount: Int = 2, patchSize: PixelSize = PixelSize(width: 3840, height: 2160)) {
    precondition(classCount >= 2, "need background and at least one class, got \(classCount)")
    precondition(patchSize.width > 0 && patchSize.height > 0, "patch size \(patchSize)")
    self.classCount = classCount
    self.patchSize = patchSize
  }

  /// Scores `prediction` against `truth`.
  /// - Parameter tissue: when given, only pixels on tissue are scored.
  /// - Throws: ``EvaluationError`` for mismatched sizes or out-of-range
  ///   labels; ``SlideIO/SlideError`` for unreadable masks.
  public func evaluate(
    prediction: Slide, truth: Slide, tissue: TissueMask? = nil
  ) throws -> DiceReport {
    guard prediction.dimensions == truth.dimensions else {
      throw EvaluationError.sizeMismatch(
        prediction: prediction.path, predictionSize: prediction.dimensions,
        truth: truth.path, truthSize: truth.dimensions)
    }
    let size = truth.dimensions
    var patches: [DiceReport.Patch] = []
    var total = [ConfusionCounts](repeating: ConfusionCounts(), count: classCount)
    var predicted = RGBImage(width: 0, height: 0)
    var expected = RGBImage(width: 0, height: 0)

    for y in stride(from: 0, to: size.height, by: patchSize.height) {
      for x in stride(from: 0, to: size.width, by: patchSize.width) {
        let area = PixelSize(
          width: min(patchSize.width, size.width - x),
          height: min(patchSize.height, size.height - y))
        let origin = LevelPoint(x: x, y: y)
        try prediction.readRegion(
          levelOrigin: origin, level: 0, size: area, into: &predicted, values: .stored)
        try truth.readRegion(
          levelOrigin: origin, level: 0, size: area, into: &expected, values: .stored)
        let (counts, scored) = try count(
          predicted, expected, x: x, y: y, tissue: tissue,
          paths: (prediction.path, truth.path))
        patches.append(
          DiceReport.Patch(
            x: x, y: y, width: area.width, height: area.height, scoredPixels: scored,
            counts: counts))
        total = zip(total, counts).map(+)
      }
    }
    return DiceReport(
      classCount: classCount, patchSize: patchSize, patches: patches, slideCounts: total)
  }

  /// Class of a mask sample (see the type's doc).
  @inline(__always)
  static func label(_ value: UInt8) -> Int { value == 255 ? 1 : Int(value) }

  private func count(
    _ predicted: RGBImage, _ expected: RGBImage, x: Int, y: Int, tissue: TissueMask?,
    paths: (String, String)
  ) throws -> ([ConfusionCounts], Int) {
    // counts[p * classCount + t]: pixels predicted p with truth t
    var joint = [Int](repeating: 0, count: classCount * classCount)
    var scored = 0
    let width = predicted.width
    let columns = tissue.map { mask in
      (0..<width).map { min(mask.width - 1, Int(Double(x + $0) / mask.downsample)) }
    }

    for row in 0..<predicted.height {
      var tissueRow: Int? = nil
      if let tissue {
        tissueRow = min(tissue.height - 1, Int(Double(y + row) / tissue.downsample))
      }
      for column in 0..<width {
        if let tissue, let tissueRow, let columns, !tissue[columns[column], tissueRow] {
          continue
        }
        let i = (row * width + column) * 3
        let p = Self.label(predicted.pixels[i])
        let t = Self.label(expected.pixels[i])
        guard p < classCount else {
          throw EvaluationError.labelOutOfRange(path: paths.0, value: p, classCount: classCount)
        }
        guard t < classCount else {
          throw EvaluationError.labelOutOfRange(path: paths.1, value: t, classCount: classCount)
        }
        joint[p * classCount + t] += 1
        scored += 1
      }
    }

    var counts: [ConfusionCounts] = []
    for c in 0..<classCount {
      var entry = ConfusionCounts()
      for other in 0..<classCount {
        if other == c {
          entry.truePositive += joint[c * classCount + c]
        } else {
          entry.falsePositive += joint[c * classCount + other]
          entry.falseNegative += joint[other * classCount + c]
        }
      }
      counts.append(entry)
    }
    return (counts, scored)
  }
}
