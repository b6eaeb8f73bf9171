/// Convolution as matrix products: im2col per image and group, then
/// `cblas_sgemm`. A 1×1, stride-1, unpadded convolution skips im2col.
enum Conv2DGemm {
  /// Writes `y = activation(conv(x, w) + bias)`.
  static func forward(
    _ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
    bias: UnsafePointer<Float>?, activation: ConvActivation = .identity,
    y: UnsafeMutablePointer<Float>
  ) {
    let epilogue = ConvEpilogue(bias: bias, activation: activation)
    if g.isPointwise {
      forwardPointwise(g, x: x, w: w, epilogue: epilogue, y: y)
      return
    }
    let spatial = g.outH * g.outW
    let cols = UnsafeMutablePointer<Float>.allocate(capacity: g.patch * spatial)
    defer { cols.deallocate() }
    for n in 0..<g.batch {
      for grp in 0..<g.groups {
        let xg = x + (n * g.inChannels + grp * g.groupIn) * g.height * g.width
        let yg = y + (n * g.outChannels + grp * g.groupOut) * spatial
        im2col(g, x: xg, cols: cols)
        BLAS.gemm(
          transA: false, transB: false, m: g.groupOut, n: spatial,
          k: g.patch, a: w + grp * g.groupOut * g.patch, b: cols, c: yg)
      }
      let yn = y + n * g.outChannels * spatial
      if bias != nil || activation != .identity {
        Parallel.forEach(g.outChannels, costPerItem: spatial) { o in
          epilogue.apply(yn + o * spatial, count: spatial, channel: o)
        }
      }
    }
  }

  /// A 1×1, stride-1 convolution: per image and group one product
  /// `Y[out, HW] = W[out, in] · X[in, HW]` straight on NCHW, cut into
  /// blocks of columns (pixels) so that each block of Y (about 512 KB)
  /// gets its bias and activation while still in cache. Blocks run on both
  /// threads, each with a single-threaded sgemm.
  static func forwardPointwise(
    _ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
    epilogue: ConvEpilogue, y: UnsafeMutablePointer<Float>
  ) {
    let spatial = g.outH * g.outW
    let m = g.groupOut, k = g.groupIn
    let columns = Swift.min(spatial, Swift.max(256, (1 << 17) / m / 64 * 64))
    let blocks = (spatial + columns - 1) / columns
    let items = g.batch * g.groups * blocks
    let work = g.batch * g.outChannels * spatial * k
    Parallel.forEach(
      items, costPerItem: work >= BLAS.splitMinimumWork ? 1 << 20 : 0
    ) { item in
      let block = item % blocks, grp = (item / blocks) % g.groups
      let n = item / blocks / g.groups
      let lo = block * columns, count = Swift.min(columns, spatial - lo)
      let xg = x + (n * g.inChannels + grp * k) * spatial + lo
      let yg = y + (n * g.outChannels + grp * m) * spatial + lo
      epilogue.product(
        m: m, n: count, k: k, a: w + grp * m * k, lda: k, b: xg,
        ldb: spatial, c: yg, ldc: spatial, firstChannel: grp * m)
    }
  }

