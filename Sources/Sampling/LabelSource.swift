import Foundation
import SlideIO

/// How stored mask values become class labels.
public enum LabelEncoding: String, Sendable, Codable {
  /// 0 → 0, 255 → 1, any other value v → v: reads both 0/255 binary masks
  /// and small-integer class maps (1, 2, 3, …). Use ``classIndex`` for a
  /// class map with a class 255.
  case automatic
  /// 0 → 0, anything else → 1.
  case binary
  /// The stored value is the class, unchanged.
  case classIndex

  /// The 256-entry lookup table from stored value to label.
  var table: [UInt8] {
    (0...255).map { (value: Int) -> UInt8 in
      switch self {
      case .automatic: return value == 255 ? 1 : UInt8(value)
      case .binary: return value == 0 ? 0 : 1
      case .classIndex: return UInt8(value)
      }
    }
  }
}

/// The ground-truth labels of one slide, read region by region.
///
/// Three kinds of source, all addressed in the **paired slide's** frame:
/// - a label image (PNG, TIFF, anything ``SlideIO/Slide`` opens) at the
///   slide's level-0 size;
/// - a pyramidal label TIFF whose level 0 is the slide's level-0 size (its
///   levels are used when they match a requested level's size);
/// - GeoJSON polygons in level-0 pixels (``PolygonLabels``), rasterised for
///   each requested region.
///
/// Stored pixels become labels through the maximum of their three RGB
/// samples (a grey mask reads as three equal samples) and a ``LabelEncoding``.
///
/// Sampling is **nearest**, never interpolated: output pixel (i, j) of a
/// read at level L takes the label under the level-0 point
/// `((x + i + 0.5) · d, (y + j + 0.5) · d)` where (x, y) is the level
/// origin and d the slide level's downsample; when a label level has exactly
/// the requested slide level's size, pixels are copied one to one instead.
///
/// Safe to read from several threads at once.
public final class LabelSource: Sendable {
  /// Where the labels come from.
  public enum Kind: Sendable {
    /// A raster mask, one level or a pyramid, opened as a slide.
    case raster(Slide)
    /// Polygons rasterised on demand.
    case polygons(PolygonLabels)
  }

  /// Label value for pixels outside the slide, by default: 255, "ignore"
  /// (to be left out of the loss).
  public static let ignoreValue: UInt8 = 255

  /// The label file, as given.
  public let path: String
  /// The labels.
  public let kind: Kind
  /// Stored value → label, for raster sources.
  public let encoding: LabelEncoding
  /// The paired slide's path and levels (sizes in each level's pixels).
  public let slidePath: String
  public let slideLevels: [SlideLevel]
  /// Largest raster band read at once, in RGB bytes (64 MiB): bounds memory
  /// when a region at a coarse level is sampled from a full-size mask.
  public let bandBytes: Int
  private let table: [UInt8]

  /// Pairs a raster mask already opened as a slide with `slide`.
  ///
  /// - Throws: ``SamplingError/labelSizeMismatch(labelPath:labelSize:slidePath:slideSize:)``
  ///   when the mask's level 0 is not the slide's level-0 size.
  public init(
    raster labels: Slide, for slide: Slide, encoding: LabelEncoding = .automatic,
    bandBytes: Int = 64 << 20
  ) throws {
    guard labels.dimensions == slide.dimensions else {
      throw SamplingError.labelSizeMismatch(
        labelPath: labels.path, labelSize: labels.dimensions, slidePath: slide.path,
        slideSize: slide.dimensions)
    }
    self.path = labels.path
    self.kind = .raster(labels)
    self.encoding = encoding
    self.slidePath = slide.path
    self.slideLevels = slide.properties.levels
    self.bandBytes = max(1, bandBytes)
    self.table = encoding.table
  }

  /// Opens a raster mask (PNG, TIFF, pyramidal TIFF, …) for `slide`.
  ///
  /// - Throws: the ``SlideIO/SlideError`` of opening the mask, or
  ///   ``SamplingError/labelSizeMismatch(labelPath:labelSize:slidePath:slideSize:)``.
  public convenience init(
    rasterPath: String, for slide: Slide, encoding: LabelEncoding = .automatic
  ) throws {
    try self.init(raster: Slide(path: rasterPath, threads: 1), for: slide, encoding: encoding)
  }

