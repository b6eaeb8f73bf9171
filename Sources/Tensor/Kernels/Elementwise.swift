/// Vectorised element-wise kernels (SIMD8 lanes, split over threads by
/// `Parallel.forRanges`). Each has a scalar definition that the tests
/// compare it against: `Tensor.reluReference` and `hardswishReference`
/// (`map`), `Tensor.broadcastKernel` for the arithmetic ops, plain loops
/// and `batchNormReference` for the sums.
///
/// All buffers are contiguous, `count` elements, and may not overlap
/// unless stated.
enum Elementwise {
  typealias V = SIMD8<Float>

  /// `y[i] = Op(x[i])`: `Op.lanes` on whole lanes, `Op.scalar` on the tail.
  ///
  /// The function comes as a type, not a closure: a closure captured by
  /// the `Parallel` body stayed an indirect call per lane (11% of the B0
  /// forward in hardswish alone); a generic is specialised and inlined.
  static func unary<Op: UnaryLanes>(
    _ op: Op.Type, _ count: Int, _ x: UnsafePointer<Float>,
    _ y: UnsafeMutablePointer<Float>
  ) {
    Parallel.forRanges(count, grain: 32_768) { r in
      var i = r.lowerBound
      while i + 8 <= r.upperBound {
        let v = UnsafeRawPointer(x + i).loadUnaligned(as: V.self)
        UnsafeMutableRawPointer(y + i).storeBytes(of: Op.lanes(v), as: V.self)
        i += 8
      }
      while i < r.upperBound {
        y[i] = Op.scalar(x[i])
        i += 1
      }
    }
  }

  /// `out[i] = Op(a[i], b[i])`, like `unary`; `out` may be `a` or `b`.
  static func binary<Op: BinaryLanes>(
    _ op: Op.Type, _ count: Int, _ a: UnsafePointer<Float>,
    _ b: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>
  ) {
    Parallel.forRanges(count, grain: 32_768) { r in
      var i = r.lowerBound
      while i + 8 <= r.upperBound {
        let va = UnsafeRawPointer(a + i).loadUnaligned(as: V.self)
        let vb = UnsafeRawPointer(b + i).loadUnaligned(as: V.self)
        UnsafeMutableRawPointer(out + i).storeBytes(of: Op.lanes(va, vb), as: V.self)
        i += 8
      }
      while i < r.upperBound {
        out[i] = Op.scalar(a[i], b[i])
        i += 1
      }
    }
  }

  /// x (for kernels generic over an activation).
  enum Identity: UnaryLanes {
    @inline(__always) static func lanes(_ x: V) -> V { x }
    @inline(__always) static func scalar(_ x: Float) -> Float { x }
  }

  /// max(x, 0).
  enum Relu: UnaryLanes {
    @inline(__always) static func lanes(_ x: V) -> V { x.replacing(with: 0, where: x .< 0) }
    @inline(__always) static func scalar(_ x: Float) -> Float { Swift.max(x, 0) }
  }

  /// `g` where `x > 0`, else 0 (arguments `x`, `g`).
  enum ReluBackward: BinaryLanes {
    @inline(__always) static func lanes(_ x: V, _ g: V) -> V {
      V(repeating: 0).replacing(with: g, where: x .> 0)
    }
    @inline(__always) static func scalar(_ x: Float, _ g: Float) -> Float { x > 0 ? g : 0 }
  }

  /// x · min(max(x + 3, 0), 6) / 6.
  enum Hardswish: UnaryLanes {
    @inline(__always) static func lanes(_ x: V) -> V {
      // replacing(with:where:) rather than clamped(): the generic
      // pointwiseMin/Max are not inlined. × (1/6) rather than / 6: SSE
      // division throttled the loop; the two differ by at most one ulp.
      var t = x + 3
      t.replace(with: 0, where: t .< 0)
      t.replace(with: 6, where: t .> 6)
      return x * t * (1 / 6)
    }
    @inline(__always) static func scalar(_ x: Float) -> Float {
      x * Swift.min(Swift.max(x + 3, 0), 6) / 6
    }
  }