  /// Overwrites `gx` (if given) and `gw` (if given) with the gradients.
  static func backward(
    _ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
    gy: UnsafePointer<Float>, gx: UnsafeMutablePointer<Float>?,
    gw: UnsafeMutablePointer<Float>?
  ) {
    let spatial = g.outH * g.outW
    let plane = g.height * g.width
    let cols = g.isPointwise ? nil : UnsafeMutablePointer<Float>.allocate(
      capacity: g.patch * spatial)
    defer { cols?.deallocate() }
    gw?.initialize(repeating: 0, count: g.weightShape.reduce(1, *))
    for n in 0..<g.batch {
      for grp in 0..<g.groups {
        let xg = x + (n * g.inChannels + grp * g.groupIn) * plane
        let gyg = gy + (n * g.outChannels + grp * g.groupOut) * spatial
        let wg = w + grp * g.groupOut * g.patch
        if let gw {
          // dW[og, patch] += dY[og, spatial] · colsᵀ[spatial, patch]
          var b = UnsafePointer(xg)
          if let cols {
            im2col(g, x: xg, cols: cols)
            b = UnsafePointer(cols)
          }
          BLAS.gemm(
            transA: false, transB: true, m: g.groupOut, n: g.patch,
            k: spatial, a: gyg, b: b, beta: 1,
            c: gw + grp * g.groupOut * g.patch)
        }
        if let gx {
          // dcols[patch, spatial] = Wᵀ · dY, then scattered back.
          let gxg = gx + (n * g.inChannels + grp * g.groupIn) * plane
          if let cols {
            BLAS.gemm(
              transA: true, transB: false, m: g.patch, n: spatial,
              k: g.groupOut, a: wg, b: gyg, c: cols)
            col2im(g, cols: cols, x: gxg)
          } else {
            BLAS.gemm(
              transA: true, transB: false, m: g.patch, n: spatial,
              k: g.groupOut, a: wg, b: gyg, c: gxg)
          }
        }
      }
    }
  }

  /// `cols[(ci·kh + ky)·kw + kx, oy·ow + ox]` = the input pixel that tap
  /// sees, or 0 in the padding, for one image and group.
  static func im2col(
    _ g: ConvGeometry, x: UnsafePointer<Float>,
    cols: UnsafeMutablePointer<Float>
  ) {
    let oh = g.outH, ow = g.outW
    let taps = g.kernelH * g.kernelW
    Parallel.forEach(g.patch, costPerItem: oh * ow) { row in
      let ci = row / taps, ky = (row % taps) / g.kernelW
      let kx = row % g.kernelW
      let src = x + ci * g.height * g.width
      let dst = cols + row * oh * ow
      let (lo, hi) = validRange(g, k: kx)
      for oy in 0..<oh {
        let d = dst + oy * ow
        let iy = oy * g.stride - g.padding + ky * g.dilation
        guard iy >= 0 && iy < g.height else {
          d.initialize(repeating: 0, count: ow)
          continue
        }
        let s = src + iy * g.width + kx * g.dilation - g.padding
        for ox in 0..<lo { d[ox] = 0 }
        for ox in lo..<hi { d[ox] = s[ox * g.stride] }
        for ox in Swift.max(hi, lo)..<ow { d[ox] = 0 }
      }
    }
  }

  /// Adds each column entry back onto the input pixel it came from
  /// (overwrites `x` first); the adjoint of `im2col`.
  static func col2im(
    _ g: ConvGeometry, cols: UnsafePointer<Float>,
    x: UnsafeMutablePointer<Float>
  ) {
    let oh = g.outH, ow = g.outW
    let taps = g.kernelH * g.kernelW
    // One task per input channel so no two threads write the same pixel.
    Parallel.forEach(g.groupIn, costPerItem: taps * oh * ow) { ci in
      let dstPlane = x + ci * g.height * g.width
      dstPlane.initialize(repeating: 0, count: g.height * g.width)
      for t in 0..<taps {
        let ky = t / g.kernelW, kx = t % g.kernelW
        let src = cols + (ci * taps + t) * oh * ow
        let (lo, hi) = validRange(g, k: kx)
        for oy in 0..<oh {
          let iy = oy * g.stride - g.padding + ky * g.dilation
          guard iy >= 0 && iy < g.height else { continue }
          let d = dstPlane + iy * g.width + kx * g.dilation - g.padding
          let s = src + oy * ow
          for ox in lo..<hi { d[ox * g.stride] += s[ox] }
        }
      }
    }
  }

  /// Output columns `lo..<hi` whose tap `k` lands inside the input row.
  static func validRange(_ g: ConvGeometry, k: Int) -> (Int, Int) {
    let off = k * g.dilation - g.padding
    // ix = ox·s + off must satisfy 0 ≤ ix < width.
    var lo = 0
    if off < 0 { lo = (-off + g.stride - 1) / g.stride }
    var hi = g.outW
    let last = g.width - 1 - off
    if last < 0 { hi = 0 } else { hi = Swift.min(hi, last / g.stride + 1) }
    return (Swift.min(lo, hi), hi)
  }
}
