import XCTest

@testable import Tensor

/// Shared checks of the fused-op edge-case suites: relative error against
/// a reference, failures collected and reported together, reference
/// convolutions and blocks, and a float64 loop for the ReLU attention.
class FusedEdgeCaseTestCase: XCTestCase {
  let activations: [ConvActivation] = [.identity, .relu, .hardswish]

  // MARK: helpers

  /// Largest finite relative error of the passing and failing checks.
  var maxRel: Float = 0

  /// max|a − e| / max(1, max|e|); NaN/inf in `a` where `e` is finite → ∞.
  /// NaN in both at the same element counts as equal.
  func relError(_ a: Tensor, _ e: Tensor) -> Float {
    guard a.shape == e.shape else { return .infinity }
    let av = a.scalars, ev = e.scalars
    var worst: Float = 0, scale: Float = 1
    for v in ev where v.isFinite { scale = max(scale, abs(v)) }
    for i in 0..<av.count {
      if av[i].isNaN && ev[i].isNaN { continue }
      if !av[i].isFinite || !ev[i].isFinite {
        if av[i] != ev[i] { return .infinity }
        continue
      }
      worst = max(worst, abs(av[i] - ev[i]))
    }
    return worst / scale
  }

  /// Where the largest difference is, for the report.
  func worstElement(_ a: Tensor, _ e: Tensor) -> String {
    guard a.shape == e.shape else { return "shape \(a.shape) vs \(e.shape)" }
    let av = a.scalars, ev = e.scalars
    var wi = 0, wd: Float = -1
    for i in 0..<av.count {
      let d = (av[i].isNaN != ev[i].isNaN) ? Float.infinity : abs(av[i] - ev[i])
      if d > wd { wd = d; wi = i }
    }
    guard !av.isEmpty else { return "empty" }
    return "element \(wi): got \(av[wi]), expected \(ev[wi])"
  }

  func expectClose(
    _ a: Tensor, _ e: Tensor, tol: Float = 1e-4, _ label: String,
    _ failures: inout [String]
  ) {
    let r = relError(a, e)
    if r.isFinite { maxRel = max(maxRel, r) }
    if !(r <= tol) {
      failures.append("\(label): rel \(r) — \(worstElement(a, e))")
    }
  }

  func report(_ failures: [String], _ what: String, cases: Int) {
    XCTAssertGreaterThan(cases, 0, "\(what): no checks ran")
    XCTAssert(
      failures.isEmpty,
      "\(what): \(failures.count) of \(cases) checks failed (largest passing "
        + "relative error \(maxRel)):\n" + failures.joined(separator: "\n"))
  }

  func act(_ a: ConvActivation, _ y: Tensor) -> Tensor {
    switch a {
    case .identity: return y
    case .relu: return y.reluReference()
    case .hardswish: return y.hardswishReference()
    }
  }

  /// Direct loops for small convolutions (≤ 4M multiply-adds), else the
  /// plain (identity) `conv2d`; no activation.
  func refConv(
    _ x: Tensor, _ w: Tensor, _ b: Tensor?, stride: Int = 1, padding: Int = 0,
    dilation: Int = 1, groups: Int = 1
  ) -> Tensor {
    let g = ConvGeometry(
      batch: x.shape[0], inChannels: x.shape[1], height: x.shape[2], width: x.shape[3],
      outChannels: w.shape[0], kernelH: w.shape[2], kernelW: w.shape[3], stride: stride,
      padding: padding, dilation: dilation, groups: groups)
    let macs = g.batch * g.outChannels * g.outH * g.outW * g.patch
    if macs > 4_000_000 {
      return withNoGrad {
        x.conv2d(
          weight: w, bias: b, stride: stride, padding: padding, dilation: dilation,
          groups: groups)
      }
    }
    let y = Tensor.empty(g.outputShape)
    Conv2DReference.forward(
      g, x: x.storage.pointer, w: w.storage.pointer,
      bias: b.map { UnsafePointer($0.storage.pointer) }, y: y.storage.pointer)
    return y
  }

  func refBlock(
    _ x: Tensor, _ e: ConvUnit?, _ d: ConvUnit, _ p: ConvUnit, _ s: Int, _ residual: Bool
  ) -> Tensor {
    var h = x
    if let e { h = act(e.activation, refConv(h, e.weight, e.bias)) }
    let k = d.weight.shape[2]
    h = act(
      d.activation,
      refConv(h, d.weight, d.bias, stride: s, padding: k / 2, groups: d.weight.shape[0]))
    h = act(p.activation, refConv(h, p.weight, p.bias))
    return residual ? withNoGrad { x + h } : h
  }

