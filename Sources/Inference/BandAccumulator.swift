import Foundation
import SlideIO

/// Weighted sums of class probabilities over a sliding window of model rows
/// `[top, top + capacity)`, full model width, kept as a ring: model row `r`
/// lives in slot `r mod capacity`. Layout per slot: per column, `classes`
/// probability sums then the weight sum.
///
/// Memory: the sums are `calloc`ed, so pages that no tile ever touches
/// (glass) are never backed by RAM, and each slot remembers the column range
/// its tiles covered, so finishing and clearing a row costs only that range.
/// A 100 000-pixel-wide slide at ×2 with 512-pixel tiles reserves about
/// 0.6 GB of address space but uses memory only under tissue columns.
final class BandAccumulator {
  let width: Int
  let capacity: Int
  let classes: Int
  /// First model row held.
  fileprivate(set) var top = 0
  fileprivate let sums: UnsafeMutablePointer<Float>
  /// Columns of each slot that hold contributions (empty: none).
  fileprivate var touched: [Range<Int>]
  /// The labels handed out by ``finish(below:_:)``, kept between calls so a
  /// slide's worth of tile rows does not fault in fresh pages each time.
  private var labels: [UInt8] = []

  init(width: Int, capacity: Int, classes: Int) {
    self.width = width
    self.capacity = capacity
    self.classes = classes
    let count = capacity * width * (classes + 1)
    guard let memory = calloc(count, MemoryLayout<Float>.stride) else {
      fatalError("cannot reserve \(count * 4) bytes for the blending accumulator")
    }
    sums = memory.assumingMemoryBound(to: Float.self)
    touched = [Range<Int>](repeating: 0..<0, count: capacity)
  }

  deinit { free(sums) }

  /// Adds tile `batchIndex` of `probabilities` (`[N, C, tile, tile]`) at
  /// model origin (x, y); `y + tile` must lie within the window.
  func add(
    _ probabilities: UnsafeBufferPointer<Float>, batchIndex: Int, x: Int, y: Int, tile: Int,
    weights: [Float]
  ) {
    precondition(y >= top && y + tile <= top + capacity, "tile row \(y) outside band \(top)")
    let plane = tile * tile
    let base = batchIndex * classes * plane
    let stride = classes + 1
    let columns = x..<min(width, x + tile)
    for row in 0..<tile {
      let slot = (y + row) % capacity
      let wy = weights[row]
      let line = slot * width
      for column in columns {
        let w = wy * weights[column - x]
        let cell = (line + column) * stride
        let source = base + row * tile + column - x
        for c in 0..<classes {
          sums[cell + c] += w * probabilities[source + c * plane]
        }
        sums[cell + classes] += w
      }
      let old = touched[slot]
      touched[slot] =
        old.isEmpty
        ? columns
        : min(old.lowerBound, columns.lowerBound)..<max(old.upperBound, columns.upperBound)
    }
  }

  /// Hands rows `[top, end)` to `body` as labels (most probable class, 0
  /// where no tile contributed; row-major, `width` per row) with the column
  /// range of each row that may hold non-zero labels, then clears those
  /// rows and moves the window down to `end`.
  func finish(
    below end: Int,
    _ body: (_ labels: [UInt8], _ firstRow: Int, _ touched: [Range<Int>]) throws -> Void
  ) throws {
    guard end > top else { return }
    let count = end - top
    precondition(count <= capacity, "finishing \(count) rows of a \(capacity)-row band")
    let stride = classes + 1
    if labels.count == count * width {
      labels.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    } else {
      labels = [UInt8](repeating: 0, count: count * width)
    }
    var ranges: [Range<Int>] = []
    ranges.reserveCapacity(count)
    for i in 0..<count {
      let slot = (top + i) % capacity
      let columns = touched[slot]
      ranges.append(columns)
      guard !columns.isEmpty else { continue }
      for column in columns {
        let cell = (slot * width + column) * stride
        guard sums[cell + classes] > 0 else { continue }
        var best = 0
        for c in 1..<classes where sums[cell + c] > sums[cell + best] { best = c }
        labels[i * width + column] = UInt8(best)
      }
      (sums + (slot * width + columns.lowerBound) * stride).update(
        repeating: 0, count: columns.count * stride)
      touched[slot] = 0..<0
    }
    try body(labels, top, ranges)
    top = end
  }
}

