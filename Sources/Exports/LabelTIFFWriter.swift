import Foundation
import SlideIO

/// Streams a whole-slide uint8 label mask into a pyramidal, tiled TIFF,
/// never holding the whole mask.
///
/// The caller pushes full-width bands of rows of the **level-0** mask, top to
/// bottom, in any band height (256 or 512 rows suit inference tiles), then
/// calls ``finish()``. The file:
/// - Level 0 and every reduced level are tiled 256×256, deflate-compressed,
///   8 bits, one sample. Reduced levels halve the level above (rounding up)
///   by ``PyramidReduction`` (default ``PyramidReduction/mode``) until a
///   level fits in one tile; they follow level 0 in the main IFD chain with
///   `SubfileType = 1` (reduced-resolution), which is how OpenSlide's
///   generic-tiff reader, tifffile and libvips find a pyramid.
/// - Values: class `k` is stored as `k` (0 = background). With
///   ``Coloring/palette`` (default) the file is `Photometric = palette` with
///   a colour map from ``LabelClasses``, so viewers show colours while
///   readers of raw samples (tifffile, libtiff) still get `k`; with
///   ``Coloring/grey`` it is plain min-is-black grey.
/// - Resolution: `XResolution`/`YResolution` in pixels per centimetre
///   (`ResolutionUnit = 3`) from the level-0 µm per pixel, divided by 2ⁿ at
///   level n.
/// - Container: classic TIFF unless the worst case (every tile stored
///   uncompressed plus deflate's framing) could pass 4 GiB, then BigTIFF;
///   ``Container/bigTIFF`` forces BigTIFF.
///
/// Memory: one band of 256 rows per level, `256 × (w₀ + w₁ + …) ≈ 512 × w₀`
/// bytes (51 MB for a 100 000-pixel-wide slide), whatever the height.
/// Disk: level 0 goes straight into the output; each reduced level is
/// compressed into a hidden spool TIFF beside it (together about a third of
/// level 0's compressed size) whose tiles are copied, still compressed,
/// after level 0's directory when the mask is complete.
///
/// Atomic: everything is written under hidden temporary names in the
/// destination's folder (``OutputFile``) and renamed into place by
/// ``finish()``. A thrown error, ``cancel()``, or dropping the writer
/// unfinished removes every temporary file and leaves the destination as it
/// was.
///
/// Not thread-safe: push from one thread at a time.
///
/// - Complexity: O(level-0 pixels) time; memory as above.
public final class LabelTIFFWriter {
  /// How label values appear to viewers (stored values are `k` either way).
  public enum Coloring: Sendable, Equatable {
    /// `Photometric = palette`, colour map from the options' classes.
    case palette
    /// `Photometric = min-is-black`: value `k` shows as grey level `k`.
    case grey
  }

  /// The TIFF container.
  public enum Container: Sendable, Equatable {
    /// Classic TIFF when the file cannot pass 4 GiB, else BigTIFF.
    case automatic
    /// Always BigTIFF.
    case bigTIFF
  }

  /// Choices for one file.
  public struct Options: Sendable {
    /// How reduced levels are made (default ``PyramidReduction/mode``).
    public var reduction: PyramidReduction
    /// Palette (default) or grey.
    public var coloring: Coloring
    /// Names and colours of the classes (colour map, description).
    public var classes: LabelClasses
    /// Classic or BigTIFF (default ``Container/automatic``).
    public var container: Container
    /// Level-0 resolution in µm per pixel, when known.
    public var micronsPerPixel: Double?
    /// Deflate level 1 (fastest) … 9 (smallest), clamped to that range;
    /// default 6.
    public var deflateLevel: Int

    public init(
      reduction: PyramidReduction = .mode, coloring: Coloring = .palette,
      classes: LabelClasses = LabelClasses(), container: Container = .automatic,
      micronsPerPixel: Double? = nil, deflateLevel: Int = 6
    ) {
      self.reduction = reduction
      self.coloring = coloring
      self.classes = classes
      self.container = container
      self.micronsPerPixel = micronsPerPixel
      self.deflateLevel = deflateLevel
    }
  }