  /// Pairs polygons (level-0 pixels of `slide`) with `slide`; `path` names
  /// them in messages.
  public init(polygons: PolygonLabels, path: String, for slide: Slide) {
    self.path = path
    self.kind = .polygons(polygons)
    self.encoding = .classIndex
    self.slidePath = slide.path
    self.slideLevels = slide.properties.levels
    self.bandBytes = 64 << 20
    self.table = LabelEncoding.classIndex.table
  }

  /// Opens a label file for `slide`, choosing the kind by extension:
  /// `.geojson` and `.json` are polygons, anything else a raster mask.
  ///
  /// - Throws: as ``init(rasterPath:for:encoding:)`` or
  ///   ``SamplingError/invalidGeoJSON(path:detail:)``.
  public convenience init(
    path: String, for slide: Slide, encoding: LabelEncoding = .automatic
  ) throws {
    let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
    if ext == "geojson" || ext == "json" {
      self.init(polygons: try PolygonLabels(geoJSONPath: path), path: path, for: slide)
    } else {
      try self.init(rasterPath: path, for: slide, encoding: encoding)
    }
  }

  /// Reads the labels of a region of the paired slide.
  ///
  /// - Parameters:
  ///   - levelOrigin: top-left of the region in **`level`'s pixels** of the
  ///     paired slide (may be negative: outside reads `outsideValue`).
  ///   - level: a level of the paired slide.
  ///   - size: region size in `level`'s pixels.
  ///   - outsideValue: label for pixels outside the level (default
  ///     ``ignoreValue``).
  /// - Returns: `size.width × size.height` labels, row-major, no padding.
  /// - Throws: ``SlideIO/SlideError/levelOutOfRange(path:level:levelCount:)``,
  ///   ``SlideIO/SlideError/invalidRegionSize(path:size:)``, or a read error.
  public func read(
    levelOrigin: LevelPoint, level: Int, size: PixelSize,
    outsideValue: UInt8 = LabelSource.ignoreValue
  ) throws -> [UInt8] {
    var labels: [UInt8] = []
    try read(
      levelOrigin: levelOrigin, level: level, size: size, outsideValue: outsideValue,
      into: &labels)
    return labels
  }

  /// As ``read(levelOrigin:level:size:outsideValue:)``, into `labels`
  /// (resized to `size` when needed, its storage reused otherwise).
  public func read(
    levelOrigin: LevelPoint, level: Int, size: PixelSize, outsideValue: UInt8,
    into labels: inout [UInt8]
  ) throws {
    guard slideLevels.indices.contains(level) else {
      throw SlideError.levelOutOfRange(path: slidePath, level: level, levelCount: slideLevels.count)
    }
    guard size.width > 0, size.height > 0, let count = size.pixelCount else {
      throw SlideError.invalidRegionSize(path: path, size: size)
    }
    let levelInfo = slideLevels[level]
    let region = LevelRect(
      x: levelOrigin.x, y: levelOrigin.y, width: size.width, height: size.height)
    let inside = region.clipped(width: levelInfo.size.width, height: levelInfo.size.height)

    // background where polygons will paint; outside value around the level
    let fill: UInt8 = if case .polygons = kind, inside == region { 0 } else { outsideValue }
    if labels.count != count {
      labels = [UInt8](repeating: fill, count: count)
    } else {
      labels.withUnsafeMutableBufferPointer { $0.update(repeating: fill) }
    }
    guard let inside else { return }

    switch kind {
    case .polygons(let polygons):
      if inside == region {
        polygons.rasterise(
          levelOrigin: levelOrigin, downsample: levelInfo.downsample, size: size, into: &labels)
      } else {
        // rasterise the part inside the level, then place it
        let part = polygons.rasterise(
          levelOrigin: LevelPoint(x: inside.x, y: inside.y),
          downsample: levelInfo.downsample,
          size: PixelSize(width: inside.width, height: inside.height))
        Self.place(part, inside, in: &labels, region: region)
      }
    case .raster(let labelSlide):
      try readRaster(
        labelSlide, levelInfo: levelInfo, region: region, inside: inside, into: &labels)
    }
  }

  // MARK: Raster sampling

