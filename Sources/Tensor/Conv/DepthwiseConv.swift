/// Direct loops for depthwise convolution (one filter per channel,
/// `groups == in == out`), where im2col would multiply tiny matrices.
/// Work is split across threads by (image, channel) plane.
enum DepthwiseConv {
  /// Writes `y = conv(x, w) + bias`.
  static func forward(
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

  /// Overwrites `gx` with the input gradient.
  static func backwardData(
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
