import Foundation

/// An open whole-slide image, or a plain TIFF, PNG or JPEG treated as a
/// one-level slide.
///
/// Reading is safe from several threads at once: each reader keeps per-thread
/// decoder state (one libtiff handle per concurrent read) or relies on a
/// library that is itself thread-safe (OpenSlide).
///
/// Which reader decodes the pixels:
/// - Aperio SVS and generic tiled TIFF that OpenSlide recognises, and every
///   TIFF OpenSlide rejects (plain strip TIFF, OME-TIFF): tiles decoded
///   directly through libtiff, in parallel. Metadata comes from OpenSlide
///   where it opens the file, so properties match what OpenSlide reports.
/// - Every other OpenSlide format (NDPI, SCN, MRXS, Philips, Ventana, VMS,
///   and TIFF variants whose layout does not match the direct reader):
///   OpenSlide, with its premultiplied ARGB converted to RGB on white.
/// - PNG (libpng) and JPEG (libjpeg-turbo): decoded once, held in memory.
public final class Slide: Sendable {
  /// The path the slide was opened from, as given.
  public let path: String
  /// Levels, resolution, vendor and associated images.
  public let properties: SlideProperties
  let backend: any SlideBackend

  /// The most RGB bytes one read may return. Default: half of physical
  /// memory, so a mistaken request fails with a message instead of taking
  /// the machine down.
  public let maxRegionBytes: Int

  /// Which reader decodes pixels.
  public enum Reader: Sendable {
    /// The direct libtiff reader for TIFF-family files, OpenSlide for the
    /// other vendors, libpng/libjpeg-turbo for PNG/JPEG (the default).
    case automatic
    /// OpenSlide for every file it opens, e.g. to compare against it.
    case openSlide
  }

  /// Opens the slide at `path`.
  ///
  /// - Parameters:
  ///   - threads: how many threads one region read may use to decode tiles
  ///     (default: all cores). Reads from several threads at once are safe
  ///     whatever this is.
  ///   - maxRegionBytes: refuse reads larger than this many RGB bytes.
  ///   - reader: which reader decodes pixels (see ``Reader``).
  /// - Throws: ``SlideError`` naming the file and the problem.
  public init(
    path: String, threads: Int? = nil, maxRegionBytes: Int? = nil,
    reader: Reader = .automatic
  ) throws {
    self.path = path
    self.maxRegionBytes =
      maxRegionBytes ?? Int(min(ProcessInfo.processInfo.physicalMemory / 2, UInt64(Int.max)))
    let threadCount = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
    let opened = try SlideOpener.open(
      path: path, threads: threadCount, maxBytes: self.maxRegionBytes,
      direct: reader == .automatic)
    self.properties = opened.properties
    self.backend = opened.backend
  }

  /// Number of pyramid levels (at least 1).
  public var levelCount: Int { properties.levels.count }

  /// Size of level 0 in level-0 pixels.
  public var dimensions: PixelSize { properties.dimensions }

  /// Size of `level` in that level's pixels.
  public func size(level: Int) throws -> PixelSize {
    try checkLevel(level)
    return properties.levels[level].size
  }

  /// Level-0 pixels per pixel of `level`.
  public func downsample(level: Int) throws -> Double {
    try checkLevel(level)
    return properties.levels[level].downsample
  }

  /// Reads a region as RGB.
  ///
  /// - Parameters:
  ///   - origin: top-left corner of the region, in **level-0 pixels**
  ///     (OpenSlide's convention), whatever `level` is read. It maps to level
  ///     pixel `floor(origin / downsample)`.
  ///   - level: pyramid level to read from.
  ///   - size: width and height of the result, in **`level`'s pixels**.
  /// - Returns: an image of exactly `size`; pixels outside the slide are
  ///   white (255, 255, 255).
  /// - Throws: ``SlideError/invalidRegionSize(path:size:)`` for a zero or
  ///   negative size, ``SlideError/regionTooLarge(path:size:limitBytes:)``
  ///   before allocating anything too large,
  ///   ``SlideError/levelOutOfRange(path:level:levelCount:)``, or a decode
  ///   error naming the damaged part of the file.
  public func readRegion(origin: Level0Point, level: Int, size: PixelSize) throws -> RGBImage {
    try checkLevel(level)
    let levelOrigin = LevelPoint(origin, downsample: properties.levels[level].downsample)
    return try readRegion(levelOrigin: levelOrigin, level: level, size: size)
  }

