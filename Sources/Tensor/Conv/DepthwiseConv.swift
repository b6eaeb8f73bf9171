/// Direct loops for depthwise convolution (one filter per channel,
/// `groups == in == out`), where im2col would multiply tiny matrices.
/// Work is split across threads by (image, channel) plane. The `…Rows`
/// variants are the simple versions the register-blocked ones are tested
/// against (and the fallback for other strides and dilations).
enum DepthwiseConv {
  /// Writes `y = conv(x, w) + bias`: `forwardPadded` for dilation 1 and
  /// stride 1 or 2, else `forwardRows`.
  static func forward(
    _ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
    bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>
  ) {
    if hasPaddedForward(g) {
      forwardPadded(g, x: x, w: w, bias: bias, y: y)
    } else {
      forwardRows(g, x: x, w: w, bias: bias, y: y)
    }
  }

  /// Whether `g` is depthwise with dilation 1 and stride 1 or 2, the cases
  /// `forwardPadded` covers.
  static func hasPaddedForward(_ g: ConvGeometry) -> Bool {
    g.isDepthwise && g.dilation == 1 && (g.stride == 1 || g.stride == 2)
  }

  /// Forward from a zero-padded copy of each plane, all taps of eight
  /// output pixels summed in registers before one store (dilation 1,
  /// stride 1 or 2). For stride 2 each padded row is stored as its even
  /// columns then its odd columns, so every tap still reads contiguously.
  static func forwardPadded(
    _ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
    bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>
  ) {
    precondition(g.dilation == 1 && (g.stride == 1 || g.stride == 2))
    let oh = g.outH, ow = g.outW, kh = g.kernelH, kw = g.kernelW
    let taps = kh * kw, s = g.stride, p = g.padding
    let paddedW = g.width + 2 * p, paddedH = g.height + 2 * p
    // Row length in the buffer; for stride 2, evens then odds.
    let evens = (paddedW + 1) / 2
    let planes = g.batch * g.inChannels
    Parallel.forEach(planes, costPerItem: oh * ow * taps) { plane in
      let c = plane % g.inChannels
      let src = x + plane * g.height * g.width, dst = y + plane * oh * ow
      // From the pool: a fresh megabyte per plane would page-fault.
      let buffer = BufferPool.take(count: paddedH * paddedW)
      defer { BufferPool.give(buffer, count: paddedH * paddedW) }
      for r in 0..<paddedH {
        let row = buffer + r * paddedW
        let iy = r - p
        guard iy >= 0 && iy < g.height else {
          row.initialize(repeating: 0, count: paddedW)
          continue
        }
        let line = src + iy * g.width
        if s == 1 {
          row.initialize(repeating: 0, count: p)
          row.advanced(by: p).update(from: line, count: g.width)
          row.advanced(by: p + g.width).initialize(repeating: 0, count: p)
        } else {
          deinterleave(line, width: g.width, padding: p, into: row, evens: evens)
        }
      }
      // Offset of tap column kx within a buffer row.
      var columnOffset = [Int](repeating: 0, count: kw)
      for kx in 0..<kw { columnOffset[kx] = s == 1 ? kx : (kx & 1) * evens + kx / 2 }
      var weights = [Float](repeating: 0, count: taps)
      for t in 0..<taps { weights[t] = w[c * taps + t] }
      let b = bias?[c] ?? 0
      columnOffset.withUnsafeBufferPointer { co in
        weights.withUnsafeBufferPointer { wt in
          for oy in 0..<oh {
            let out = dst + oy * ow
            var ox = 0
            while ox + 8 <= ow {
              var acc = SIMD8<Float>(repeating: b)
              for ky in 0..<kh {
                let row = buffer + (oy * s + ky) * paddedW + ox
                for kx in 0..<kw {
                  let v = UnsafeRawPointer(row + co[kx]).loadUnaligned(as: SIMD8<Float>.self)
                  acc += wt[ky * kw + kx] * v
                }
              }
              UnsafeMutableRawPointer(out + ox).storeBytes(of: acc, as: SIMD8<Float>.self)
              ox += 8
            }
            while ox < ow {
              var acc = b
              for ky in 0..<kh {
                let row = buffer + (oy * s + ky) * paddedW + ox
                for kx in 0..<kw { acc += wt[ky * kw + kx] * row[co[kx]] }
              }
              out[ox] = acc
              ox += 1
            }
          }
        }
      }
    }
  }

