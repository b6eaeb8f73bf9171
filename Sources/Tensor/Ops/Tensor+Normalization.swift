/// Batch normalisation and layer normalisation.
extension Tensor {
  /// Batch normalisation over dimension 1 of `[N, C, …]` (PyTorch's
  /// `batch_norm`): `(x − μ)/√(σ² + eps) · gamma + beta` per channel.
  ///
  /// In training, μ and σ² (biased) come from the batch, and the running
  /// statistics are updated in place: `r ← (1 − momentum)·r + momentum·s`,
  /// with the unbiased variance for `runningVar`. In evaluation the running
  /// statistics are used and left unchanged.
  ///
  /// One read pass for the statistics (moments about the channel's first
  /// value, SIMD lanes in float, blocks summed in float64) and one
  /// read-write pass for the output; backward likewise. `batchNormReference`
  /// is the plain definition it is tested against.
  ///
  /// - Parameters:
  ///   - gamma, beta: `[C]`, learnable.
  ///   - runningMean, runningVar: `[C]`, not differentiated.
  public func batchNorm(
    gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
    training: Bool, momentum: Float = 0.1, eps: Float = 1e-5
  ) -> Tensor {
    let (n, c, spatial) = batchNormGeometry(
      gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar)
    let m = n * spatial
    let x = self
    let px = storage.pointer
    var mean = [Float](repeating: 0, count: c)
    var invStd = [Float](repeating: 0, count: c)
    let rm = runningMean.storage.pointer, rv = runningVar.storage.pointer
    if training {
      mean.withUnsafeMutableBufferPointer { mb in
        invStd.withUnsafeMutableBufferPointer { ib in
          let mp = mb.baseAddress!, ip = ib.baseAddress!
          Parallel.forEach(c, costPerItem: m) { ch in
            let shift = m > 0 ? px[ch * spatial] : 0
            var s: Double = 0, s2: Double = 0
            for b in 0..<n {
              let (a1, a2) = Elementwise.shiftedMoments(
                px + (b * c + ch) * spatial, count: spatial, shift: shift)
              s += a1
              s2 += a2
            }
            let d = s / Double(Swift.max(m, 1))
            let mu = Double(shift) + d
            let variance = Swift.max(s2 / Double(Swift.max(m, 1)) - d * d, 0)
            mp[ch] = Float(mu)
            ip[ch] = Float(1 / (variance + Double(eps)).squareRoot())
            let unbiased = m > 1 ? variance * Double(m) / Double(m - 1) : variance
            rm[ch] = (1 - momentum) * rm[ch] + momentum * Float(mu)
            rv[ch] = (1 - momentum) * rv[ch] + momentum * Float(unbiased)
          }
        }
      }
    } else {
      for ch in 0..<c {
        mean[ch] = rm[ch]
        invStd[ch] = 1 / (rv[ch] + eps).squareRoot()
      }
    }
    let out = Tensor.empty(shape)
    let po = out.storage.pointer
    let pg = gamma.storage.pointer, pb = beta.storage.pointer
    Parallel.forEach(n * c, costPerItem: spatial) { p in
      let ch = p % c
      let scale = invStd[ch] * pg[ch]
      Elementwise.affine(
        px + p * spatial, po + p * spatial, count: spatial, scale: scale,
        shift: pb[ch] - mean[ch] * scale)
    }
    return Tensor.result(
      shape: shape, storage: out.storage, parents: [x, gamma, beta]
    ) { g, _ in
      let pgy = g.storage.pointer
      var sumG = [Double](repeating: 0, count: c)
      var sumGX = [Double](repeating: 0, count: c)
      sumG.withUnsafeMutableBufferPointer { sg in
        sumGX.withUnsafeMutableBufferPointer { sgx in
          let a = sg.baseAddress!, b = sgx.baseAddress!
          Parallel.forEach(c, costPerItem: m) { ch in
            var s: Double = 0, sx: Double = 0
            for bi in 0..<n {
              let off = (bi * c + ch) * spatial
              let (a1, a2) = Elementwise.gradientMoments(
                pgy + off, px + off, count: spatial, shift: mean[ch])
              s += a1
              sx += a2
            }
            a[ch] = s
            b[ch] = sx * Double(invStd[ch])
          }
        }
      }
      let gx = Tensor.empty(x.shape)
      let pd = gx.storage.pointer
      Parallel.forEach(n * c, costPerItem: spatial) { p in
        let ch = p % c
        let k = pg[ch] * invStd[ch]
        let off = p * spatial
        if training {
          // k·(g − mean(g) − x̂·mean(g·x̂)) with x̂ = (x − μ)·invStd.
          let mg = Float(sumG[ch] / Double(m))
          let mgx = Float(sumGX[ch] / Double(m))
          let bx = -k * invStd[ch] * mgx
          Elementwise.combine(
            pgy + off, px + off, pd + off, count: spatial, a: k, b: bx,
            c: -k * mg - bx * mean[ch])
        } else {
          Elementwise.combine(
            pgy + off, px + off, pd + off, count: spatial, a: k, b: 0, c: 0)
        }
      }
      let gGamma = Tensor.vector(sumGX)
      let gBeta = Tensor.vector(sumG)
      return [gx, gGamma, gBeta]
    }
  }