  /// `g · slope(x)`: slope 0 below −3, 1 above 3, x/3 + 1/2 between
  /// (arguments `x`, `g`).
  enum HardswishBackward: BinaryLanes {
    @inline(__always) static func lanes(_ x: V, _ g: V) -> V {
      var slope = x * (1 / 3) + 0.5
      slope.replace(with: 0, where: x .< -3)
      slope.replace(with: 1, where: x .> 3)
      return g * slope
    }
    @inline(__always) static func scalar(_ x: Float, _ g: Float) -> Float {
      g * (x < -3 ? 0 : (x > 3 ? 1 : x / 3 + 0.5))
    }
  }

  /// a + b.
  enum Add: BinaryLanes {
    @inline(__always) static func lanes(_ a: V, _ b: V) -> V { a + b }
    @inline(__always) static func scalar(_ a: Float, _ b: Float) -> Float { a + b }
  }

  /// a − b.
  enum Sub: BinaryLanes {
    @inline(__always) static func lanes(_ a: V, _ b: V) -> V { a - b }
    @inline(__always) static func scalar(_ a: Float, _ b: Float) -> Float { a - b }
  }

  /// a · b.
  enum Mul: BinaryLanes {
    @inline(__always) static func lanes(_ a: V, _ b: V) -> V { a * b }
    @inline(__always) static func scalar(_ a: Float, _ b: Float) -> Float { a * b }
  }

  /// a / b.
  enum Div: BinaryLanes {
    @inline(__always) static func lanes(_ a: V, _ b: V) -> V { a / b }
    @inline(__always) static func scalar(_ a: Float, _ b: Float) -> Float { a / b }
  }

  /// a (b only supplies the shape).
  enum First: BinaryLanes {
    @inline(__always) static func lanes(_ a: V, _ b: V) -> V { a }
    @inline(__always) static func scalar(_ a: Float, _ b: Float) -> Float { a }
  }

  /// max(x, 0).
  static func relu(_ n: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
    unary(Relu.self, n, x, y)
  }

  /// `gx = gy` where `x > 0`, else 0.
  static func reluBackward(
    _ n: Int, x: UnsafePointer<Float>, gy: UnsafePointer<Float>,
    gx: UnsafeMutablePointer<Float>
  ) {
    binary(ReluBackward.self, n, x, gy, gx)
  }

  /// x · min(max(x + 3, 0), 6) / 6.
  static func hardswish(
    _ n: Int, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>
  ) {
    unary(Hardswish.self, n, x, y)
  }

  /// `gx = gy · slope(x)`.
  static func hardswishBackward(
    _ n: Int, x: UnsafePointer<Float>, gy: UnsafePointer<Float>,
    gx: UnsafeMutablePointer<Float>
  ) {
    binary(HardswishBackward.self, n, x, gy, gx)
  }

  /// Σ x[i] over `count` elements, SIMD lanes in float within blocks of
  /// 4096 and float64 across blocks.
  static func sum(_ x: UnsafePointer<Float>, count: Int) -> Double {
    var total: Double = 0
    var start = 0
    while start < count {
      let end = Swift.min(start + 4096, count)
      var lanes = V()
      var i = start
      while i + 8 <= end {
        lanes += UnsafeRawPointer(x + i).loadUnaligned(as: V.self)
        i += 8
      }
      var s = lanes.sum()
      while i < end {
        s += x[i]
        i += 1
      }
      total += Double(s)
      start = end
    }
    return total
  }

  /// (Σ (x − shift), Σ (x − shift)²) over `count` elements, blocked like
  /// `sum`. A shift near the mean keeps the variance free of cancellation.
  static func shiftedMoments(
    _ x: UnsafePointer<Float>, count: Int, shift: Float
  ) -> (Double, Double) {
    var s1: Double = 0, s2: Double = 0
    var start = 0
    let vs = V(repeating: shift)
    while start < count {
      let end = Swift.min(start + 4096, count)
      var l1 = V(), l2 = V()
      var i = start
      while i + 8 <= end {
        let d = UnsafeRawPointer(x + i).loadUnaligned(as: V.self) - vs
        l1 += d
        l2 += d * d
        i += 8
      }
      var a = l1.sum(), b = l2.sum()
      while i < end {
        let d = x[i] - shift
        a += d
        b += d * d
        i += 1
      }
      s1 += Double(a)
      s2 += Double(b)
      start = end
    }
    return (s1, s2)
  }

