/// One convolution of a fused block as the kernel sees it.
struct FusedConvUnit {
  /// `[out, in/groups, k, k]`, row-major.
  let weight: UnsafePointer<Float>
  /// `[out]`, or `nil`.
  let bias: UnsafePointer<Float>?
  let activation: ConvActivation

  var epilogue: ConvEpilogue { ConvEpilogue(bias: bias, activation: activation) }
}

/// The shape of an inverted residual block: an optional 1×1 expansion
/// (C → M channels), a k×k depthwise convolution with stride s and
/// padding k/2, a 1×1 projection (M → O) and, when `residual`, the input
/// added to the result (needs O = C and s = 1).
struct InvertedResidualGeometry {
  var batch, inChannels, height, width: Int
  var midChannels, outChannels, kernel, stride: Int
  var hasExpand, residual: Bool

  var padding: Int { kernel / 2 }
  var outH: Int { ConvGeometry.outputSize(height + 2 * padding - kernel, stride) }
  var outW: Int { ConvGeometry.outputSize(width + 2 * padding - kernel, stride) }

  /// The depthwise convolution over one image.
  var depthwise: ConvGeometry {
    ConvGeometry(
      batch: 1, inChannels: midChannels, height: height, width: width,
      outChannels: midChannels, kernelH: kernel, kernelW: kernel,
      stride: stride, padding: padding, dilation: 1, groups: midChannels)
  }
}

/// Inference forward of an inverted residual block in bands of output
/// rows, so that the expanded activations (M channels at full
/// resolution, the block's largest tensor) never leave the cache: for
/// each band the expansion computes only the input rows the band's
/// depthwise taps read, into a ring of rows; the depthwise writes the
/// band's M channels; the projection writes the band's output rows.
///
/// Each expanded row is computed once per thread: the ring keeps the
/// rows that the next band's taps share with this one. Images and the
/// two halves of each image's output rows run on separate threads (the
/// halves recompute k − s expanded rows at their border).
///
/// Memory: per thread a ring of `(band − 1)·s + k` rows × M channels,
/// one padded row block for the depthwise taps and the band's depthwise
/// output, all sized to stay in the core's cache. The result equals the
/// three convolutions run one after another (`conv2d` with the same
/// activations) up to float rounding (products cut into other blocks).
enum InvertedResidualKernel {
  /// Floats of expanded rows a band aims to keep in cache (256 KB).
  static let ringBudget = 1 << 16

  /// Output rows per band: as many as the ring budget allows, and enough
  /// that the expansion's product has at least 256 columns per call.
  static func bandRows(_ g: InvertedResidualGeometry) -> Int {
    let perRow = Swift.max(1, g.midChannels * g.width)
    let fit = (ringBudget / perRow - g.kernel) / g.stride + 1
    let wide = (256 + g.stride * g.width - 1) / (g.stride * g.width)
    return Swift.min(g.outH, Swift.max(1, fit, wide))
  }

  /// Writes `y` `[N, O, outH, outW]` from `x` `[N, C, H, W]`.
  static func forward(
    _ g: InvertedResidualGeometry, x: UnsafePointer<Float>,
    expand: FusedConvUnit?, depthwise: FusedConvUnit, project: FusedConvUnit,
    y: UnsafeMutablePointer<Float>
  ) {
    precondition(g.hasExpand == (expand != nil))
    precondition(!g.residual || (g.outChannels == g.inChannels && g.stride == 1))
    let band = bandRows(g)
    // Two parts per image when each gets at least two bands.
    let parts = g.outH >= 4 * band ? 2 : 1
    let work = g.batch * g.outH * g.outW * g.midChannels
      * (g.inChannels + g.kernel * g.kernel + g.outChannels)
    Parallel.forEach(
      g.batch * parts, costPerItem: work >= BLAS.splitMinimumWork ? 1 << 20 : 0
    ) { item in
      let n = item / parts, part = item % parts
      let rows = (g.outH * part / parts)..<(g.outH * (part + 1) / parts)
      forwardRows(
        g, image: n, rows: rows, band: band, x: x, expand: expand,
        depthwise: depthwise, project: project, y: y)
    }
  }

