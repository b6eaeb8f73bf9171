import XCTest

@testable import Tensor

/// Convolutions with a fused activation and batch norm folded into the
/// weights: the inference fast path against the separate ops.
final class FusedConvTests: XCTestCase {
  private let activations: [ConvActivation] = [.identity, .relu, .hardswish]

  /// The activation through the scalar reference ops.
  private func reference(_ a: ConvActivation, _ y: Tensor) -> Tensor {
    switch a {
    case .identity: return y
    case .relu: return y.reluReference()
    case .hardswish: return y.hardswishReference()
    }
  }

  func testFusedActivationMatchesReferenceOnEveryOwnKernel() {
    // in, out, size, kernel, stride, padding, dilation, groups: pointwise
    // in several column blocks with a ragged last one (64 outputs: 2048
    // columns per block, 3000 pixels), grouped pointwise, strided 1×1
    // (im2col), depthwise stride 1 and 2 (padded kernel), dilated
    // depthwise (row kernel), a plain 3×3 (im2col).
    let cases: [(Int, Int, [Int], Int, Int, Int, Int, Int)] = [
      (5, 64, [50, 60], 1, 1, 0, 1, 1),
      (6, 4, [9, 7], 1, 1, 0, 1, 2),
      (3, 5, [9, 8], 1, 2, 0, 1, 1),
      (6, 6, [13, 19], 3, 1, 1, 1, 6),
      (5, 5, [12, 17], 3, 2, 1, 1, 5),
      (4, 4, [11, 10], 3, 1, 2, 2, 4),
      (3, 7, [10, 9], 3, 1, 1, 1, 1),
    ]
    var rng = Xoshiro256(seed: 41)
    for (cin, cout, hw, k, s, p, d, groups) in cases {
      let g = ConvGeometry(
        batch: 2, inChannels: cin, height: hw[0], width: hw[1],
        outChannels: cout, kernelH: k, kernelW: k, stride: s, padding: p,
        dilation: d, groups: groups)
      let x = Tensor.normal(g.inputShape, rng: &rng)
      let w = Tensor.normal(g.weightShape, rng: &rng)
      let b = Tensor.normal([cout], rng: &rng)
      for bias in [b, nil] {
        let raw = Tensor.empty(g.outputShape)
        Conv2DReference.forward(
          g, x: x.storage.pointer, w: w.storage.pointer,
          bias: bias.map { UnsafePointer($0.storage.pointer) },
          y: raw.storage.pointer)
        for a in activations {
          let y = withNoGrad {
            x.conv2d(
              weight: w, bias: bias, stride: s, padding: p, dilation: d,
              groups: groups, activation: a)
          }
          assertClose(
            y, reference(a, raw), atol: 1e-4,
            "\(cin)→\(cout) k\(k) s\(s) p\(p) d\(d) g\(groups) "
              + "bias \(bias != nil) \(a)")
        }
      }
    }
  }

  func testFusedActivationMatchesSeparateOpsOnOneDNN() {
    // Large enough (≥ 2^24 multiply-adds) for oneDNN: a 3×3 convolution
    // and a 64-channel depthwise one, where the activation is a pass of
    // its own after oneDNN.
    var rng = Xoshiro256(seed: 43)
    for (c, o, groups) in [(16, 16, 1), (64, 64, 64)] {
      let x = Tensor.normal([1, c, 128, 256], rng: &rng)
      let w = Tensor.normal([o, c / groups, 3, 3], rng: &rng)
      let b = Tensor.normal([o], rng: &rng)
      for a in activations {
        let fused = withNoGrad {
          x.conv2d(weight: w, bias: b, padding: 1, groups: groups, activation: a)
        }
        let separate = withNoGrad {
          reference(a, x.conv2d(weight: w, bias: b, padding: 1, groups: groups))
        }
        assertClose(fused, separate, atol: 1e-4, "\(c)→\(o) g\(groups) \(a)")
      }
    }
  }

