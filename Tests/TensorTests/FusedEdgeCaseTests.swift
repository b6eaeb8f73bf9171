import XCTest

@testable import Tensor

/// The fused convolution ops (nothing recording) over edge-case shapes:
/// images smaller than the kernel, one row or column, odd sizes at stride
/// 2, channel counts that are not multiples of the vector width, images
/// spanning several bands, stale pool memory, and their fallback to the
/// differentiable ops while recording. Each is checked against an
/// independent reference (direct-loop `Conv2DReference` for small cases,
/// else `conv2d` without activation and the scalar reference activations)
/// to 1e-4 of the largest reference magnitude. The attention's are in
/// `FusedAttentionEdgeCaseTests`.
final class FusedEdgeCaseTests: FusedEdgeCaseTestCase {
  func testInvertedResidualAllActivationsAndBiasesOnSmallEdgeShapes() {
    var rng = Xoshiro256(seed: 1001)
    var failures: [String] = []
    var checks = 0
    let shapes: [IRCase] = [
      IRCase(c: 3, m: 6, o: 3, h: 1, w: 1, k: 3, s: 1, expand: true, residual: true, n: 1),
      IRCase(c: 3, m: 6, o: 5, h: 1, w: 1, k: 7, s: 2, expand: true, residual: false, n: 3),
      IRCase(c: 2, m: 5, o: 2, h: 1, w: 19, k: 5, s: 1, expand: true, residual: true, n: 1),
      IRCase(c: 2, m: 5, o: 3, h: 19, w: 1, k: 3, s: 2, expand: true, residual: false, n: 3),
      IRCase(c: 4, m: 4, o: 4, h: 7, w: 5, k: 3, s: 2, expand: false, residual: false, n: 1),
      IRCase(c: 4, m: 4, o: 4, h: 2, w: 3, k: 7, s: 1, expand: false, residual: true, n: 3),
      IRCase(c: 1, m: 1, o: 1, h: 9, w: 1, k: 5, s: 2, expand: true, residual: false, n: 1),
      IRCase(c: 1, m: 1, o: 1, h: 6, w: 10, k: 3, s: 1, expand: false, residual: true, n: 1),
    ]
    for cs in shapes {
      for a0 in activations {
        for a1 in activations {
          for a2 in activations {
            for bits in [(true, true, true), (false, false, false), (true, false, true)] {
              runIR(cs, acts: (a0, a1, a2), biases: bits, rng: &rng, &failures)
              checks += 1
            }
          }
        }
      }
    }
    report(failures, "IR small, all activation/bias combos", cases: checks)
  }

  func testInvertedResidualEdgeShapes() {
    var rng = Xoshiro256(seed: 1003)
    var failures: [String] = []
    var checks = 0
    var cases: [IRCase] = []
    // Image smaller than, equal to and just above the kernel, each kernel,
    // stride, expand/no expand, batch 1/3.
    for k in [3, 5, 7] {
      for (h, w) in [(1, 1), (1, 13), (13, 1), (2, 3), (k, k), (7, 5), (9, 1), (1, 9), (5, 7)] {
        for s in [1, 2] {
          for expand in [true, false] {
            let c = expand ? 3 : 5
            let residual = s == 1 && (h + w) % 2 == 0
            cases.append(
              IRCase(
                c: c, m: expand ? 10 : c, o: residual ? c : 4, h: h, w: w, k: k, s: s,
                expand: expand, residual: residual, n: (h * w) % 2 == 0 ? 1 : 3))
          }
        }
      }
    }
    // Many mid channels (not multiples of 8/16), odd sizes.
    cases += [
      IRCase(c: 24, m: 96, o: 24, h: 33, w: 29, k: 3, s: 1, expand: true, residual: true, n: 2),
      IRCase(c: 40, m: 200, o: 40, h: 17, w: 23, k: 5, s: 2, expand: true, residual: false, n: 1),
      IRCase(c: 13, m: 200, o: 7, h: 9, w: 1, k: 7, s: 2, expand: true, residual: false, n: 3),
      IRCase(c: 200, m: 200, o: 200, h: 11, w: 7, k: 3, s: 1, expand: false, residual: true, n: 1),
      IRCase(c: 1, m: 96, o: 1, h: 15, w: 15, k: 5, s: 1, expand: true, residual: true, n: 2),
      IRCase(c: 96, m: 200, o: 1, h: 7, w: 5, k: 3, s: 2, expand: true, residual: false, n: 1),
    ]
    var i = 0
    for cs in cases {
      let a0 = activations[i % 3], a1 = activations[(i / 3) % 3], a2 = activations[(i + 1) % 3]
      runIR(
        cs, acts: (a0, a1, a2), biases: (i % 2 == 0, i % 3 != 0, i % 4 != 1),
        rng: &rng, &failures)
      checks += 1
      i += 1
    }
    report(failures, "IR edge shapes", cases: checks)
  }

