import Tensor

/// Multi-scale ReLU linear attention (the LiteMLA form of EfficientViT,
/// Cai et al. 2023), NCHW `[N, C, h, w]` → same, C = heads·headDim.
///
/// - q, k, v: one 1×1 convolution C → 3C; per head the channels are
///   `[q | k | v]`, headDim each.
/// - Extra scales: per kernel size s, a s×s depthwise convolution of the
///   3C channels then a 1×1 convolution grouped per 3·heads (headDim
///   channels each); each scale adds `heads` more heads.
/// - Per head, with T = h·w tokens and φ = ReLU:
///   `out_t = Σ_u (φ(q_t)·φ(k_u)) v_u / (Σ_u φ(q_t)·φ(k_u) + ε)`,
///   computed as `(V φ(K)ᵀ) φ(Q)` over `(Σ_u φ(k_u))ᵀ φ(Q)`: O(T·headDim²)
///   instead of O(T²·headDim). Float32 throughout, ε = 1e-6.
/// - Heads concatenated → 1×1 conv-BN back to C.
struct LinearAttention: TokenMixer {
  static let epsilon: Float = 1e-6
  let qkv: Conv
  let aggregate: [(dw: Conv, pw: Conv)]
  let proj: ConvNorm
  let headDim: Int

  init(_ scope: ParameterScope, dim: Int, headDim: Int, scales: [Int]) {
    let heads = dim / headDim
    self.headDim = headDim
    qkv = Conv(scope("qkv"), in: dim, out: 3 * dim, kernel: 1, bias: false)
    aggregate = scales.indices.map { i in
      let s = scope("aggreg")(i)
      let k = scales[i]
      return (
        dw: Conv(
          s("dw"), in: 3 * dim, out: 3 * dim, kernel: k, groups: 3 * dim,
          bias: false),
        pw: Conv(
          s("pw"), in: 3 * dim, out: 3 * dim, kernel: 1, groups: 3 * heads,
          bias: false)
      )
    }
    proj = ConvNorm(
      scope("proj"), in: dim * (1 + scales.count), out: dim, kernel: 1)
  }

  func callAsFunction(_ x: Tensor, training: Bool) -> Tensor {
    let n = x.shape[0], h = x.shape[2], w = x.shape[3]
    let base = qkv(x)
    let parts = [base] + aggregate.map { $0.pw($0.dw(base)) }
    if !training {
      // One kernel per head in cache-sized token blocks, no concat.
      let out = CountedOps.reluLinearAttention(
        parts, headDim: headDim, eps: Self.epsilon)
      return proj(out, training: false)
    }
    let all = parts.count == 1 ? base : Tensor.concat(parts, dim: 1)
    let heads = all.reshaped([-1, 3 * headDim, h * w])
    let out = Self.attend(heads, headDim: headDim)
    return proj(out.reshaped([n, -1, h, w]), training: training)
  }

  /// ReLU linear attention per head: `qkv` `[B, 3·hd, T]` (rows q, k, v)
  /// → `[B, hd, T]`.
  static func attend(_ qkv: Tensor, headDim hd: Int) -> Tensor {
    let qkvParts = qkv.split(sizes: [hd, hd, hd], dim: 1)
    let q = qkvParts[0].relu(), k = qkvParts[1].relu(), v = qkvParts[2]
    let kT = k.permuted([0, 2, 1])  // [B, T, hd]
    let kv = CountedOps.matmul(v, kT)  // [B, hd, hd] = Σ_u v_u φ(k_u)ᵀ
    let num = CountedOps.matmul(kv, q)  // [B, hd, T]
    let kSum = k.sum(dim: 2, keepDim: true).permuted([0, 2, 1])  // [B, 1, hd]
    let den = CountedOps.matmul(kSum, q)  // [B, 1, T]
    return num / (den + epsilon)
  }
}
