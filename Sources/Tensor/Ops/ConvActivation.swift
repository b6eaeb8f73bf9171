/// An activation a convolution can apply to its output in the same pass
/// (`conv2d(…, activation:)`), so the pre-activation tensor is never
/// written out and read back.
public enum ConvActivation: Sendable, Equatable {
  /// No activation: the convolution (plus bias) as is.
  case identity
  /// max(x, 0), as `Tensor.relu()`.
  case relu
  /// x · min(max(x + 3, 0), 6) / 6, as `Tensor.hardswish()`.
  case hardswish

  /// The activation as a separate, differentiable op on `x`.
  public func callAsFunction(_ x: Tensor) -> Tensor {
    switch self {
    case .identity: return x
    case .relu: return x.relu()
    case .hardswish: return x.hardswish()
    }
  }
}