  func testInvertedResidualLargeImagesSpanningBands() {
    // 130×67 with M = 96: 8-row bands, two halves per image; M·W above the
    // ring budget (band 1); wide-image and tall-image extremes.
    var rng = Xoshiro256(seed: 1005)
    var failures: [String] = []
    let cases: [IRCase] = [
      IRCase(c: 16, m: 96, o: 16, h: 130, w: 67, k: 3, s: 1, expand: true, residual: true, n: 1),
      IRCase(c: 16, m: 96, o: 24, h: 130, w: 67, k: 5, s: 2, expand: true, residual: false, n: 3),
      IRCase(c: 8, m: 200, o: 24, h: 130, w: 67, k: 7, s: 2, expand: true, residual: false, n: 1),
      IRCase(c: 40, m: 40, o: 40, h: 130, w: 67, k: 7, s: 1, expand: false, residual: true, n: 2),
      IRCase(c: 4, m: 200, o: 4, h: 21, w: 400, k: 7, s: 1, expand: true, residual: true, n: 1),
      IRCase(c: 4, m: 200, o: 6, h: 23, w: 401, k: 5, s: 2, expand: true, residual: false, n: 1),
      IRCase(c: 3, m: 12, o: 3, h: 1000, w: 3, k: 3, s: 1, expand: true, residual: true, n: 1),
      IRCase(c: 3, m: 12, o: 5, h: 1001, w: 1, k: 7, s: 2, expand: true, residual: false, n: 2),
      IRCase(c: 8, m: 32, o: 8, h: 3, w: 2000, k: 5, s: 1, expand: true, residual: true, n: 1),
    ]
    var i = 0
    for cs in cases {
      runIR(
        cs, acts: (.hardswish, activations[i % 3], activations[(i + 2) % 3]),
        biases: (true, i % 2 == 0, true), rng: &rng, &failures)
      i += 1
    }
    report(failures, "IR large", cases: cases.count)
  }

  // MARK: conv2d(activation:)

