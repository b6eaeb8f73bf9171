/// Shape arithmetic shared by the operations.
enum Shape {
  /// Normalises a possibly negative dimension index against `rank`.
  static func axis(_ dim: Int, rank: Int, op: String) -> Int {
    let d = dim < 0 ? dim + rank : dim
    precondition(
      d >= 0 && d < rank, "\(op): dimension \(dim) out of range for rank \(rank)")
    return d
  }

  /// Splits `shape` around `dim` into (outer, size, inner) element counts.
  static func split(_ shape: [Int], at dim: Int) -> (Int, Int, Int) {
    let outer = shape[..<dim].reduce(1, *)
    let inner = shape[(dim + 1)...].reduce(1, *)
    return (outer, shape[dim], inner)
  }

  /// Row-major strides of `shape`, in elements.
  static func strides(_ shape: [Int]) -> [Int] {
    var result = [Int](repeating: 1, count: shape.count)
    var step = 1
    for d in stride(from: shape.count - 1, through: 0, by: -1) {
      result[d] = step
      step *= shape[d]
    }
    return result
  }

  /// The NumPy broadcast of two shapes, or `nil` if they do not broadcast.
  static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
    let rank = Swift.max(a.count, b.count)
    var out = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
      let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
      let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
      if x == y || y == 1 {
        out[i] = x
      } else if x == 1 {
        out[i] = y
      } else {
        return nil
      }
    }
    return out
  }
}
