/// Vector quantisation against a codebook.
extension Tensor {
  /// Replaces each row of `self` (`[M, D]`) by its nearest codebook row
  /// (`codebook`: `[K, D]`, squared Euclidean distance, first index on
  /// ties).
  ///
  /// The gradient is straight-through: the quantised rows pass their
  /// gradient unchanged to `self`, and nothing to `codebook`. To train the
  /// codebook, build a loss on `codebook.rows(indices)`.
  ///
  /// - Returns: the quantised `[M, D]` tensor and the chosen row indices.
  public func nearestCodebook(_ codebook: Tensor) -> (
    quantized: Tensor, indices: [Int]
  ) {
    precondition(
      rank == 2 && codebook.rank == 2 && shape[1] == codebook.shape[1],
      "nearestCodebook: inputs \(shape) vs codebook \(codebook.shape)")
    let m = shape[0], d = shape[1], k = codebook.shape[0]
    let px = storage.pointer, pc = codebook.storage.pointer
    // ‖x − c‖² = ‖x‖² − 2 x·c + ‖c‖²; ‖x‖² does not change the argmin.
    let dots = UnsafeMutablePointer<Float>.allocate(capacity: Swift.max(m * k, 1))
    defer { dots.deallocate() }
    BLAS.gemm(
      transA: false, transB: true, m: m, n: k, k: d, a: px, b: pc, c: dots)
    var norms = [Float](repeating: 0, count: k)
    for j in 0..<k {
      for i in 0..<d { norms[j] += pc[j * d + i] * pc[j * d + i] }
    }
    var indices = [Int](repeating: 0, count: m)
    for r in 0..<m {
      var best = Float.infinity
      for j in 0..<k {
        let dist = norms[j] - 2 * dots[r * k + j]
        if dist < best {
          best = dist
          indices[r] = j
        }
      }
    }
    let out = Tensor.empty(shape)
    let po = out.storage.pointer
    for r in 0..<m {
      (po + r * d).update(from: pc + indices[r] * d, count: d)
    }
    let quantized = Tensor.result(
      shape: shape, storage: out.storage, parents: [self]
    ) { g, _ in
      [g]
    }
    return (quantized, indices)
  }

  /// Rows `indices` of a `[K, D]` tensor as `[indices.count, D]`
  /// (an embedding lookup); the gradient scatter-adds into the rows.
  public func rows(_ indices: [Int]) -> Tensor {
    precondition(rank == 2, "rows: tensor \(shape) is not [K, D]")
    let k = shape[0], d = shape[1]
    let out = Tensor.empty([indices.count, d])
    let px = storage.pointer, po = out.storage.pointer
    for (r, i) in indices.enumerated() {
      precondition(i >= 0 && i < k, "rows: index \(i) outside 0..<\(k)")
      (po + r * d).update(from: px + i * d, count: d)
    }
    return Tensor.result(
      shape: out.shape, storage: out.storage, parents: [self]
    ) { g, _ in
      let gx = Tensor.zeros(self.shape)
      let pg = g.storage.pointer, pd = gx.storage.pointer
      for (r, i) in indices.enumerated() {
        for j in 0..<d { pd[i * d + j] += pg[r * d + j] }
      }
      return [gx]
    }
  }
}
