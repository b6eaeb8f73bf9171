/// Broadcasting element-wise arithmetic (NumPy rules: shapes align at the
/// right; a dimension of 1 stretches).
extension Tensor {
  /// Applies `Op` to every broadcast pair of elements of `a` and `b`:
  /// SIMD lanes along the last dimension where it is contiguous in both
  /// operands or a repeated scalar in one, else scalar. `broadcastKernel`
  /// (a closure per element) is the reference it is tested against.
  static func broadcastLanes<Op: BinaryLanes>(
    _ a: Tensor, _ b: Tensor, _ op: Op.Type, name: String
  ) -> Tensor {
    guard let shape = Shape.broadcast(a.shape, b.shape) else {
      preconditionFailure(
        "\(name): shapes \(a.shape) and \(b.shape) do not broadcast")
    }
    let out = Tensor.empty(shape)
    let pa = a.storage.pointer, pb = b.storage.pointer
    let po = out.storage.pointer
    if a.shape == b.shape {
      Elementwise.binary(Op.self, out.count, pa, pb, po)
      return out
    }
    let rank = shape.count
    func strides(of s: [Int]) -> [Int] {
      let padded = [Int](repeating: 1, count: rank - s.count) + s
      let st = Shape.strides(padded)
      return (0..<rank).map { padded[$0] == 1 ? 0 : st[$0] }
    }
    let sa = strides(of: a.shape), sb = strides(of: b.shape)
    let inner = rank == 0 ? 1 : shape[rank - 1]
    let ia = rank == 0 ? 0 : sa[rank - 1], ib = rank == 0 ? 0 : sb[rank - 1]
    let rows = out.count / Swift.max(inner, 1)
    let outerShape = Array(shape.dropLast())
    typealias V = SIMD8<Float>
    Parallel.forEach(rows, costPerItem: inner) { row in
      var rem = row, offA = 0, offB = 0
      for d in stride(from: outerShape.count - 1, through: 0, by: -1) {
        let idx = rem % outerShape[d]
        rem /= outerShape[d]
        offA += idx * sa[d]
        offB += idx * sb[d]
      }
      let o = po + row * inner, ra = pa + offA, rb = pb + offB
      var j = 0
      if ia <= 1 && ib <= 1 && (ia | ib) == 1 {
        // Contiguous in one or both; a stride of 0 repeats one value.
        let fixedA = V(repeating: ra[0]), fixedB = V(repeating: rb[0])
        while j + 8 <= inner {
          let va = ia == 1 ? UnsafeRawPointer(ra + j).loadUnaligned(as: V.self) : fixedA
          let vb = ib == 1 ? UnsafeRawPointer(rb + j).loadUnaligned(as: V.self) : fixedB
          UnsafeMutableRawPointer(o + j).storeBytes(of: Op.lanes(va, vb), as: V.self)
          j += 8
        }
      }
      while j < inner {
        o[j] = Op.scalar(ra[j * ia], rb[j * ib])
        j += 1
      }
    }
    return out
  }

  /// Applies `f` to every broadcast pair of elements of `a` and `b` (the
  /// plain reference for `broadcastLanes`).
  static func broadcastKernel(
    _ a: Tensor, _ b: Tensor, op: String, _ f: (Float, Float) -> Float
  ) -> Tensor {
    guard let shape = Shape.broadcast(a.shape, b.shape) else {
      preconditionFailure(
        "\(op): shapes \(a.shape) and \(b.shape) do not broadcast")
    }
    let out = Tensor.empty(shape)
    let pa = a.storage.pointer, pb = b.storage.pointer
    let po = out.storage.pointer
    if a.shape == b.shape {
      Parallel.forRanges(out.count) { r in
        for i in r { po[i] = f(pa[i], pb[i]) }
      }
      return out
    }
    // Strides of a and b in the output's index space (0 where broadcast).
    let rank = shape.count
    func strides(of s: [Int]) -> [Int] {
      let padded = [Int](repeating: 1, count: rank - s.count) + s
      let st = Shape.strides(padded)
      return (0..<rank).map { padded[$0] == 1 ? 0 : st[$0] }
    }
    let sa = strides(of: a.shape), sb = strides(of: b.shape)
    let inner = rank == 0 ? 1 : shape[rank - 1]
    let ia = rank == 0 ? 0 : sa[rank - 1], ib = rank == 0 ? 0 : sb[rank - 1]
    let rows = out.count / Swift.max(inner, 1)
    let outerShape = Array(shape.dropLast())
    Parallel.forEach(rows, costPerItem: inner) { row in
      var rem = row, offA = 0, offB = 0
      for d in stride(from: outerShape.count - 1, through: 0, by: -1) {
        let idx = rem % outerShape[d]
        rem /= outerShape[d]
        offA += idx * sa[d]
        offB += idx * sb[d]
      }
      let o = po + row * inner
      for j in 0..<inner { o[j] = f(pa[offA + j * ia], pb[offB + j * ib]) }
    }
    return out
  }

