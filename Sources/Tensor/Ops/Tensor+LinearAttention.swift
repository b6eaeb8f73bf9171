extension Tensor {
  /// ReLU linear attention (EfficientViT's LiteMLA core) over heads taken
  /// from several NCHW tensors, as if they were concatenated along
  /// channels.
  ///
  /// - Parameters:
  ///   - parts: `[N, 3·d·hₚ, H, W]` each, the same N, H, W; each run of
  ///     `3d` channels is one head's q, k, v (`d` channels each).
  ///   - headDim: `d`.
  ///   - eps: added to each denominator.
  /// - Returns: `[N, d·Σhₚ, H, W]`, heads in order (part by part). With
  ///   T = H·W tokens and φ = ReLU, per head and token t:
  ///   `out_t = (V φ(K)ᵀ) φ(q_t) / (Σ_u φ(k_u)ᵀ φ(q_t) + eps)`, which costs
  ///   O(T·d²) rather than softmax attention's O(T²·d).
  ///
  /// When no graph is recorded (inference) one kernel computes each head
  /// in cache-sized blocks of tokens (`LinearAttentionKernel`); otherwise
  /// the separate differentiable ops run (`linearAttentionComposed`).
  public static func reluLinearAttention(
    _ parts: [Tensor], headDim d: Int, eps: Float
  ) -> Tensor {
    precondition(!parts.isEmpty, "reluLinearAttention: no inputs")
    let first = parts[0].shape
    precondition(
      d > 0
        && parts.allSatisfy {
          $0.rank == 4 && $0.shape[0] == first[0] && $0.shape[2] == first[2]
            && $0.shape[3] == first[3] && $0.shape[1] % (3 * d) == 0
        },
      "reluLinearAttention: inputs \(parts.map(\.shape)) are not NCHW with "
        + "the same N, H, W and channels a multiple of 3·\(d)")
    let records = GradMode.isEnabled && parts.contains { $0.requiresGrad }
    if records { return linearAttentionComposed(parts, headDim: d, eps: eps) }

    let n = first[0], tokens = first[2] * first[3]
    let heads = parts.map { $0.shape[1] / (3 * d) }
    let totalHeads = heads.reduce(0, +)
    let out = Tensor.empty([n, d * totalHeads, first[2], first[3]])
    // Item i: image i / totalHeads, head i % totalHeads (part by part).
    var owner: [(part: Int, head: Int)] = []
    for (p, h) in heads.enumerated() { for j in 0..<h { owner.append((p, j)) } }
    let scratchCount = d * Swift.min(tokens, LinearAttentionKernel.blockTokens) + d * d + d
    Parallel.forEach(n * totalHeads, costPerItem: 8 * d * d * tokens) { item in
      let image = item / totalHeads, (p, j) = owner[item % totalHeads]
      let channels = parts[p].shape[1]
      let src = parts[p].storage.pointer + (image * channels + j * 3 * d) * tokens
      let dst = out.storage.pointer + item * d * tokens
      let scratch = BufferPool.take(count: scratchCount)
      defer { BufferPool.give(scratch, count: scratchCount) }
      LinearAttentionKernel.head(
        src, dim: d, tokens: tokens, eps: eps, out: dst, scratch: scratch)
    }
    return out
  }

  /// `reluLinearAttention` as separate differentiable ops (and the
  /// reference the kernel is tested against).
  static func linearAttentionComposed(
    _ parts: [Tensor], headDim d: Int, eps: Float
  ) -> Tensor {
    let n = parts[0].shape[0], h = parts[0].shape[2], w = parts[0].shape[3]
    let all = parts.count == 1 ? parts[0] : Tensor.concat(parts, dim: 1)
    let qkv = all.reshaped([-1, 3 * d, h * w]).split(sizes: [d, d, d], dim: 1)
    let q = qkv[0].relu(), k = qkv[1].relu(), v = qkv[2]
    let kv = v.matmul(k.permuted([0, 2, 1]))  // [B, d, d]
    let numerator = kv.matmul(q)  // [B, d, T]
    let kSum = k.sum(dim: 2, keepDim: true).permuted([0, 2, 1])  // [B, 1, d]
    let denominator = kSum.matmul(q) + eps  // [B, 1, T]
    return (numerator / denominator).reshaped([n, -1, h, w])
  }
}
