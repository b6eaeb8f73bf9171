/// Everything that can stop training before or while it runs. Each case
/// renders as one sentence naming the file or setting and the offending
/// values.
public enum TrainingError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The config file cannot be read or parsed.
  case badConfig(path: String, detail: String)
  /// The config names a key this version does not know.
  case unknownConfigKey(path: String, key: String, known: [String])
  /// A config value is out of range.
  case invalidSetting(path: String, key: String, detail: String)
  /// The training data cannot be used.
  case badData(path: String, detail: String)
  /// A checkpoint to resume from does not fit this config.
  case badCheckpoint(path: String, detail: String)

  public var description: String {
    switch self {
    case .badConfig(let path, let detail):
      return "\(path): the training config cannot be read (\(detail))."
    case .unknownConfigKey(let path, let key, let known):
      return "\(path): unknown config key '\(key)' (known: \(known.joined(separator: ", ")))."
    case .invalidSetting(let path, let key, let detail):
      return "\(path): '\(key)' \(detail)."
    case .badData(let path, let detail):
      return "\(path): \(detail)."
    case .badCheckpoint(let path, let detail):
      return "\(path): cannot resume from this checkpoint (\(detail))."
    }
  }
}