  /// Output rows `rows` of image `n`, band by band, on this thread.
  private static func forwardRows(
    _ g: InvertedResidualGeometry, image n: Int, rows: Range<Int>, band: Int,
    x: UnsafePointer<Float>, expand: FusedConvUnit?,
    depthwise: FusedConvUnit, project: FusedConvUnit,
    y: UnsafeMutablePointer<Float>
  ) {
    let h = g.height, w = g.width, plane = h * w
    let m = g.midChannels, s = g.stride, k = g.kernel, p = g.padding
    let ow = g.outW, outPlane = g.outH * ow
    let xn = x + n * g.inChannels * plane
    let yn = y + n * g.outChannels * outPlane
    let ringRows = (band - 1) * s + k
    let paddedW = w + 2 * p
    let ringCount = expand == nil ? 0 : m * ringRows * w
    let ring = BufferPool.take(count: Swift.max(ringCount, 1))
    let padded = BufferPool.take(count: ringRows * paddedW)
    let mid = BufferPool.take(count: m * band * ow)
    defer {
      BufferPool.give(ring, count: Swift.max(ringCount, 1))
      BufferPool.give(padded, count: ringRows * paddedW)
      BufferPool.give(mid, count: m * band * ow)
    }
    /// Image rows held in the ring: `ringLo..<ringHi`, row iy in slot
    /// iy mod ringRows of each channel's block.
    var ringLo = 0, ringHi = 0
    /// Input row `iy` of depthwise input channel `c`, `nil` in the padding.
    func row(_ c: Int, _ iy: Int) -> UnsafePointer<Float>? {
      guard iy >= 0 && iy < h else { return nil }
      guard expand != nil else { return xn + c * plane + iy * w }
      return UnsafePointer(ring + c * ringRows * w + (iy % ringRows) * w)
    }
    let dwGeometry = g.depthwise
    var r = rows.lowerBound
    while r < rows.upperBound {
      let count = Swift.min(band, rows.upperBound - r)
      let lo = r * s - p, hi = (r + count - 1) * s - p + k
      if let expand {
        let needLo = Swift.max(lo, 0), needHi = Swift.min(hi, h)
        var from = needLo
        if ringLo <= needLo && needLo < ringHi { from = ringHi }
        expandRows(
          from..<needHi, ringRows: ringRows, image: xn, g, expand,
          ring: ring)
        ringLo = needLo
        ringHi = Swift.max(needHi, from)
      }
      for c in 0..<m {
        for j in 0..<(hi - lo) {
          DepthwiseConv.padRow(
            row(c, lo + j), width: w, padding: p, stride: s,
            into: padded + j * paddedW)
        }
        convolve(
          padded, dwGeometry, depthwise, channel: c, rows: count,
          out: mid + c * count * ow)
      }
      let columns = count * ow
      let yr = yn + r * ow
      project.epilogue.product(
        m: g.outChannels, n: columns, k: m, a: project.weight, lda: m,
        b: mid, ldb: columns, c: yr, ldc: outPlane)
      if g.residual {
        for o in 0..<g.outChannels {
          addRow(yr + o * outPlane, xn + o * plane + r * w, count: columns)
        }
      }
      r += count
    }
  }

  /// Expanded, activated image rows `rows` into their ring slots, as
  /// products over runs of slots that do not wrap.
  private static func expandRows(
    _ rows: Range<Int>, ringRows: Int, image xn: UnsafePointer<Float>,
    _ g: InvertedResidualGeometry, _ unit: FusedConvUnit,
    ring: UnsafeMutablePointer<Float>
  ) {
    let w = g.width, plane = g.height * w, m = g.midChannels
    let epilogue = unit.epilogue
    var a = rows.lowerBound
    while a < rows.upperBound {
      let slot = a % ringRows
      let c = Swift.min(rows.upperBound, a + ringRows - slot)
      let columns = (c - a) * w
      let out = ring + slot * w
      epilogue.product(
        m: m, n: columns, k: g.inChannels, a: unit.weight, lda: g.inChannels,
        b: xn + a * w, ldb: plane, c: out, ldc: ringRows * w)
      a = c
    }
  }

  /// The depthwise convolution of one channel's padded rows.
  private static func convolve(
    _ padded: UnsafePointer<Float>, _ g: ConvGeometry, _ unit: FusedConvUnit,
    channel c: Int, rows: Int, out: UnsafeMutablePointer<Float>
  ) {
    let taps = g.kernelH * g.kernelW
    let weights = unit.weight + c * taps, b = unit.bias?[c] ?? 0
    switch unit.activation {
    case .identity:
      DepthwiseConv.convolveRows(
        padded, g, weights: weights, bias: b, rows: rows, out: out,
        Elementwise.Identity.self)
    case .relu:
      DepthwiseConv.convolveRows(
        padded, g, weights: weights, bias: b, rows: rows, out: out,
        Elementwise.Relu.self)
    case .hardswish:
      DepthwiseConv.convolveRows(
        padded, g, weights: weights, bias: b, rows: rows, out: out,
        Elementwise.Hardswish.self)
    }
  }

  /// `out[i] += x[i]` for `count` values.
  @inline(__always)
  private static func addRow(
    _ out: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int
  ) {
    var i = 0
    while i + 8 <= count {
      let o = UnsafeMutableRawPointer(out + i)
      let sum = o.loadUnaligned(as: SIMD8<Float>.self)
        + UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
      o.storeBytes(of: sum, as: SIMD8<Float>.self)
      i += 8
    }
    while i < count {
      out[i] += x[i]
      i += 1
    }
  }
}
