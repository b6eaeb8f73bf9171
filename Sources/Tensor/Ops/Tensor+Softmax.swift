import Foundation

/// Softmax and log-softmax along one dimension.
extension Tensor {
  /// exp(x) / Σ exp(x) along `dim`, computed with the maximum subtracted.
  public func softmax(dim: Int) -> Tensor {
    let (out, d) = softmaxKernel(dim: dim, log: false)
    let (outer, n, inner) = Shape.split(shape, at: d)
    return Tensor.result(
      shape: shape, storage: out.storage, parents: [self]
    ) { g, y in
      // dx = y · (g − Σ g·y)
      let gx = Tensor.empty(self.shape)
      let pg = g.storage.pointer, py = y.storage.pointer
      let pd = gx.storage.pointer
      Tensor.forEachLine(outer: outer, n: n, inner: inner) { base in
        var dot: Float = 0
        for k in 0..<n { dot += pg[base + k * inner] * py[base + k * inner] }
        for k in 0..<n {
          let i = base + k * inner
          pd[i] = py[i] * (pg[i] - dot)
        }
      }
      return [gx]
    }
  }

  /// x − log Σ exp(x) along `dim`.
  public func logSoftmax(dim: Int) -> Tensor {
    let (out, d) = softmaxKernel(dim: dim, log: true)
    let (outer, n, inner) = Shape.split(shape, at: d)
    return Tensor.result(
      shape: shape, storage: out.storage, parents: [self]
    ) { g, y in
      // dx = g − softmax · Σ g
      let gx = Tensor.empty(self.shape)
      let pg = g.storage.pointer, py = y.storage.pointer
      let pd = gx.storage.pointer
      Tensor.forEachLine(outer: outer, n: n, inner: inner) { base in
        var total: Float = 0
        for k in 0..<n { total += pg[base + k * inner] }
        for k in 0..<n {
          let i = base + k * inner
          pd[i] = pg[i] - Foundation.exp(py[i]) * total
        }
      }
      return [gx]
    }
  }

  /// Calls `body` with the offset of the first element of each line along
  /// the middle dimension of an `[outer, n, inner]` view.
  static func forEachLine(
    outer: Int, n: Int, inner: Int, _ body: (Int) -> Void
  ) {
    Parallel.forEach(outer * inner, costPerItem: n * 4) { line in
      body((line / inner) * n * inner + line % inner)
    }
  }

  private func softmaxKernel(dim: Int, log: Bool) -> (Tensor, Int) {
    let d = Shape.axis(dim, rank: rank, op: log ? "logSoftmax" : "softmax")
    let (outer, n, inner) = Shape.split(shape, at: d)
    let out = Tensor.empty(shape)
    let px = storage.pointer, po = out.storage.pointer
    Tensor.forEachLine(outer: outer, n: n, inner: inner) { base in
      var m = -Float.infinity
      for k in 0..<n { m = Swift.max(m, px[base + k * inner]) }
      var total: Float = 0
      for k in 0..<n {
        let e = Foundation.exp(px[base + k * inner] - m)
        po[base + k * inner] = e
        total += e
      }
      if log {
        let lse = m + Foundation.log(total)
        for k in 0..<n { po[base + k * inner] = px[base + k * inner] - lse }
      } else {
        let inv = 1 / total
        for k in 0..<n { po[base + k * inner] *= inv }
      }
    }
    return (out, d)
  }
}
