/// Everything that can go wrong in the Model module at run time: bad
/// configurations, checkpoints that do not fit the configuration, inputs
/// the model cannot take. Each case carries the offending values and
/// renders as one sentence.
public enum ModelError: Error, Equatable, Sendable, CustomStringConvertible {
  /// A configuration field has a value the model cannot be built with.
  case invalidConfig(field: String, value: String, reason: String)
  /// A configuration file cannot be read or parsed.
  case unreadableConfig(path: String, detail: String)
  /// The checkpoint lacks a tensor the model needs.
  case missingWeight(name: String, path: String)
  /// The checkpoint holds tensors the model does not have.
  case unexpectedWeights(names: [String], path: String)
  /// A checkpoint tensor has the wrong shape.
  case weightShape(name: String, expected: [Int], found: [Int])
  /// The input tensor is not what the model takes.
  case invalidInput(shape: [Int], reason: String)
  /// Labels do not match the logits.
  case invalidLabels(count: Int, expected: Int, classes: Int)
  /// A file cannot be written or read.
  case io(path: String, detail: String)

  public var description: String {
    switch self {
    case .invalidConfig(let field, let value, let reason):
      return "config field '\(field)' = \(value): \(reason)."
    case .unreadableConfig(let path, let detail):
      return "\(path): not a readable model config (\(detail))."
    case .missingWeight(let name, let path):
      return "\(path): no tensor '\(name)' in the checkpoint."
    case .unexpectedWeights(let names, let path):
      let list = names.sorted().joined(separator: ", ")
      return "\(path): checkpoint tensors the model lacks: \(list)."
    case .weightShape(let name, let expected, let found):
      return "weight '\(name)' has shape \(found), the model needs \(expected)."
    case .invalidInput(let shape, let reason):
      return "input of shape \(shape): \(reason)."
    case .invalidLabels(let count, let expected, let classes):
      return "\(count) labels for \(expected) pixels (classes 0..<\(classes))."
    case .io(let path, let detail):
      return "\(path): \(detail)."
    }
  }
}