  func testConvActivationEdgeCases() {
    // cin, cout, h, w, k, stride, padding, dilation, groups, batch
    let cases: [(Int, Int, Int, Int, Int, Int, Int, Int, Int, Int)] = [
      (5, 7, 9, 11, 1, 1, 0, 1, 1, 2),  // pointwise gemm
      (5, 7, 9, 11, 1, 2, 0, 1, 1, 3),  // strided 1×1 (im2col)
      (5, 7, 9, 11, 1, 1, 1, 1, 1, 2),  // padded 1×1 (im2col)
      (3, 300, 1, 1, 1, 1, 0, 1, 1, 2),  // 1 pixel, many outputs
      (3, 1, 1, 1, 1, 2, 0, 1, 1, 1),
      (7, 9, 13, 10, 3, 1, 0, 1, 1, 2),
      (7, 9, 13, 10, 3, 1, 1, 1, 1, 3),
      (7, 9, 13, 10, 3, 2, 2, 1, 1, 2),
      (3, 4, 1, 1, 3, 1, 1, 1, 1, 2),  // 1×1 image, 3×3 kernel
      (3, 4, 2, 2, 3, 2, 1, 1, 1, 1),
      (6, 6, 13, 19, 3, 1, 1, 1, 6, 2),  // depthwise 3×3
      (6, 6, 13, 19, 3, 2, 1, 1, 6, 3),
      (6, 6, 1, 1, 3, 1, 1, 1, 6, 2),
      (6, 6, 2, 17, 5, 1, 2, 1, 6, 2),  // depthwise 5×5
      (6, 6, 17, 2, 5, 2, 2, 1, 6, 2),
      (5, 5, 11, 12, 5, 1, 0, 1, 5, 1),
      (40, 40, 9, 25, 5, 2, 2, 1, 40, 2),  // > 32 channels, small → own
      (8, 12, 10, 9, 3, 1, 1, 1, 2, 2),  // grouped 2
      (8, 8, 10, 9, 3, 2, 1, 1, 4, 3),  // grouped 4
      (8, 12, 10, 9, 1, 1, 0, 1, 4, 2),  // grouped 1×1
      (4, 6, 12, 11, 3, 1, 2, 2, 1, 2),  // dilation 2 dense
      (6, 6, 12, 11, 3, 1, 2, 2, 6, 2),  // dilation 2 depthwise
      (6, 6, 12, 11, 3, 2, 1, 2, 6, 2),
      (1, 1, 8, 8, 3, 1, 1, 1, 1, 1),  // single channel (groups 1 = in = out)
      // oneDNN (≥ 2^24 multiply-adds): dense, depthwise > 32 channels, grouped
      (16, 16, 128, 128, 3, 1, 1, 1, 1, 1),
      (48, 48, 200, 200, 3, 1, 1, 1, 48, 1),
      (48, 48, 300, 301, 3, 2, 1, 1, 48, 1),
      (32, 32, 128, 128, 3, 1, 1, 1, 4, 1),
      (16, 16, 64, 64, 3, 1, 2, 2, 1, 2),
    ]
    var rng = Xoshiro256(seed: 1007)
    var failures: [String] = []
    var checks = 0
    for (cin, cout, h, w, k, s, p, d, groups, n) in cases {
      let x = Tensor.normal([n, cin, h, w], rng: &rng)
      let fanIn = Float(cin / groups * k * k)
      let wt = Tensor.normal(
        [cout, cin / groups, k, k], std: 1 / fanIn.squareRoot(), rng: &rng)
      let b = Tensor.normal([cout], rng: &rng)
      for bias in [b, nil] {
        let plain = withNoGrad {
          x.conv2d(weight: wt, bias: bias, stride: s, padding: p, dilation: d, groups: groups)
        }
        let ref = refConv(x, wt, bias, stride: s, padding: p, dilation: d, groups: groups)
        for a in activations {
          let label = "conv \(cin)→\(cout) \(h)×\(w) k\(k) s\(s) p\(p) d\(d) "
            + "g\(groups) n\(n) bias \(bias != nil) \(a)"
          let fused = withNoGrad {
            x.conv2d(
              weight: wt, bias: bias, stride: s, padding: p, dilation: d, groups: groups,
              activation: a)
          }
          let separate = withNoGrad { a(plain) }
          expectClose(fused, separate, label + " vs conv2d→op", &failures)
          expectClose(fused, act(a, ref), label + " vs reference", &failures)
          // Fused through the GradMode-on but nothing-requires-grad path.
          let unrecorded = x.conv2d(
            weight: wt, bias: bias, stride: s, padding: p, dilation: d, groups: groups,
            activation: a)
          if unrecorded.hasGradNode { failures.append("\(label): grad node without requiresGrad") }
          expectClose(unrecorded, separate, label + " grad-on no-requires", &failures)
          checks += 1
        }
      }
    }
    report(failures, "conv2d(activation:)", cases: checks)
  }

  // MARK: foldingBatchNorm

