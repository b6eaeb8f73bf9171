import Dispatch
import Foundation
import Sampling
import SlideIO
import Tensor

/// Segments a whole slide tile by tile and streams the level-0 label mask
/// out in full-width bands of rows, top to bottom, so memory does not grow
/// with the slide's height.
///
/// Frames: the model sees "model pixels", `downsample` level-0 pixels each
/// (read at the pyramid level just finer than that and resized bilinearly).
/// Tiles of `tileSize` model pixels step by `tileSize − overlap`; the last
/// tile of a row or column is shifted inward to end at the edge. Tiles
/// without tissue are not run: their pixels are background (class 0).
///
/// Blending: each tile's softmax probabilities are weighted by a ramp that
/// rises over `overlap` pixels from each tile edge (floor 10⁻³, so a pixel
/// only one tile covers keeps that tile's value exactly), summed, and
/// divided by the summed weights; the label is the most probable class.
/// With a model whose output at a pixel depends only on that pixel, the
/// mask is the same for any tile size and overlap.
///
/// Output: level-0 labels, nearest from model pixels: level-0 pixel `(x, y)`
/// takes model pixel `(⌊(x + ½)/d⌋, ⌊(y + ½)/d⌋)`.
///
/// Threads: tiles for the next model call are read and resized on one
/// thread while the model runs (``ReadAhead``); blending, finishing rows,
/// `emit`/`background` and the journal run on another, in order
/// (an ``OrderedWorker``). `emit` and `background` are therefore called from that
/// thread, never after `segment` returns.
///
/// Memory: an accumulator of `(tileSize + stride) × modelWidth × (classes
/// + 1)` floats whose pages are only backed where tiles land (see
/// ``BandAccumulator``), one band of level-0 rows, and two batches of tiles.
public final class SlideSegmenter {
  public struct Options: Sendable {
    /// Tile edge in model pixels.
    public var tileSize = 512
    /// Overlap between neighbouring tiles, in model pixels.
    public var overlap = 64
    /// Tiles per model call.
    public var batchSize = 2
    /// Least time between two resume points saved to a journal (0: at
    /// every tile row with tissue).
    public var checkpointSeconds = 30.0

    public init(
      tileSize: Int = 512, overlap: Int = 64, batchSize: Int = 2,
      checkpointSeconds: Double = 30
    ) {
      self.tileSize = tileSize
      self.overlap = overlap
      self.batchSize = batchSize
      self.checkpointSeconds = checkpointSeconds
    }
  }

  /// Counts and timings of one run.
  public struct Summary: Sendable, Equatable {
    public var tiles = 0
    public var tissueTiles = 0
    /// Level-0 pixels of each class.
    public var classPixels: [Int] = []
    /// Time spent reading and resizing tiles (on the read-ahead thread,
    /// overlapping the model).
    public var readSeconds = 0.0
    /// Time the model waited for a read to finish.
    public var readWaitSeconds = 0.0
    /// The tile row a resumed run continued at (0: a fresh run). Times
    /// include the interrupted runs' (up to their last saved point).
    public var resumedAtTileRow = 0
    public var modelSeconds = 0.0
    public var wallSeconds = 0.0
  }

  public let model: any PixelModel
  public let options: Options

  public init(model: any PixelModel, options: Options = Options()) throws {
    guard options.tileSize >= 16, options.overlap >= 0, options.overlap < options.tileSize / 2,
      options.batchSize >= 1
    else {
      throw InferenceError.invalidSetting(
        name: "tile/overlap/batch",
        value: "\(options.tileSize)/\(options.overlap)/\(options.batchSize)",
        expected: "tile ≥ 16, 0 ≤ overlap < tile/2, batch ≥ 1")
    }
    self.model = model
    self.options = options
  }

