import Tensor

/// One backbone block: `x + attn(x)`, then `x + ffn(x)` (no extra norms:
/// attention and FFN each end in batch norm). `[N, C, h, w]` → same.
struct TransformerBlock {
  let attn: any TokenMixer
  let ffn: MBConv

  init(_ scope: ParameterScope, dim: Int, config: ModelConfig) {
    if config.variant == .softmax {
      attn = SoftmaxAttention(
        scope("attn"), dim: dim, headDim: config.headDim,
        window: config.attentionWindow)
    } else {
      attn = LinearAttention(
        scope("attn"), dim: dim, headDim: config.headDim,
        scales: config.scales)
    }
    ffn = MBConv(scope("ffn"), dim: dim, expandRatio: config.expandRatio)
  }

  func callAsFunction(_ x: Tensor, training: Bool) -> Tensor {
    let y = x + attn(x, training: training)
    return ffn(y, training: training, residual: true)
  }
}
