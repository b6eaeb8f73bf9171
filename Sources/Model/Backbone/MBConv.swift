import Tensor

/// The feed-forward half of a transformer block (inverted residual,
/// without the residual, which `TransformerBlock` adds): 1×1 expand
/// conv-BN-hardswish (C → e·C), 3×3 depthwise conv-BN-hardswish, 1×1
/// project conv-BN (→ C). `[N, C, h, w]` → same.
struct MBConv {
  let expand: ConvNorm
  let dw: ConvNorm
  let project: ConvNorm

  init(_ scope: ParameterScope, dim: Int, expandRatio: Int) {
    let mid = dim * expandRatio
    expand = ConvNorm(
      scope("expand"), in: dim, out: mid, kernel: 1, activation: .hardswish)
    dw = ConvNorm(
      scope("dw"), in: mid, out: mid, kernel: 3, groups: mid,
      activation: .hardswish)
    project = ConvNorm(scope("project"), in: mid, out: dim, kernel: 1)
  }

  /// The block, plus `x` when `residual`. In eval mode one fused kernel
  /// runs it (`Tensor.invertedResidual`: the e·C-channel activations stay
  /// in cache).
  func callAsFunction(_ x: Tensor, training: Bool, residual: Bool = false) -> Tensor {
    guard training else {
      return CountedOps.invertedResidual(
        x, expand: expand.unit, depthwise: dw.unit, project: project.unit,
        stride: 1, residual: residual)
    }
    let y = project(
      dw(expand(x, training: training), training: training),
      training: training)
    return residual ? x + y : y
  }
}