  /// Segments `slide` at `downsample` level-0 pixels per model pixel.
  ///
  /// - Parameters:
  ///   - tissue: tiles with no tissue pixel are skipped (background).
  ///   - journal: when given, finished rows are recorded and a resume point
  ///     is saved at the start of a tile row every
  ///     ``Options/checkpointSeconds``; if it holds a saved point, the saved
  ///     rows are emitted first and the run continues from that tile row.
  ///   - background: when given, receives runs of level-0 rows that are
  ///     all background as a row count instead of zeros through `emit`
  ///     (most of a slide; a writer can skip them cheaply). Calls to the
  ///     two closures come in row order.
  ///   - isCancelled: polled after every model call; when it returns true
  ///     the run stops with ``InferenceError/interrupted(output:journal:)``
  ///     (the journal keeps its last saved point).
  ///   - emit: receives consecutive full-width bands of level-0 label rows
  ///     (row-major, `slide.dimensions.width` per row), top to bottom.
  ///   - progress: (tissue tiles done, tissue tiles in all) after each
  ///     model call.
  public func segment(
    _ slide: Slide, downsample: Double, tissue: TissueMask?,
    journal: SegmentationJournal? = nil,
    background: ((_ rowCount: Int) throws -> Void)? = nil,
    isCancelled: () -> Bool = { false },
    emit: (_ rows: [UInt8]) throws -> Void,
    progress: (Int, Int) -> Void = { _, _ in }
  ) throws -> Summary {
    let started = DispatchTime.now()
    let size = slide.dimensions
    let d = downsample
    let modelWidth = Int((Double(size.width) / d).rounded(.up))
    let modelHeight = Int((Double(size.height) / d).rounded(.up))
    let tile = options.tileSize
    let xs = Self.origins(length: modelWidth, tile: tile, stride: tile - options.overlap)
    let ys = Self.origins(length: modelHeight, tile: tile, stride: tile - options.overlap)
    let level = slide.bestLevel(forDownsample: d)
    let levelDownsample = try slide.downsample(level: level)
    try checkScale(
      slide: slide, downsample: d, modelWidth: modelWidth, levelDownsample: levelDownsample)

    var summary = Summary()
    summary.classPixels = [Int](repeating: 0, count: model.classCount)
    summary.tiles = xs.count * ys.count

    // Plan every model call up front (tissue tiles of each tile row, in
    // batches), so the read of call k + 1 can start before call k runs.
    var plan: [(row: Int, xs: [Int])] = []
    for (row, y) in ys.enumerated() {
      let tissueTiles = xs.filter { x in
        tissue.map { Self.hasTissue($0, x: x, y: y, tile: tile, downsample: d) } ?? true
      }
      summary.tissueTiles += tissueTiles.count
      for start in stride(from: 0, to: tissueTiles.count, by: options.batchSize) {
        let end = min(tissueTiles.count, start + options.batchSize)
        plan.append((row, Array(tissueTiles[start..<end])))
      }
    }
    // The blend thread's jobs call `emit`; every job is drained before
    // this closure returns.
    try withoutActuallyEscaping(emit) { emit in
      let accumulator = BandAccumulator(
        width: modelWidth, capacity: tile + (tile - options.overlap),
        classes: model.classCount)
      // Touched only on the blend thread (or before it starts / after it
      // drains): the emitter and the class counts.
      final class Rows {
        var emitter: RowEmitter
        var counts: [Int]
        init(_ emitter: RowEmitter, classes: Int) {
          self.emitter = emitter
          counts = [Int](repeating: 0, count: classes)
        }
      }
      let rows = Rows(
        RowEmitter(level0: size, downsample: d, modelWidth: modelWidth),
        classes: model.classCount)
      func finished(_ labels: [UInt8], _ first: Int, _ touched: [Range<Int>]) throws {
        try rows.emitter.add(
          modelRows: labels, first: first, touched: touched, emit: emit,
          background: background, counts: &rows.counts)
      }
      func finish(below row: Int) throws {
        try accumulator.finish(below: row) { labels, first, touched in
          try journal?.record(labels: labels, first: first, touched: touched, width: modelWidth)
          try finished(labels, first, touched)
        }
      }

      // Continue a saved run: emit its rows again, reopen its sums.
      var firstRow = 0
      var earlier = (read: 0.0, model: 0.0, wall: 0.0)
      if let journal {
        if let state = journal.state {
          guard state.tileRow < ys.count, state.top <= ys[state.tileRow] else {
            throw InferenceError.journalFailed(
              path: journal.folder,
              detail: "stops at tile row \(state.tileRow) of \(ys.count), which this run lacks")
          }
          let carried = try journal.replay(width: modelWidth, classes: model.classCount) {
            try finished($0, $1, $2)
          }
          accumulator.restore(top: state.top, rows: carried)
          firstRow = state.tileRow
          earlier = (state.readSeconds, state.modelSeconds, state.wallSeconds)
        }
        try journal.startRecording()
      }
      var call = plan.firstIndex { $0.row >= firstRow } ?? plan.count
      var done = plan[..<call].reduce(0) { $0 + $1.xs.count }
      var lastSave = DispatchTime.now()

      let reader = ReadAhead<(Tensor, Double)>()
      defer { reader.drain() }
      func startRead(_ call: Int) {
        let (xs, y) = (plan[call].xs, ys[plan[call].row])
        reader.start {
          let started = DispatchTime.now()
          let input = try Self.readTiles(
            slide, xs: xs, y: y, tile: tile, downsample: d, level: level,
            levelDownsample: levelDownsample)
          return (input, Self.seconds(started, DispatchTime.now()))
        }
      }
      if call < plan.count { startRead(call) }

      let weights = Self.ramp(tile: tile, overlap: options.overlap)
      let blender = OrderedWorker(label: "holohisto.inference.blend", depth: 2)
      defer { try? blender.drain() }
      for (row, y) in ys.enumerated().dropFirst(firstRow) {
        // Rows above this tile row receive nothing more: finish them (on the
        // blend thread, in order), and now and then save a resume point.
        var save: (read: Double, model: Double, wall: Double)?
        if journal != nil, call < plan.count, plan[call].row == row, row > firstRow,
          Self.seconds(lastSave, DispatchTime.now()) >= options.checkpointSeconds
        {
          save = (
            earlier.read + summary.readSeconds, earlier.model + summary.modelSeconds,
            earlier.wall + Self.seconds(started, DispatchTime.now())
          )
          lastSave = DispatchTime.now()
        }
        let classes = model.classCount
        try blender.submit {
          try finish(below: y)
          if let journal, let save {
            try journal.save(
              tileRow: row, top: accumulator.top, carried: accumulator.carried(),
              classes: classes, readSeconds: save.read, modelSeconds: save.model,
              wallSeconds: save.wall)
          }
        }
        while call < plan.count && plan[call].row == row {
          let batch = plan[call].xs
          let waitStart = DispatchTime.now()
          let (input, readSeconds) = try reader.take()
          if call + 1 < plan.count { startRead(call + 1) }
          let modelStart = DispatchTime.now()
          let probabilities = try model.scores(input).softmax(dim: 1)
          let modelEnd = DispatchTime.now()
          summary.readSeconds += readSeconds
          summary.readWaitSeconds += Self.seconds(waitStart, modelStart)
          summary.modelSeconds += Self.seconds(modelStart, modelEnd)
          try blender.submit {
            probabilities.withUnsafeBufferPointer { p in
              for (b, x) in batch.enumerated() {
                accumulator.add(p, batchIndex: b, x: x, y: y, tile: tile, weights: weights)
              }
            }
          }
          done += batch.count
          call += 1
          progress(done, summary.tissueTiles)
          if isCancelled() {
            throw InferenceError.interrupted(
              output: slide.path, journal: journal?.canResume == true ? journal?.folder : nil)
          }
        }
      }
      try blender.submit { try finish(below: modelHeight) }
      try blender.drain()
      summary.classPixels = rows.counts
      summary.readSeconds += earlier.read
      summary.modelSeconds += earlier.model
      summary.wallSeconds = earlier.wall + Self.seconds(started, DispatchTime.now())
      summary.resumedAtTileRow = firstRow
    }
    return summary
  }

