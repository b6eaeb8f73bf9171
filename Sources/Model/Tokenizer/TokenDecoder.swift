import Tensor

/// The tokenizer's decoder G for pre-training: x̂ = G(z_q). A 3×3
/// conv-BN-ReLU from d to the last encoder width, then log2(f) stages of
/// (nearest 2× upsampling, 3×3 conv-BN-ReLU) walking the encoder widths
/// back, and a 3×3 convolution to RGB.
///
/// `[N, d, h, w]` → `[N, 3, f·h, f·w]`, in the normalised colour space of
/// the model input.
struct TokenDecoder {
  let input: ConvNorm
  let up: [ConvNorm]
  let out: Conv

  init(_ scope: ParameterScope, config: ModelConfig) {
    let widths = config.encoderWidths
    input = ConvNorm(
      scope("inp"), in: config.tokenDim, out: widths.last!, kernel: 3,
      activation: .relu)
    let rev = Array(widths.reversed()) + [widths[0]]
    up = widths.indices.map { i in
      ConvNorm(
        scope("up")(i), in: rev[i], out: rev[i + 1], kernel: 3,
        activation: .relu)
    }
    out = Conv(scope("out"), in: widths[0], out: 3, kernel: 3)
  }

  func callAsFunction(_ z: Tensor, training: Bool) -> Tensor {
    var h = input(z, training: training)
    for layer in up {
      let up2 = h.resizeNearest(height: 2 * h.shape[2], width: 2 * h.shape[3])
      h = layer(up2, training: training)
    }
    return out(h)
  }
}
