import Foundation

/// Segmentation losses.
extension Tensor {
  /// Mean cross-entropy between `self`, logits `[N, C]` or `[N, C, H, W]`,
  /// and class indices `targets` (`N` or `N·H·W` of them, row-major, each
  /// in `0..<C` or equal to `ignoreIndex`). Like PyTorch's `cross_entropy`
  /// with `reduction="mean"`: the mean runs over non-ignored positions.
  ///
  /// - Returns: shape `[]`.
  public func crossEntropy(targets: [Int], ignoreIndex: Int = -100) -> Tensor {
    precondition(rank >= 2, "crossEntropy: logits \(shape) have rank < 2")
    let (n, c, inner) = Shape.split(shape, at: 1)
    precondition(
      targets.count == n * inner,
      "crossEntropy: \(targets.count) targets for logits \(shape)")
    let x = self
    let px = storage.pointer
    let positions = n * inner
    for (pos, t) in targets.enumerated() where t != ignoreIndex {
      precondition(
        t >= 0 && t < c,
        "crossEntropy: target \(t) at position \(pos) outside 0..<\(c)")
    }
    // Per position: log Σ exp over classes; per thread: the loss sum.
    var lse = [Float](repeating: 0, count: positions)
    var partial = [Double](repeating: 0, count: Parallel.threads)
    lse.withUnsafeMutableBufferPointer { lb in
      partial.withUnsafeMutableBufferPointer { pb in
        let lp = lb.baseAddress!, pp = pb.baseAddress!
        let chunks = Parallel.threads
        Parallel.forEach(chunks, costPerItem: positions * c / chunks) { k in
          var total: Double = 0
          for pos in (positions * k / chunks)..<(positions * (k + 1) / chunks) {
            let t = targets[pos]
            guard t != ignoreIndex else { continue }
            let base = (pos / inner) * c * inner + pos % inner
            var m = -Float.infinity
            for j in 0..<c { m = Swift.max(m, px[base + j * inner]) }
            var s: Float = 0
            for j in 0..<c { s += Foundation.exp(px[base + j * inner] - m) }
            lp[pos] = m + Foundation.log(s)
            total += Double(lp[pos] - px[base + t * inner])
          }
          pp[k] = total
        }
      }
    }
    let total = partial.reduce(0, +)
    let used = targets.lazy.filter { $0 != ignoreIndex }.count
    let denominator = Float(Swift.max(used, 1))
    let out = Tensor(Float(total) / denominator)
    let logSumExp = lse
    return Tensor.result(
      shape: [], storage: out.storage, parents: [x]
    ) { g, _ in
      // d/dx = (softmax − onehot) / count, zero at ignored positions.
      let gx = Tensor.zeros(x.shape)
      let pd = gx.storage.pointer
      let scale = g.item / denominator
      Parallel.forEach(positions, costPerItem: c * 4) { pos in
        guard targets[pos] != ignoreIndex else { return }
        let base = (pos / inner) * c * inner + pos % inner
        for k in 0..<c {
          let i = base + k * inner
          pd[i] = Foundation.exp(px[i] - logSumExp[pos]) * scale
        }
        pd[base + targets[pos] * inner] -= scale
      }
      return [gx]
    }
  }

  /// Soft Dice loss between probabilities `self` and a target of the same
  /// shape `[N, C, …]` (one-hot or soft): per channel
  /// `dice_c = (2·Σ p·t + eps) / (Σ p + Σ t + eps)` over all other
  /// dimensions, loss `1 − mean_c dice_c`. Shape `[]`.
  public func softDiceLoss(target: Tensor, eps: Float = 1) -> Tensor {
    precondition(
      shape == target.shape && rank >= 2,
      "softDiceLoss: probabilities \(shape) vs target \(target.shape)")
    let dims = (0..<rank).filter { $0 != 1 }
    let inter = (self * target).sum(dims: dims)
    let denom = sum(dims: dims) + target.sum(dims: dims)
    let dice = (inter * 2 + eps) / (denom + eps)
    return -dice.mean() + 1
  }

  /// One-hot encoding of class indices as `[N, classes, H, W]` floats;
  /// `indices` are `N·H·W` values in row-major order.
  public static func oneHot(
    _ indices: [Int], classes: Int, batch: Int, height: Int, width: Int
  ) -> Tensor {
    let plane = height * width
    precondition(
      indices.count == batch * plane,
      "oneHot: \(indices.count) indices for [\(batch), \(height), \(width)]")
    let out = Tensor.zeros([batch, classes, height, width])
    let p = out.storage.pointer
    for (pos, k) in indices.enumerated() where k >= 0 && k < classes {
      p[((pos / plane) * classes + k) * plane + pos % plane] = 1
    }
    return out
  }
}