  // MARK: Steps

  /// Refuses a scale whose buffers or reads would be out of proportion
  /// before anything is allocated: a blending window over 8 GiB (a tiny
  /// downsample on a wide slide), or tiles needing reads over 16 384 pixels
  /// across (a downsample far beyond the slide's coarsest level).
  private func checkScale(
    slide: Slide, downsample d: Double, modelWidth: Int, levelDownsample: Double
  ) throws {
    let tile = options.tileSize
    let window = Double(2 * tile - options.overlap) * Double(modelWidth)
      * Double(model.classCount + 1) * 4
    guard window <= 8 * 1_073_741_824 else {
      throw InferenceError.unworkableScale(
        path: slide.path, downsample: d,
        detail: String(
          format: "needs a %.1f GiB blending buffer (%d model pixels across); "
            + "use a larger --downsample", window / 1_073_741_824, modelWidth))
    }
    let read = Double(tile) * d / levelDownsample
    guard read <= 16_384 else {
      throw InferenceError.unworkableScale(
        path: slide.path, downsample: d,
        detail: "needs \(Int(read))-pixel reads per tile, the slide's coarsest level being "
          + String(format: "×%g; use a smaller --downsample or --tile", levelDownsample))
    }
  }

  /// Tile origins along one axis: 0, stride, 2·stride, …, the last shifted
  /// to end at `length` (one tile at 0 when `length ≤ tile`).
  static func origins(length: Int, tile: Int, stride: Int) -> [Int] {
    guard length > tile else { return [0] }
    var result = Array(Swift.stride(from: 0, to: length - tile, by: stride))
    result.append(length - tile)
    return result
  }