  /// The plain definition of `batchNorm` (float64 scalar loops), kept as
  /// the reference the vectorised version is tested against.
  ///
  /// Batch normalisation over dimension 1 of `[N, C, …]` (PyTorch's
  /// `batch_norm`): `(x − μ)/√(σ² + eps) · gamma + beta` per channel.
  ///
  /// In training, μ and σ² (biased) come from the batch, and the running
  /// statistics are updated in place: `r ← (1 − momentum)·r + momentum·s`,
  /// with the unbiased variance for `runningVar`. In evaluation the running
  /// statistics are used and left unchanged.
  ///
  /// - Parameters:
  ///   - gamma, beta: `[C]`, learnable.
  ///   - runningMean, runningVar: `[C]`, not differentiated.
  func batchNormReference(
    gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor,
    training: Bool, momentum: Float = 0.1, eps: Float = 1e-5
  ) -> Tensor {
    let (n, c, spatial) = batchNormGeometry(
      gamma: gamma, beta: beta, runningMean: runningMean, runningVar: runningVar)
    let m = n * spatial
    let x = self
    let px = storage.pointer
    var mean = [Float](repeating: 0, count: c)
    var invStd = [Float](repeating: 0, count: c)
    let rm = runningMean.storage.pointer, rv = runningVar.storage.pointer
    if training {
      mean.withUnsafeMutableBufferPointer { mb in
        invStd.withUnsafeMutableBufferPointer { ib in
          let mp = mb.baseAddress!, ip = ib.baseAddress!
          Parallel.forEach(c, costPerItem: m) { ch in
            var s: Double = 0, s2: Double = 0
            for b in 0..<n {
              let row = px + (b * c + ch) * spatial
              for i in 0..<spatial {
                let v = Double(row[i])
                s += v
                s2 += v * v
              }
            }
            let mu = s / Double(m)
            let variance = Swift.max(s2 / Double(m) - mu * mu, 0)
            mp[ch] = Float(mu)
            ip[ch] = Float(1 / (variance + Double(eps)).squareRoot())
            let unbiased = m > 1 ? variance * Double(m) / Double(m - 1) : variance
            rm[ch] = (1 - momentum) * rm[ch] + momentum * Float(mu)
            rv[ch] = (1 - momentum) * rv[ch] + momentum * Float(unbiased)
          }
        }
      }
    } else {
      for ch in 0..<c {
        mean[ch] = rm[ch]
        invStd[ch] = 1 / (rv[ch] + eps).squareRoot()
      }
    }
    let out = Tensor.empty(shape)
    let po = out.storage.pointer
    let pg = gamma.storage.pointer, pb = beta.storage.pointer
    Parallel.forEach(n * c, costPerItem: spatial) { p in
      let ch = p % c
      let scale = invStd[ch] * pg[ch]
      let shift = pb[ch] - mean[ch] * scale
      let src = px + p * spatial, dst = po + p * spatial
      for i in 0..<spatial { dst[i] = src[i] * scale + shift }
    }
    return Tensor.result(
      shape: shape, storage: out.storage, parents: [x, gamma, beta]
    ) { g, _ in
      let pgy = g.storage.pointer
      var sumG = [Double](repeating: 0, count: c)
      var sumGX = [Double](repeating: 0, count: c)
      sumG.withUnsafeMutableBufferPointer { sg in
        sumGX.withUnsafeMutableBufferPointer { sgx in
          let a = sg.baseAddress!, b = sgx.baseAddress!
          Parallel.forEach(c, costPerItem: m) { ch in
            var s: Double = 0, sx: Double = 0
            for bi in 0..<n {
              let off = (bi * c + ch) * spatial
              for i in 0..<spatial {
                let gv = Double(pgy[off + i])
                s += gv
                sx += gv * Double((px[off + i] - mean[ch]) * invStd[ch])
              }
            }
            a[ch] = s
            b[ch] = sx
          }
        }
      }
      let gx = Tensor.empty(x.shape)
      let pd = gx.storage.pointer
      Parallel.forEach(n * c, costPerItem: spatial) { p in
        let ch = p % c
        let k = pg[ch] * invStd[ch]
        let off = p * spatial
        if training {
          let mg = Float(sumG[ch] / Double(m))
          let mgx = Float(sumGX[ch] / Double(m))
          for i in 0..<spatial {
            let xh = (px[off + i] - mean[ch]) * invStd[ch]
            pd[off + i] = k * (pgy[off + i] - mg - xh * mgx)
          }
        } else {
          for i in 0..<spatial { pd[off + i] = k * pgy[off + i] }
        }
      }
      let gGamma = Tensor.vector(sumGX)
      let gBeta = Tensor.vector(sumG)
      return [gx, gGamma, gBeta]
    }
  }

