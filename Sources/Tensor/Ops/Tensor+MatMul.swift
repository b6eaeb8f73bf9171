/// Matrix products on OpenBLAS.
extension Tensor {
  /// Matrix product. `[M, K] × [K, N] → [M, N]`, or batched
  /// `[B, M, K] × [B, K, N] → [B, M, N]` (a batch of 1 on either side is
  /// shared by every batch entry of the other).
  public func matmul(_ other: Tensor) -> Tensor {
    let a = self, b = other
    precondition(
      (a.rank == 2 || a.rank == 3) && a.rank == b.rank
        && a.shape[a.rank - 1] == b.shape[b.rank - 2],
      "matmul: shapes \(a.shape) and \(b.shape) do not multiply")
    let batched = a.rank == 3
    let ba = batched ? a.shape[0] : 1, bb = batched ? b.shape[0] : 1
    precondition(
      ba == bb || ba == 1 || bb == 1,
      "matmul: batch sizes \(ba) and \(bb) differ")
    let batch = Swift.max(ba, bb)
    let m = a.shape[a.rank - 2], k = a.shape[a.rank - 1]
    let n = b.shape[b.rank - 1]
    let outShape = batched ? [batch, m, n] : [m, n]
    let out = Tensor.empty(outShape)
    let pa = a.storage.pointer, pb = b.storage.pointer
    let po = out.storage.pointer
    for i in 0..<batch {
      BLAS.gemm(
        transA: false, transB: false, m: m, n: n, k: k,
        a: pa + (ba == 1 ? 0 : i * m * k), b: pb + (bb == 1 ? 0 : i * k * n),
        c: po + i * m * n)
    }
    return Tensor.result(
      shape: outShape, storage: out.storage, parents: [a, b]
    ) { g, _ in
      let pg = g.storage.pointer
      var ga: Tensor? = nil, gb: Tensor? = nil
      if a.requiresGrad {
        let t = Tensor.zeros(a.shape)
        for i in 0..<batch {
          // dA = dC · Bᵀ
          BLAS.gemm(
            transA: false, transB: true, m: m, n: k, k: n,
            a: pg + i * m * n, b: pb + (bb == 1 ? 0 : i * k * n), beta: 1,
            c: t.storage.pointer + (ba == 1 ? 0 : i * m * k))
        }
        ga = t
      }
      if b.requiresGrad {
        let t = Tensor.zeros(b.shape)
        for i in 0..<batch {
          // dB = Aᵀ · dC
          BLAS.gemm(
            transA: true, transB: false, m: k, n: n, k: m,
            a: pa + (ba == 1 ? 0 : i * m * k), b: pg + i * m * n, beta: 1,
            c: t.storage.pointer + (bb == 1 ? 0 : i * k * n))
        }
        gb = t
      }
      return [ga, gb]
    }
  }

  /// Fully connected layer: `x · Wᵀ + b` over the last dimension.
  ///
  /// - Parameters:
  ///   - weight: `[out, in]`, PyTorch's `nn.Linear` layout.
  ///   - bias: `[out]` or `nil`.
  /// - Returns: `x.shape` with the last dimension `in` replaced by `out`.
  public func linear(weight: Tensor, bias: Tensor? = nil) -> Tensor {
    let inF = shape.last ?? 0
    precondition(
      weight.rank == 2 && weight.shape[1] == inF,
      "linear: input \(shape) does not fit weight \(weight.shape)")
    let outF = weight.shape[0]
    let rows = count / Swift.max(inF, 1)
    let x = self
    let out = Tensor.empty(Array(shape.dropLast()) + [outF])
    BLAS.gemm(
      transA: false, transB: true, m: rows, n: outF, k: inF,
      a: x.storage.pointer, b: weight.storage.pointer, c: out.storage.pointer)
    if let bias {
      precondition(
        bias.shape == [outF], "linear: bias \(bias.shape) is not [\(outF)]")
      let po = out.storage.pointer, pb = bias.storage.pointer
      for r in 0..<rows {
        for j in 0..<outF { po[r * outF + j] += pb[j] }
      }
    }
    let parents = bias.map { [x, weight, $0] } ?? [x, weight]
    return Tensor.result(
      shape: out.shape, storage: out.storage, parents: parents
    ) { g, _ in
      let pg = g.storage.pointer
      var grads: [Tensor?] = [nil, nil]
      if x.requiresGrad {
        let gx = Tensor.empty(x.shape)
        BLAS.gemm(
          transA: false, transB: false, m: rows, n: inF, k: outF,
          a: pg, b: weight.storage.pointer, c: gx.storage.pointer)
        grads[0] = gx
      }
      if weight.requiresGrad {
        let gw = Tensor.empty(weight.shape)
        BLAS.gemm(
          transA: true, transB: false, m: outF, n: inF, k: rows,
          a: pg, b: x.storage.pointer, c: gw.storage.pointer)
        grads[1] = gw
      }
      if bias != nil {
        grads.append(g.reshaped([rows, outF]).sum(dim: 0))
      }
      return grads
    }
  }
}
