/// Reshaping, reordering, joining and cutting tensors.
extension Tensor {
  /// The same elements viewed with `newShape` (one entry may be −1, which
  /// is inferred). Shares storage; no copy.
  public func reshaped(_ newShape: [Int]) -> Tensor {
    var target = newShape
    if let hole = newShape.firstIndex(of: -1) {
      let known = newShape.filter { $0 != -1 }.reduce(1, *)
      target[hole] = known == 0 ? 0 : count / known
    }
    precondition(
      target.reduce(1, *) == count && target.allSatisfy({ $0 >= 0 }),
      "reshape: cannot view shape \(shape) as \(newShape)")
    return Tensor.result(
      shape: target, storage: storage, parents: [self]
    ) { g, _ in
      [g.reshaped(self.shape)]
    }
  }

  /// Reorders dimensions: result dimension `i` is input dimension
  /// `order[i]`. Copies into contiguous storage.
  public func permuted(_ order: [Int]) -> Tensor {
    precondition(
      order.sorted() == Array(0..<rank),
      "permute: \(order) is not a permutation of 0..<\(rank)")
    let outShape = order.map { shape[$0] }
    let inStrides = Shape.strides(shape)
    let src = order.map { inStrides[$0] }
    let out = Tensor.empty(outShape)
    let px = storage.pointer, po = out.storage.pointer
    let inner = rank == 0 ? 1 : outShape[rank - 1]
    let step = rank == 0 ? 0 : src[rank - 1]
    let rows = inner == 0 ? 0 : count / inner
    Parallel.forEach(rows, costPerItem: inner) { row in
      var rem = row, off = 0
      for d in stride(from: rank - 2, through: 0, by: -1) {
        off += (rem % outShape[d]) * src[d]
        rem /= outShape[d]
      }
      let o = po + row * inner
      for j in 0..<inner { o[j] = px[off + j * step] }
    }
    var inverse = [Int](repeating: 0, count: rank)
    for (i, d) in order.enumerated() { inverse[d] = i }
    return Tensor.result(
      shape: outShape, storage: out.storage, parents: [self]
    ) { g, _ in
      [g.permuted(inverse)]
    }
  }

  /// Joins tensors along `dim`; all other dimensions must agree.
  public static func concat(_ parts: [Tensor], dim: Int) -> Tensor {
    precondition(!parts.isEmpty, "concat: no tensors")
    let rank = parts[0].rank
    let d = Shape.axis(dim, rank: rank, op: "concat")
    var outShape = parts[0].shape
    outShape[d] = 0
    for p in parts {
      var a = p.shape, b = parts[0].shape
      a[d] = 0
      b[d] = 0
      precondition(
        a == b,
        "concat: shape \(p.shape) does not match \(parts[0].shape) "
          + "outside dimension \(d)")
      outShape[d] += p.shape[d]
    }
    let out = Tensor.empty(outShape)
    let (outer, total, inner) = Shape.split(outShape, at: d)
    var offset = 0
    var offsets: [Int] = []
    for p in parts {
      let n = p.shape[d] * inner
      offsets.append(offset)
      let px = p.storage.pointer, po = out.storage.pointer
      for o in 0..<outer {
        (po + o * total * inner + offset).update(from: px + o * n, count: n)
      }
      offset += n
    }
    return Tensor.result(
      shape: outShape, storage: out.storage, parents: parts
    ) { g, _ in
      var start = 0
      return parts.map { p in
        defer { start += p.shape[d] }
        return g.slice(dim: d, start: start, length: p.shape[d])
      }
    }
  }

  /// Elements `start ..< start + length` along `dim`.
  public func slice(dim: Int, start: Int, length: Int) -> Tensor {
    let d = Shape.axis(dim, rank: rank, op: "slice")
    precondition(
      start >= 0 && length >= 0 && start + length <= shape[d],
      "slice: range \(start)..<\(start + length) outside 0..<\(shape[d]) "
        + "of dimension \(d) in \(shape)")
    var outShape = shape
    outShape[d] = length
    let (outer, n, inner) = Shape.split(shape, at: d)
    let out = Tensor.empty(outShape)
    let px = storage.pointer, po = out.storage.pointer
    for o in 0..<outer {
      (po + o * length * inner).update(
        from: px + (o * n + start) * inner, count: length * inner)
    }
    return Tensor.result(
      shape: outShape, storage: out.storage, parents: [self]
    ) { g, _ in
      let gx = Tensor.zeros(self.shape)
      let pg = g.storage.pointer, pd = gx.storage.pointer
      for o in 0..<outer {
        (pd + (o * n + start) * inner).update(
          from: pg + o * length * inner, count: length * inner)
      }
      return [gx]
    }
  }

  /// Cuts `self` along `dim` into consecutive pieces of the given sizes.
  public func split(sizes: [Int], dim: Int) -> [Tensor] {
    let d = Shape.axis(dim, rank: rank, op: "split")
    precondition(
      sizes.reduce(0, +) == shape[d],
      "split: sizes \(sizes) do not add up to \(shape[d]) in \(shape)")
    var start = 0
    return sizes.map { n in
      defer { start += n }
      return slice(dim: d, start: start, length: n)
    }
  }

  /// Pads the last two dimensions (height, width) with zeros.
  public func padded(top: Int, bottom: Int, left: Int, right: Int) -> Tensor {
    precondition(
      rank >= 2 && min(top, bottom, left, right) >= 0,
      "pad: needs rank ≥ 2 and non-negative pads, got \(shape), "
        + "\([top, bottom, left, right])")
    let h = shape[rank - 2], w = shape[rank - 1]
    let oh = h + top + bottom, ow = w + left + right
    var outShape = shape
    outShape[rank - 2] = oh
    outShape[rank - 1] = ow
    let planes = count / Swift.max(h * w, 1)
    let out = Tensor.zeros(outShape)
    let px = storage.pointer, po = out.storage.pointer
    for p in 0..<planes {
      for y in 0..<h {
        (po + p * oh * ow + (y + top) * ow + left).update(
          from: px + p * h * w + y * w, count: w)
      }
    }
    return Tensor.result(
      shape: outShape, storage: out.storage, parents: [self]
    ) { g, _ in
      [g.cropped(top: top, left: left, height: h, width: w)]
    }
  }

  /// The `height`×`width` window of the last two dimensions whose top-left
  /// element is at (`top`, `left`).
  public func cropped(top: Int, left: Int, height: Int, width: Int) -> Tensor {
    precondition(rank >= 2, "crop: needs rank ≥ 2, got \(shape)")
    return slice(dim: rank - 2, start: top, length: height)
      .slice(dim: rank - 1, start: left, length: width)
  }

  /// Rearranges `[N, C·r², H, W]` into `[N, C, H·r, W·r]` (depth to space,
  /// PyTorch's `pixel_shuffle`).
  public func pixelShuffle(_ r: Int) -> Tensor {
    precondition(
      rank == 4 && r > 0 && shape[1] % (r * r) == 0,
      "pixelShuffle: shape \(shape) is not [N, C·\(r)², H, W]")
    let n = shape[0], c = shape[1] / (r * r), h = shape[2], w = shape[3]
    return reshaped([n, c, r, r, h, w])
      .permuted([0, 1, 4, 2, 5, 3])
      .reshaped([n, c, h * r, w * r])
  }
}