extension BandAccumulator {
  /// The rows that hold contributions, for a resume journal.
  func carried() -> [SegmentationJournal.CarriedRow] {
    let stride = classes + 1
    return (top..<(top + capacity)).compactMap { row in
      let columns = touched[row % capacity]
      guard !columns.isEmpty else { return nil }
      let start = sums + (row % capacity * width + columns.lowerBound) * stride
      return SegmentationJournal.CarriedRow(
        row: row, columns: columns,
        sums: Array(UnsafeBufferPointer(start: start, count: columns.count * stride)))
    }
  }

  /// Puts back a window saved by ``carried()``, starting at row `top`; the
  /// accumulator must be empty.
  func restore(top: Int, rows: [SegmentationJournal.CarriedRow]) {
    precondition(touched.allSatisfy(\.isEmpty), "restoring into a used accumulator")
    self.top = top
    let stride = classes + 1
    for saved in rows {
      precondition(saved.row >= top && saved.row < top + capacity, "row outside the window")
      let slot = saved.row % capacity
      (sums + (slot * width + saved.columns.lowerBound) * stride).update(
        from: saved.sums, count: saved.sums.count)
      touched[slot] = saved.columns
    }
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
  /// Rows waiting to be emitted, kept between calls (see ``add``).
  private var pending: [UInt8] = []

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

  /// The model row that holds level-0 row `row`'s centre.
  private func modelRow(ofLevel0 row: Int) -> Int { Int((Double(row) + 0.5) / downsample) }

  /// Emits every level-0 row whose model row lies in the given rows.
  /// `touched[i]` bounds the model columns of row `first + i` that may be
  /// non-zero; rows outside it are background without a look. Runs of
  /// background rows go to `background` (a count) when it is given, else
  /// to `emit` as zeros.
  mutating func add(
    modelRows labels: [UInt8], first: Int, touched: [Range<Int>],
    emit: ([UInt8]) throws -> Void, background: ((Int) throws -> Void)?,
    counts: inout [Int]
  ) throws {
    let rows = labels.count / modelWidth
    var end = next
    while end < level0.height && modelRow(ofLevel0: end) < first + rows { end += 1 }
    guard end > next else { return }

    let width = level0.width
    pending.removeAll(keepingCapacity: true)
    var backgroundRun = 0
    var labelled = 0
    for row in next..<end {
      let index = modelRow(ofLevel0: row) - first
      let range = touched[index]
      if range.isEmpty, background != nil {
        if !pending.isEmpty {
          try emit(pending)
          pending.removeAll(keepingCapacity: true)
        }
        backgroundRun += 1
        continue
      }
      if backgroundRun > 0 {
        try background?(backgroundRun)
        backgroundRun = 0
      }
      let target = pending.count
      pending.append(contentsOf: repeatElement(0, count: width))
      guard !range.isEmpty else { continue }
      // Level-0 columns whose model column lies in the range.
      let x0 = max(0, Int((Double(range.lowerBound) * downsample).rounded(.down)) - 1)
      let x1 = min(width, Int((Double(range.upperBound) * downsample).rounded(.up)) + 1)
      let source = index * modelWidth
      pending.withUnsafeMutableBufferPointer { out in
        for x in x0..<x1 {
          let label = labels[source + columns[x]]
          guard label != 0 else { continue }
          out[target + x] = label
          counts[Int(label)] += 1
          labelled += 1
        }
      }
    }
    if !pending.isEmpty { try emit(pending) }
    if backgroundRun > 0 { try background?(backgroundRun) }
    counts[0] += (end - next) * width - labelled
    next = end
  }
}
