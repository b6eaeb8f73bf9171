import Tensor

/// `relu(x + pw(dw(x)))`: a 3×3 depthwise conv-BN-ReLU then a 1×1
/// conv-BN, with a residual; `[N, C, H, W]` → same.
struct ResidualDepthwise {
  let dw: ConvNorm
  let pw: ConvNorm

  init(_ scope: ParameterScope, channels c: Int) {
    dw = ConvNorm(
      scope("dw"), in: c, out: c, kernel: 3, groups: c, activation: .relu)
    pw = ConvNorm(scope("pw"), in: c, out: c, kernel: 1)
  }

  func callAsFunction(_ x: Tensor, training: Bool) -> Tensor {
    (x + pw(dw(x, training: training), training: training)).relu()
  }
}
