import CTIFF
import Dispatch
import Foundation

/// Reads pixels of TIFF-family slides (Aperio SVS, generic tiled TIFF,
/// OME-TIFF, plain TIFF) by decoding tiles directly with libtiff, one handle
/// per concurrent reader, tiles of one region spread over `threads` threads.
///
/// Why not OpenSlide for these: OpenSlide 3.4 spends most of a read
/// compositing through cairo/pixman; decoding tiles straight into the output
/// is several times faster per core (see BENCHMARKS.md). OpenSlide still
/// supplies the metadata of the files it recognises (see ``SlideOpener``).
final class TIFFReader: SlideBackend, @unchecked Sendable {
  let path: String
  let levels: [TIFFLevelLayout]
  let threads: Int
  /// Reader of associated images (label, macro, thumbnail), when OpenSlide
  /// opened the file too.
  var associated: OpenSlideReader?
  private let pools: [HandlePool]

  init(path: String, levels: [TIFFLevelLayout], threads: Int) {
    self.path = path
    self.levels = levels
    self.threads = threads
    self.pools = levels.map { HandlePool(path: path, layout: $0) }
  }

  // MARK: Scanning

  /// Every image directory of the file, in file order, with its layout.
  /// Directories whose pixels libtiff cannot decode are reported as errors in
  /// `failures` rather than thrown, so a slide whose label image uses an
  /// exotic codec still opens.
  static func scan(path: String) throws -> (
    layouts: [TIFFLevelLayout], failures: [SlideError], handle: TIFFHandle
  ) {
    let handle = try TIFFHandle(path: path)
    var layouts: [TIFFLevelLayout] = []
    var failures: [SlideError] = []
    repeat {
      do {
        layouts.append(try TIFFLevelLayout.current(handle, path: path))
      } catch let error as SlideError {
        failures.append(error)
      }
    } while TIFFReadDirectory(handle.tif) == 1
    // libtiff stops at the last directory silently, but at a damaged one
    // with an error: a file cut short must not pass as a smaller slide.
    if let message = handle.lastError {
      throw SlideError.corrupt(path: path, detail: message)
    }
    return (layouts, failures, handle)
  }

  /// The pyramid among `layouts`: the first directory, then every later
  /// tiled directory strictly smaller than the previous level (label, macro
  /// and thumbnail images are strip images, or larger than the level before
  /// them, so they drop out). SubIFD pyramids (OME-TIFF) are read from the
  /// first directory's `SubIFDs` tag.
  static func pyramid(
    layouts: [TIFFLevelLayout], handle: TIFFHandle, path: String
  ) -> [TIFFLevelLayout] {
    guard let base = layouts.first else { return [] }
    _ = handle.setDirectory(offset: base.offset)
    let subOffsets = handle.array(TIFFTAG_SUBIFD, of: UInt64.self)
    var candidates: [TIFFLevelLayout] = []
    if !subOffsets.isEmpty {
      for offset in subOffsets where handle.setDirectory(offset: offset) {
        if let layout = try? TIFFLevelLayout.current(handle, path: path) {
          candidates.append(layout)
        }
      }
    } else {
      candidates = Array(layouts.dropFirst()).filter { $0.tiled }
    }
    var pyramid = [base]
    for layout in candidates.sorted(by: { $0.width > $1.width }) {
      let last = pyramid[pyramid.count - 1]
      if layout.width < last.width && layout.height < last.height {
        pyramid.append(layout)
      }
    }
    return pyramid
  }

  func readAssociatedImage(_ name: String) throws -> RGBImage {
    guard let associated else {
      throw SlideError.noSuchAssociatedImage(path: path, name: name, available: [])
    }
    return try associated.readAssociatedImage(name)
  }

  // MARK: Reading

  func read(
    level: Int, origin: LevelPoint, size: PixelSize,
    into output: UnsafeMutableBufferPointer<UInt8>
  ) throws {
    try read(level: level, origin: origin, size: size, into: output, stored: false)
  }

  func readStored(
    level: Int, origin: LevelPoint, size: PixelSize,
    into output: UnsafeMutableBufferPointer<UInt8>
  ) throws {
    try read(level: level, origin: origin, size: size, into: output, stored: true)
  }