  /// Writes the row `line` (`width` values) with `padding` zeros on each
  /// side as its even padded columns (`row[0..<evens]`) then its odd ones.
  @inline(__always)
  static func deinterleave(
    _ line: UnsafePointer<Float>, width: Int, padding p: Int,
    into row: UnsafeMutablePointer<Float>, evens: Int
  ) {
    let paddedW = width + 2 * p
    /// Buffer index of padded column j.
    func slot(_ j: Int) -> Int { (j & 1) * evens + j / 2 }
    for j in 0..<p { row[slot(j)] = 0 }
    for j in (p + width)..<paddedW { row[slot(j)] = 0 }
    var ix = 0
    // 16 input columns at a time: their evens and odds each land in 8
    // consecutive slots.
    while ix + 16 <= width {
      let v = UnsafeRawPointer(line + ix).loadUnaligned(as: SIMD16<Float>.self)
      UnsafeMutableRawPointer(row + slot(ix + p)).storeBytes(of: v.evenHalf, as: SIMD8<Float>.self)
      UnsafeMutableRawPointer(row + slot(ix + 1 + p)).storeBytes(
        of: v.oddHalf, as: SIMD8<Float>.self)
      ix += 16
    }
    while ix < width {
      row[slot(ix + p)] = line[ix]
      ix += 1
    }
  }

  /// Forward as one pass per tap and output row (any stride and dilation;
  /// the reference `forwardPadded` is tested against).
  static func forwardRows(
    _ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
    bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>
  ) {
    let oh = g.outH, ow = g.outW, taps = g.kernelH * g.kernelW
    let planes = g.batch * g.inChannels
    Parallel.forEach(planes, costPerItem: oh * ow * taps) { p in
      let c = p % g.inChannels
      let src = x + p * g.height * g.width, dst = y + p * oh * ow
      dst.initialize(repeating: bias?[c] ?? 0, count: oh * ow)
      forEachRow(g) { ky, kx, oy, iy, lo, hi in
        let wv = w[c * taps + ky * g.kernelW + kx]
        let s = src + iy * g.width + kx * g.dilation - g.padding
        let d = dst + oy * ow
        if g.stride == 1 {
          for ox in lo..<hi { d[ox] += wv * s[ox] }
        } else {
          for ox in lo..<hi { d[ox] += wv * s[ox * g.stride] }
        }
      }
    }
  }

  /// Overwrites `gx` with the input gradient: for stride 1, dilation 1
  /// and `padding < kernel`, the forward kernel with the filter rotated by
  /// 180° over `gy` padded by `kernel − 1 − padding`; else `backwardDataRows`.
  static func backwardData(
    _ g: ConvGeometry, w: UnsafePointer<Float>, gy: UnsafePointer<Float>,
    gx: UnsafeMutablePointer<Float>
  ) {
    guard g.stride == 1 && g.dilation == 1 && g.kernelH == g.kernelW
      && g.padding < g.kernelH
    else {
      backwardDataRows(g, w: w, gy: gy, gx: gx)
      return
    }
    let taps = g.kernelH * g.kernelW
    let rotated = UnsafeMutablePointer<Float>.allocate(capacity: g.inChannels * taps)
    defer { rotated.deallocate() }
    for c in 0..<g.inChannels {
      for t in 0..<taps { rotated[c * taps + t] = w[c * taps + taps - 1 - t] }
    }
    var transposed = g
    transposed.height = g.outH
    transposed.width = g.outW
    transposed.padding = g.kernelH - 1 - g.padding
    forwardPadded(transposed, x: gy, w: rotated, bias: nil, y: gx)
  }

