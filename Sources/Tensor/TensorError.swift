/// Everything that can go wrong in the Tensor module at run time.
///
/// Shape mismatches between operands are programmer errors and trap with a
/// message naming both shapes; this type covers what depends on input data:
/// building tensors from arrays and reading or writing safetensors files.
public enum TensorError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The element count does not match the product of the shape.
  case countMismatch(shape: [Int], count: Int)
  /// A dimension is negative.
  case invalidShape(shape: [Int])
  /// A safetensors file cannot be parsed.
  case corruptFile(path: String, detail: String)
  /// A safetensors file cannot be read or written.
  case io(path: String, detail: String)
  /// The file holds no tensor of that name.
  case missingTensor(name: String, available: [String])
  /// The tensor's element type is not one this module reads.
  case unsupportedDType(name: String, dtype: String)
  /// Optimiser state that does not fit its parameters.
  case stateMismatch(detail: String)

  public var description: String {
    switch self {
    case .stateMismatch(let detail):
      return "optimiser state does not fit: \(detail)."
    case .countMismatch(let shape, let count):
      let want = shape.reduce(1, *)
      return "shape \(shape) needs \(want) elements, got \(count)."
    case .invalidShape(let shape):
      return "shape \(shape) has a negative dimension."
    case .corruptFile(let path, let detail):
      return "\(path): not a valid safetensors file (\(detail))."
    case .io(let path, let detail):
      return "\(path): \(detail)."
    case .missingTensor(let name, let available):
      let list = available.sorted().joined(separator: ", ")
      return "no tensor named '\(name)' (available: \(list))."
    case .unsupportedDType(let name, let dtype):
      return "tensor '\(name)' has dtype \(dtype); readable: F32, I64, I32, U8."
    }
  }
}
