import SlideIO

/// Weighted sums of class probabilities over a sliding band of model rows
/// `[top, top + capacity)`, full model width. Layout: per row, per column,
/// `classes` probability sums then the weight sum.
struct BandAccumulator {
  let width: Int
  let capacity: Int
  let classes: Int
  /// First model row held.
  private(set) var top = 0
  private var sums: [Float]

  init(width: Int, capacity: Int, classes: Int) {
    self.width = width
    self.capacity = capacity
    self.classes = classes
    sums = [Float](repeating: 0, count: capacity * width * (classes + 1))
  }

  /// Adds tile `batchIndex` of `probabilities` (`[N, C, tile, tile]`) at
  /// model origin (x, y); `y + tile` must lie within the band.
  mutating func add(
    _ probabilities: UnsafeBufferPointer<Float>, batchIndex: Int, x: Int, y: Int, tile: Int,
    weights: [Float]
  ) {
    precondition(y >= top && y + tile <= top + capacity, "tile row \(y) outside band \(top)")
    let plane = tile * tile
    let base = batchIndex * classes * plane
    let stride = classes + 1
    sums.withUnsafeMutableBufferPointer { s in
      for row in 0..<tile {
        let wy = weights[row]
        let line = (y - top + row) * width
        for column in 0..<tile where x + column < width {
          let w = wy * weights[column]
          let cell = (line + x + column) * stride
          for c in 0..<classes {
            s[cell + c] += w * probabilities[base + c * plane + row * tile + column]
          }
          s[cell + classes] += w
        }
      }
    }
  }

  /// Hands rows `[top, end)` to `body` as labels (most probable class, 0
  /// where no tile contributed), then slides the band down to `end`.
  mutating func finish(
    below end: Int, _ body: (_ labels: [UInt8], _ firstRow: Int) throws -> Void
  ) throws {
    guard end > top else { return }
    let count = end - top
    precondition(count <= capacity, "finishing \(count) rows of a \(capacity)-row band")
    let stride = classes + 1
    var labels = [UInt8](repeating: 0, count: count * width)
    for i in 0..<(count * width) {
      let cell = i * stride
      guard sums[cell + classes] > 0 else { continue }
      var best = 0
      for c in 1..<classes where sums[cell + c] > sums[cell + best] { best = c }
      labels[i] = UInt8(best)
    }
    try body(labels, top)

    // Shift the remaining rows up and clear the freed ones.
    let kept = (capacity - count) * width * stride
    let moved = count * width * stride
    sums.withUnsafeMutableBufferPointer { s in
      if kept > 0 {
        s.baseAddress!.update(from: s.baseAddress! + moved, count: kept)
      }
      (s.baseAddress! + kept).update(repeating: 0, count: moved)
    }
    top = end
  }
}

/// Turns finished model rows into level-0 rows (nearest) and emits them.
struct RowEmitter {
  let level0: (width: Int, height: Int)
  let downsample: Double
  let modelWidth: Int
  /// Next level-0 row to emit.
  private(set) var next = 0
  /// Model column of each level-0 column.
  private let columns: [Int]

  init(level0 size: (width: Int, height: Int), downsample: Double, modelWidth: Int) {
    level0 = size
    self.downsample = downsample
    self.modelWidth = modelWidth
    columns = (0..<size.width).map {
      min(modelWidth - 1, Int((Double($0) + 0.5) / downsample))
    }
  }

  init(level0 size: PixelSize, downsample: Double, modelWidth: Int) {
    self.init(
      level0: (size.width, size.height), downsample: downsample, modelWidth: modelWidth)
  }

  /// Emits every level-0 row whose model row lies in the given rows.
  mutating func add(
    modelRows labels: [UInt8], first: Int, emit: ([UInt8]) throws -> Void,
    counts: inout [Int]
  ) throws {
    let rows = labels.count / modelWidth
    var band: [UInt8] = []
    while next < level0.height {
      let modelRow = Int((Double(next) + 0.5) / downsample)
      guard modelRow < first + rows else { break }
      let source = (modelRow - first) * modelWidth
      for x in 0..<level0.width {
        let label = labels[source + columns[x]]
        band.append(label)
        counts[Int(label)] += 1
      }
      next += 1
    }
    if !band.isEmpty { try emit(band) }
  }
}
