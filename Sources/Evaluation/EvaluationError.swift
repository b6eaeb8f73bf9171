import SlideIO

/// Everything that can go wrong when scoring masks. Each case renders as one
/// sentence naming the files and the offending values.
public enum EvaluationError: Error, Equatable, Sendable, CustomStringConvertible {
  /// Prediction and truth masks differ in size.
  case sizeMismatch(prediction: String, predictionSize: PixelSize, truth: String,
    truthSize: PixelSize)
  /// The slide whose tissue restricts scoring is not the masks' size.
  case slideSizeMismatch(slide: String, slideSize: PixelSize, mask: String, maskSize: PixelSize)
  /// A label value at or above the number of classes.
  case labelOutOfRange(path: String, value: Int, classCount: Int)
  /// A paired test needs the same cases on both sides.
  case unpaired(detail: String)
  /// Too few non-zero differences for a signed-rank test.
  case tooFewPairs(count: Int)
  /// A per-case score file could not be parsed.
  case badScoreFile(path: String, line: Int, detail: String)

  public var description: String {
    switch self {
    case .sizeMismatch(let p, let ps, let t, let ts):
      return "\(t): the truth mask is \(ts) px but the prediction \(p) is \(ps) px; "
        + "both must have the same level-0 size."
    case .slideSizeMismatch(let slide, let ss, let mask, let ms):
      return "\(slide): the slide is \(ss) px but the mask \(mask) is \(ms) px; "
        + "--slide must be the slide the masks belong to."
    case .labelOutOfRange(let path, let value, let count):
      return "\(path): label \(value) found, but only classes 0 to \(count - 1) were declared "
        + "(use --classes)."
    case .unpaired(let detail):
      return "the two score files do not pair up: \(detail)."
    case .tooFewPairs(let count):
      return "the signed-rank test needs at least one case where the methods differ; "
        + "found \(count)."
    case .badScoreFile(let path, let line, let detail):
      return line == 0
        ? "\(path): cannot be read as a score file (\(detail))."
        : "\(path): line \(line) cannot be read (\(detail))."
    }
  }
}
