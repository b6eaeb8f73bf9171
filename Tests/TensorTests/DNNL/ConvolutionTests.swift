// oneDNN convolution against naive reference loops (forward and both gradients).
import CDNNL
import Testing

@testable import Tensor

/// Naive NCHW/OIHW convolution and its analytic gradients, accumulated in Double.
enum ConvReference {
  typealias Shape = DNNL.Conv2DShape

  /// Calls `body(n, o, oy, ox, ic, iy, ix, weightIndex)` for every tap inside the image.
  static func forEachTap(
    _ s: Shape, _ body: (Int, Int, Int, Int, Int, Int, Int, Int) -> Void
  ) {
    let outPerGroup = s.outputChannels / s.groups
    let inPerGroup = s.inputChannels / s.groups
    for n in 0..<s.batch {
      for o in 0..<s.outputChannels {
        let group = o / outPerGroup
        for oy in 0..<s.outputHeight {
          for ox in 0..<s.outputWidth {
            for icg in 0..<inPerGroup {
              let ic = group * inPerGroup + icg
              for ky in 0..<s.kernelHeight {
                let iy = oy * s.strideY - s.padTop + ky * s.dilationY
                guard iy >= 0 && iy < s.height else { continue }
                for kx in 0..<s.kernelWidth {
                  let ix = ox * s.strideX - s.padLeft + kx * s.dilationX
                  guard ix >= 0 && ix < s.width else { continue }
                  let w = ((o * inPerGroup + icg) * s.kernelHeight + ky) * s.kernelWidth + kx
                  body(n, o, oy, ox, ic, iy, ix, w)
                }
              }
            }
          }
        }
      }
    }
  }

  static func inputIndex(_ s: Shape, _ n: Int, _ c: Int, _ y: Int, _ x: Int) -> Int {
    ((n * s.inputChannels + c) * s.height + y) * s.width + x
  }

  static func outputIndex(_ s: Shape, _ n: Int, _ c: Int, _ y: Int, _ x: Int) -> Int {
    ((n * s.outputChannels + c) * s.outputHeight + y) * s.outputWidth + x
  }

  static func forward(_ s: Shape, _ x: [Float], _ w: [Float], _ b: [Float]?) -> [Float] {
    var y = [Double](repeating: 0, count: s.outputCount)
    forEachTap(s) { n, o, oy, ox, ic, iy, ix, wi in
      y[outputIndex(s, n, o, oy, ox)] += Double(x[inputIndex(s, n, ic, iy, ix)]) * Double(w[wi])
    }
    if let b {
      for index in y.indices {
        y[index] += Double(b[(index / (s.outputHeight * s.outputWidth)) % s.outputChannels])
      }
    }
    return y.map { Float($0) }
  }

  static func backwardData(_ s: Shape, _ dy: [Float], _ w: [Float]) -> [Float] {
    var dx = [Double](repeating: 0, count: s.inputCount)
    forEachTap(s) { n, o, oy, ox, ic, iy, ix, wi in
      dx[inputIndex(s, n, ic, iy, ix)] += Double(dy[outputIndex(s, n, o, oy, ox)]) * Double(w[wi])
    }
    return dx.map { Float($0) }
  }

  static func backwardWeights(_ s: Shape, _ x: [Float], _ dy: [Float]) -> ([Float], [Float]) {
    var dw = [Double](repeating: 0, count: s.weightCount)
    forEachTap(s) { n, o, oy, ox, ic, iy, ix, wi in
      dw[wi] += Double(dy[outputIndex(s, n, o, oy, ox)]) * Double(x[inputIndex(s, n, ic, iy, ix)])
    }
    var db = [Double](repeating: 0, count: s.outputChannels)
    for index in dy.indices {
      db[(index / (s.outputHeight * s.outputWidth)) % s.outputChannels] += Double(dy[index])
    }
    return (dw.map { Float($0) }, db.map { Float($0) })
  }
}

@Suite("DNNL convolution")
struct ConvolutionTests {
  typealias Shape = DNNL.Conv2DShape

