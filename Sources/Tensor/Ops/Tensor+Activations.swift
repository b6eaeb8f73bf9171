import Foundation

/// Element-wise functions. Each keeps the input's shape.
extension Tensor {
  /// Applies `f` element-wise; `derivative(x, y)` gives dy/dx at input `x`
  /// with output `y`.
  @inline(__always)
  func map(
    op: String, _ f: (Float) -> Float,
    derivative: @escaping (Float, Float) -> Float
  ) -> Tensor {
    let out = Tensor.empty(shape)
    let px = storage.pointer, py = out.storage.pointer
    Parallel.forRanges(count) { r in
      for i in r { py[i] = f(px[i]) }
    }
    return Tensor.result(
      shape: shape, storage: out.storage, parents: [self]
    ) { g, y in
      let gx = Tensor.empty(self.shape)
      let pg = g.storage.pointer, pd = gx.storage.pointer
      let pyy = y.storage.pointer
      Parallel.forRanges(self.count) { r in
        for i in r { pd[i] = pg[i] * derivative(px[i], pyy[i]) }
      }
      return [gx]
    }
  }

  /// max(x, 0). Runs `Elementwise.relu`; `reluReference` is the plain
  /// definition it is tested against.
  public func relu() -> Tensor {
    vectorised(Elementwise.relu, backward: Elementwise.reluBackward)
  }

  /// max(x, 0) through `map` (scalar; the reference for `relu`).
  func reluReference() -> Tensor {
    map(op: "relu", { Swift.max($0, 0) }, derivative: { x, _ in x > 0 ? 1 : 0 })
  }

  /// An element-wise op from a forward kernel `(count, x, y)` and a
  /// backward kernel `(count, x, gy, gx)` that needs only the input.
  private func vectorised(
    _ forward: (Int, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void,
    backward: @escaping (
      Int, UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>
    ) -> Void
  ) -> Tensor {
    let out = Tensor.empty(shape)
    forward(count, storage.pointer, out.storage.pointer)
    return Tensor.result(
      shape: shape, storage: out.storage, parents: [self]
    ) { g, _ in
      let gx = Tensor.empty(self.shape)
      backward(self.count, self.storage.pointer, g.storage.pointer, gx.storage.pointer)
      return [gx]
    }
  }

  /// Gaussian error linear unit in its exact form, x·Φ(x) with
  /// Φ(x) = (1 + erf(x/√2))/2 (PyTorch's default, not the tanh
  /// approximation).
  public func gelu() -> Tensor {
    map(op: "gelu", Tensor.geluValue, derivative: { x, _ in Tensor.geluSlope(x) })
  }

  static func geluValue(_ x: Float) -> Float {
    let phi: Float = 0.5 * (1 + Foundation.erf(x * 0.707_106_77))
    return x * phi
  }

  static func geluSlope(_ x: Float) -> Float {
    let phi: Float = 0.5 * (1 + Foundation.erf(x * 0.707_106_77))
    let density: Float = 0.398_942_3 * Foundation.exp(-0.5 * x * x)
    return phi + x * density
  }

  /// x · min(max(x + 3, 0), 6) / 6. Runs `Elementwise.hardswish`;
  /// `hardswishReference` is the plain definition it is tested against.
  public func hardswish() -> Tensor {
    vectorised(Elementwise.hardswish, backward: Elementwise.hardswishBackward)
  }

  /// Hardswish through `map` (scalar; the reference for `hardswish`).
  func hardswishReference() -> Tensor {
    map(
      op: "hardswish",
      { x in x * Swift.min(Swift.max(x + 3, 0), 6) / 6 },
      derivative: { x, _ in x < -3 ? 0 : (x > 3 ? 1 : x / 3 + 0.5) })
  }

  /// 1 / (1 + e^(−x)).
  public func sigmoid() -> Tensor {
    map(
      op: "sigmoid", { x in 1 / (1 + Foundation.exp(-x)) },
      derivative: { _, y in y * (1 - y) })
  }

  /// e^x.
  public func exp() -> Tensor {
    map(op: "exp", { Foundation.exp($0) }, derivative: { _, y in y })
  }

  /// Natural logarithm.
  public func log() -> Tensor {
    map(op: "log", { Foundation.log($0) }, derivative: { x, _ in 1 / x })
  }

  /// Square root.
  public func sqrt() -> Tensor {
    map(op: "sqrt", { $0.squareRoot() }, derivative: { _, y in 0.5 / y })
  }

  /// x².
  public func squared() -> Tensor {
    map(op: "square", { $0 * $0 }, derivative: { x, _ in 2 * x })
  }
}