  func unit(
    _ shape: [Int], _ a: ConvActivation, bias: Bool, rng: inout Xoshiro256
  ) -> ConvUnit {
    let fanIn = shape[1] * shape[2] * shape[3]
    return ConvUnit(
      weight: Tensor.normal(shape, std: 1.5 / Float(fanIn).squareRoot(), rng: &rng),
      bias: bias ? Tensor.normal([shape[0]], rng: &rng) : nil, activation: a)
  }

  // MARK: invertedResidual

  struct IRCase {
    var c, m, o, h, w, k, s: Int
    var expand, residual: Bool
    var n: Int
  }

  func runIR(
    _ cs: IRCase, acts: (ConvActivation, ConvActivation, ConvActivation),
    biases: (Bool, Bool, Bool), rng: inout Xoshiro256, _ failures: inout [String]
  ) {
    let x = Tensor.normal([cs.n, cs.c, cs.h, cs.w], rng: &rng)
    let m = cs.expand ? cs.m : cs.c
    let e = cs.expand ? unit([m, cs.c, 1, 1], acts.0, bias: biases.0, rng: &rng) : nil
    let d = unit([m, 1, cs.k, cs.k], acts.1, bias: biases.1, rng: &rng)
    let p = unit([cs.o, m, 1, 1], acts.2, bias: biases.2, rng: &rng)
    let fused = withNoGrad {
      x.invertedResidual(expand: e, depthwise: d, project: p, stride: cs.s, residual: cs.residual)
    }
    let label = "IR c\(cs.c) m\(m) o\(cs.o) \(cs.h)×\(cs.w) k\(cs.k) s\(cs.s) "
      + "expand \(cs.expand) residual \(cs.residual) n\(cs.n) acts \(acts) biases \(biases)"
    let reference = refBlock(x, e, d, p, cs.s, cs.residual)
    let outH = (cs.h - 1) / cs.s + 1, outW = (cs.w - 1) / cs.s + 1
    if fused.shape != [cs.n, cs.o, outH, outW] {
      failures.append("\(label): shape \(fused.shape)")
    }
    expectClose(fused, reference, label + " vs reference", &failures)
    // Also against the block's own composed path (no grad → fused convs).
    let composed = withNoGrad { x.composed(e, d, p, cs.s, cs.residual) }
    expectClose(fused, composed, label + " vs composed", &failures)
    // Deterministic: a second call gives the same bits (pool reuse, threads).
    let again = withNoGrad {
      x.invertedResidual(expand: e, depthwise: d, project: p, stride: cs.s, residual: cs.residual)
    }
    if again.scalars != fused.scalars { failures.append("\(label): not deterministic") }
  }


  /// Float64 loops: out_t = (V φ(K)ᵀ) φ(q_t) / (Σφ(k)ᵀ φ(q_t) + eps).
  func attentionReference(_ parts: [Tensor], d: Int, eps: Float) -> Tensor {
    let n = parts[0].shape[0], h = parts[0].shape[2], w = parts[0].shape[3], t = h * w
    let heads = parts.map { $0.shape[1] / (3 * d) }
    let total = heads.reduce(0, +)
    var out = [Float](repeating: 0, count: n * total * d * t)
    for img in 0..<n {
      var head = 0
      for (pi, part) in parts.enumerated() {
        let v = part.scalars, ch = part.shape[1]
        for j in 0..<heads[pi] {
          let base = (img * ch + j * 3 * d) * t
          func q(_ i: Int, _ u: Int) -> Double { max(Double(v[base + i * t + u]), 0) }
          func k(_ i: Int, _ u: Int) -> Double { max(Double(v[base + (d + i) * t + u]), 0) }
          func vv(_ i: Int, _ u: Int) -> Double { Double(v[base + (2 * d + i) * t + u]) }
          var kv = [Double](repeating: 0, count: d * d), ks = [Double](repeating: 0, count: d)
          for u in 0..<t {
            for b in 0..<d {
              let kb = k(b, u)
              ks[b] += kb
              if kb == 0 { continue }
              for a in 0..<d { kv[a * d + b] += vv(a, u) * kb }
            }
          }
          let ob = (img * total + head) * d * t
          for u in 0..<t {
            var den = Double(eps)
            for b in 0..<d { den += ks[b] * q(b, u) }
            for a in 0..<d {
              var num = 0.0
              for b in 0..<d { num += kv[a * d + b] * q(b, u) }
              out[ob + a * t + u] = Float(num / den)
            }
          }
          head += 1
        }
      }
    }
    return tensor([n, total * d, h, w], out)
  }
}