  static let cases: [(String, Shape)] = [
    (
      "3×3 pad 1",
      Shape(
        batch: 2, inputChannels: 3, height: 7, width: 6, outputChannels: 4,
        kernelHeight: 3, kernelWidth: 3, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1)
    ),
    (
      "3×3 stride 2, asymmetric pad",
      Shape(
        batch: 1, inputChannels: 5, height: 9, width: 8,
        outputChannels: 6, kernelHeight: 3, kernelWidth: 3, strideY: 2, strideX: 2,
        padTop: 0, padLeft: 1, padBottom: 1, padRight: 0)
    ),
    (
      "3×3 dilation 2",
      Shape(
        batch: 2, inputChannels: 4, height: 10, width: 9,
        outputChannels: 3, kernelHeight: 3, kernelWidth: 3, padTop: 2, padLeft: 2,
        padBottom: 2, padRight: 2, dilationY: 2, dilationX: 2)
    ),
    (
      "groups 2",
      Shape(
        batch: 2, inputChannels: 4, height: 6, width: 7, outputChannels: 6,
        kernelHeight: 3, kernelWidth: 3, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1,
        groups: 2)
    ),
    (
      "depthwise 5×5",
      Shape(
        batch: 2, inputChannels: 8, height: 11, width: 10,
        outputChannels: 8, kernelHeight: 5, kernelWidth: 5, padTop: 2, padLeft: 2,
        padBottom: 2, padRight: 2, groups: 8)
    ),
    (
      "depthwise 5×5 stride 2, 12 channels",
      Shape(
        batch: 1, inputChannels: 12, height: 9,
        width: 12, outputChannels: 12, kernelHeight: 5, kernelWidth: 5, strideY: 2,
        strideX: 2, padTop: 2, padLeft: 2, padBottom: 2, padRight: 2, groups: 12)
    ),
    (
      "depthwise 3×3 dilation 2, stride (2, 1), asymmetric pad, width 37",
      Shape(
        batch: 3, inputChannels: 5, height: 9, width: 37, outputChannels: 5,
        kernelHeight: 3, kernelWidth: 3, strideY: 2, strideX: 1, padTop: 1, padLeft: 3,
        padBottom: 2, padRight: 0, dilationY: 2, dilationX: 2, groups: 5)
    ),
    (
      "depthwise 5×5 dilation (1, 2), asymmetric pad, width 45",
      Shape(
        batch: 2, inputChannels: 3, height: 7, width: 45, outputChannels: 3,
        kernelHeight: 5, kernelWidth: 5, padTop: 2, padLeft: 5, padBottom: 1, padRight: 2,
        dilationY: 1, dilationX: 2, groups: 3)
    ),
    (
      "1×1, 16→24",
      Shape(
        batch: 2, inputChannels: 16, height: 5, width: 5,
        outputChannels: 24, kernelHeight: 1, kernelWidth: 1)
    ),
  ]

  @Test("forward matches the naive loop", arguments: 0..<cases.count)
  func forward(caseIndex: Int) throws {
    let (name, s) = Self.cases[caseIndex]
    var random = SeededRandom(seed: UInt64(caseIndex + 1))
    let x = random.array(s.inputCount)
    let w = random.array(s.weightCount)
    let b = random.array(s.outputChannels)
    for bias in [b, nil] {
      var y = [Float](repeating: .nan, count: s.outputCount)
      try x.withUnsafeBufferPointer { xp in
        try w.withUnsafeBufferPointer { wp in
          try (bias ?? []).withUnsafeBufferPointer { bp in
            try y.withUnsafeMutableBufferPointer { yp in
              try DNNL.conv2dForward(
                s, input: xp.baseAddress!, weights: wp.baseAddress!,
                bias: bias == nil ? nil : bp.baseAddress!, output: yp.baseAddress!)
            }
          }
        }
      }
      let expected = ConvReference.forward(s, x, w, bias)
      expectNonTrivial(expected, name)
      expectClose(y, expected, absolute: 1e-5, relative: 1e-4, "\(name) bias \(bias != nil)")
    }
  }

  @Test("backward-data matches the analytic reference", arguments: 0..<cases.count)
  func backwardData(caseIndex: Int) throws {
    let (name, s) = Self.cases[caseIndex]
    var random = SeededRandom(seed: UInt64(100 + caseIndex))
    let dy = random.array(s.outputCount)
    let w = random.array(s.weightCount)
    var dx = [Float](repeating: .nan, count: s.inputCount)
    try dy.withUnsafeBufferPointer { dyp in
      try w.withUnsafeBufferPointer { wp in
        try dx.withUnsafeMutableBufferPointer { dxp in
          try DNNL.conv2dBackwardData(
            s, outputGradient: dyp.baseAddress!, weights: wp.baseAddress!,
            inputGradient: dxp.baseAddress!)
        }
      }
    }
    let expected = ConvReference.backwardData(s, dy, w)
    expectNonTrivial(expected, name)
    expectClose(dx, expected, absolute: 1e-5, relative: 1e-4, name)
  }