  /// Per-axis blending weight for tile offset `i`: rises linearly over
  /// `overlap` pixels from each edge, never below 10⁻³.
  static func ramp(tile: Int, overlap: Int) -> [Float] {
    (0..<tile).map { i in
      guard overlap > 0 else { return 1 }
      let edge = Float(min(i, tile - 1 - i)) + 0.5
      return max(1e-3, min(1, edge / Float(overlap)))
    }
  }

  /// Whether any tissue-mask pixel under the tile's level-0 area is tissue.
  static func hasTissue(_ mask: TissueMask, x: Int, y: Int, tile: Int, downsample: Double)
    -> Bool
  {
    let scale = downsample / mask.downsample
    let x0 = max(0, Int(Double(x) * scale)), y0 = max(0, Int(Double(y) * scale))
    let x1 = min(mask.width, Int((Double(x + tile) * scale).rounded(.up)))
    let y1 = min(mask.height, Int((Double(y + tile) * scale).rounded(.up)))
    guard x0 < x1, y0 < y1 else { return false }
    for row in y0..<y1 {
      for column in x0..<x1 where mask[column, row] { return true }
    }
    return false
  }

  /// The tiles at model-pixel origins (`xs[i]`, `y`) as `[N, 3, tile, tile]`.
  private static func readTiles(
    _ slide: Slide, xs: [Int], y: Int, tile: Int, downsample d: Double, level: Int,
    levelDownsample: Double
  ) throws -> Tensor {
    let r = d / levelDownsample
    let readSize = max(1, Int((Double(tile) * r).rounded()))
    let plane = tile * tile
    var values = [Float](repeating: 0, count: xs.count * 3 * plane)
    var image = RGBImage(width: 0, height: 0)
    for (b, x) in xs.enumerated() {
      let origin = LevelPoint(
        x: Int((Double(x) * r).rounded(.down)), y: Int((Double(y) * r).rounded(.down)))
      try slide.readRegion(
        levelOrigin: origin, level: level, size: PixelSize(width: readSize, height: readSize),
        into: &image)
      let input =
        readSize == tile
        ? image
        : Resampler.bilinear(
          image, to: PixelSize(width: tile, height: tile),
          scale: SIMD2(repeating: Double(readSize) / Double(tile)), offset: .zero)
      input.writePlanarUnitFloats(into: &values, offset: b * 3 * plane)
    }
    return try Tensor(shape: [xs.count, 3, tile, tile], values: values)
  }

  static func seconds(_ a: DispatchTime, _ b: DispatchTime) -> Double {
    Double(b.uptimeNanoseconds - a.uptimeNanoseconds) / 1e9
  }
}
