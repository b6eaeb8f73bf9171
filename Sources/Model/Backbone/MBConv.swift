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

  func callAsFunction(_ x: Tensor, training: Bool) -> Tensor {
    project(
      dw(expand(x, training: training), training: training),
      training: training)
  }
}
