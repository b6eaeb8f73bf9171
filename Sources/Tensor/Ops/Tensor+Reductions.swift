/// Sums and means over all elements or along dimensions.
extension Tensor {
  /// Sum of all elements, a one-element tensor of shape `[]`.
  public func sum() -> Tensor {
    let acc = Elementwise.sum(storage.pointer, count: count)
    let out = Tensor(Float(acc))
    return Tensor.result(
      shape: [], storage: out.storage, parents: [self]
    ) { g, _ in
      [Tensor(shape: self.shape, repeating: g.item)]
    }
  }

  /// Mean of all elements, shape `[]`.
  public func mean() -> Tensor { sum() * (1 / Float(Swift.max(count, 1))) }

  /// Sum along `dim` (negative counts from the end); `keepDim` keeps it as
  /// size 1.
  public func sum(dim: Int, keepDim: Bool = false) -> Tensor {
    let d = Shape.axis(dim, rank: rank, op: "sum")
    let (outer, n, inner) = Shape.split(shape, at: d)
    var kept = shape
    kept[d] = 1
    let out = Tensor.empty(kept)
    let px = storage.pointer, po = out.storage.pointer
    if inner == 1 {
      // Rows of n contiguous values: vectorised row sums.
      Parallel.forEach(outer, costPerItem: n) { o in
        po[o] = Float(Elementwise.sum(px + o * n, count: n))
      }
    } else {
      sumStrided(px, po, outer: outer, n: n, inner: inner)
    }
    var outShape = kept
    if !keepDim { outShape.remove(at: d) }
    return Tensor.result(
      shape: outShape, storage: out.storage, parents: [self]
    ) { g, _ in
      [g.reshaped(kept).broadcasted(to: self.shape)]
    }
  }

  /// `po[o·inner + i] = Σ_k px[(o·n + k)·inner + i]`.
  private func sumStrided(
    _ px: UnsafeMutablePointer<Float>, _ po: UnsafeMutablePointer<Float>,
    outer: Int, n: Int, inner: Int
  ) {
    Parallel.forEach(outer, costPerItem: n * inner) { o in
      let dst = po + o * inner
      dst.initialize(repeating: 0, count: inner)
      for k in 0..<n {
        let src = px + (o * n + k) * inner
        for i in 0..<inner { dst[i] += src[i] }
      }
    }
  }

  /// Sum along several dimensions.
  public func sum(dims: [Int], keepDim: Bool = false) -> Tensor {
    let ds = dims.map { Shape.axis($0, rank: rank, op: "sum") }
    var t = self
    for d in ds.sorted(by: >) { t = t.sum(dim: d, keepDim: keepDim) }
    return t
  }

  /// Mean along several dimensions.
  public func mean(dims: [Int], keepDim: Bool = false) -> Tensor {
    let ds = dims.map { Shape.axis($0, rank: rank, op: "mean") }
    let n = ds.reduce(1) { $0 * shape[$1] }
    return sum(dims: ds, keepDim: keepDim) * (1 / Float(Swift.max(n, 1)))
  }

  /// Mean along `dim`.
  public func mean(dim: Int, keepDim: Bool = false) -> Tensor {
    mean(dims: [dim], keepDim: keepDim)
  }

  /// Repeats values along size-1 (or missing leading) dimensions to reach
  /// `target`; differentiable (the adjoint sums back).
  public func broadcasted(to target: [Int]) -> Tensor {
    if shape == target { return self }
    guard Shape.broadcast(shape, target) == target else {
      preconditionFailure(
        "broadcasted: \(shape) does not broadcast to \(target)")
    }
    // The second operand only supplies the dimensions `self` lacks (1
    // where `self` already has the target's size), not a full target.
    let padded = [Int](repeating: 1, count: target.count - rank) + shape
    let stretch = (0..<target.count).map { padded[$0] == target[$0] ? 1 : target[$0] }
    let out = Tensor.broadcastLanes(
      self, Tensor.zeros(stretch), Elementwise.First.self, name: "broadcast")
    return Tensor.result(
      shape: target, storage: out.storage, parents: [self]
    ) { g, _ in
      [g.sumToShape(self.shape)]
    }
  }
}
