import XCTest

@testable import Tensor

/// The vectorised and split kernels against their plain references.
final class FastKernelTests: XCTestCase {
  /// Values spread over [-6, 6] plus the kinks of relu and hardswish; an
  /// odd count so both threads and the scalar tails run.
  private func activationInput() -> Tensor {
    var rng = Xoshiro256(seed: 41)
    let x = Tensor.uniform([70_001], rng: &rng) * 12 - 6
    x.withUnsafeMutableBufferPointer { b in
      for (i, v) in [-3, 3, 0, -6, 6].enumerated() { b[i * 997] = Float(v) }
    }
    return x
  }

  private func checkActivation(
    _ name: String, _ fast: (Tensor) -> Tensor, _ reference: (Tensor) -> Tensor
  ) {
    let x = activationInput()
    x.requiresGrad = true
    var rng = Xoshiro256(seed: 5)
    let seed = Tensor.normal(x.shape, rng: &rng)
    let y = fast(x)
    y.backward(seed: seed)
    let gFast = x.grad!
    x.zeroGrad()
    let yRef = reference(x)
    yRef.backward(seed: seed)
    assertClose(y, yRef, atol: 1e-6, rtol: 1e-6, "\(name) forward")
    assertClose(gFast, x.grad!, atol: 1e-6, rtol: 1e-6, "\(name) backward")
  }

  func testReluMatchesReference() {
    checkActivation("relu", { $0.relu() }, { $0.reluReference() })
  }

  func testHardswishMatchesReference() {
    checkActivation("hardswish", { $0.hardswish() }, { $0.hardswishReference() })
  }

  func testBatchNormMatchesReference() {
    for training in [true, false] {
      for shape in [[2, 3, 37, 41], [1, 5, 3, 3], [3, 2, 200, 100]] {
        var rng = Xoshiro256(seed: 9)
        // A large offset checks the shifted moments against cancellation.
        let x = Tensor.normal(shape, rng: &rng) * 3 + 50
        x.requiresGrad = true
        let c = shape[1]
        let gamma = Tensor.normal([c], rng: &rng), beta = Tensor.normal([c], rng: &rng)
        gamma.requiresGrad = true
        beta.requiresGrad = true
        let seed = Tensor.normal(shape, rng: &rng)
        func run(_ reference: Bool) -> [Tensor] {
          let rm = Tensor.normal([c], rng: &rng) + 50
          let rv = Tensor.uniform([c], rng: &rng) + 8
          for t in [x, gamma, beta] { t.zeroGrad() }
          let y =
            reference
            ? x.batchNormReference(
              gamma: gamma, beta: beta, runningMean: rm, runningVar: rv,
              training: training)
            : x.batchNorm(
              gamma: gamma, beta: beta, runningMean: rm, runningVar: rv,
              training: training)
          y.backward(seed: seed)
          return [y, x.grad!, gamma.grad!, beta.grad!, rm, rv]
        }
        let saved = rng
        let fast = run(false)
        rng = saved
        let reference = run(true)
        let names = ["y", "grad x", "grad gamma", "grad beta", "running mean", "running var"]
        for (i, name) in names.enumerated() {
          assertClose(
            fast[i], reference[i], atol: 2e-3, rtol: 1e-3,
            "batchNorm \(shape) training \(training) \(name)")
        }
      }
    }
  }

  /// C = op(A)·op(B) in float64 loops, row-major.
  private func naiveGemm(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int, _ a: [Float], _ b: [Float]
  ) -> [Float] {
    var c = [Float](repeating: 0, count: m * n)
    for i in 0..<m {
      for j in 0..<n {
        var s: Double = 0
        for p in 0..<k {
          let av = transA ? a[p * m + i] : a[i * k + p]
          let bv = transB ? b[j * k + p] : b[p * n + j]
          s += Double(av) * Double(bv)
        }
        c[i * n + j] = Float(s)
      }
    }
    return c
  }

