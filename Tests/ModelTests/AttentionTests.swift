import XCTest

@testable import Model
@testable import Tensor

final class AttentionTests: XCTestCase {
  /// The linear form equals the explicit quadratic one:
  /// out_t = Σ_u A_tu v_u / Σ_u A_tu with A = ReLU(Q) ReLU(K)ᵀ (T×T).
  func testLinearAttentionEqualsQuadraticForm() throws {
    let b = 2, hd = 4, t = 7
    var rng = Xoshiro256(seed: 11)
    let qkv = Tensor.normal([b, 3 * hd, t], rng: &rng)
    let out = LinearAttention.attend(qkv, headDim: hd).scalars
    let x = qkv.scalars
    func at(_ batch: Int, _ row: Int, _ tok: Int) -> Double {
      Double(x[(batch * 3 * hd + row) * t + tok])
    }
    var maxErr = 0.0
    for n in 0..<b {
      for i in 0..<t {
        var a = [Double](repeating: 0, count: t)
        for j in 0..<t {
          for c in 0..<hd {
            a[j] += max(at(n, c, i), 0) * max(at(n, hd + c, j), 0)
          }
        }
        let rowSum = a.reduce(0, +)
        for c in 0..<hd {
          var v = 0.0
          for j in 0..<t { v += a[j] * at(n, 2 * hd + c, j) }
          let want = v / (rowSum + Double(LinearAttention.epsilon))
          let got = Double(out[(n * hd + c) * t + i])
          maxErr = max(maxErr, abs(got - want) / max(abs(want), 1e-3))
        }
      }
    }
    XCTAssertLessThan(maxErr, 1e-5)
  }

  /// Gradients through the linear attention match central differences.
  func testLinearAttentionGradient() throws {
    let hd = 2, t = 5
    var rng = Xoshiro256(seed: 5)
    let qkv = Tensor.normal([1, 3 * hd, t], rng: &rng)
    qkv.requiresGrad = true
    let w = Tensor.normal([1, hd, t], rng: &rng)
    (LinearAttention.attend(qkv, headDim: hd) * w).sum().backward()
    let analytic = qkv.grad!.scalars
    let values = qkv.scalars
    let h: Float = 1e-2
    for i in values.indices {
      func f(_ delta: Float) -> Double {
        var v = values
        v[i] += delta
        let x = try! Tensor(shape: qkv.shape, values: v)
        return Double(withNoGrad {
          (LinearAttention.attend(x, headDim: hd) * w).sum().item
        })
      }
      let numeric = (f(h) - f(-h)) / Double(2 * h)
      XCTAssertEqual(Double(analytic[i]), numeric, accuracy: 2e-2, "\(i)")
    }
  }
}