  func testRecordingConvWithActivationDifferentiates() {
    // While recording, the activation is the separate op: its gradient
    // must match finite differences of the (fused) no-grad forward.
    var rng = Xoshiro256(seed: 47)
    let x = Tensor.normal([1, 3, 6, 5], rng: &rng)
    let w = Tensor.normal([4, 3, 3, 3], rng: &rng)
    let b = Tensor.normal([4], rng: &rng)
    checkGradients("conv2d + hardswish", inputs: [x, w, b]) { t in
      [t[0].conv2d(weight: t[1], bias: t[2], padding: 1, activation: .hardswish)]
    }
    checkGradients("depthwise + relu", inputs: [x, Tensor.normal([3, 1, 3, 3], rng: &rng)]) {
      t in [t[0].conv2d(weight: t[1], padding: 1, groups: 3, activation: .relu)]
    }
  }

  func testFoldedBatchNormEqualsConvolutionThenEvalNorm() {
    var rng = Xoshiro256(seed: 53)
    let x = Tensor.normal([2, 4, 9, 7], rng: &rng)
    let w = Tensor.normal([6, 4, 3, 3], rng: &rng)
    let gamma = Tensor.uniform([6], low: 0.5, high: 2, rng: &rng)
    let beta = Tensor.normal([6], rng: &rng)
    let mean = Tensor.normal([6], rng: &rng)
    let variance = Tensor.uniform([6], low: 0.1, high: 3, rng: &rng)
    for bias in [Tensor.normal([6], rng: &rng), nil] {
      let separate = x.conv2d(weight: w, bias: bias, padding: 1).batchNorm(
        gamma: gamma, beta: beta, runningMean: mean, runningVar: variance,
        training: false)
      let folded = Tensor.foldingBatchNorm(
        weight: w, bias: bias, gamma: gamma, beta: beta, runningMean: mean,
        runningVar: variance)
      let y = x.conv2d(weight: folded.weight, bias: folded.bias, padding: 1)
      assertClose(y, separate, atol: 1e-4, "bias \(bias != nil)")
    }
    // Gradients reach the input, the weight, γ and β through the fold.
    checkGradients(
      "folded conv-BN", inputs: [x, w, gamma, beta, mean, variance],
      differentiable: [0, 1, 2, 3]
    ) { t in
      let f = Tensor.foldingBatchNorm(
        weight: t[1], bias: nil, gamma: t[2], beta: t[3], runningMean: t[4],
        runningVar: t[5])
      return [t[0].conv2d(weight: f.weight, bias: f.bias, padding: 1)]
    }
  }
}

/// The fused inverted residual block against its three convolutions.
final class InvertedResidualTests: XCTestCase {
  private func unit(
    _ shape: [Int], _ a: ConvActivation, bias: Bool = true, rng: inout Xoshiro256
  ) -> ConvUnit {
    ConvUnit(
      weight: Tensor.normal(shape, rng: &rng) * 0.5,
      bias: bias ? Tensor.normal([shape[0]], rng: &rng) : nil, activation: a)
  }

  func testFusedBlockMatchesSeparateConvolutions() {
    // c, m, o, h, w, k, stride, expand, residual, batch. Sizes chosen so
    // that bands, the ring's wrap-around, two halves per image, odd
    // sizes and ragged SIMD tails all occur.
    let cases: [(Int, Int, Int, Int, Int, Int, Int, Bool, Bool, Int)] = [
      (8, 32, 16, 64, 48, 3, 2, true, false, 1),
      (6, 24, 6, 37, 29, 3, 1, true, true, 2),
      (4, 16, 4, 20, 9, 5, 1, true, true, 1),
      (5, 5, 7, 17, 23, 3, 2, false, false, 2),
      (8, 8, 8, 40, 40, 3, 1, false, true, 1),
      (16, 64, 16, 8, 8, 3, 1, true, true, 1),
      (3, 12, 5, 5, 6, 3, 2, true, false, 1),
    ]
    var rng = Xoshiro256(seed: 59)
    for (c, m, o, h, w, k, s, hasExpand, residual, n) in cases {
      let x = Tensor.normal([n, c, h, w], rng: &rng)
      let expand = hasExpand ? unit([m, c, 1, 1], .hardswish, rng: &rng) : nil
      let depthwise = unit([m, 1, k, k], .relu, rng: &rng)
      let project = unit([o, m, 1, 1], .identity, bias: c != 5, rng: &rng)
      let fused = withNoGrad {
        x.invertedResidual(
          expand: expand, depthwise: depthwise, project: project, stride: s,
          residual: residual)
      }
      let separate = withNoGrad {
        x.composed(expand, depthwise, project, s, residual)
      }
      assertClose(
        fused, separate, atol: 1e-4, rtol: 1e-4,
        "c\(c) m\(m) o\(o) \(h)×\(w) k\(k) s\(s) expand \(hasExpand) "
          + "residual \(residual) n\(n)")
    }
  }

