import Tensor

/// The two-stage ViT over the token grid: a 1×1 conv-BN stem (d → C₁),
/// stage 1 at the token resolution, a 3×3 stride-2 conv-BN-hardswish
/// (C₁ → C₂), stage 2 at half the token resolution.
///
/// `[N, d, h, w]` → (`[N, C₁, h, w]`, `[N, C₂, ⌈h/2⌉, ⌈w/2⌉]`).
struct Backbone {
  let stem: ConvNorm
  let stage1: [TransformerBlock]
  let down: ConvNorm
  let stage2: [TransformerBlock]

  init(_ scope: ParameterScope, config: ModelConfig) {
    let d1 = config.stageDims[0], d2 = config.stageDims[1]
    stem = ConvNorm(scope("stem"), in: config.tokenDim, out: d1, kernel: 1)
    stage1 = (0..<config.stageDepths[0]).map {
      TransformerBlock(scope("stage1")($0), dim: d1, config: config)
    }
    down = ConvNorm(
      scope("down"), in: d1, out: d2, kernel: 3, stride: 2,
      activation: .hardswish)
    stage2 = (0..<config.stageDepths[1]).map {
      TransformerBlock(scope("stage2")($0), dim: d2, config: config)
    }
  }

  func callAsFunction(_ tokens: Tensor, training: Bool) -> (Tensor, Tensor) {
    var x = stem(tokens, training: training)
    for b in stage1 { x = b(x, training: training) }
    let s1 = x
    x = down(x, training: training)
    for b in stage2 { x = b(x, training: training) }
    return (s1, x)
  }
}