  @Test("backward-weights and bias gradient match the reference", arguments: 0..<cases.count)
  func backwardWeights(caseIndex: Int) throws {
    let (name, s) = Self.cases[caseIndex]
    var random = SeededRandom(seed: UInt64(200 + caseIndex))
    let x = random.array(s.inputCount)
    let dy = random.array(s.outputCount)
    var dw = [Float](repeating: .nan, count: s.weightCount)
    var db = [Float](repeating: .nan, count: s.outputChannels)
    try x.withUnsafeBufferPointer { xp in
      try dy.withUnsafeBufferPointer { dyp in
        try dw.withUnsafeMutableBufferPointer { dwp in
          try db.withUnsafeMutableBufferPointer { dbp in
            try DNNL.conv2dBackwardWeights(
              s, input: xp.baseAddress!, outputGradient: dyp.baseAddress!,
              weightsGradient: dwp.baseAddress!, biasGradient: dbp.baseAddress!)
          }
        }
      }
    }
    let (expectedW, expectedB) = ConvReference.backwardWeights(s, x, dy)
    expectNonTrivial(expectedW, name)
    // sums run over N·OH·OW (up to 220 terms) in a different order: looser tolerance
    expectClose(dw, expectedW, absolute: 1e-4, relative: 1e-4, "\(name) dW")
    expectClose(db, expectedB, absolute: 1e-4, relative: 1e-4, "\(name) dB")

    // without the bias gradient the weights gradient is the same
    var dw2 = [Float](repeating: .nan, count: s.weightCount)
    try x.withUnsafeBufferPointer { xp in
      try dy.withUnsafeBufferPointer { dyp in
        try dw2.withUnsafeMutableBufferPointer { dwp in
          try DNNL.conv2dBackwardWeights(
            s, input: xp.baseAddress!, outputGradient: dyp.baseAddress!,
            weightsGradient: dwp.baseAddress!, biasGradient: nil)
        }
      }
    }
    expectClose(dw2, expectedW, absolute: 1e-4, relative: 1e-4, "\(name) dW without bias")
  }

  @Test("the reference gradients agree with finite differences of the reference forward")
  func referenceMatchesFiniteDifferences() {
    let s = Shape(
      batch: 1, inputChannels: 4, height: 5, width: 6, outputChannels: 4,
      kernelHeight: 3, kernelWidth: 3, strideY: 2, strideX: 1, padTop: 1, padLeft: 2,
      padBottom: 0, padRight: 1, dilationY: 1, dilationX: 2, groups: 2)
    var random = SeededRandom(seed: 7)
    let x = random.array(s.inputCount)
    let w = random.array(s.weightCount)
    let dy = random.array(s.outputCount)
    // loss = sum(y * dy), so dL/dx = backwardData(dy), dL/dw = backwardWeights(x, dy)
    func loss(_ x: [Float], _ w: [Float]) -> Double {
      zip(ConvReference.forward(s, x, w, nil), dy).reduce(0) { $0 + Double($1.0 * $1.1) }
    }
    let dx = ConvReference.backwardData(s, dy, w)
    let (dw, _) = ConvReference.backwardWeights(s, x, dy)
    let h: Float = 1e-2  // loss is linear in x and w: central differences are exact up to
    // rounding, so a large step is safe
    for index in stride(from: 0, to: x.count, by: 7) {
      var plus = x
      var minus = x
      plus[index] += h
      minus[index] -= h
      let numeric = Float((loss(plus, w) - loss(minus, w)) / Double(2 * h))
      #expect(abs(numeric - dx[index]) < 2e-3, "dx[\(index)] \(numeric) vs \(dx[index])")
    }
    for index in stride(from: 0, to: w.count, by: 5) {
      var plus = w
      var minus = w
      plus[index] += h
      minus[index] -= h
      let numeric = Float((loss(x, plus) - loss(x, minus)) / Double(2 * h))
      #expect(abs(numeric - dw[index]) < 2e-3, "dw[\(index)] \(numeric) vs \(dw[index])")
    }
  }