  private func read(
    level: Int, origin: LevelPoint, size: PixelSize,
    into output: UnsafeMutableBufferPointer<UInt8>, stored: Bool
  ) throws {
    let layout = levels[level]
    let region = PixelRect(x: origin.x, y: origin.y, width: size.width, height: size.height)
    let inside = region.intersection(
      PixelRect(x: 0, y: 0, width: layout.width, height: layout.height))
    if inside != region {
      output.update(repeating: 255)
    }
    guard let inside else { return }

    var found: [(x: Int, y: Int)] = []
    let firstRow = inside.y / layout.tileHeight
    let lastRow = (inside.maxY - 1) / layout.tileHeight
    let firstCol = inside.x / layout.tileWidth
    let lastCol = (inside.maxX - 1) / layout.tileWidth
    for row in firstRow...lastRow {
      for col in firstCol...lastCol {
        found.append((col * layout.tileWidth, row * layout.tileHeight))
      }
    }
    let tiles = found

    let workers = min(threads, tiles.count)
    let target = OutputTarget(
      base: output.baseAddress!, region: region, clip: inside, stored: stored)
    let pool = pools[level]
    if workers <= 1 {
      try decode(tiles[...], layout: layout, pool: pool, into: target)
      return
    }
    let errors = ErrorSlot()
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
      let mine = stride(from: worker, to: tiles.count, by: workers).map { tiles[$0] }
      do {
        try decode(mine[...], layout: layout, pool: pool, into: target)
      } catch {
        errors.record(error)
      }
    }
    if let error = errors.first { throw error }
  }

  /// Decodes `tiles` (top-left corners in level pixels) with one handle
  /// from `pool` and copies their visible parts into `target`.
  private func decode(
    _ tiles: ArraySlice<(x: Int, y: Int)>, layout: TIFFLevelLayout, pool: HandlePool,
    into target: OutputTarget
  ) throws {
    let handle = try pool.acquire()
    defer { pool.release(handle) }
    var scratch = [UInt8](repeating: 0, count: handle.tileBytes)
    try scratch.withUnsafeMutableBufferPointer { buffer in
      for tile in tiles {
        let rows = handle.decodedRows(tileY: tile.y)
        let tileRect = PixelRect(x: tile.x, y: tile.y, width: layout.tileWidth, height: rows)
        guard let visible = tileRect.intersection(target.clip) else { continue }
        if let jpeg = handle.jpeg, visible == tileRect {
          // Whole tile visible: decode straight into the output.
          try check(
            jpeg.decode(
              index: handle.index(of: tile), tiled: layout.tiled, handle: handle.handle,
              width: layout.tileWidth, height: rows,
              into: target.pointer(x: tile.x, y: tile.y), pitch: target.region.width * 3),
            tile: tile)
          continue
        }
        try decodeTile(at: tile, layout: layout, handle: handle, scratch: buffer)
        TIFFPixelCopy.copy(
          from: UnsafeBufferPointer(buffer), layout: layout, tileOrigin: tile,
          rows: rows, visible: visible, into: target)
      }
    }
  }

  private func check(_ failure: String?, tile: (x: Int, y: Int)) throws {
    guard let failure else { return }
    throw SlideError.corrupt(
      path: path,
      detail: "the \(unit) at (\(tile.x), \(tile.y)) level px does not decode: \(failure)")
  }

  /// "tile" or "strip", for messages.
  private var unit: String { levels.first?.tiled == false ? "strip" : "tile" }

  private func decodeTile(
    at tile: (x: Int, y: Int), layout: TIFFLevelLayout, handle: TIFFHandle.Positioned,
    scratch: UnsafeMutableBufferPointer<UInt8>
  ) throws {
    let tif = handle.handle.tif
    let ok: Bool
    switch (layout.pixelFormat, layout.tiled) {
    case (.jpeg, _):
      let failure = handle.jpeg!.decode(
        index: handle.index(of: tile), tiled: layout.tiled, handle: handle.handle,
        width: layout.tileWidth, height: handle.decodedRows(tileY: tile.y),
        into: scratch.baseAddress!, pitch: layout.tileWidth * 3)
      try check(failure, tile: tile)
      ok = true
    case (.chunky8, true), (.palette8, true):
      ok = TIFFReadEncodedTile(
        tif, handle.index(of: tile), scratch.baseAddress, tmsize_t(scratch.count)) >= 0
    case (.chunky8, false), (.palette8, false):
      ok = TIFFReadEncodedStrip(
        tif, handle.index(of: tile), scratch.baseAddress, tmsize_t(scratch.count)) >= 0
    case (.rgba, true):
      let raster = UnsafeMutableRawPointer(scratch.baseAddress!)
        .assumingMemoryBound(to: UInt32.self)
      ok = TIFFReadRGBATile(tif, UInt32(tile.x), UInt32(tile.y), raster) == 1
    case (.rgba, false):
      let raster = UnsafeMutableRawPointer(scratch.baseAddress!)
        .assumingMemoryBound(to: UInt32.self)
      ok = TIFFReadRGBAStrip(tif, UInt32(tile.y), raster) == 1
    }
    if !ok {
      let reason = handle.handle.lastError ?? "libtiff could not decode it"
      handle.handle.clearError()
      throw SlideError.corrupt(
        path: path,
        detail: "the \(unit) at (\(tile.x), \(tile.y)) level px does not decode: \(reason)")
    }
  }
}

