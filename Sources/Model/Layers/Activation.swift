import Tensor

/// The activations used after a convolution and normalisation.
enum Activation: Sendable {
  case identity, relu, hardswish

  func callAsFunction(_ x: Tensor) -> Tensor {
    switch self {
    case .identity: return x
    case .relu: return x.relu()
    case .hardswish: return x.hardswish()
    }
  }
}
