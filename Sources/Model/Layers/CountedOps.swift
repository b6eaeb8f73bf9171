import Tensor

/// Shape-counted wrappers of the Tensor products the model uses.
enum CountedOps {
  /// `x.conv2d(...)`, counting N·C_out·H_out·W_out·(C_in/g)·k² MACs.
  static func conv(
    _ x: Tensor, _ weight: Tensor, bias: Tensor? = nil, stride: Int = 1,
    padding: Int = 0, groups: Int = 1
  ) -> Tensor {
    let y = x.conv2d(
      weight: weight, bias: bias, stride: stride, padding: padding,
      groups: groups)
    if FlopCounter.current != nil {
      let w = weight.shape
      FlopCounter.add(y.count * w[1] * w[2] * w[3])
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
