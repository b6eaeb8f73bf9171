import Tensor

/// The tokenizer's convolutional encoder E: log2(f) stride-2 3×3
/// conv-BN-ReLU layers (3 → w₀ → … → w_last), residual depthwise blocks,
/// then a 1×1 convolution to the token dimension d.
///
/// `[N, 3, H, W]` (H, W multiples of f) → `[N, d, H/f, W/f]`.
struct TokenEncoder {
  let down: [ConvNorm]
  let blocks: [ResidualDepthwise]
  let out: Conv

  init(_ scope: ParameterScope, config: ModelConfig) {
    let widths = config.encoderWidths
    let chans = [3] + widths
    down = widths.indices.map { i in
      ConvNorm(
        scope("down")(i), in: chans[i], out: chans[i + 1], kernel: 3,
        stride: 2, activation: .relu)
    }
    blocks = (0..<config.encoderBlocks).map {
      ResidualDepthwise(scope("blocks")($0), channels: widths.last!)
    }
    out = Conv(scope("out"), in: widths.last!, out: config.tokenDim, kernel: 1)
  }

  func callAsFunction(_ x: Tensor, training: Bool) -> Tensor {
    var h = x
    for layer in down { h = layer(h, training: training) }
    for block in blocks { h = block(h, training: training) }
    return out(h)
  }
}