  /// Layer normalisation over the last dimension (PyTorch's `layer_norm`
  /// with `normalized_shape = [C]`); `gamma`, `beta`: `[C]`.
  public func layerNorm(gamma: Tensor, beta: Tensor, eps: Float = 1e-5)
    -> Tensor
  {
    normalize(dim: rank - 1, gamma: gamma, beta: beta, eps: eps)
  }

  /// Layer normalisation over the channel dimension of NCHW, separately at
  /// every pixel (a channels-last layer norm without the transposes);
  /// `gamma`, `beta`: `[C]`.
  public func layerNormChannels(gamma: Tensor, beta: Tensor, eps: Float = 1e-5)
    -> Tensor
  {
    precondition(rank == 4, "layerNormChannels: input \(shape) is not NCHW")
    return normalize(dim: 1, gamma: gamma, beta: beta, eps: eps)
  }

  /// Normalises every line along `dim` to zero mean and unit (biased)
  /// variance, then scales by `gamma[c]` and shifts by `beta[c]`.
  private func normalize(dim: Int, gamma: Tensor, beta: Tensor, eps: Float)
    -> Tensor
  {
    let (outer, c, inner) = Shape.split(shape, at: dim)
    precondition(
      gamma.shape == [c] && beta.shape == [c],
      "layerNorm: gamma \(gamma.shape), beta \(beta.shape) are not [\(c)]")
    let x = self
    let lines = outer * inner
    let px = storage.pointer
    let pg = gamma.storage.pointer, pb = beta.storage.pointer
    var mean = [Float](repeating: 0, count: lines)
    var invStd = [Float](repeating: 0, count: lines)
    let out = Tensor.empty(shape)
    let po = out.storage.pointer
    mean.withUnsafeMutableBufferPointer { mb in
      invStd.withUnsafeMutableBufferPointer { ib in
        let mp = mb.baseAddress!, ip = ib.baseAddress!
        Parallel.forEach(lines, costPerItem: c * 3) { line in
          let base = (line / inner) * c * inner + line % inner
          var s: Float = 0
          for k in 0..<c { s += px[base + k * inner] }
          let mu = s / Float(c)
          var v: Float = 0
          for k in 0..<c {
            let d = px[base + k * inner] - mu
            v += d * d
          }
          let inv = 1 / (v / Float(c) + eps).squareRoot()
          mp[line] = mu
          ip[line] = inv
          for k in 0..<c {
            let i = base + k * inner
            po[i] = (px[i] - mu) * inv * pg[k] + pb[k]
          }
        }
      }
    }
    return Tensor.result(
      shape: shape, storage: out.storage, parents: [x, gamma, beta]
    ) { g, _ in
      let pgy = g.storage.pointer
      let gx = Tensor.empty(x.shape)
      let pd = gx.storage.pointer
      Parallel.forEach(lines, costPerItem: c * 4) { line in
        let base = (line / inner) * c * inner + line % inner
        let mu = mean[line], inv = invStd[line]
        var s: Float = 0, sx: Float = 0
        for k in 0..<c {
          let i = base + k * inner
          let dxh = pgy[i] * pg[k]
          s += dxh
          sx += dxh * (px[i] - mu) * inv
        }
        let ms = s / Float(c), msx = sx / Float(c)
        for k in 0..<c {
          let i = base + k * inner
          let xh = (px[i] - mu) * inv
          pd[i] = inv * (pgy[i] * pg[k] - ms - xh * msx)
        }
      }
      // Parameter gradients, accumulated serially per channel.
      var dg = [Double](repeating: 0, count: c)
      var db = [Double](repeating: 0, count: c)
      for line in 0..<lines {
        let base = (line / inner) * c * inner + line % inner
        for k in 0..<c {
          let i = base + k * inner
          let gv = Double(pgy[i])
          dg[k] += gv * Double((px[i] - mean[line]) * invStd[line])
          db[k] += gv
        }
      }
      let gGamma = Tensor.vector(dg)
      let gBeta = Tensor.vector(db)
      return [gx, gGamma, gBeta]
    }
  }
}

extension Tensor {
  /// Checks batch-norm arguments against this `[N, C, …]` input (rank ≥ 2,
  /// every per-channel tensor `[C]`) and returns N, C and the spatial size;
  /// shared by the fast path and its reference.
  func batchNormGeometry(
    gamma: Tensor, beta: Tensor, runningMean: Tensor, runningVar: Tensor
  ) -> (n: Int, c: Int, spatial: Int) {
    precondition(rank >= 2, "batchNorm: input \(shape) has rank < 2")
    let c = shape[1], n = shape[0]
    for (name, t) in [
      ("gamma", gamma), ("beta", beta), ("runningMean", runningMean),
      ("runningVar", runningVar),
    ] {
      precondition(
        t.shape == [c], "batchNorm: \(name) \(t.shape) is not [\(c)]")
    }
    return (n, c, count / Swift.max(n * c, 1))
  }
}