  /// Tile width and height of every level, in pixels.
  public static let tileSize = 256

  /// The destination as given.
  public let path: String
  /// Level-0 size in level-0 pixels.
  public let size: PixelSize
  /// Every level's size in its own pixels, level 0 first
  /// (``LabelPyramid/levelSizes(level0:tileSize:)``).
  public let levelSizes: [PixelSize]
  /// Whether the file is BigTIFF.
  public let isBigTIFF: Bool
  /// Level-0 rows pushed so far.
  public var rowsWritten: Int { levels.first?.rowsReceived ?? 0 }

  private let options: Options
  private let output: OutputFile
  private var levels: [LevelBand]
  private var isOpen = true

  /// Checks the destination and opens the temporary files.
  ///
  /// - Parameters:
  ///   - path: the TIFF to write; its folder must exist.
  ///   - size: level-0 mask size in level-0 pixels; each side at most
  ///     2³¹ − 1.
  ///   - inputs: files the caller reads; writing over one is refused.
  /// - Throws: ``ExportError/invalidSize(path:what:size:)``,
  ///   ``ExportError/invalidResolution(path:micronsPerPixel:)``,
  ///   ``ExportError/writeFailed(path:detail:)`` for a destination
  ///   ``OutputFile`` refuses, ``ExportError/tiffFailed(path:level:detail:)``.
  public init(
    path: String, size: PixelSize, options: Options = Options(), inputs: [String] = []
  ) throws {
    guard size.width > 0, size.height > 0, size.width <= Int(Int32.max),
      size.height <= Int(Int32.max)
    else { throw ExportError.invalidSize(path: path, what: "label mask", size: size) }
    if let mpp = options.micronsPerPixel, !(mpp.isFinite && mpp > 0) {
      throw ExportError.invalidResolution(path: path, micronsPerPixel: mpp)
    }
    self.path = path
    self.size = size
    self.options = options
    let tileSize = Self.tileSize
    levelSizes = LabelPyramid.levelSizes(level0: size, tileSize: tileSize)
    isBigTIFF =
      options.container == .bigTIFF
      || Self.worstCaseBytes(levelSizes: levelSizes, tileSize: tileSize) > UInt64(UInt32.max)

    do {
      output = try OutputFile(path: path, inputs: inputs)
    } catch {
      throw ExportError.from(error, path: path)
    }

    // level 0 goes into the output; reduced levels into spool files
    let zeroTile = LevelBand.compressedZeroTile(
      tileSize: tileSize, level: min(9, max(1, options.deflateLevel)))
    var levels: [LevelBand] = []
    let mode = isBigTIFF ? "w8" : "w"
    do {
      for (index, levelSize) in levelSizes.enumerated() {
        let file = index == 0 ? output.temporary : "\(output.temporary).level\(index)"
        let tiff = try LabelTIFFFile(file: file, mode: mode, shownAs: path, level: index)
        let band = LevelBand(
          index: index, size: levelSize, tileSize: tileSize, file: file, tiff: tiff,
          zeroTile: zeroTile)
        levels.append(band)
        try tiff.setTags(
          Self.tags(level: index, sizes: levelSizes, options: options), level: index)
      }
    } catch {
      for band in levels { band.abandon(keepFile: band.index == 0) }
      output.discard()
      throw ExportError.from(error, path: path)
    }
    self.levels = levels
  }

  deinit {
    if isOpen { abandon() }
  }

