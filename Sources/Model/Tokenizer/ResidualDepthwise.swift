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

  /// In eval mode the depthwise and pointwise convolutions and the
  /// residual run as one fused block (`Tensor.invertedResidual`).
  func callAsFunction(_ x: Tensor, training: Bool) -> Tensor {
    guard training else {
      return CountedOps.invertedResidual(
        x, expand: nil, depthwise: dw.unit, project: pw.unit, stride: 1,
        residual: true
      ).relu()
    }
    return (x + pw(dw(x, training: training), training: training)).relu()
  }
}
