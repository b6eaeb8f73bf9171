import Tensor

/// A plain convolution with bias (PyTorch `nn.Conv2d`, square kernel,
/// "same" padding k/2 unless given), NCHW in and out.
struct Conv {
  let weight: Tensor  // [out, in/groups, k, k]
  let bias: Tensor?  // [out]
  let stride: Int
  let padding: Int
  let groups: Int

  init(
    _ scope: ParameterScope, in cin: Int, out cout: Int, kernel k: Int,
    stride: Int = 1, padding: Int? = nil, groups: Int = 1, bias: Bool = true
  ) {
    weight = scope.convWeight("weight", [cout, cin / groups, k, k])
    self.bias = bias ? scope.constant("bias", [cout], 0) : nil
    self.stride = stride
    self.padding = padding ?? k / 2
    self.groups = groups
  }

  /// `[N, in, H, W]` → `[N, out, (H + 2p − k)/s + 1, …]`.
  func callAsFunction(_ x: Tensor) -> Tensor {
    CountedOps.conv(
      x, weight, bias: bias, stride: stride, padding: padding, groups: groups)
  }
}
