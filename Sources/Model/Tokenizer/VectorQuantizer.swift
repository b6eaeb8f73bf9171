import Foundation
import Tensor

/// The tokenizer's codebook Z (K vectors of dimension d) with nearest-code
/// quantisation, straight-through gradients, commitment loss, EMA codebook
/// updates and dead-code restart (van den Oord et al. 2017, appendix A.1;
/// restart as in Dhariwal et al. 2020, Jukebox).
///
/// The codebook is not trained by gradients: `updateCodebook` moves it to
/// the exponential moving average of the encoder outputs assigned to each
/// code. State (names as in the reference): `codebook` `[K, d]`,
/// `ema_count` `[K]`, `ema_sum` `[K, d]`.
public final class VectorQuantizer {
  /// `[K, d]`.
  public let codebook: Tensor
  /// EMA of the number of vectors assigned to each code, `[K]`.
  public let emaCount: Tensor
  /// EMA of the sum of vectors assigned to each code, `[K, d]`.
  public let emaSum: Tensor
  let decay: Float
  let commitmentWeight: Float
  let deadThreshold: Float
  /// Laplace smoothing of the counts when dividing sums by counts.
  let epsilon: Float = 1e-5

  init(_ scope: ParameterScope, config: ModelConfig) {
    let k = config.codebookSize, d = config.tokenDim
    let cb = Tensor.uniform(
      [k, d], low: -1 / Float(k), high: 1 / Float(k), rng: &scope.store.rng)
    codebook = scope.state("codebook", cb)
    emaCount = scope.buffer("ema_count", Tensor.ones([k]))
    // A copy of the codebook (the EMA sums start at count 1 per code).
    emaSum = scope.buffer("ema_sum", cb * 1)
    decay = config.emaDecay
    commitmentWeight = config.commitmentWeight
    deadThreshold = config.deadCodeThreshold
  }

  /// Codebook size K.
  public var size: Int { codebook.shape[0] }
  /// Vector dimension d.
  public var dim: Int { codebook.shape[1] }

  /// The result of quantising a token grid.
  public struct Output {
    /// `[N, d, h, w]`: every vector exactly a codebook row; gradients pass
    /// straight through to the encoder output.
    public let quantized: Tensor
    /// Chosen code per token, row-major over (n, y, x); `N·h·w` values.
    public let indices: [Int]
    /// β·mean‖z_e − sg(z_q)‖², shape `[]` (the encoder's commitment).
    public let commitmentLoss: Tensor
    /// The encoder outputs as rows, `[N·h·w, d]` (for `updateCodebook`).
    public let vectors: Tensor
  }

  /// Replaces each d-vector of `z` (`[N, d, h, w]`) by its nearest code
  /// (squared L2, first index on ties).
  public func quantize(_ z: Tensor) -> Output {
    precondition(
      z.rank == 4 && z.shape[1] == dim,
      "quantize: input \(z.shape) is not [N, \(dim), h, w]")
    let n = z.shape[0], h = z.shape[2], w = z.shape[3]
    let rows = z.permuted([0, 2, 3, 1]).reshaped([n * h * w, dim])
    let (q, indices) = rows.nearestCodebook(codebook)
    FlopCounter.add(n * h * w * dim * size)
    let quantized = q.reshaped([n, h, w, dim]).permuted([0, 3, 1, 2])
    let target = codebook.rows(indices).detached()
    let commitment = (rows - target).squared().mean() * commitmentWeight
    return Output(
      quantized: quantized, indices: indices, commitmentLoss: commitment,
      vectors: rows.detached())
  }

  /// One EMA step from a batch: `N_k ← γN_k + (1−γ)n_k`,
  /// `m_k ← γm_k + (1−γ)Σ_{i→k} z_i`, then `e_k = m_k / Ñ_k` with
  /// Laplace-smoothed counts `Ñ_k = (N_k + ε)/(ΣN + Kε)·ΣN`.
  ///
  /// - Parameters:
  ///   - vectors: `[M, d]` encoder outputs.
  ///   - indices: their `M` codes.
  public func updateCodebook(vectors: Tensor, indices: [Int]) {
    precondition(
      vectors.shape == [indices.count, dim],
      "updateCodebook: vectors \(vectors.shape) for \(indices.count) codes")
    let k = size, d = dim, g = decay
    var counts = [Float](repeating: 0, count: k)
    var sums = [Float](repeating: 0, count: k * d)
    vectors.withUnsafeBufferPointer { v in
      for (r, code) in indices.enumerated() {
        counts[code] += 1
        for j in 0..<d { sums[code * d + j] += v[r * d + j] }
      }
    }
    emaCount.withUnsafeMutableBufferPointer { c in
      for i in 0..<k { c[i] = g * c[i] + (1 - g) * counts[i] }
    }
    emaSum.withUnsafeMutableBufferPointer { s in
      for i in 0..<(k * d) { s[i] = g * s[i] + (1 - g) * sums[i] }
    }
    let total = emaCount.scalars.reduce(0, +)
    let counts2 = emaCount.scalars, sums2 = emaSum.scalars
    codebook.withUnsafeMutableBufferPointer { e in
      for i in 0..<k {
        let smoothed =
          (counts2[i] + epsilon) / (total + Float(k) * epsilon) * total
        for j in 0..<d { e[i * d + j] = sums2[i * d + j] / smoothed }
      }
    }
  }

  /// Restarts codes whose EMA count is below the dead-code threshold: each
  /// becomes a randomly drawn row of `vectors` (`[M, d]`), with count 1.
  ///
  /// - Returns: the restarted code indices.
  @discardableResult
  public func restartDeadCodes(
    vectors: Tensor, rng: inout Xoshiro256
  ) -> [Int] {
    let m = vectors.shape[0], d = dim
    guard m > 0 else { return [] }
    let dead = emaCount.scalars.indices.filter {
      emaCount.scalars[$0] < deadThreshold
    }
    guard !dead.isEmpty else { return [] }
    let v = vectors.scalars
    for code in dead {
      let r = Int(rng.next() % UInt64(m))
      codebook.withUnsafeMutableBufferPointer { e in
        for j in 0..<d { e[code * d + j] = v[r * d + j] }
      }
      emaSum.withUnsafeMutableBufferPointer { s in
        for j in 0..<d { s[code * d + j] = v[r * d + j] }
      }
      emaCount.withUnsafeMutableBufferPointer { $0[code] = 1 }
    }
    return dead
  }

  /// Codebook perplexity of a batch: exp(−Σ p_k log p_k) over the code
  /// frequencies p_k; K when all codes are used equally, 1 when one is.
  public static func perplexity(indices: [Int], codebookSize k: Int) -> Float {
    guard !indices.isEmpty else { return 0 }
    var counts = [Double](repeating: 0, count: k)
    for i in indices { counts[i] += 1 }
    let n = Double(indices.count)
    var h = 0.0
    for c in counts where c > 0 { h -= c / n * Foundation.log(c / n) }
    return Float(Foundation.exp(h))
  }
}

