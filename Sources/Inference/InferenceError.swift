import SlideIO

/// What stops whole-slide segmentation before or while it runs. Each case
/// renders as one sentence naming the file and the offending values.
public enum InferenceError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The model's input resolution cannot be matched to the slide.
  case unknownScale(path: String, modelMPP: Double)
  /// A setting out of range.
  case invalidSetting(name: String, value: String, expected: String)
  /// The slide has no tissue to segment.
  case noTissue(path: String)

  public var description: String {
    switch self {
    case .unknownScale(let path, let mpp):
      return "\(path): the slide's µm per pixel is unknown, so the model's input scale "
        + "(\(mpp) µm/px) cannot be matched; give the downsample explicitly (--downsample)."
    case .invalidSetting(let name, let value, let expected):
      return "\(name) = \(value) is out of range; expected \(expected)."
    case .noTissue(let path):
      return "\(path): no tissue was found, so there is nothing to segment."
    }
  }
}