  /// Pushes the next `labels.count / width` full-width rows of the level-0
  /// mask (row-major, one byte per pixel, no padding).
  ///
  /// Whenever a level's 256-row band fills, its tiles are compressed and
  /// written and its rows are reduced into the next level.
  /// - Throws: ``ExportError/partialRow(path:byteCount:width:)``,
  ///   ``ExportError/tooManyRows(path:height:rowsWritten:rowsOffered:)``,
  ///   ``ExportError/writerClosed(path:)``, or a libtiff failure; after any
  ///   throw the writer is closed and nothing is left on disk.
  public func append(rows labels: UnsafeBufferPointer<UInt8>) throws {
    guard isOpen else { throw ExportError.writerClosed(path: path) }
    do {
      guard labels.count % size.width == 0 else {
        throw ExportError.partialRow(path: path, byteCount: labels.count, width: size.width)
      }
      let rows = labels.count / size.width
      guard rowsWritten + rows <= size.height else {
        throw ExportError.tooManyRows(
          path: path, height: size.height, rowsWritten: rowsWritten, rowsOffered: rows)
      }
      guard rows > 0, let base = labels.baseAddress else { return }
      try push(level: 0, rows: base, count: rows)
    } catch {
      abandon()
      throw ExportError.from(error, path: path)
    }
  }

  /// Pushes `count` full-width rows of background (label 0): the same file
  /// as pushing zeros, but whole background tiles are neither scanned nor
  /// compressed again, which is most of a slide.
  /// - Throws: as ``append(rows:)-(UnsafeBufferPointer<UInt8>)``.
  public func appendBackground(rows count: Int) throws {
    guard isOpen else { throw ExportError.writerClosed(path: path) }
    do {
      guard count >= 0, rowsWritten + count <= size.height else {
        throw ExportError.tooManyRows(
          path: path, height: size.height, rowsWritten: rowsWritten, rowsOffered: count)
      }
      try push(level: 0, rows: nil, count: count)
    } catch {
      abandon()
      throw ExportError.from(error, path: path)
    }
  }

  /// Pushes rows from an array (row-major, one byte per level-0 pixel), as
  /// the buffer-pointer form does.
  public func append(rows labels: [UInt8]) throws {
    try labels.withUnsafeBufferPointer { try append(rows: $0) }
  }

  /// Writes the reduced levels after level 0, closes the file and renames
  /// it into place.
  /// - Throws: ``ExportError/incomplete(path:height:rowsWritten:)`` when
  ///   rows are missing, ``ExportError/writerClosed(path:)``, or a libtiff
  ///   or rename failure; nothing is left on disk after a throw.
  public func finish() throws {
    guard isOpen else { throw ExportError.writerClosed(path: path) }
    do {
      guard rowsWritten == size.height else {
        throw ExportError.incomplete(path: path, height: size.height, rowsWritten: rowsWritten)
      }
      let main = levels[0].tiff
      try main.writeDirectory(level: 0)

      // copy each spooled level, tiles still compressed, into the chain
      for band in levels.dropFirst() {
        try band.tiff.writeDirectory(level: band.index)
        try band.tiff.close(level: band.index)
        let spool = try LabelTIFFFile(
          file: band.file, mode: "r", shownAs: path, level: band.index)
        try main.setTags(
          Self.tags(level: band.index, sizes: levelSizes, options: options), level: band.index)
        for tile in 0..<band.tileCount {
          try main.writeRawTile(
            index: tile, spool.rawTile(index: tile, level: band.index), level: band.index)
        }
        try main.writeDirectory(level: band.index)
        spool.abandon()
        unlink(band.file)
      }
      try main.close(level: 0)
      try output.commit()
      isOpen = false
    } catch {
      abandon()
      throw ExportError.from(error, path: path)
    }
  }

  /// Stops writing and removes every temporary file; the destination is
  /// left as it was. Does nothing once finished.
  public func cancel() {
    if isOpen { abandon() }
  }

  // MARK: Streaming

  /// Appends `count` rows of `levels[level]`'s width to that level's band
  /// (`rows` nil: background rows), flushing the band each time it fills
  /// or the level completes.
  private func push(level: Int, rows: UnsafePointer<UInt8>?, count: Int) throws {
    let band = levels[level]
    var done = 0
    while done < count {
      let take =
        rows.map { band.append(rows: $0 + done * band.size.width, count: count - done) }
        ?? band.appendBackground(count: count - done)
      done += take
      if band.isFull {
        try band.writeTiles()
        if level + 1 < levels.count { try reduce(band, into: level + 1) }
        band.startNextBand()
      }
    }
  }