  func testSplitGemmMatchesNaive() {
    var rng = Xoshiro256(seed: 13)
    // (m, n, k): columns halved, rows halved, not split, columns halved,
    // cache-sized column blocks (the last partial), not split (C too small).
    for (m, n, k) in [
      (20, 150, 1000), (40, 30, 2000), (3, 5, 7), (17, 64, 2048), (8, 66_000, 8),
      (6, 5, 70_001),
    ] {
      for transA in [false, true] {
        for transB in [false, true] {
          let a = Tensor.normal([m * k], rng: &rng), b = Tensor.normal([k * n], rng: &rng)
          let c = Tensor.empty([m, n])
          BLAS.gemm(
            transA: transA, transB: transB, m: m, n: n, k: k,
            a: a.storage.pointer, b: b.storage.pointer, c: c.storage.pointer)
          let expected = naiveGemm(
            transA: transA, transB: transB, m: m, n: n, k: k, a.scalars, b.scalars)
          assertClose(
            c, tensor([m, n], expected), atol: 1e-3, rtol: 1e-4,
            "gemm \(m)×\(n)×\(k) transA \(transA) transB \(transB)")
        }
      }
    }
  }

  func testRowSumsMatchNaive() {
    var rng = Xoshiro256(seed: 21)
    let x = Tensor.normal([6, 5000], rng: &rng)
    let s = x.sum(dim: 1)
    let v = x.scalars
    let expected = (0..<6).map { r in
      Float((0..<5000).reduce(0.0) { $0 + Double(v[r * 5000 + $1]) })
    }
    assertClose(s, tensor([6], expected), atol: 1e-3, "row sums")
    let total = (0..<v.count).reduce(0.0) { $0 + Double(v[$1]) }
    XCTAssertEqual(Double(x.sum().item), total, accuracy: 1e-2)
  }

  func testPointwiseConvolutionsMatchReference() {
    // (n, cin, h, w, cout, groups): odd pixel counts leave partial blocks;
    // the first is above oneDNN's size threshold but stays on our kernels.
    for (n, c, h, w, o, groups) in [
      (1, 16, 128, 128, 64, 1), (2, 6, 9, 13, 4, 2), (1, 32, 40, 40, 8, 1),
      (2, 12, 8, 8, 12, 3),
    ] {
      let g = ConvGeometry(
        batch: n, inChannels: c, height: h, width: w, outChannels: o,
        kernelH: 1, kernelW: 1, stride: 1, padding: 0, dilation: 1, groups: groups)
      XCTAssertFalse(ConvKernels.usesDNNL(g, prefer: nil))
      var rng = Xoshiro256(seed: 31)
      let x = Tensor.normal(g.inputShape, rng: &rng)
      let wt = Tensor.normal(g.weightShape, rng: &rng)
      let b = Tensor.normal([o], rng: &rng)
      let gy = Tensor.normal(g.outputShape, rng: &rng)
      let ref = Tensor.empty(g.outputShape), y = Tensor.empty(g.outputShape)
      let refX = Tensor.empty(g.inputShape), gx = Tensor.empty(g.inputShape)
      let refW = Tensor.empty(g.weightShape), gw = Tensor.empty(g.weightShape)
      let px = x.storage.pointer, pw = wt.storage.pointer, pgy = gy.storage.pointer
      let pb = UnsafePointer(b.storage.pointer)
      Conv2DReference.forward(g, x: px, w: pw, bias: pb, y: ref.storage.pointer)
      Conv2DReference.backward(
        g, x: px, w: pw, gy: pgy, gx: refX.storage.pointer, gw: refW.storage.pointer)
      ConvKernels.forward(g, x: px, w: pw, bias: pb, y: y.storage.pointer)
      ConvKernels.backward(
        g, x: px, w: pw, gy: pgy, gx: gx.storage.pointer, gw: gw.storage.pointer)
      let label = "pointwise \(g.inputShape) → \(o), groups \(groups)"
      assertClose(y, ref, atol: 1e-3, "\(label) forward")
      assertClose(gx, refX, atol: 1e-3, "\(label) grad x")
      assertClose(gw, refW, atol: 1e-2, rtol: 1e-3, "\(label) grad w")
    }
  }

