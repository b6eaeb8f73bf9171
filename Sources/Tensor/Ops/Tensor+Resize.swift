/// Resizing the last two dimensions (height, width) of NCHW images.
extension Tensor {
  /// Bilinear resize with `align_corners=false` (PyTorch's default): the
  /// source coordinate of output pixel `i` is `(i + 0.5)·in/out − 0.5`,
  /// clamped at 0.
  public func resizeBilinear(height: Int, width: Int) -> Tensor {
    resize(
      rows: Tensor.bilinearTaps(input: shape[rank - 2], output: height),
      cols: Tensor.bilinearTaps(input: shape[rank - 1], output: width))
  }

  /// Nearest-neighbour resize like PyTorch's `mode="nearest"`: output
  /// pixel `i` reads input `min(⌊i·in/out⌋, in − 1)`.
  public func resizeNearest(height: Int, width: Int) -> Tensor {
    resize(
      rows: Tensor.nearestTaps(input: shape[rank - 2], output: height),
      cols: Tensor.nearestTaps(input: shape[rank - 1], output: width))
  }

  /// Two source indices and weights per output index.
  typealias Taps = [(i0: Int, i1: Int, w0: Float, w1: Float)]

  static func bilinearTaps(input: Int, output: Int) -> Taps {
    let scale = Float(input) / Float(output)
    return (0..<output).map { o in
      let src = Swift.max((Float(o) + 0.5) * scale - 0.5, 0)
      let i0 = Swift.min(Int(src), input - 1)
      let i1 = i0 < input - 1 ? i0 + 1 : i0
      let l1 = src - Float(i0)
      return (i0, i1, 1 - l1, l1)
    }
  }

  static func nearestTaps(input: Int, output: Int) -> Taps {
    let scale = Float(input) / Float(output)
    return (0..<output).map { o in
      let i = Swift.min(Int((Float(o) * scale).rounded(.down)), input - 1)
      return (i, i, 1, 0)
    }
  }

  /// Separable two-tap interpolation over the last two dimensions: each
  /// output row first blends its two input rows (a vectorisable pass),
  /// then gathers two columns per output pixel.
  private func resize(rows: Taps, cols: Taps) -> Tensor {
    precondition(
      rank >= 2 && !rows.isEmpty && !cols.isEmpty,
      "resize: input \(shape) to \(rows.count)×\(cols.count)")
    let h = shape[rank - 2], w = shape[rank - 1]
    let oh = rows.count, ow = cols.count
    let planes = count / Swift.max(h * w, 1)
    var outShape = shape
    outShape[rank - 2] = oh
    outShape[rank - 1] = ow
    let out = Tensor.empty(outShape)
    let px = storage.pointer, po = out.storage.pointer
    let c0 = cols.map { $0.i0 }, c1 = cols.map { $0.i1 }
    let cw0 = cols.map { $0.w0 }, cw1 = cols.map { $0.w1 }
    Parallel.forEach(planes, costPerItem: oh * ow * 4) { p in
      let src = px + p * h * w, dst = po + p * oh * ow
      let blended = UnsafeMutablePointer<Float>.allocate(capacity: w)
      defer { blended.deallocate() }
      for y in 0..<oh {
        let r = rows[y]
        let a = src + r.i0 * w, b = src + r.i1 * w
        for x in 0..<w { blended[x] = a[x] * r.w0 + b[x] * r.w1 }
        let d = dst + y * ow
        for x in 0..<ow {
          d[x] = blended[c0[x]] * cw0[x] + blended[c1[x]] * cw1[x]
        }
      }
    }
    return Tensor.result(
      shape: outShape, storage: out.storage, parents: [self]
    ) { g, _ in
      let gx = Tensor.zeros(self.shape)
      let pg = g.storage.pointer, pd = gx.storage.pointer
      Parallel.forEach(planes, costPerItem: oh * ow * 4) { p in
        let src = pg + p * oh * ow, dst = pd + p * h * w
        let spread = UnsafeMutablePointer<Float>.allocate(capacity: w)
        defer { spread.deallocate() }
        for y in 0..<oh {
          // Adjoint of the column gather, then of the row blend.
          spread.initialize(repeating: 0, count: w)
          let s = src + y * ow
          for x in 0..<ow {
            spread[c0[x]] += s[x] * cw0[x]
            spread[c1[x]] += s[x] * cw1[x]
          }
          let r = rows[y]
          let a = dst + r.i0 * w, b = dst + r.i1 * w
          for x in 0..<w { a[x] += spread[x] * r.w0 }
          for x in 0..<w { b[x] += spread[x] * r.w1 }
        }
      }
      return [gx]
    }
  }
}
