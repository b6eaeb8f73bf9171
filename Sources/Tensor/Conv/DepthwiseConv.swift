/// Direct loops for depthwise convolution (one filter per channel,
/// `groups == in == out`), where im2col would multiply tiny matrices.
/// Work is split across threads by (image, channel) plane. The `…Rows`
/// variants are the simple versions the register-blocked ones are tested
/// against (and the fallback for other strides and dilations).
enum DepthwiseConv {
  /// Writes `y = activation(conv(x, w) + bias)`: `forwardPadded` (the
  /// activation applied in registers) for dilation 1 and stride 1 or 2,
  /// else `forwardRows` and a pass of the activation.
  static func forward(
    _ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
    bias: UnsafePointer<Float>?, activation: ConvActivation = .identity,
    y: UnsafeMutablePointer<Float>
  ) {
    guard hasPaddedForward(g) else {
      forwardRows(g, x: x, w: w, bias: bias, y: y)
      let epilogue = ConvEpilogue(bias: nil, activation: activation)
      if activation != .identity {
        let plane = g.outH * g.outW
        Parallel.forEach(g.batch * g.outChannels, costPerItem: plane) { p in
          epilogue.apply(y + p * plane, count: plane, channel: 0)
        }
      }
      return
    }
    switch activation {
    case .identity:
      forwardPadded(g, x: x, w: w, bias: bias, y: y, Elementwise.Identity.self)
    case .relu:
      forwardPadded(g, x: x, w: w, bias: bias, y: y, Elementwise.Relu.self)
    case .hardswish:
      forwardPadded(g, x: x, w: w, bias: bias, y: y, Elementwise.Hardswish.self)
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
  /// `Act` is applied to each sum (bias included) before its store.
  static func forwardPadded<Act: UnaryLanes>(
    _ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
    bias: UnsafePointer<Float>?, y: UnsafeMutablePointer<Float>,
    _ act: Act.Type = Elementwise.Identity.self
  ) {
    precondition(g.dilation == 1 && (g.stride == 1 || g.stride == 2))
    let oh = g.outH, ow = g.outW, s = g.stride, p = g.padding
    let paddedW = g.width + 2 * p, paddedH = g.height + 2 * p
    let planes = g.batch * g.inChannels
    let taps = g.kernelH * g.kernelW
    Parallel.forEach(planes, costPerItem: oh * ow * taps) { plane in
      let c = plane % g.inChannels
      let src = x + plane * g.height * g.width, dst = y + plane * oh * ow
      // From the pool: a fresh megabyte per plane would page-fault.
      let buffer = BufferPool.take(count: paddedH * paddedW)
      defer { BufferPool.give(buffer, count: paddedH * paddedW) }
      for r in 0..<paddedH {
        let iy = r - p
        padRow(
          iy >= 0 && iy < g.height ? src + iy * g.width : nil, width: g.width,
          padding: p, stride: s, into: buffer + r * paddedW)
      }
      convolveRows(
        buffer, g, weights: w + c * taps, bias: bias?[c] ?? 0, rows: oh,
        out: dst, act)
    }
  }

  /// Writes input row `line` (`width` values; `nil` for a row of the
  /// padding) with `padding` zeros on each side into `row`, the layout
  /// `convolveRows` reads: as is for stride 1, for stride 2 its even
  /// padded columns then its odd ones.
  @inline(__always)
  static func padRow(
    _ line: UnsafePointer<Float>?, width: Int, padding p: Int, stride: Int,
    into row: UnsafeMutablePointer<Float>
  ) {
    let paddedW = width + 2 * p
    guard let line else {
      row.initialize(repeating: 0, count: paddedW)
      return
    }
    if stride == 1 {
      row.initialize(repeating: 0, count: p)
      row.advanced(by: p).update(from: line, count: width)
      row.advanced(by: p + width).initialize(repeating: 0, count: p)
    } else {
      deinterleave(line, width: width, padding: p, into: row, evens: (paddedW + 1) / 2)
    }
  }

  /// Output rows `0..<rows` of one channel (`ow = g.outW` values each,
  /// contiguous at `out`) from `buffer`, rows of `padRow` starting at the
  /// one the first output row's top tap reads (`g.width + 2·padding`
  /// apart). All taps of eight output pixels are summed in registers, the
  /// bias added and `Act` applied before one store. `weights`: the
  /// channel's `kh·kw` taps, row-major.
  @inline(__always)
  static func convolveRows<Act: UnaryLanes>(
    _ buffer: UnsafePointer<Float>, _ g: ConvGeometry,
    weights w: UnsafePointer<Float>, bias b: Float, rows: Int,
    out dst: UnsafeMutablePointer<Float>, _ act: Act.Type
  ) {
    let ow = g.outW, kh = g.kernelH, kw = g.kernelW, s = g.stride
    let paddedW = g.width + 2 * g.padding
    let evens = (paddedW + 1) / 2
    /// Offset of tap column kx within a buffer row.
    @inline(__always) func offset(_ kx: Int) -> Int {
      s == 1 ? kx : (kx & 1) * evens + kx / 2
    }
    if kh == 3 && kw == 3 {
      convolveRows3x3(
        buffer, paddedW: paddedW, offsets: (offset(0), offset(1), offset(2)),
        stride: s, weights: w, bias: b, rows: rows, ow: ow, out: dst, act)
      return
    }
    for oy in 0..<rows {
      let out = dst + oy * ow
      var ox = 0
      while ox + 8 <= ow {
        var acc = SIMD8<Float>(repeating: b)
        for ky in 0..<kh {
          let row = buffer + (oy * s + ky) * paddedW + ox
          for kx in 0..<kw {
            let v = UnsafeRawPointer(row + offset(kx)).loadUnaligned(as: SIMD8<Float>.self)
            acc += w[ky * kw + kx] * v
          }
        }
        UnsafeMutableRawPointer(out + ox).storeBytes(
          of: Act.lanes(acc), as: SIMD8<Float>.self)
        ox += 8
      }
      while ox < ow {
        var acc = b
        for ky in 0..<kh {
          let row = buffer + (oy * s + ky) * paddedW + ox
          for kx in 0..<kw { acc += w[ky * kw + kx] * row[offset(kx)] }
        }
        out[ox] = Act.scalar(acc)
        ox += 1
      }
    }
  }

  /// `convolveRows` for 3×3 filters, the taps held in registers (the
  /// generic loop reloads each weight per eight pixels: the compiler
  /// cannot prove the stores to `out` leave them unchanged).
  @inline(__always)
  private static func convolveRows3x3<Act: UnaryLanes>(
    _ buffer: UnsafePointer<Float>, paddedW: Int, offsets: (Int, Int, Int),
    stride s: Int, weights w: UnsafePointer<Float>, bias b: Float, rows: Int,
    ow: Int, out dst: UnsafeMutablePointer<Float>, _ act: Act.Type
  ) {
    typealias V = SIMD8<Float>
    let (o0, o1, o2) = offsets
    let w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4]
    let w5 = w[5], w6 = w[6], w7 = w[7], w8 = w[8]
    @inline(__always) func load(_ p: UnsafePointer<Float>) -> V {
      UnsafeRawPointer(p).loadUnaligned(as: V.self)
    }
    for oy in 0..<rows {
      let out = dst + oy * ow
      let r0 = buffer + oy * s * paddedW, r1 = r0 + paddedW, r2 = r1 + paddedW
      var ox = 0
      while ox + 8 <= ow {
        var acc = V(repeating: b)
        acc += w0 * load(r0 + ox + o0) + w1 * load(r0 + ox + o1)
        acc += w2 * load(r0 + ox + o2) + w3 * load(r1 + ox + o0)
        acc += w4 * load(r1 + ox + o1) + w5 * load(r1 + ox + o2)
        acc += w6 * load(r2 + ox + o0) + w7 * load(r2 + ox + o1)
        acc += w8 * load(r2 + ox + o2)
        UnsafeMutableRawPointer(out + ox).storeBytes(of: Act.lanes(acc), as: V.self)
        ox += 8
      }
      while ox < ow {
        var acc = b
        acc += w0 * r0[ox + o0] + w1 * r0[ox + o1] + w2 * r0[ox + o2]
        acc += w3 * r1[ox + o0] + w4 * r1[ox + o1] + w5 * r1[ox + o2]
        acc += w6 * r2[ox + o0] + w7 * r2[ox + o1] + w8 * r2[ox + o2]
        out[ox] = Act.scalar(acc)
        ox += 1
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