  func testDepthwiseKernelsMatchRowLoops() {
    // (n, c, h, w, k, stride, padding): widths around the 8-lane blocks.
    for (n, c, h, w, k, st, p) in [
      (2, 3, 17, 19, 3, 1, 1), (1, 4, 16, 33, 3, 2, 1), (1, 2, 21, 23, 5, 1, 2),
      (2, 3, 12, 13, 5, 2, 2), (1, 2, 9, 40, 3, 1, 0), (1, 3, 30, 31, 3, 2, 0),
    ] {
      let g = ConvGeometry(
        batch: n, inChannels: c, height: h, width: w, outChannels: c,
        kernelH: k, kernelW: k, stride: st, padding: p, dilation: 1, groups: c)
      var rng = Xoshiro256(seed: 77)
      let x = Tensor.normal(g.inputShape, rng: &rng)
      let wt = Tensor.normal(g.weightShape, rng: &rng)
      let b = Tensor.normal([c], rng: &rng)
      let gy = Tensor.normal(g.outputShape, rng: &rng)
      let px = x.storage.pointer, pw = wt.storage.pointer, pgy = gy.storage.pointer
      let pb = UnsafePointer(b.storage.pointer)
      let y = Tensor.empty(g.outputShape), yRef = Tensor.empty(g.outputShape)
      let gx = Tensor.empty(g.inputShape), gxRef = Tensor.empty(g.inputShape)
      DepthwiseConv.forward(g, x: px, w: pw, bias: pb, y: y.storage.pointer)
      DepthwiseConv.forwardRows(g, x: px, w: pw, bias: pb, y: yRef.storage.pointer)
      DepthwiseConv.backwardData(g, w: pw, gy: pgy, gx: gx.storage.pointer)
      DepthwiseConv.backwardDataRows(g, w: pw, gy: pgy, gx: gxRef.storage.pointer)
      let label = "depthwise \(g.inputShape) k\(k) s\(st) p\(p)"
      assertClose(y, yRef, atol: 1e-4, "\(label) forward")
      assertClose(gx, gxRef, atol: 1e-4, "\(label) grad x")
    }
  }

  func testBroadcastLanesMatchClosureKernel() {
    var rng = Xoshiro256(seed: 61)
    let pairs: [([Int], [Int])] = [
      ([3, 5, 37], [3, 1, 37]), ([3, 5, 37], [3, 5, 1]), ([2, 1, 19], [2, 4, 19]),
      ([4, 3, 2, 9], [3, 1, 9]), ([17], [4, 17]), ([6, 1], [1, 11]), ([2, 3], [2, 3]),
    ]
    for (sa, sb) in pairs {
      let a = Tensor.normal(sa, rng: &rng)
      let b = Tensor.uniform(sb, rng: &rng) + 0.5
      let label = "\(sa) with \(sb)"
      assertClose(
        a + b, Tensor.broadcastKernel(a, b, op: "add") { $0 + $1 }, atol: 0, rtol: 0,
        "\(label) add")
      assertClose(
        a - b, Tensor.broadcastKernel(a, b, op: "sub") { $0 - $1 }, atol: 0, rtol: 0,
        "\(label) sub")
      assertClose(
        a * b, Tensor.broadcastKernel(a, b, op: "mul") { $0 * $1 }, atol: 0, rtol: 0,
        "\(label) mul")
      assertClose(
        a / b, Tensor.broadcastKernel(a, b, op: "div") { $0 / $1 }, atol: 0, rtol: 0,
        "\(label) div")
      let target = Shape.broadcast(sa, sb)!
      let expected = Tensor.broadcastKernel(a, Tensor.zeros(target), op: "b") { x, _ in x }
      assertClose(a.broadcasted(to: target), expected, atol: 0, rtol: 0, "\(label) to")
    }
  }

  func testBufferPoolReusesReleasedBuffers() {
    let count = BufferPool.minimumCount + 123
    var first: Tensor? = Tensor.zeros([count])
    let address = first!.storage.pointer
    first = nil
    XCTAssertGreaterThanOrEqual(BufferPool.cachedBytes, count * 4)
    let second = Tensor.empty([count])
    XCTAssertEqual(second.storage.pointer, address, "same count reuses the buffer")
    Tensor.releaseCachedMemory()
    XCTAssertEqual(BufferPool.cachedBytes, 0)
  }
}