  @Test("primitives are cached by shape")
  func caching() throws {
    let s = Shape(
      batch: 1, inputChannels: 2, height: 4, width: 4, outputChannels: 2,
      kernelHeight: 3, kernelWidth: 3, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1,
      dilationY: 1, dilationX: 1, groups: 1)
    let x = [Float](repeating: 1, count: s.inputCount)
    let w = [Float](repeating: 1, count: s.weightCount)
    var y = [Float](repeating: 0, count: s.outputCount)
    func once() throws {
      try x.withUnsafeBufferPointer { xp in
        try w.withUnsafeBufferPointer { wp in
          try y.withUnsafeMutableBufferPointer { yp in
            try DNNL.conv2dForward(
              s, input: xp.baseAddress!, weights: wp.baseAddress!, bias: nil,
              output: yp.baseAddress!)
          }
        }
      }
    }
    try once()
    try once()
    // other suites run in parallel, so look only at this (unique) geometry's entries
    let mine = DNNL.cachedPlanKeys.filter {
      $0.operation == "conv2dForward" && $0.values.starts(with: s.keyValues)
    }
    #expect(mine.count == 1)
    // centre pixel sees 3·3 taps × 2 channels of ones
    #expect(y[1 * 4 + 1] == 18)
    #expect(y[0] == 8)
  }

  @Test("concurrent callers get the same results as a serial one")
  func concurrentCalls() async throws {
    let (_, s) = Self.cases[4]
    var random = SeededRandom(seed: 77)
    let x = random.array(s.inputCount)
    let w = random.array(s.weightCount)
    let expected = ConvReference.forward(s, x, w, nil)
    let results = try await withThrowingTaskGroup(of: [Float].self) { group in
      for _ in 0..<8 {
        group.addTask {
          var y = [Float](repeating: .nan, count: s.outputCount)
          try DNNL.conv2dForward(s, input: x, weights: w, bias: nil, output: &y)
          return y
        }
      }
      var all: [[Float]] = []
      for try await y in group { all.append(y) }
      return all
    }
    #expect(results.count == 8)
    for y in results { expectClose(y, expected, absolute: 1e-5, relative: 1e-4, "concurrent") }
  }

  @Test("a descriptor oneDNN rejects throws DNNLError instead of crashing")
  func rejectedDescriptorThrows() {
    // a 4D layout tag for 2 dimensions: dnnl_memory_desc_init_by_tag says invalid_arguments
    #expect(throws: DNNLError.self) { _ = try DNNL.memoryDesc([2, 3], dnnl_nchw) }
    do {
      _ = try DNNL.memoryDesc([2, 3], dnnl_nchw)
    } catch {
      #expect(error == .failed(operation: "dnnl_memory_desc_init_by_tag [2, 3]", status: 2))
      #expect(error.description.contains("invalid_arguments"))
    }
  }

  @Test("depthwise stride-1-across weight gradients take the hand-written kernel")
  func depthwiseDispatch() {
    #expect(DNNL.usesOwnDepthwiseWeights(Self.cases[4].1))  // 5×5, stride 1
    #expect(DNNL.usesOwnDepthwiseWeights(Self.cases[6].1))  // dilation 2, stride (2, 1)
    #expect(!DNNL.usesOwnDepthwiseWeights(Self.cases[5].1))  // stride 2 across: oneDNN
    #expect(!DNNL.usesOwnDepthwiseWeights(Self.cases[3].1))  // groups 2: oneDNN
  }

  @Test("results do not depend on the thread count, and plans are cached per count")
  func threadCounts() throws {
    let (_, s) = Self.cases[1]
    var random = SeededRandom(seed: 99)
    let x = random.array(s.inputCount)
    let w = random.array(s.weightCount)
    let expected = ConvReference.forward(s, x, w, nil)
    let original = DNNL.threadCount
    defer { DNNL.setThreadCount(original) }
    for threads in [1, 2] {
      DNNL.setThreadCount(threads)
      #expect(DNNL.threadCount == threads)
      var y = [Float](repeating: .nan, count: s.outputCount)
      try DNNL.conv2dForward(s, input: x, weights: w, bias: nil, output: &y)
      expectClose(y, expected, absolute: 1e-5, relative: 1e-4, "\(threads) threads")
    }
    let counts = Set(
      DNNL.cachedPlanKeys.filter {
        $0.operation == "conv2dForward" && $0.values.starts(with: s.keyValues + [0])
      }.compactMap(\.values.last))
    #expect(counts.isSuperset(of: [1, 2]))
  }
}