  /// Input gradient as one scatter pass per tap and output row (any
  /// stride and dilation; the reference for `backwardData`).
  static func backwardDataRows(
    _ g: ConvGeometry, w: UnsafePointer<Float>, gy: UnsafePointer<Float>,
    gx: UnsafeMutablePointer<Float>
  ) {
    let oh = g.outH, ow = g.outW, taps = g.kernelH * g.kernelW
    let planes = g.batch * g.inChannels
    Parallel.forEach(planes, costPerItem: oh * ow * taps) { p in
      let c = p % g.inChannels
      let dst = gx + p * g.height * g.width, src = gy + p * oh * ow
      dst.initialize(repeating: 0, count: g.height * g.width)
      forEachRow(g) { ky, kx, oy, iy, lo, hi in
        let wv = w[c * taps + ky * g.kernelW + kx]
        let d = dst + iy * g.width + kx * g.dilation - g.padding
        let s = src + oy * ow
        for ox in lo..<hi { d[ox * g.stride] += wv * s[ox] }
      }
    }
  }

  /// Overwrites `gw` with the weight gradient.
  static func backwardWeight(
    _ g: ConvGeometry, x: UnsafePointer<Float>, gy: UnsafePointer<Float>,
    gw: UnsafeMutablePointer<Float>
  ) {
    let oh = g.outH, ow = g.outW, taps = g.kernelH * g.kernelW
    // One task per channel (summing over images) so writes never collide.
    Parallel.forEach(g.inChannels, costPerItem: g.batch * oh * ow * taps) { c in
      var acc = [Double](repeating: 0, count: taps)
      for n in 0..<g.batch {
        let p = n * g.inChannels + c
        let src = x + p * g.height * g.width, dy = gy + p * oh * ow
        forEachRow(g) { ky, kx, oy, iy, lo, hi in
          let s = src + iy * g.width + kx * g.dilation - g.padding
          let d = dy + oy * ow
          var sum: Float = 0
          if g.stride == 1 {
            sum = dot(d + lo, s + lo, count: hi - lo)
          } else {
            for ox in lo..<hi { sum += d[ox] * s[ox * g.stride] }
          }
          acc[ky * g.kernelW + kx] += Double(sum)
        }
      }
      for t in 0..<taps { gw[c * taps + t] = Float(acc[t]) }
    }
  }

  /// Σ a[i]·b[i] with eight independent lanes (Swift does not reorder a
  /// scalar float sum, so the plain loop would not vectorise).
  @inline(__always)
  static func dot(
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count n: Int
  ) -> Float {
    var lanes = SIMD8<Float>()
    var i = 0
    while i + 8 <= n {
      let va = UnsafeRawPointer(a + i).loadUnaligned(as: SIMD8<Float>.self)
      let vb = UnsafeRawPointer(b + i).loadUnaligned(as: SIMD8<Float>.self)
      lanes += va * vb
      i += 8
    }
    var total = lanes.sum()
    while i < n {
      total += a[i] * b[i]
      i += 1
    }
    return total
  }

  /// Calls `body(ky, kx, oy, iy, lo, hi)` for every tap and output row
  /// whose input row `iy` is inside the image; `lo..<hi` are the output
  /// columns whose input column is inside too.
  private static func forEachRow(
    _ g: ConvGeometry, _ body: (Int, Int, Int, Int, Int, Int) -> Void
  ) {
    for ky in 0..<g.kernelH {
      for kx in 0..<g.kernelW {
        let (lo, hi) = Conv2DGemm.validRange(g, k: kx)
        for oy in 0..<g.outH {
          let iy = oy * g.stride - g.padding + ky * g.dilation
          guard iy >= 0 && iy < g.height else { continue }
          body(ky, kx, oy, iy, lo, hi)
        }
      }
    }
  }
}
