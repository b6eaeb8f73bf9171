/// What a fused convolution kernel does to its raw output before storing
/// it: add the channel's bias, then apply the activation. Kernels that
/// produce whole lanes call `lanes`; the rest call `apply` on output rows
/// while they are still in cache.
struct ConvEpilogue {
  /// `[out]`, or `nil` for none.
  let bias: UnsafePointer<Float>?
  let activation: ConvActivation

  /// The channel's bias, 0 without one.
  @inline(__always) func bias(_ channel: Int) -> Float { bias?[channel] ?? 0 }

  /// Adds the bias of `channel` and applies the activation in place to
  /// `count` contiguous values at `row`.
  func apply(_ row: UnsafeMutablePointer<Float>, count: Int, channel: Int) {
    let b = bias(channel)
    switch activation {
    case .identity:
      guard b != 0 else { return }
      Self.run(Elementwise.Identity.self, row, count, b)
    case .relu: Self.run(Elementwise.Relu.self, row, count, b)
    case .hardswish: Self.run(Elementwise.Hardswish.self, row, count, b)
    }
  }

  /// `C[m×n] = activation(A[m×k] · B[k×n] + bias)` on this thread (see
  /// `BLAS.gemmSlice` for the strides), C's row i being output channel
  /// `firstChannel + i`. Each row of C starts as its bias and the product
  /// is accumulated onto it: with beta = 1 OpenBLAS skips the pass that
  /// would zero C first (a tenth of the EfficientViT-B0 forward). The
  /// activation then runs over the block while it is in cache.
  func product(
    m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>,
    ldc: Int, firstChannel: Int = 0
  ) {
    for i in 0..<m {
      (c + i * ldc).initialize(repeating: bias(firstChannel + i), count: n)
    }
    BLAS.gemmSlice(
      m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, beta: 1, c: c, ldc: ldc)
    guard activation != .identity else { return }
    let unbiased = ConvEpilogue(bias: nil, activation: activation)
    for i in 0..<m { unbiased.apply(c + i * ldc, count: n, channel: 0) }
  }

  /// `row[i] = Op(row[i] + b)`, whole lanes then the tail.
  @inline(__always)
  private static func run<Op: UnaryLanes>(
    _ op: Op.Type, _ row: UnsafeMutablePointer<Float>, _ count: Int, _ b: Float
  ) {
    let vb = SIMD8<Float>(repeating: b)
    var i = 0
    while i + 8 <= count {
      let raw = UnsafeMutableRawPointer(row + i)
      raw.storeBytes(
        of: Op.lanes(raw.loadUnaligned(as: SIMD8<Float>.self) + vb),
        as: SIMD8<Float>.self)
      i += 8
    }
    while i < count {
      row[i] = Op.scalar(row[i] + b)
      i += 1
    }
  }
}
