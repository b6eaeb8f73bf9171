/// Inference forward of ReLU linear attention, one head at a time, in
/// column blocks that stay in cache.
///
/// Per head, with rows q, k, v (`d` rows of `T` tokens each, contiguous)
/// and φ = ReLU:
///   1. `kv = V·φ(K)ᵀ` (`d×d`) and `s = Σ_t φ(k_t)` (`d`), accumulated over
///      blocks of tokens (φ(K) of one block in a scratch buffer);
///   2. per block of tokens: φ(Q) into the scratch, `out = kv·φ(Q)` and
///      `out[:, t] /= sᵀ·φ(q_t) + eps`.
/// Nothing of size `T` is written but the output; the separate ops
/// (slices, ReLU copies, a transpose, three products, a broadcast
/// division) each wrote one.
enum LinearAttentionKernel {
  /// Tokens per block: `d` rows of them (16 × 1024 floats = 64 KB for
  /// d = 16) stay in cache between the product and the division.
  static let blockTokens = 1024

  /// Head `qkv` (`3d` rows of `tokens`, row-major: q, k, v) → `out`
  /// (`d` rows of `tokens`). `scratch` holds `d · min(tokens,
  /// blockTokens) + d·d + d` floats.
  static func head(
    _ qkv: UnsafePointer<Float>, dim d: Int, tokens: Int, eps: Float,
    out: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    let block = Swift.min(tokens, blockTokens)
    let phi = scratch, kv = scratch + d * block, kSum = kv + d * d
    let q = qkv, k = qkv + d * tokens, v = qkv + 2 * d * tokens
    kSum.initialize(repeating: 0, count: d)
    var t0 = 0
    while t0 < tokens {
      let n = Swift.min(block, tokens - t0)
      for i in 0..<d {
        kSum[i] += reluRow(k + i * tokens + t0, count: n, into: phi + i * n)
      }
      BLAS.gemmSlice(
        m: d, n: d, k: n, a: v + t0, lda: tokens, b: phi, ldb: n, transB: true,
        beta: t0 == 0 ? 0 : 1, c: kv, ldc: d)
      t0 += n
    }
    t0 = 0
    while t0 < tokens {
      let n = Swift.min(block, tokens - t0)
      for i in 0..<d {
        _ = reluRow(q + i * tokens + t0, count: n, into: phi + i * n)
      }
      BLAS.gemmSlice(
        m: d, n: n, k: d, a: kv, lda: d, b: phi, ldb: n, c: out + t0,
        ldc: tokens)
      normalise(out + t0, rows: d, stride: tokens, count: n, phi: phi, kSum: kSum, eps: eps)
      t0 += n
    }
  }

  /// `into[i] = max(x[i], 0)` for `count` values; returns their sum.
  @inline(__always)
  private static func reluRow(
    _ x: UnsafePointer<Float>, count: Int, into y: UnsafeMutablePointer<Float>
  ) -> Float {
    var lanes = SIMD8<Float>()
    var i = 0
    while i + 8 <= count {
      var v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
      v.replace(with: 0, where: v .< 0)
      UnsafeMutableRawPointer(y + i).storeBytes(of: v, as: SIMD8<Float>.self)
      lanes += v
      i += 8
    }
    var total = lanes.sum()
    while i < count {
      y[i] = Swift.max(x[i], 0)
      total += y[i]
      i += 1
    }
    return total
  }

  /// Divides column t of `out` (`rows` rows, `stride` apart, `count`
  /// columns) by `Σ_i kSum[i]·phi[i, t] + eps` (`phi` rows `count` apart).
  @inline(__always)
  private static func normalise(
    _ out: UnsafeMutablePointer<Float>, rows d: Int, stride: Int, count: Int,
    phi: UnsafePointer<Float>, kSum: UnsafePointer<Float>, eps: Float
  ) {
    var t = 0
    while t + 8 <= count {
      var den = SIMD8<Float>(repeating: 0)
      for i in 0..<d {
        den += kSum[i] * UnsafeRawPointer(phi + i * count + t).loadUnaligned(
          as: SIMD8<Float>.self)
      }
      den += eps
      for i in 0..<d {
        let o = UnsafeMutableRawPointer(out + i * stride + t)
        o.storeBytes(of: o.loadUnaligned(as: SIMD8<Float>.self) / den, as: SIMD8<Float>.self)
      }
      t += 8
    }
    while t < count {
      var den: Float = 0
      for i in 0..<d { den += kSum[i] * phi[i * count + t] }
      den += eps
      for i in 0..<d { out[i * stride + t] /= den }
      t += 1
    }
  }
}
