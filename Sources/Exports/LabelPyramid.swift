import SlideIO

/// How a reduced pyramid level is made from the level above it: each level
/// pixel `(x, y)` comes from the block of level pixels `2x…2x+1, 2y…2y+1`
/// above it (fewer pixels on the last column or row of an odd-sized level).
public enum PyramidReduction: Sendable, Equatable {
  /// The most frequent value of the block; among equally frequent values,
  /// the largest. Background is 0, so a block that is half object keeps the
  /// object: thin and small objects survive a level longer than with
  /// ``nearest``.
  case mode
  /// The block's top-left pixel (plain decimation).
  case nearest
}

/// Sizes and reduction rules of a label pyramid: the reference the writer
/// and the tests share.
public enum LabelPyramid {
  /// Level sizes, level 0 first: each level is the one above halved and
  /// rounded up (so no edge pixel is dropped), until a level fits in one
  /// `tileSize`×`tileSize` tile. Sizes are in each level's own pixels;
  /// level `n` pixel `(x, y)` covers level-0 pixels `x·2ⁿ…(x+1)·2ⁿ−1`
  /// (clipped to the slide), so its downsample is exactly 2ⁿ.
  public static func levelSizes(level0 size: PixelSize, tileSize: Int) -> [PixelSize] {
    precondition(size.width > 0 && size.height > 0, "empty pyramid \(size)")
    precondition(tileSize > 0, "tile size \(tileSize) must be positive")
    var sizes = [size]
    var current = size
    while current.width > tileSize || current.height > tileSize {
      current = PixelSize(width: (current.width + 1) / 2, height: (current.height + 1) / 2)
      sizes.append(current)
    }
    return sizes
  }

  /// The value of one reduced pixel from its block (see ``PyramidReduction``).
  /// `b`, `c`, `d` are the right, lower and lower-right neighbours of `a`.
  /// On the last column of an odd-width level pass `b = a, d = c`; on the
  /// last row of an odd-height level `c = a, d = b`: that doubles every
  /// count, so the mode over the real pixels is unchanged.
  @inline(__always)
  public static func reduce(
    _ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, rule: PyramidReduction
  ) -> UInt8 {
    if rule == .nearest { return a }
    if a == b && b == c && c == d { return a }
    return mode(a, b, c, d)
  }

  /// Mode of four values, ties going to the largest.
  @inline(__always)
  static func mode(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> UInt8 {
    let ca = 1 + (a == b ? 1 : 0) + (a == c ? 1 : 0) + (a == d ? 1 : 0)
    let cb = 1 + (b == a ? 1 : 0) + (b == c ? 1 : 0) + (b == d ? 1 : 0)
    let cc = 1 + (c == a ? 1 : 0) + (c == b ? 1 : 0) + (c == d ? 1 : 0)
    let cd = 1 + (d == a ? 1 : 0) + (d == b ? 1 : 0) + (d == c ? 1 : 0)
    var best = a
    var bestCount = ca
    if cb > bestCount || (cb == bestCount && b > best) { best = b; bestCount = cb }
    if cc > bestCount || (cc == bestCount && c > best) { best = c; bestCount = cc }
    if cd > bestCount || (cd == bestCount && d > best) { best = d }
    return best
  }

  /// The reduced value of a block of 1 to 4 real pixels (row-major order:
  /// top-left first), by `rule` over exactly those pixels.
  public static func reduceBlock(_ block: [UInt8], rule: PyramidReduction) -> UInt8 {
    precondition((1...4).contains(block.count), "a block has 1 to 4 pixels, got \(block.count)")
    var values: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
    withUnsafeMutableBytes(of: &values) { for (i, v) in block.enumerated() { $0[i] = v } }
    return reduceBlock(values, count: block.count, rule: rule)
  }

  /// As ``reduceBlock(_:rule:)`` for the first `count` of `values`: counts
  /// are taken over real pixels only, independently of the padding trick
  /// the writer uses, so the two can be checked against each other.
  static func reduceBlock(
    _ values: (UInt8, UInt8, UInt8, UInt8), count: Int, rule: PyramidReduction
  ) -> UInt8 {
    if rule == .nearest { return values.0 }
    return withUnsafeBytes(of: values) { block in
      var best = block[0]
      var bestCount = 0
      for i in 0..<count {
        var n = 0
        for j in 0..<count where block[j] == block[i] { n += 1 }
        if n > bestCount || (n == bestCount && block[i] > best) {
          best = block[i]
          bestCount = n
        }
      }
      return best
    }
  }

  /// Reduces a whole in-memory level (row-major, `size.width` per row) to
  /// the next level: the reference the streaming writer must match.
  /// - Complexity: O(pixels of `labels`).
  public static func reduceLevel(
    _ labels: [UInt8], size: PixelSize, rule: PyramidReduction
  ) -> (labels: [UInt8], size: PixelSize) {
    precondition(labels.count == size.width * size.height, "labels do not match \(size)")
    let out = PixelSize(width: (size.width + 1) / 2, height: (size.height + 1) / 2)
    var result = [UInt8](repeating: 0, count: out.width * out.height)
    for y in 0..<out.height {
      for x in 0..<out.width {
        var block: (UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &block) { block in
          for dy in 0..<2 where 2 * y + dy < size.height {
            for dx in 0..<2 where 2 * x + dx < size.width {
              block[count] = labels[(2 * y + dy) * size.width + 2 * x + dx]
              count += 1
            }
          }
        }
        result[y * out.width + x] = reduceBlock(block, count: count, rule: rule)
      }
    }
    return (result, out)
  }
}
