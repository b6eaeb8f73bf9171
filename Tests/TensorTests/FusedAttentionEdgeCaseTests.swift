import XCTest

@testable import Tensor

/// `Tensor.reluLinearAttention` (nothing recording) over token counts
/// around its block size, several parts and heads, head widths 1–64,
/// all-negative keys or queries, and tens of thousands of tokens, against
/// a float64 loop and the composed ops.
final class FusedAttentionEdgeCaseTests: FusedEdgeCaseTestCase {
  func testReluLinearAttentionEdgeCases() {
    var rng = Xoshiro256(seed: 1011)
    var failures: [String] = []
    var checks = 0
    // token grids: 1, 7, 1023, 1024, 1025, 2048, 3000
    let grids: [(Int, Int)] = [
      (1, 1), (7, 1), (1, 7), (31, 33), (32, 32), (5, 205), (32, 64), (50, 60),
    ]
    // heads per part
    let layouts: [[Int]] = [[1], [3], [2, 1], [1, 1, 2]]
    var i = 0
    for (h, w) in grids {
      for d in [8, 16, 32, 1, 3] {
        let heads = layouts[i % layouts.count]
        let n = [1, 2, 3][i % 3]
        let eps: Float = [1e-6, 1e-15, 1, 1e-3][i % 4]
        i += 1
        // Skip the slowest float64 references.
        if d == 32 && h * w >= 2048 && heads.reduce(0, +) * n > 3 { continue }
        let parts = heads.map { Tensor.normal([n, 3 * d * $0, h, w], rng: &rng) }
        let label = "attn \(h)×\(w) d\(d) heads \(heads) n\(n) eps \(eps)"
        let fused = withNoGrad { Tensor.reluLinearAttention(parts, headDim: d, eps: eps) }
        let composed = withNoGrad { Tensor.linearAttentionComposed(parts, headDim: d, eps: eps) }
        let reference = attentionReference(parts, d: d, eps: eps)
        expectClose(fused, reference, label + " vs float64", &failures)
        expectClose(fused, composed, label + " vs composed", &failures)
        checks += 1
      }
    }
    report(failures, "reluLinearAttention", cases: checks)
  }

  func testReluLinearAttentionNegativeKeysAndQueries() {
    var rng = Xoshiro256(seed: 1013)
    var failures: [String] = []
    var checks = 0
    for (h, w) in [(1, 1), (33, 31), (41, 50)] {
      for d in [8, 16] {
        for eps: Float in [1e-6, 1e-15, 0] {
          for mode in ["keys", "queries", "both", "one head keys"] {
            let n = 2, heads = 2
            let x = Tensor.normal([n, 3 * d * heads, h, w], rng: &rng)
            x.withUnsafeMutableBufferPointer { p in
              let t = h * w
              for img in 0..<n {
                for head in 0..<heads {
                  if mode == "one head keys" && head == 1 { continue }
                  let base = (img * 3 * d * heads + head * 3 * d) * t
                  for c in 0..<d {
                    for u in 0..<t {
                      let key = base + (d + c) * t + u
                      if mode != "queries" { p[key] = -abs(p[key]) - 0.1 }
                      if mode == "queries" || mode == "both" {
                        p[base + c * t + u] = -abs(p[base + c * t + u]) - 0.1
                      }
                    }
                  }
                }
              }
            }
            let label = "attn negative \(mode) \(h)×\(w) d\(d) eps \(eps)"
            let fused = withNoGrad { Tensor.reluLinearAttention([x], headDim: d, eps: eps) }
            let composed = withNoGrad { Tensor.linearAttentionComposed([x], headDim: d, eps: eps) }
            expectClose(fused, composed, label + " vs composed", &failures)
            let nonFinite = fused.scalars.filter { !$0.isFinite }.count
            if eps > 0 && nonFinite > 0 {
              failures.append("\(label): \(nonFinite) non-finite values")
            }
            // eps 0 with every key or query zeroed is 0/0: both paths
            // give NaN in the same places (expectClose counts equal NaNs
            // as agreeing).
            checks += 1
          }
        }
      }
    }
    report(failures, "reluLinearAttention negative", cases: checks)
  }

  func testAttentionManyTokensAndWideHeads() {
    var rng = Xoshiro256(seed: 1023)
    var failures: [String] = []
    var checks = 0
    // 65 536 and 66 049 tokens (64 blocks + ragged), d 16; d 64 over 3 blocks.
    for (h, w, d, heads) in [(256, 256, 16, 1), (257, 257, 8, 2), (33, 70, 64, 2)] {
      let x = Tensor.normal([1, 3 * d * heads, h, w], rng: &rng)
      let fused = withNoGrad { Tensor.reluLinearAttention([x], headDim: d, eps: 1e-6) }
      let label = "attention \(h)×\(w) d\(d) heads \(heads)"
      expectClose(fused, attentionReference([x], d: d, eps: 1e-6), label + " vs float64", &failures)
      expectClose(
        fused, withNoGrad { Tensor.linearAttentionComposed([x], headDim: d, eps: 1e-6) },
        label + " vs composed", &failures)
      checks += 1
    }
    report(failures, "many tokens, wide heads", cases: checks)
  }
}