  func testFoldingBatchNorm() {
    var rng = Xoshiro256(seed: 1009)
    var failures: [String] = []
    var checks = 0
    // cin, cout, k, groups, padding
    let convs: [(Int, Int, Int, Int, Int)] = [
      (4, 6, 3, 1, 1), (6, 6, 3, 6, 1), (5, 7, 1, 1, 0), (8, 8, 5, 2, 2), (1, 1, 3, 1, 1),
    ]
    for (cin, cout, k, groups, p) in convs {
      let x = Tensor.normal([2, cin, 9, 7], rng: &rng)
      let w = Tensor.normal([cout, cin / groups, k, k], rng: &rng)
      let gamma = Tensor.normal([cout], rng: &rng)  // negative γ too
      let beta = Tensor.normal([cout], rng: &rng)
      let mean = Tensor.normal([cout], std: 3, rng: &rng)
      for variance in [
        Tensor.uniform([cout], low: 0.1, high: 3, rng: &rng),
        Tensor.uniform([cout], low: 0, high: 1e-6, rng: &rng),
      ] {
        for eps: Float in [1e-5, 1e-3, 0.1, 1e-12] {
          for bias in [Tensor.normal([cout], rng: &rng), nil] {
            let label = "fold \(cin)→\(cout) k\(k) g\(groups) eps \(eps) bias \(bias != nil) "
              + "var max \(variance.scalars.max()!)"
            let separate = withNoGrad {
              x.conv2d(weight: w, bias: bias, padding: p, groups: groups).batchNorm(
                gamma: gamma, beta: beta, runningMean: mean, runningVar: variance,
                training: false, eps: eps)
            }
            let f = Tensor.foldingBatchNorm(
              weight: w, bias: bias, gamma: gamma, beta: beta, runningMean: mean,
              runningVar: variance, eps: eps)
            let y = withNoGrad {
              x.conv2d(weight: f.weight, bias: f.bias, padding: p, groups: groups)
            }
            // Folding multiplies by 1/√(var+eps) before the sum, so tiny
            // variances scale values up: allow 1e-4 of the output scale.
            expectClose(y, separate, label, &failures)
            // Differentiable (recording) path gives the same values.
            let wg = w.detached()
            wg.requiresGrad = true
            let fg = Tensor.foldingBatchNorm(
              weight: wg, bias: bias, gamma: gamma, beta: beta, runningMean: mean,
              runningVar: variance, eps: eps)
            expectClose(fg.weight.detached(), f.weight, label + " recorded weight", &failures)
            expectClose(fg.bias.detached(), f.bias, label + " recorded bias", &failures)
            if !fg.weight.hasGradNode {
              failures.append("\(label): recorded fold has no grad node")
            }
            if f.weight.hasGradNode || f.bias.hasGradNode {
              failures.append("\(label): plain fold has a grad node")
            }
            checks += 1
          }
        }
      }
    }
    report(failures, "foldingBatchNorm", cases: checks)
  }

  // MARK: recording fallbacks

  private func gradCheck(
    _ t: Tensor?, _ name: String, _ label: String, _ failures: inout [String]
  ) {
    guard let t else { return }
    guard let g = t.grad else {
      failures.append("\(label): \(name) has no grad")
      return
    }
    if g.shape != t.shape {
      failures.append("\(label): \(name) grad shape \(g.shape) vs \(t.shape)")
    }
    let s = g.scalars
    if !s.contains(where: { $0 != 0 }) { failures.append("\(label): \(name) grad all zero") }
    if s.contains(where: { !$0.isFinite }) { failures.append("\(label): \(name) grad non-finite") }
  }