  private func readRaster(
    _ labelSlide: Slide, levelInfo: SlideLevel, region: LevelRect, inside: LevelRect,
    into labels: inout [UInt8]
  ) throws {
    // a label level of exactly this size: copy one to one
    if let same = labelSlide.properties.levels.firstIndex(where: { $0.size == levelInfo.size }) {
      var image = RGBImage(width: 0, height: 0)
      try labelSlide.readRegion(
        levelOrigin: LevelPoint(x: inside.x, y: inside.y), level: same,
        size: PixelSize(width: inside.width, height: inside.height), into: &image,
        values: .stored)
      let part = convert(image)
      Self.place(part, inside, in: &labels, region: region)
      return
    }

    // otherwise nearest-sample the finest label level not finer than needed
    let labelLevel = labelSlide.bestLevel(forDownsample: levelInfo.downsample)
    let labelInfo = labelSlide.properties.levels[labelLevel]
    let scale = levelInfo.downsample / labelInfo.downsample  // label px per level px
    func source(_ i: Int, _ limit: Int) -> Int {
      min(limit - 1, max(0, Int(((Double(i) + 0.5) * scale).rounded(.down))))
    }
    let columns = (inside.x..<inside.maxX).map { source($0, labelInfo.size.width) }
    let rows = (inside.y..<inside.maxY).map { source($0, labelInfo.size.height) }
    guard let firstColumn = columns.first, let lastColumn = columns.last else { return }
    let spanWidth = lastColumn - firstColumn + 1
    let bandRows = max(1, bandBytes / (spanWidth * 3))
    var image = RGBImage(width: 0, height: 0)

    // read bands of label rows, each serving the output rows that fall in it
    var row = 0
    while row < rows.count {
      let bandTop = rows[row]
      let bandHeight = min(bandRows, labelInfo.size.height - bandTop)
      try labelSlide.readRegion(
        levelOrigin: LevelPoint(x: firstColumn, y: bandTop), level: labelLevel,
        size: PixelSize(width: spanWidth, height: bandHeight), into: &image, values: .stored)
      table.withUnsafeBufferPointer { table in
        image.pixels.withUnsafeBufferPointer { rgb in
          labels.withUnsafeMutableBufferPointer { output in
            while row < rows.count, rows[row] < bandTop + bandHeight {
              let sourceRow = (rows[row] - bandTop) * spanWidth
              let outputRow = (inside.y - region.y + row) * region.width + inside.x - region.x
              for (i, column) in columns.enumerated() {
                let s = (sourceRow + column - firstColumn) * 3
                output[outputRow + i] = table[Int(max(rgb[s], rgb[s + 1], rgb[s + 2]))]
              }
              row += 1
            }
          }
        }
      }
    }
  }

  /// Stored RGB → labels, pixel by pixel.
  private func convert(_ image: RGBImage) -> [UInt8] {
    let count = image.width * image.height
    return table.withUnsafeBufferPointer { table in
      image.pixels.withUnsafeBufferPointer { rgb in
        [UInt8](unsafeUninitializedCapacity: count) { output, initialized in
          for i in 0..<count {
            output[i] = table[Int(max(rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2]))]
          }
          initialized = count
        }
      }
    }
  }

  /// Copies `part` (the labels of rectangle `inside`) into `labels`, which
  /// covers `region`; both rectangles in the same level's pixels.
  private static func place(
    _ part: [UInt8], _ inside: LevelRect, in labels: inout [UInt8], region: LevelRect
  ) {
    part.withUnsafeBufferPointer { source in
      labels.withUnsafeMutableBufferPointer { output in
        for y in 0..<inside.height {
          let from = y * inside.width
          let to = (inside.y - region.y + y) * region.width + inside.x - region.x
          for x in 0..<inside.width { output[to + x] = source[from + x] }
        }
      }
    }
  }
}

/// An integer rectangle in one level's pixels.
struct LevelRect: Equatable, Sendable {
  var x: Int
  var y: Int
  var width: Int
  var height: Int

  var maxX: Int { x + width }
  var maxY: Int { y + height }

  /// The part inside `[0, width) × [0, height)`, or `nil` when none is.
  func clipped(width levelWidth: Int, height levelHeight: Int) -> LevelRect? {
    let left = max(0, x)
    let top = max(0, y)
    let right = min(levelWidth, maxX)
    let bottom = min(levelHeight, maxY)
    guard left < right, top < bottom else { return nil }
    return LevelRect(x: left, y: top, width: right - left, height: bottom - top)
  }
}