  /// Reads a region given by its origin in **`level`'s own pixels**: the
  /// form tilers want, since they step in level pixels.
  public func readRegion(levelOrigin: LevelPoint, level: Int, size: PixelSize) throws -> RGBImage {
    var image = RGBImage(width: 0, height: 0)
    try readRegion(levelOrigin: levelOrigin, level: level, size: size, into: &image)
    return image
  }

  /// Reads a region into `image`, reusing its storage when it already holds
  /// `size` pixels. Loops that read many same-sized regions should call this:
  /// a fresh multi-megabyte array per read costs page faults and zeroing
  /// that can rival the decoding itself.
  public func readRegion(
    levelOrigin: LevelPoint, level: Int, size: PixelSize, into image: inout RGBImage,
    values: PixelValues = .rendered
  ) throws {
    try checkLevel(level)
    let byteCount = try checkedByteCount(size)
    if image.size != size || image.pixels.count != byteCount {
      image = RGBImage(
        width: size.width, height: size.height,
        pixels: [UInt8](unsafeUninitializedCapacity: byteCount) { _, count in
          count = byteCount  // every byte is written by the backend below
        })
    }
    try image.pixels.withUnsafeMutableBufferPointer { buffer in
      switch values {
      case .rendered:
        try backend.read(level: level, origin: levelOrigin, size: size, into: buffer)
      case .stored:
        try backend.readStored(level: level, origin: levelOrigin, size: size, into: buffer)
      }
    }
  }

  /// What a read returns for images with one 8-bit sample per pixel.
  public enum PixelValues: Sendable {
    /// What a viewer shows: palette colours, min-is-white inverted.
    case rendered
    /// The stored sample `v` as `(v, v, v)`: a label mask's class values,
    /// whatever colours its palette gives them. Images with colour samples
    /// read as rendered.
    case stored
  }

  /// Reads a whole level.
  public func readLevel(_ level: Int) throws -> RGBImage {
    try checkLevel(level)
    return try readRegion(
      levelOrigin: LevelPoint(x: 0, y: 0), level: level, size: properties.levels[level].size)
  }

  /// Reads an associated image (`thumbnail`, `label`, `macro`, …) whole.
  public func readAssociatedImage(_ name: String) throws -> RGBImage {
    guard properties.associatedImages.contains(name) else {
      throw SlideError.noSuchAssociatedImage(
        path: path, name: name, available: properties.associatedImages)
    }
    return try backend.readAssociatedImage(name)
  }

  // MARK: Level choice

  /// Relative slack allowed when matching a level's downsample to a request:
  /// a level counts as "at most" downsample `d` when its downsample is at
  /// most `d × (1 + levelTolerance)`. Level sizes are floored, so a ×4 level
  /// of an odd-sized slide reports e.g. 4.0052; 1% absorbs that (it takes a
  /// level under ~100 px wide to drift further) while keeping real pyramid
  /// steps (×2 at least) far apart.
  public static let levelTolerance = 0.01

  /// The smallest level (largest downsample) whose downsample does not
  /// exceed `downsample` (within ``levelTolerance``); level 0 when the
  /// request is below 1. Reading at this level and resizing down by the
  /// remaining factor never upsamples.
  public func bestLevel(forDownsample downsample: Double) -> Int {
    var best = 0
    for (i, level) in properties.levels.enumerated()
    where level.downsample <= downsample * (1 + Self.levelTolerance) {
      if level.downsample > properties.levels[best].downsample { best = i }
    }
    return best
  }

  /// The smallest level whose resolution is at least as fine as `mpp`
  /// micrometres per pixel (within ``levelTolerance``).
  /// - Throws: ``SlideError/unknownResolution(path:)`` when the slide's mpp
  ///   is unknown.
  public func bestLevel(forMPP mpp: Double) throws -> Int {
    guard let base = properties.mpp else { throw SlideError.unknownResolution(path: path) }
    return bestLevel(forDownsample: mpp / base)
  }

  // MARK: Checks

  func checkLevel(_ level: Int) throws {
    guard properties.levels.indices.contains(level) else {
      throw SlideError.levelOutOfRange(path: path, level: level, levelCount: levelCount)
    }
  }

  func checkedByteCount(_ size: PixelSize) throws -> Int {
    guard size.width > 0, size.height > 0 else {
      throw SlideError.invalidRegionSize(path: path, size: size)
    }
    guard let n = size.pixelCount, case let (bytes, false) = n.multipliedReportingOverflow(by: 3),
      bytes <= maxRegionBytes
    else {
      throw SlideError.regionTooLarge(path: path, size: size, limitBytes: maxRegionBytes)
    }
    return bytes
  }
}
