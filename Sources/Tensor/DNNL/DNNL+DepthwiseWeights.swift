// A hand-written weight gradient for depthwise convolution, which oneDNN 2.6 has no fast
// kernel for (it falls back to gemm on plain layouts, or `ref` on blocked ones).
import Dispatch

extension DNNL {
  /// Whether `depthwiseBackwardWeights` handles `shape`: depthwise (one input and one
  /// output channel per group) with horizontal stride 1, the case the SIMD loop covers.
  static func usesOwnDepthwiseWeights(_ shape: Conv2DShape) -> Bool {
    shape.groups > 1 && shape.groups == shape.inputChannels
      && shape.groups == shape.outputChannels && shape.strideX == 1
  }

  /// Weight (and bias) gradient of a depthwise convolution with horizontal stride 1.
  ///
  /// `dW[c, ky, kx] = Σ_n Σ_oy Σ_ox dY[n, c, oy, ox] · X[n, c, iy, ix]` with
  /// `iy = oy·strideY − padTop + ky·dilationY`, `ix = ox − padLeft + kx·dilationX` (taps
  /// outside the image contribute nothing), and `dB[c] = Σ dY[n, c, ·, ·]`.
  ///
  /// Each tap is a dot product of an output-gradient row with a shifted input row: 8-wide
  /// SIMD partial sums per row, added into a Double per tap, so the sum over up to
  /// millions of terms keeps about Float precision. Channels are split across
  /// `threadCount` workers (Dispatch); no oneDNN call, so no lock is taken.
  /// - Parameters:
  ///   - shape: a geometry for which `usesOwnDepthwiseWeights` is true.
  ///   - input: `(N, C, H, W)`, NCHW.
  ///   - outputGradient: `(N, C, OH, OW)`, NCHW.
  ///   - weightsGradient: `(C, 1, kH, kW)`, overwritten.
  ///   - biasGradient: `(C)`, overwritten; nil to skip.
  /// - Complexity: `N · C · OH · OW · kH · kW` multiply-adds.
  static func depthwiseBackwardWeights(
    _ shape: Conv2DShape, input: UnsafePointer<Float>,
    outputGradient: UnsafePointer<Float>, weightsGradient: UnsafeMutablePointer<Float>,
    biasGradient: UnsafeMutablePointer<Float>?
  ) {
    precondition(usesOwnDepthwiseWeights(shape), "depthwiseBackwardWeights: \(shape)")
    let channels = shape.inputChannels
    let workers = max(1, min(threadCount, channels))
    // raw addresses cross into the workers; each worker writes only its own channels
    let inputAddress = UInt(bitPattern: input)
    let gradientAddress = UInt(bitPattern: outputGradient)
    let weightsAddress = UInt(bitPattern: weightsGradient)
    let biasAddress = biasGradient.map { UInt(bitPattern: $0) }
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
      let input = UnsafePointer<Float>(bitPattern: inputAddress)!
      let outputGradient = UnsafePointer<Float>(bitPattern: gradientAddress)!
      let weightsGradient = UnsafeMutablePointer<Float>(bitPattern: weightsAddress)!
      let biasGradient = biasAddress.flatMap { UnsafeMutablePointer<Float>(bitPattern: $0) }
      for channel in stride(from: worker, to: channels, by: workers) {
        depthwiseChannel(
          shape, channel: channel, input: input, outputGradient: outputGradient,
          weightsGradient: weightsGradient, biasGradient: biasGradient)
      }
    }
  }

  /// One channel of `depthwiseBackwardWeights`, over the whole batch.
  private static func depthwiseChannel(
    _ s: Conv2DShape, channel: Int, input: UnsafePointer<Float>,
    outputGradient: UnsafePointer<Float>, weightsGradient: UnsafeMutablePointer<Float>,
    biasGradient: UnsafeMutablePointer<Float>?
  ) {
    let taps = s.kernelHeight * s.kernelWidth
    var sums = [Double](repeating: 0, count: taps)
    var biasSum = 0.0
    let (outputHeight, outputWidth) = (s.outputHeight, s.outputWidth)

    // for each kx, the output columns whose input column falls inside the row
    let columnRanges: [Range<Int>] = (0..<s.kernelWidth).map { kx in
      let offset = kx * s.dilationX - s.padLeft  // ix = ox + offset
      let lower = max(0, -offset)
      let upper = min(outputWidth, s.width - offset)
      return lower..<max(lower, upper)
    }

    let offsets = (0..<s.kernelWidth).map { $0 * s.dilationX - s.padLeft }
    // the output columns every kx can use (empty when the kernel is wider than the row)
    let sharedLower = columnRanges.map(\.lowerBound).max() ?? 0
    let sharedUpper = columnRanges.map(\.upperBound).min() ?? 0
    let sharedColumns = sharedLower..<max(sharedLower, sharedUpper)

    for n in 0..<s.batch {
      let plane = n * s.inputChannels + channel
      let x = input + plane * s.height * s.width
      let dy = outputGradient + plane * outputHeight * outputWidth
      for oy in 0..<outputHeight {
        let dyRow = dy + oy * outputWidth
        if biasGradient != nil { biasSum += Double(rowSum(dyRow, outputWidth)) }
        for ky in 0..<s.kernelHeight {
          let iy = oy * s.strideY - s.padTop + ky * s.dilationY
          guard iy >= 0 && iy < s.height else { continue }
          let xRow = x + iy * s.width
          let tapBase = ky * s.kernelWidth

          // 5 wide: one pass over the columns all five taps share, then the edges
          var shared = 0..<0
          if s.kernelWidth == 5 {
            shared = sharedColumns
            let partial = fiveTapDots(
              dyRow, xRow, offsets: offsets, from: shared.lowerBound, to: shared.upperBound)
            for kx in 0..<5 { sums[tapBase + kx] += Double(partial[kx]) }
          }
          for kx in 0..<s.kernelWidth {
            let range = columnRanges[kx]
            let offset = offsets[kx]
            // the columns of `range` outside `shared` (which lies inside every range)
            let split = shared.isEmpty ? range.upperBound : shared.lowerBound
            let resume = shared.isEmpty ? range.upperBound : shared.upperBound
            for piece in [range.lowerBound..<split, resume..<range.upperBound]
            where !piece.isEmpty {
              sums[tapBase + kx] += Double(
                dot(dyRow + piece.lowerBound, xRow + piece.lowerBound + offset, piece.count))
            }
          }
        }
      }
    }

    for tap in 0..<taps { weightsGradient[channel * taps + tap] = Float(sums[tap]) }
    biasGradient?[channel] = Float(biasSum)
  }

  /// The five sums `Σ_{lower ≤ i < upper} dy[i] · x[i + offsets[k]]`, k < 5, in one pass.
  ///
  /// Loads each `dy` vector once for all five taps (the separate dot products load it five
  /// times); every `i + offsets[k]` must lie inside the `x` row.
  @inline(__always)
  private static func fiveTapDots(
    _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>, offsets: [Int], from lower: Int,
    to upper: Int
  ) -> SIMD8<Float> {
    let stride = MemoryLayout<Float>.stride
    let rawDy = UnsafeRawPointer(dy)
    let x0 = UnsafeRawPointer(x + offsets[0])
    let x1 = UnsafeRawPointer(x + offsets[1])
    let x2 = UnsafeRawPointer(x + offsets[2])
    let x3 = UnsafeRawPointer(x + offsets[3])
    let x4 = UnsafeRawPointer(x + offsets[4])
    var (a0, a1, a2, a3, a4) = (
      SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>()
    )
    var index = lower
    while index + 8 <= upper {
      let byte = index * stride
      let d = rawDy.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self)
      a0 += d * x0.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self)
      a1 += d * x1.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self)
      a2 += d * x2.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self)
      a3 += d * x3.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self)
      a4 += d * x4.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self)
      index += 8
    }
    var result = SIMD8<Float>(a0.sum(), a1.sum(), a2.sum(), a3.sum(), a4.sum(), 0, 0, 0)
    while index < upper {
      let d = dy[index]
      for k in 0..<5 { result[k] += d * x[index + offsets[k]] }
      index += 1
    }
    return result
  }

  /// `Σ a[i]·b[i]` for `i < count`, in 8-wide SIMD with two accumulators.
  @inline(__always)
  private static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ count: Int)
    -> Float
  {
    let rawA = UnsafeRawPointer(a)
    let rawB = UnsafeRawPointer(b)
    var accumulator0 = SIMD8<Float>()
    var accumulator1 = SIMD8<Float>()
    var index = 0
    while index + 16 <= count {
      let stride = MemoryLayout<Float>.stride
      let a0 = rawA.loadUnaligned(fromByteOffset: index * stride, as: SIMD8<Float>.self)
      let b0 = rawB.loadUnaligned(fromByteOffset: index * stride, as: SIMD8<Float>.self)
      let a1 = rawA.loadUnaligned(fromByteOffset: (index + 8) * stride, as: SIMD8<Float>.self)
      let b1 = rawB.loadUnaligned(fromByteOffset: (index + 8) * stride, as: SIMD8<Float>.self)
      // multiply then add: `addingProduct` becomes a libm `fmaf` call per lane when the
      // build does not target FMA (Swift's x86-64 baseline)
      accumulator0 += a0 * b0
      accumulator1 += a1 * b1
      index += 16
    }
    var total = (accumulator0 + accumulator1).sum()
    while index < count {
      total += a[index] * b[index]
      index += 1
    }
    return total
  }

  /// `Σ a[i]` for `i < count`.
  @inline(__always)
  private static func rowSum(_ a: UnsafePointer<Float>, _ count: Int) -> Float {
    var total: Float = 0
    for index in 0..<count { total += a[index] }
    return total
  }
}
