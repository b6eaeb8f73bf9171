import Tensor

/// Convolution without bias → batch norm → activation (the reference's
/// `ConvBN`: names `conv.weight`, `bn.weight`, `bn.bias`,
/// `bn.running_mean`, `bn.running_var`). Padding is k/2, so stride 1 keeps
/// H×W and stride 2 gives ⌈H/2⌉×⌈W/2⌉.
struct ConvNorm {
  let conv: Conv
  let gamma, beta, runningMean, runningVar: Tensor  // [out]
  let activation: ConvActivation

  init(
    _ scope: ParameterScope, in cin: Int, out cout: Int, kernel: Int,
    stride: Int = 1, groups: Int = 1, activation: ConvActivation = .identity
  ) {
    conv = Conv(
      scope("conv"), in: cin, out: cout, kernel: kernel, stride: stride,
      groups: groups, bias: false)
    let bn = scope("bn")
    gamma = bn.constant("weight", [cout], 1)
    beta = bn.constant("bias", [cout], 0)
    runningMean = bn.buffer("running_mean", Tensor.zeros([cout]))
    runningVar = bn.buffer("running_var", Tensor.ones([cout]))
    self.activation = activation
  }

  /// `[N, in, H, W]` → `[N, out, H/s, W/s]`. In training, batch statistics
  /// are used and the running ones updated (momentum 0.1). In eval mode
  /// the norm is folded into the convolution (`unit`) and the activation
  /// applied by the convolution kernel: one pass over the output instead
  /// of three.
  func callAsFunction(_ x: Tensor, training: Bool) -> Tensor {
    guard !training else { return normalised(conv(x), training: true) }
    let u = unit
    return CountedOps.conv(
      x, u.weight, bias: u.bias, stride: conv.stride, padding: conv.padding,
      groups: conv.groups, activation: u.activation)
  }

  /// The layer as one convolution for inference: the running statistics,
  /// γ and β folded into weight and bias (`Tensor.foldingBatchNorm`).
  var unit: ConvUnit {
    let f = Tensor.foldingBatchNorm(
      weight: conv.weight, bias: conv.bias, gamma: gamma, beta: beta,
      runningMean: runningMean, runningVar: runningVar)
    return ConvUnit(weight: f.weight, bias: f.bias, activation: activation)
  }

  /// Batch norm and activation of an already convolved `[N, out, H, W]`
  /// (for callers that compute the convolution in parts).
  func normalised(_ y: Tensor, training: Bool) -> Tensor {
    activation(
      y.batchNorm(
        gamma: gamma, beta: beta, runningMean: runningMean,
        runningVar: runningVar, training: training))
  }
}