  /// Reduces the rows of a full band, two at a time, into the next level.
  private func reduce(_ band: LevelBand, into next: Int) throws {
    let width = band.size.width
    let nextWidth = levels[next].size.width
    let rule = options.reduction
    if band.isBackground {
      try push(level: next, rows: nil, count: (band.rowsInBand + 1) / 2)
      return
    }
    var row = [UInt8](repeating: 0, count: nextWidth)
    for top in stride(from: 0, to: band.rowsInBand, by: 2) {
      band.withRows { pixels in
        let upper = pixels.baseAddress! + top * width
        // on an odd level's last row the block has one row: c = a, d = b
        let lower = top + 1 < band.rowsInBand ? upper + width : upper
        row.withUnsafeMutableBufferPointer { out in
          // Background rows (most of a slide) reduce to background.
          if LevelBand.isZero(upper, count: width) && LevelBand.isZero(lower, count: width) {
            out.update(repeating: 0)
            return
          }
          // Background stretches of a band with some objects reduce to
          // background: skip them 32 output pixels at a time.
          for start in stride(from: 0, to: nextWidth, by: 32) {
            let end = min(nextWidth, start + 32)
            if 2 * end <= width
              && LevelBand.isZero(upper + 2 * start, count: 2 * (end - start))
              && LevelBand.isZero(lower + 2 * start, count: 2 * (end - start))
            {
              (out.baseAddress! + start).update(repeating: 0, count: end - start)
              continue
            }
            for x in start..<end {
              let left = 2 * x
              // on an odd level's last column the block has one column
              let right = left + 1 < width ? left + 1 : left
              out[x] = LabelPyramid.reduce(
                upper[left], upper[right], lower[left], lower[right], rule: rule)
            }
          }
        }
      }
      try row.withUnsafeBufferPointer { try push(level: next, rows: $0.baseAddress!, count: 1) }
    }
  }

  // MARK: Tags and sizes

  private static func tags(
    level: Int, sizes: [PixelSize], options: Options
  ) -> LabelTIFFLevelTags {
    let scale = Double(1 << level)
    let palette: [LabelColor]? =
      options.coloring == .palette
      ? (0...255).map { options.classes[UInt8($0)].color } : nil
    return LabelTIFFLevelTags(
      size: sizes[level], tileSize: tileSize, reduced: level > 0, palette: palette,
      pixelsPerCentimetre: options.micronsPerPixel.map { 10_000 / ($0 * scale) },
      description: level == 0 ? description(classes: options.classes) : nil,
      deflateLevel: min(9, max(1, options.deflateLevel)))
  }

  /// Level 0's `ImageDescription`: the value scheme and the listed classes.
  private static func description(classes: LabelClasses) -> String {
    let listed = classes.classes.keys.sorted().map { "\($0)=\(classes[$0].name)" }
    let names = listed.isEmpty ? "" : "; " + listed.joined(separator: ", ")
    return "HoloHisto label mask: class k stored as k, 0 = background\(names)"
  }

  /// An upper bound on the file size in bytes: every tile stored at full
  /// size plus deflate's worst-case framing (5 bytes per 16 KiB stored block
  /// and the zlib header, rounded up to 1/1000 + 64 bytes), 16 bytes of
  /// offset and count per tile, and 8 KiB per directory (tags, colour map,
  /// description).
  static func worstCaseBytes(levelSizes: [PixelSize], tileSize: Int) -> UInt64 {
    let tileBytes = UInt64(tileSize * tileSize)
    let perTile = tileBytes + tileBytes / 1000 + 64 + 16
    var total: UInt64 = 16
    for size in levelSizes {
      let across = UInt64((size.width + tileSize - 1) / tileSize)
      let down = UInt64((size.height + tileSize - 1) / tileSize)
      total += across * down * perTile + 8192
    }
    return total
  }

  // MARK: Failure

  /// Closes every handle and removes every temporary file.
  private func abandon() {
    isOpen = false
    for band in levels { band.abandon(keepFile: band.index == 0) }
    output.discard()
  }
}