  func testRecordingFallsBackAndDifferentiates() {
    var rng = Xoshiro256(seed: 1015)
    var failures: [String] = []
    var checks = 0

    // conv2d(activation:): each of x, w, b alone requiring grad.
    for a in activations {
      for which in 0..<3 {
        for groups in [1, 4] {
          let x = Tensor.normal([2, 4, 7, 6], rng: &rng)
          let w = Tensor.normal([8, 4 / groups, 3, 3], rng: &rng)
          let b = Tensor.normal([8], rng: &rng)
          let fusedValues = withNoGrad {
            x.conv2d(weight: w, bias: b, stride: 2, padding: 1, groups: groups, activation: a)
          }
          [x, w, b][which].requiresGrad = true
          let y = x.conv2d(weight: w, bias: b, stride: 2, padding: 1, groups: groups, activation: a)
          let label = "record conv \(a) grad on \(["x", "w", "b"][which]) g\(groups)"
          if !y.hasGradNode { failures.append("\(label): no grad node") }
          expectClose(y.detached(), fusedValues, label + " values", &failures)
          let seed = Tensor.normal(y.shape, rng: &rng)
          (y * seed).sum().backward()
          gradCheck([x, w, b][which], ["x", "w", "b"][which], label, &failures)
          // Under withNoGrad, requiresGrad inputs: fused and no node.
          let z = withNoGrad {
            x.conv2d(weight: w, bias: b, stride: 2, padding: 1, groups: groups, activation: a)
          }
          if z.hasGradNode { failures.append("\(label): withNoGrad result has a node") }
          checks += 1
        }
      }
    }

    // foldingBatchNorm: gradients reach weight, bias, γ, β through a conv.
    do {
      let x = Tensor.normal([2, 3, 6, 5], rng: &rng)
      let w = Tensor.normal([4, 3, 3, 3], rng: &rng)
      let b = Tensor.normal([4], rng: &rng)
      let gamma = Tensor.normal([4], rng: &rng), beta = Tensor.normal([4], rng: &rng)
      let mean = Tensor.normal([4], rng: &rng)
      let variance = Tensor.uniform([4], low: 0.5, high: 2, rng: &rng)
      for t in [w, b, gamma, beta] { t.requiresGrad = true }
      let f = Tensor.foldingBatchNorm(
        weight: w, bias: b, gamma: gamma, beta: beta, runningMean: mean, runningVar: variance)
      let y = x.conv2d(weight: f.weight, bias: f.bias, padding: 1, activation: .hardswish)
      (y * Tensor.normal(y.shape, rng: &rng)).sum().backward()
      for (t, name) in [(w, "w"), (b, "b"), (gamma, "gamma"), (beta, "beta")] {
        gradCheck(t, name, "record fold", &failures)
      }
      checks += 1
    }

    // invertedResidual: each one of x, a weight, a bias alone requiring grad.
    for which in 0..<5 {
      for (s, residual, expand) in [(1, true, true), (2, false, true), (1, true, false)] {
        let c = 3, m = expand ? 7 : 3
        let x = Tensor.normal([2, c, 9, 8], rng: &rng)
        let e = expand ? unit([m, c, 1, 1], .hardswish, bias: true, rng: &rng) : nil
        let d = unit([m, 1, 3, 3], .relu, bias: true, rng: &rng)
        let p = unit([c, m, 1, 1], .identity, bias: true, rng: &rng)
        let fusedValues = withNoGrad {
          x.invertedResidual(expand: e, depthwise: d, project: p, stride: s, residual: residual)
        }
        let targets: [(Tensor?, String)] = [
          (x, "x"), (e?.weight, "expand w"), (d.weight, "dw w"), (d.bias, "dw b"),
          (p.bias, "proj b"),
        ]
        guard let target = targets[which].0 else { continue }
        target.requiresGrad = true
        let y = x.invertedResidual(
          expand: e, depthwise: d, project: p, stride: s, residual: residual)
        let label = "record IR grad on \(targets[which].1) s\(s) "
          + "residual \(residual) expand \(expand)"
        if !y.hasGradNode { failures.append("\(label): no grad node") }
        expectClose(y.detached(), fusedValues, label + " values", &failures)
        (y * Tensor.normal(y.shape, rng: &rng)).sum().backward()
        gradCheck(target, targets[which].1, label, &failures)
        checks += 1
      }
    }

    // reluLinearAttention: only the second of two parts requires grad.
    do {
      let a = Tensor.normal([2, 6, 4, 5], rng: &rng)
      let b = Tensor.normal([2, 12, 4, 5], rng: &rng)
      let fusedValues = withNoGrad { Tensor.reluLinearAttention([a, b], headDim: 2, eps: 1e-6) }
      b.requiresGrad = true
      let y = Tensor.reluLinearAttention([a, b], headDim: 2, eps: 1e-6)
      if !y.hasGradNode { failures.append("record attention: no grad node") }
      expectClose(y.detached(), fusedValues, "record attention values", &failures)
      (y * Tensor.normal(y.shape, rng: &rng)).sum().backward()
      gradCheck(b, "b", "record attention", &failures)
      if a.grad != nil { failures.append("record attention: a got a grad") }
      checks += 1
    }
    report(failures, "recording fallbacks", cases: checks)
  }