  /// Sums `self` over broadcast dimensions so the result has `target`
  /// shape (the adjoint of broadcasting `target` to `self.shape`).
  func sumToShape(_ target: [Int]) -> Tensor {
    if shape == target { return self }
    var t = self
    let lead = rank - target.count
    for _ in 0..<lead { t = t.sum(dim: 0, keepDim: false) }
    for d in 0..<target.count where target[d] == 1 && t.shape[d] != 1 {
      t = t.sum(dim: d, keepDim: true)
    }
    return t.reshaped(target)
  }

  /// Element-wise sum with broadcasting.
  public static func + (a: Tensor, b: Tensor) -> Tensor {
    let out = broadcastLanes(a, b, Elementwise.Add.self, name: "add")
    return result(
      shape: out.shape, storage: out.storage, parents: [a, b]
    ) { g, _ in
      [g.sumToShape(a.shape), g.sumToShape(b.shape)]
    }
  }

  /// Element-wise difference with broadcasting.
  public static func - (a: Tensor, b: Tensor) -> Tensor {
    let out = broadcastLanes(a, b, Elementwise.Sub.self, name: "sub")
    return result(
      shape: out.shape, storage: out.storage, parents: [a, b]
    ) { g, _ in
      [g.sumToShape(a.shape), (g * -1).sumToShape(b.shape)]
    }
  }

  /// Element-wise product with broadcasting.
  public static func * (a: Tensor, b: Tensor) -> Tensor {
    let out = broadcastLanes(a, b, Elementwise.Mul.self, name: "mul")
    return result(
      shape: out.shape, storage: out.storage, parents: [a, b]
    ) { g, _ in
      [
        a.requiresGrad ? (g * b).sumToShape(a.shape) : nil,
        b.requiresGrad ? (g * a).sumToShape(b.shape) : nil,
      ]
    }
  }

  /// Element-wise quotient with broadcasting.
  public static func / (a: Tensor, b: Tensor) -> Tensor {
    let out = broadcastLanes(a, b, Elementwise.Div.self, name: "div")
    return result(
      shape: out.shape, storage: out.storage, parents: [a, b]
    ) { g, y in
      [
        a.requiresGrad ? (g / b).sumToShape(a.shape) : nil,
        b.requiresGrad ? (g * y / b * -1).sumToShape(b.shape) : nil,
      ]
    }
  }

  /// Adds a constant to every element.
  public static func + (a: Tensor, s: Float) -> Tensor {
    a.map(op: "addScalar", { $0 + s }, derivative: { _, _ in 1 })
  }

  /// Subtracts a constant from every element.
  public static func - (a: Tensor, s: Float) -> Tensor { a + (-s) }

  /// Multiplies every element by a constant.
  public static func * (a: Tensor, s: Float) -> Tensor {
    a.map(op: "mulScalar", { $0 * s }, derivative: { _, _ in s })
  }

  /// Divides every element by a constant.
  public static func / (a: Tensor, s: Float) -> Tensor { a * (1 / s) }

  /// Negation.
  public static prefix func - (a: Tensor) -> Tensor { a * -1 }
}