  /// (Σ g, Σ g·(x − shift)) over `count` elements, blocked like `sum`.
  static func gradientMoments(
    _ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, count: Int, shift: Float
  ) -> (Double, Double) {
    var s1: Double = 0, s2: Double = 0
    var start = 0
    let vs = V(repeating: shift)
    while start < count {
      let end = Swift.min(start + 4096, count)
      var l1 = V(), l2 = V()
      var i = start
      while i + 8 <= end {
        let gv = UnsafeRawPointer(g + i).loadUnaligned(as: V.self)
        let d = UnsafeRawPointer(x + i).loadUnaligned(as: V.self) - vs
        l1 += gv
        l2 += gv * d
        i += 8
      }
      var a = l1.sum(), b = l2.sum()
      while i < end {
        a += g[i]
        b += g[i] * (x[i] - shift)
        i += 1
      }
      s1 += Double(a)
      s2 += Double(b)
      start = end
    }
    return (s1, s2)
  }

  /// `y[i] = x[i]·scale + shift` over one plane of `count` elements.
  @inline(__always)
  static func affine(
    _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count: Int,
    scale: Float, shift: Float
  ) {
    let vs = V(repeating: scale), vb = V(repeating: shift)
    var i = 0
    while i + 8 <= count {
      let v = UnsafeRawPointer(x + i).loadUnaligned(as: V.self)
      UnsafeMutableRawPointer(y + i).storeBytes(of: v * vs + vb, as: V.self)
      i += 8
    }
    while i < count {
      y[i] = x[i] * scale + shift
      i += 1
    }
  }

  /// Per channel sums of an `[N, C, spatial]` buffer: `out[c]` =
  /// Σ over n and spatial positions (float64).
  static func channelSums(
    _ x: UnsafePointer<Float>, batch: Int, channels: Int, spatial: Int
  ) -> [Double] {
    var out = [Double](repeating: 0, count: channels)
    out.withUnsafeMutableBufferPointer { buffer in
      let o = buffer.baseAddress!
      Parallel.forEach(channels, costPerItem: batch * spatial) { c in
        var s: Double = 0
        for n in 0..<batch { s += sum(x + (n * channels + c) * spatial, count: spatial) }
        o[c] = s
      }
    }
    return out
  }
}

extension Elementwise {
  /// `out[i] = a·g[i] + b·x[i] + c` over one plane of `count` elements
  /// (batch norm's input gradient).
  @inline(__always)
  static func combine(
    _ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>,
    _ out: UnsafeMutablePointer<Float>, count: Int, a: Float, b: Float, c: Float
  ) {
    let va = V(repeating: a), vb = V(repeating: b), vc = V(repeating: c)
    var i = 0
    while i + 8 <= count {
      let gv = UnsafeRawPointer(g + i).loadUnaligned(as: V.self)
      let xv = UnsafeRawPointer(x + i).loadUnaligned(as: V.self)
      UnsafeMutableRawPointer(out + i).storeBytes(of: va * gv + vb * xv + vc, as: V.self)
      i += 8
    }
    while i < count {
      out[i] = a * g[i] + b * x[i] + c
      i += 1
    }
  }
}

/// A lane-wise function of one float for `Elementwise.unary`.
protocol UnaryLanes {
  static func lanes(_ x: SIMD8<Float>) -> SIMD8<Float>
  static func scalar(_ x: Float) -> Float
}

/// A lane-wise function of two floats for `Elementwise.binary`.
protocol BinaryLanes {
  static func lanes(_ a: SIMD8<Float>, _ b: SIMD8<Float>) -> SIMD8<Float>
  static func scalar(_ a: Float, _ b: Float) -> Float
}