  // MARK: stale pool memory, misuse probes

  /// Puts two NaN-filled buffers of each count (pooled sizes only) into
  /// the pool, so a kernel that reads memory it never wrote shows NaN.
  private func poison(_ counts: [Int]) {
    for c in Set(counts) where c >= BufferPool.minimumCount {
      let a = BufferPool.take(count: c), b = BufferPool.take(count: c)
      a.initialize(repeating: .nan, count: c)
      b.initialize(repeating: .nan, count: c)
      BufferPool.give(a, count: c)
      BufferPool.give(b, count: c)
    }
  }

  func testFusedOpsNeverReadStalePoolMemory() {
    var rng = Xoshiro256(seed: 1017)
    var failures: [String] = []
    var checks = 0
    let irCases: [IRCase] = [
      IRCase(c: 16, m: 96, o: 16, h: 130, w: 67, k: 3, s: 1, expand: true, residual: true, n: 1),
      IRCase(c: 16, m: 96, o: 24, h: 131, w: 67, k: 5, s: 2, expand: true, residual: false, n: 2),
      IRCase(c: 4, m: 200, o: 4, h: 21, w: 400, k: 7, s: 1, expand: true, residual: true, n: 1),
      IRCase(c: 40, m: 40, o: 40, h: 130, w: 67, k: 7, s: 2, expand: false, residual: false, n: 1),
      IRCase(c: 3, m: 12, o: 5, h: 1001, w: 1, k: 7, s: 2, expand: true, residual: false, n: 2),
    ]
    for cs in irCases {
      for a in activations {
        let x = Tensor.normal([cs.n, cs.c, cs.h, cs.w], rng: &rng)
        let m = cs.expand ? cs.m : cs.c
        let e = cs.expand ? unit([m, cs.c, 1, 1], a, bias: false, rng: &rng) : nil
        let d = unit([m, 1, cs.k, cs.k], a, bias: false, rng: &rng)
        let p = unit([cs.o, m, 1, 1], a, bias: false, rng: &rng)
        let g = InvertedResidualGeometry(
          batch: cs.n, inChannels: cs.c, height: cs.h, width: cs.w, midChannels: m,
          outChannels: cs.o, kernel: cs.k, stride: cs.s, hasExpand: cs.expand,
          residual: cs.residual)
        let band = InvertedResidualKernel.bandRows(g)
        let ringRows = (band - 1) * cs.s + cs.k
        poison([
          cs.n * cs.o * g.outH * g.outW, m * ringRows * cs.w, ringRows * (cs.w + 2 * (cs.k / 2)),
          m * band * g.outW,
        ])
        let fused = withNoGrad {
          x.invertedResidual(
            expand: e, depthwise: d, project: p, stride: cs.s, residual: cs.residual)
        }
        let label = "poisoned IR c\(cs.c) m\(m) \(cs.h)×\(cs.w) k\(cs.k) "
          + "s\(cs.s) \(a) band \(band)"
        let bad = fused.scalars.filter { !$0.isFinite }.count
        if bad > 0 { failures.append("\(label): \(bad) non-finite") }
        expectClose(fused, refBlock(x, e, d, p, cs.s, cs.residual), label, &failures)
        checks += 1
      }
    }
    for (h, w, d) in [(32, 32, 16), (45, 47, 16), (50, 60, 32), (33, 31, 8)] {
      let t = h * w, n = 2
      let x = Tensor.normal([n, 3 * d * 2, h, w], rng: &rng)
      poison([d * min(t, 1024) + d * d + d, n * d * 2 * t])
      let fused = withNoGrad { Tensor.reluLinearAttention([x], headDim: d, eps: 1e-6) }
      let label = "poisoned attention \(h)×\(w) d\(d)"
      let bad = fused.scalars.filter { !$0.isFinite }.count
      if bad > 0 { failures.append("\(label): \(bad) non-finite") }
      expectClose(fused, attentionReference([x], d: d, eps: 1e-6), label, &failures)
      checks += 1
    }
    for (cin, cout, h, w, k, s, p, groups) in [
      (16, 64, 130, 67, 1, 1, 0, 1), (16, 64, 130, 67, 1, 1, 0, 4), (24, 24, 130, 67, 3, 2, 1, 24),
      (8, 8, 200, 100, 5, 1, 2, 8),
    ] {
      for a in activations {
        let x = Tensor.normal([1, cin, h, w], rng: &rng)
        let wt = Tensor.normal([cout, cin / groups, k, k], std: 0.3, rng: &rng)
        let oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1
        poison([cout * oh * ow, (h + 2 * p) * (w + 2 * p)])
        let fused = withNoGrad {
          x.conv2d(weight: wt, stride: s, padding: p, groups: groups, activation: a)
        }
        let label = "poisoned conv \(cin)→\(cout) k\(k) s\(s) g\(groups) \(a)"
        let bad = fused.scalars.filter { !$0.isFinite }.count
        if bad > 0 { failures.append("\(label): \(bad) non-finite") }
        expectClose(
          fused, act(a, refConv(x, wt, nil, stride: s, padding: p, groups: groups)), label,
          &failures)
        checks += 1
      }
    }
    report(failures, "stale pool memory", cases: checks)
  }

