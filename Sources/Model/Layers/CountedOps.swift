import Tensor

/// Shape-counted wrappers of the Tensor products the model uses.
enum CountedOps {
  /// `x.conv2d(...)`, counting N·C_out·H_out·W_out·(C_in/g)·k² MACs.
  static func conv(
    _ x: Tensor, _ weight: Tensor, bias: Tensor? = nil, stride: Int = 1,
    padding: Int = 0, groups: Int = 1, activation: ConvActivation = .identity
  ) -> Tensor {
    let y = x.conv2d(
      weight: weight, bias: bias, stride: stride, padding: padding,
      groups: groups, activation: activation)
    if FlopCounter.current != nil {
      let w = weight.shape
      FlopCounter.add(y.count * w[1] * w[2] * w[3])
    }
    return y
  }

  /// `x.invertedResidual(...)`, counting its three convolutions' MACs:
  /// N·h·w·M·C (expand), N·h'·w'·M·k² (depthwise), N·h'·w'·O·M (project).
  static func invertedResidual(
    _ x: Tensor, expand: ConvUnit?, depthwise: ConvUnit, project: ConvUnit,
    stride: Int, residual: Bool
  ) -> Tensor {
    let y = x.invertedResidual(
      expand: expand, depthwise: depthwise, project: project, stride: stride,
      residual: residual)
    if FlopCounter.current != nil {
      let m = depthwise.weight.shape[0], k = depthwise.weight.shape[2]
      let pixels = y.shape[0] * y.shape[2] * y.shape[3]
      let expandMACs = x.shape[0] * x.shape[2] * x.shape[3] * m * x.shape[1]
      FlopCounter.add(
        (expand == nil ? 0 : expandMACs) + pixels * m * (k * k + y.shape[1]))
    }
    return y
  }

  /// `Tensor.reluLinearAttention(parts, ...)`, counting per head of d
  /// channels over T tokens the products it computes: V·φ(K)ᵀ and
  /// (V·φ(K)ᵀ)·φ(Q), d²·T each, and (Σφ(K))ᵀ·φ(Q), d·T.
  static func reluLinearAttention(
    _ parts: [Tensor], headDim d: Int, eps: Float
  ) -> Tensor {
    let y = Tensor.reluLinearAttention(parts, headDim: d, eps: eps)
    if FlopCounter.current != nil {
      let headsTimesTokens = y.count / d
      FlopCounter.add(headsTimesTokens * (2 * d * d + d))
    }
    return y
  }

  /// `a.matmul(b)` for `[B, M, K] × [B, K, N]`, counting B·M·N·K MACs.
  static func matmul(_ a: Tensor, _ b: Tensor) -> Tensor {
    let y = a.matmul(b)
    if FlopCounter.current != nil { FlopCounter.add(y.count * a.shape.last!) }
    return y
  }
}
