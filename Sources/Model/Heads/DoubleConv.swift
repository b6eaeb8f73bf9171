import Tensor

/// Two 3×3 conv-BN-ReLU layers (`c1`, `c2`); `[N, in, H, W]` →
/// `[N, out, H, W]`.
struct DoubleConv {
  let c1, c2: ConvNorm

  init(_ scope: ParameterScope, in cin: Int, out cout: Int) {
    c1 = ConvNorm(scope("c1"), in: cin, out: cout, kernel: 3, activation: .relu)
    c2 = ConvNorm(scope("c2"), in: cout, out: cout, kernel: 3, activation: .relu)
  }

  func callAsFunction(_ x: Tensor, training: Bool) -> Tensor {
    c2(c1(x, training: training), training: training)
  }
}
