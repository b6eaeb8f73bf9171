import Tensor

/// The activations used after a convolution and normalisation.
enum Activation: Sendable {
  case identity, relu, hardswish

  /// The same activation for a convolution to apply as it stores
  /// (`conv2d(activation:)`).
  var fused: ConvActivation {
    switch self {
    case .identity: return .identity
    case .relu: return .relu
    case .hardswish: return .hardswish
    }
  }

  func callAsFunction(_ x: Tensor) -> Tensor {
    switch self {
    case .identity: return x
    case .relu: return x.relu()
    case .hardswish: return x.hardswish()
    }
  }
}