  func testRecordedBlockDifferentiates() {
    // Small weights keep the pre-activations inside (−3, 3), where
    // hardswish is smooth: finite differences across its kinks at ±3
    // would not measure the derivative.
    var rng = Xoshiro256(seed: 61)
    let x = Tensor.normal([1, 3, 6, 5], rng: &rng)
    let e = Tensor.normal([6, 3, 1, 1], rng: &rng) * 0.3
    let d = Tensor.normal([6, 1, 3, 3], rng: &rng) * 0.3
    let p = Tensor.normal([3, 6, 1, 1], rng: &rng)
    checkGradients("inverted residual", inputs: [x, e, d, p]) { t in
      [
        t[0].invertedResidual(
          expand: ConvUnit(weight: t[1], activation: .hardswish),
          depthwise: ConvUnit(weight: t[2], activation: .hardswish),
          project: ConvUnit(weight: t[3]), stride: 1, residual: true)
      ]
    }
  }
}

/// The fused ReLU linear attention kernel against the separate ops.
final class LinearAttentionTests: XCTestCase {
  func testFusedKernelMatchesSeparateOps() {
    // Heads from two inputs; token counts below, at and above one block
    // (1024), with a ragged SIMD tail; two images.
    var rng = Xoshiro256(seed: 67)
    for (d, hw, n) in [(4, [5, 7], 2), (8, [32, 32], 1), (16, [45, 47], 2)] {
      let a = Tensor.normal([n, 3 * d * 2, hw[0], hw[1]], rng: &rng)
      let b = Tensor.normal([n, 3 * d, hw[0], hw[1]], rng: &rng)
      let fused = withNoGrad {
        Tensor.reluLinearAttention([a, b], headDim: d, eps: 1e-6)
      }
      let separate = withNoGrad {
        Tensor.linearAttentionComposed([a, b], headDim: d, eps: 1e-6)
      }
      XCTAssertEqual(fused.shape, [n, 3 * d, hw[0], hw[1]])
      assertClose(fused, separate, atol: 1e-4, rtol: 1e-3, "d \(d) \(hw) n \(n)")
    }
  }

  func testKnownValues() {
    // One head, d = 1, two tokens: q = (1, −1), k = (2, 3), v = (5, 7).
    // φ(k) = (2, 3): kv = 5·2 + 7·3 = 31, Σφ(k) = 5. Token 0: φ(q) = 1 →
    // 31 / 5 = 6.2; token 1: φ(q) = 0 → 0 / (0 + eps) = 0.
    let x = tensor([1, 3, 1, 2], [1, -1, 2, 3, 5, 7])
    let y = withNoGrad { Tensor.reluLinearAttention([x], headDim: 1, eps: 1e-6) }
    assertClose(y, tensor([1, 1, 1, 2], [6.2, 0]), atol: 1e-5)
  }

  func testRecordedAttentionDifferentiates() {
    var rng = Xoshiro256(seed: 71)
    let a = Tensor.normal([1, 6, 3, 4], rng: &rng)
    checkGradients("relu linear attention", inputs: [a], rtol: 2e-2) { t in
      [Tensor.reluLinearAttention([t[0]], headDim: 2, eps: 1e-6)]
    }
  }
}
