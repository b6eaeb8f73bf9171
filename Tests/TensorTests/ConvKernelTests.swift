import XCTest

@testable import Tensor

/// The optimised convolution paths against the direct-loop reference.
final class ConvKernelTests: XCTestCase {
  private func geometry(
    n: Int, c: Int, h: Int, w: Int, o: Int, k: Int, s: Int, p: Int,
    d: Int, g: Int
  ) -> ConvGeometry {
    ConvGeometry(
      batch: n, inChannels: c, height: h, width: w, outChannels: o,
      kernelH: k, kernelW: k, stride: s, padding: p, dilation: d, groups: g)
  }

  private let geometries: [(Int, Int, Int, Int, Int, Int, Int, Int, Int, Int)] = [
    // n, c, h, w, o, k, s, p, d, g
    (2, 3, 7, 8, 4, 3, 1, 1, 1, 1),
    (1, 4, 9, 9, 6, 3, 2, 2, 2, 2),
    (2, 5, 6, 5, 3, 1, 1, 0, 1, 1),
    (1, 4, 6, 6, 8, 1, 2, 0, 1, 1),
    (2, 6, 10, 9, 6, 5, 1, 2, 1, 6),
    (1, 4, 9, 11, 4, 3, 2, 1, 1, 4),
    (1, 3, 8, 8, 3, 3, 1, 3, 3, 3),
    (1, 2, 5, 5, 2, 5, 1, 0, 1, 2),
  ]

  func testGemmAndDepthwiseMatchReference() {
    var rng = Xoshiro256(seed: 17)
    for t in geometries {
      let g = geometry(
        n: t.0, c: t.1, h: t.2, w: t.3, o: t.4, k: t.5, s: t.6, p: t.7,
        d: t.8, g: t.9)
      let x = Tensor.normal(g.inputShape, rng: &rng)
      let wt = Tensor.normal(g.weightShape, rng: &rng)
      let b = Tensor.normal([g.outChannels], rng: &rng)
      let gy = Tensor.normal(g.outputShape, rng: &rng)
      let px = x.storage.pointer, pw = wt.storage.pointer
      let pb = UnsafePointer(b.storage.pointer), pgy = gy.storage.pointer
      let ref = Tensor.empty(g.outputShape)
      let refX = Tensor.empty(g.inputShape), refW = Tensor.empty(g.weightShape)
      Conv2DReference.forward(g, x: px, w: pw, bias: pb, y: ref.storage.pointer)
      Conv2DReference.backward(
        g, x: px, w: pw, gy: pgy, gx: refX.storage.pointer,
        gw: refW.storage.pointer)

      let y = Tensor.empty(g.outputShape)
      let gx = Tensor.empty(g.inputShape), gw = Tensor.empty(g.weightShape)
      Conv2DGemm.forward(g, x: px, w: pw, bias: pb, y: y.storage.pointer)
      Conv2DGemm.backward(
        g, x: px, w: pw, gy: pgy, gx: gx.storage.pointer,
        gw: gw.storage.pointer)
      let label = "geometry \(t)"
      assertClose(y, ref, atol: 1e-4, "\(label) gemm forward")
      assertClose(gx, refX, atol: 1e-4, "\(label) gemm grad x")
      assertClose(gw, refW, atol: 1e-4, "\(label) gemm grad w")

      guard g.isDepthwise else { continue }
      let dy = Tensor.empty(g.outputShape)
      let dgx = Tensor.empty(g.inputShape), dgw = Tensor.empty(g.weightShape)
      DepthwiseConv.forward(g, x: px, w: pw, bias: pb, y: dy.storage.pointer)
      DepthwiseConv.backwardData(g, w: pw, gy: pgy, gx: dgx.storage.pointer)
      DepthwiseConv.backwardWeight(g, x: px, gy: pgy, gw: dgw.storage.pointer)
      assertClose(dy, ref, atol: 1e-4, "\(label) depthwise forward")
      assertClose(dgx, refX, atol: 1e-4, "\(label) depthwise grad x")
      assertClose(dgw, refW, atol: 1e-4, "\(label) depthwise grad w")
    }
  }

  func testDispatchedKernelsMatchReference() {
    // ConvKernels: oneDNN for forward, input and (non-depthwise) weight
    // gradients; own depthwise weight gradient.
    var rng = Xoshiro256(seed: 23)
    for t in geometries {
      let g = geometry(
        n: t.0, c: t.1, h: t.2, w: t.3, o: t.4, k: t.5, s: t.6, p: t.7,
        d: t.8, g: t.9)
      let x = Tensor.normal(g.inputShape, rng: &rng)
      let wt = Tensor.normal(g.weightShape, rng: &rng)
      let b = Tensor.normal([g.outChannels], rng: &rng)
      let gy = Tensor.normal(g.outputShape, rng: &rng)
      let px = x.storage.pointer, pw = wt.storage.pointer
      let pb = UnsafePointer(b.storage.pointer), pgy = gy.storage.pointer
      let ref = Tensor.empty(g.outputShape), y = Tensor.empty(g.outputShape)
      let refX = Tensor.empty(g.inputShape), gx = Tensor.empty(g.inputShape)
      let refW = Tensor.empty(g.weightShape), gw = Tensor.empty(g.weightShape)
      Conv2DReference.forward(g, x: px, w: pw, bias: pb, y: ref.storage.pointer)
      Conv2DReference.backward(
        g, x: px, w: pw, gy: pgy, gx: refX.storage.pointer,
        gw: refW.storage.pointer)
      ConvKernels.forward(
        g, x: px, w: pw, bias: pb, y: y.storage.pointer, preferDNNL: true)
      ConvKernels.backward(
        g, x: px, w: pw, gy: pgy, gx: gx.storage.pointer,
        gw: gw.storage.pointer, preferDNNL: true)
      assertClose(y, ref, atol: 1e-4, "geometry \(t) dispatched forward")
      assertClose(gx, refX, atol: 1e-4, "geometry \(t) dispatched grad x")
      assertClose(gw, refW, atol: 1e-4, "geometry \(t) dispatched grad w")
    }
  }

  func testLargeDepthwiseUsesBothThreadsAndAgrees() {
    // Big enough that Parallel splits the planes across two threads.
    let g = geometry(
      n: 1, c: 8, h: 64, w: 64, o: 8, k: 5, s: 1, p: 2, d: 1, g: 8)
    var rng = Xoshiro256(seed: 3)
    let x = Tensor.normal(g.inputShape, rng: &rng)
    let w = Tensor.normal(g.weightShape, rng: &rng)
    let ref = Tensor.empty(g.outputShape), y = Tensor.empty(g.outputShape)
    Conv2DReference.forward(
      g, x: x.storage.pointer, w: w.storage.pointer, bias: nil,
      y: ref.storage.pointer)
    DepthwiseConv.forward(
      g, x: x.storage.pointer, w: w.storage.pointer, bias: nil,
      y: y.storage.pointer)
    assertClose(y, ref, atol: 1e-4, "64² depthwise")
  }
}