  func testGradModeOnWithoutRequiresGradTakesFusedPaths() {
    var rng = Xoshiro256(seed: 1019)
    let x = Tensor.normal([2, 4, 11, 9], rng: &rng)
    let e = unit([12, 4, 1, 1], .hardswish, bias: true, rng: &rng)
    let d = unit([12, 1, 5, 5], .relu, bias: true, rng: &rng)
    let p = unit([4, 12, 1, 1], .identity, bias: false, rng: &rng)
    let y = x.invertedResidual(expand: e, depthwise: d, project: p, stride: 1, residual: true)
    XCTAssertFalse(y.hasGradNode)
    var failures: [String] = []
    expectClose(y, refBlock(x, e, d, p, 1, true), "IR grad on, nothing requires", &failures)
    let q = Tensor.normal([2, 48, 7, 9], rng: &rng)
    let z = Tensor.reluLinearAttention([q], headDim: 8, eps: 1e-6)
    XCTAssertFalse(z.hasGradNode)
    expectClose(z, attentionReference([q], d: 8, eps: 1e-6), "attention grad on", &failures)
    report(failures, "grad on, nothing requires", cases: 2)
  }

  /// A padded input shorter than the (dilated) kernel by less than the
  /// stride: integer division rounds −1/2 to 0, which once gave one output
  /// row and a depthwise kernel reading past its buffer. PyTorch rejects
  /// these shapes (output size 0); `conv2d` and `invertedResidual` now
  /// stop on their `outH > 0` preconditions, which this checks through the
  /// geometry they compute (a stopped process cannot be caught here).
  func testWindowThatDoesNotFitGivesNoOutput() {
    // height, padding, kernel, dilation, stride → expected output height
    let cases: [(Int, Int, Int, Int, Int, Int)] = [
      (2, 0, 3, 1, 2, 0), (2, 0, 3, 1, 3, 0), (6, 0, 7, 1, 2, 0),
      (0, 1, 3, 1, 2, 0), (2, 0, 2, 2, 2, 0), (1, 0, 2, 1, 2, 0),
      (3, 0, 3, 1, 2, 1), (4, 0, 3, 1, 2, 1), (5, 0, 3, 1, 2, 2),
      (0, 1, 2, 1, 1, 1), (5, 0, 2, 2, 2, 2),
    ]
    for (h, p, k, d, s, expected) in cases {
      let g = ConvGeometry(
        batch: 1, inChannels: 2, height: h, width: h, outChannels: 2,
        kernelH: k, kernelW: k, stride: s, padding: p, dilation: d, groups: 2)
      XCTAssertEqual(g.outH, expected, "h \(h) p \(p) k \(k) d \(d) s \(s)")
      XCTAssertEqual(g.outW, expected, "w \(h) p \(p) k \(k) d \(d) s \(s)")
    }
    let empty = InvertedResidualGeometry(
      batch: 1, inChannels: 4, height: 0, width: 5, midChannels: 4,
      outChannels: 4, kernel: 3, stride: 2, hasExpand: false, residual: false)
    XCTAssertEqual(empty.outH, 0)
    XCTAssertEqual(empty.outW, 3)
    XCTAssertEqual(ConvGeometry.outputSize(-1, 2), 0)
    XCTAssertEqual(ConvGeometry.outputSize(0, 2), 1)
    XCTAssertEqual(ConvGeometry.outputSize(5, 2), 3)
  }