// MARK: - Helpers

/// A rectangle in one level's pixels.
struct PixelRect: Equatable {
  var x: Int
  var y: Int
  var width: Int
  var height: Int

  var maxX: Int { x + width }
  var maxY: Int { y + height }

  func intersection(_ other: PixelRect) -> PixelRect? {
    let x0 = max(x, other.x)
    let y0 = max(y, other.y)
    let x1 = min(maxX, other.maxX)
    let y1 = min(maxY, other.maxY)
    guard x0 < x1, y0 < y1 else { return nil }
    return PixelRect(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
  }
}

/// Where decoded pixels go: an RGB buffer covering `region` (level pixels),
/// of which only `clip` (inside the level) is written by tile copies.
/// Workers write disjoint pixels, so sharing the pointer is safe.
struct OutputTarget: @unchecked Sendable {
  let base: UnsafeMutablePointer<UInt8>
  let region: PixelRect
  let clip: PixelRect
  /// Single-sample images write their stored sample, not its rendering.
  var stored = false

  /// Address of level pixel (x, y), which must lie inside `region`.
  func pointer(x: Int, y: Int) -> UnsafeMutablePointer<UInt8> {
    base + ((y - region.y) * region.width + (x - region.x)) * 3
  }
}

/// First error thrown by any worker.
final class ErrorSlot: @unchecked Sendable {
  private let lock = NSLock()
  private var error: (any Error)?

  func record(_ error: any Error) {
    lock.lock()
    if self.error == nil { self.error = error }
    lock.unlock()
  }

  var first: (any Error)? {
    lock.lock()
    defer { lock.unlock() }
    return error
  }
}

/// libtiff handles positioned on one level's directory, lent to one thread
/// at a time. Grows to as many handles as there are concurrent readers.
final class HandlePool: @unchecked Sendable {
  let path: String
  let layout: TIFFLevelLayout
  private let lock = NSLock()
  private var idle: [TIFFHandle.Positioned] = []

  init(path: String, layout: TIFFLevelLayout) {
    self.path = path
    self.layout = layout
  }

  func acquire() throws -> TIFFHandle.Positioned {
    lock.lock()
    if let handle = idle.popLast() {
      lock.unlock()
      return handle
    }
    lock.unlock()
    return try TIFFHandle.Positioned(path: path, layout: layout)
  }

  func release(_ handle: TIFFHandle.Positioned) {
    lock.lock()
    idle.append(handle)
    lock.unlock()
  }
}

extension TIFFHandle {
  /// A handle sitting on one level's directory, with the decode settings
  /// and scratch size that level needs.
  final class Positioned {
    let handle: TIFFHandle
    let layout: TIFFLevelLayout
    /// Bytes one decoded tile or strip takes in scratch memory.
    let tileBytes: Int
    /// Direct JPEG decoder, for `.jpeg` levels.
    let jpeg: JPEGTileDecoder?

    init(path: String, layout: TIFFLevelLayout) throws {
      handle = try TIFFHandle(path: path)
      self.layout = layout
      guard handle.setDirectory(offset: layout.offset) else {
        throw SlideError.corrupt(
          path: path, detail: handle.lastError ?? "image directory at \(layout.offset) unreadable")
      }
      var decoder: JPEGTileDecoder? = nil
      switch layout.pixelFormat {
      case .jpeg(let photometricRGB):
        decoder = try JPEGTileDecoder(handle: handle, photometricRGB: photometricRGB)
        tileBytes = layout.tileWidth * layout.tileHeight * 3
      case .palette8:
        tileBytes = Int(layout.tiled ? TIFFTileSize(handle.tif) : TIFFStripSize(handle.tif))
      case .chunky8(_, _, _, _, let jpegToRGB):
        if jpegToRGB { handle.set(TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB) }
        tileBytes = Int(layout.tiled ? TIFFTileSize(handle.tif) : TIFFStripSize(handle.tif))
      case .rgba:
        tileBytes = layout.tileWidth * layout.tileHeight * 4
      }
      jpeg = decoder
    }

    /// libtiff's index of the tile (or strip) whose top-left corner is
    /// `tile`, in level pixels.
    func index(of tile: (x: Int, y: Int)) -> UInt32 {
      layout.tiled
        ? TIFFComputeTile(handle.tif, UInt32(tile.x), UInt32(tile.y), 0, 0)
        : TIFFComputeStrip(handle.tif, UInt32(tile.y), 0)
    }

    /// Rows a decode of the tile or strip starting at level row `tileY`
    /// yields: a full tile for tiled images, fewer for a final short strip.
    func decodedRows(tileY: Int) -> Int {
      layout.tiled ? layout.tileHeight : min(layout.tileHeight, layout.height - tileY)
    }
  }
}