  func testConvActivationOddKernelsAndPaddings() {
    // cin, cout, h, w, kh, kw, stride, padding, dilation, groups, batch
    let cases: [(Int, Int, Int, Int, Int, Int, Int, Int, Int, Int, Int)] = [
      (6, 6, 9, 10, 1, 1, 2, 0, 1, 6, 2),  // depthwise 1×1 stride 2 (p 0 deinterleave)
      (6, 6, 9, 10, 1, 1, 1, 0, 1, 6, 1),
      (6, 6, 9, 10, 2, 2, 2, 0, 1, 6, 2),  // even kernels
      (6, 6, 9, 10, 4, 4, 2, 1, 1, 6, 1),
      (6, 6, 9, 11, 3, 3, 2, 0, 1, 6, 2),
      (6, 6, 8, 8, 3, 3, 1, 3, 1, 6, 1),  // padding > k/2
      (6, 6, 8, 8, 3, 3, 2, 4, 1, 6, 1),  // padding > kernel
      (3, 5, 8, 8, 3, 3, 2, 4, 1, 1, 2),
      (6, 6, 9, 10, 1, 3, 1, 1, 1, 6, 2),  // 1×3, 3×1, 1×7 depthwise
      (6, 6, 9, 10, 3, 1, 2, 1, 1, 6, 2),
      (6, 6, 9, 37, 1, 7, 1, 3, 1, 6, 1),
      (4, 6, 9, 10, 1, 3, 1, 1, 1, 2, 2),  // rectangular grouped dense
      (40, 40, 33, 47, 5, 5, 2, 2, 1, 40, 1),  // ragged SIMD tails, s2
      (8, 8, 17, 16, 7, 7, 1, 3, 1, 8, 2),
      (8, 8, 17, 16, 7, 7, 2, 3, 1, 8, 2),
      (8, 8, 16, 33, 3, 3, 2, 1, 3, 8, 1),  // dilation 3, stride 2
    ]
    var rng = Xoshiro256(seed: 1025)
    var failures: [String] = []
    var checks = 0
    for (cin, cout, h, w, kh, kw, s, p, d, groups, n) in cases {
      let x = Tensor.normal([n, cin, h, w], rng: &rng)
      let wt = Tensor.normal([cout, cin / groups, kh, kw], std: 0.5, rng: &rng)
      for bias in [Tensor.normal([cout], rng: &rng), nil] {
        let ref = refConv(x, wt, bias, stride: s, padding: p, dilation: d, groups: groups)
        for a in activations {
          let label = "conv \(cin)→\(cout) \(h)×\(w) k\(kh)×\(kw) s\(s) p\(p) "
            + "d\(d) g\(groups) n\(n) bias \(bias != nil) \(a)"
          let fused = withNoGrad {
            x.conv2d(
              weight: wt, bias: bias, stride: s, padding: p, dilation: d, groups: groups,
              activation: a)
          }
          expectClose(fused, act(a, ref), label, &failures)
          checks += 1
        }
      }
    }
    report(failures, "conv2d odd kernels/paddings", cases: checks)
  }

  func testInvertedResidualNarrowExpansion() {
    var rng = Xoshiro256(seed: 1029)
    var failures: [String] = []
    var checks = 0
    // Expansion narrower than the input (M < C), wide C.
    for cs in [
      IRCase(c: 200, m: 7, o: 200, h: 19, w: 23, k: 5, s: 1, expand: true, residual: true, n: 2),
      IRCase(c: 64, m: 3, o: 9, h: 40, w: 41, k: 7, s: 2, expand: true, residual: false, n: 1),
    ] {
      runIR(
        cs, acts: (.relu, .hardswish, .identity), biases: (true, true, true),
        rng: &rng, &failures)
      checks += 1
    }
    report(failures, "narrow expansion", cases: checks)
  }
}
