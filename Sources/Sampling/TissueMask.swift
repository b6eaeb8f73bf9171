import SlideIO

/// A binary tissue/background mask over a whole slide, at low resolution.
///
/// Frame and layout: mask pixel (x, y) covers the level-0 square
/// `[x × downsample, (x + 1) × downsample) × [y × downsample, (y + 1) ×
/// downsample)`; `(0, 0)` is the slide's top-left corner. ``pixels`` is
/// row-major, no padding: pixel (x, y) is `pixels[y * width + x]`, `true`
/// for tissue. The mask was computed from pyramid ``level``, box-averaged by
/// a whole factor when that level was still too large, so ``downsample`` is
/// that level's downsample times the box factor.
public struct TissueMask: Sendable, Equatable {
  /// Width in mask pixels.
  public let width: Int
  /// Height in mask pixels.
  public let height: Int
  /// The pyramid level whose pixels the mask was computed from.
  public let level: Int
  /// Level-0 pixels per mask pixel, along both axes.
  public let downsample: Double
  /// Row-major tissue flags, `width * height` of them.
  public let pixels: [Bool]
  /// The HSV saturation (0…1) at or above which a pixel counted as tissue,
  /// or `nil` when the image had no colour contrast and so no tissue.
  public let saturationThreshold: Float?

  /// Wraps computed flags; `pixels.count` must be `width * height`.
  public init(
    width: Int, height: Int, level: Int, downsample: Double, pixels: [Bool],
    saturationThreshold: Float?
  ) {
    precondition(
      pixels.count == width * height,
      "TissueMask \(width)×\(height) needs \(width * height) flags, "
        + "got \(pixels.count)")
    precondition(
      downsample > 0,
      "TissueMask downsample must be positive, got \(downsample)")
    self.width = width
    self.height = height
    self.level = level
    self.downsample = downsample
    self.pixels = pixels
    self.saturationThreshold = saturationThreshold
  }

  /// Size of the mask, in mask pixels.
  public var size: PixelSize { PixelSize(width: width, height: height) }

  /// Number of tissue pixels.
  public var tissuePixelCount: Int { pixels.reduce(0) { $0 + ($1 ? 1 : 0) } }

  /// Share of mask pixels that are tissue, 0…1 (0 for an empty mask).
  public var fraction: Double {
    pixels.isEmpty ? 0 : Double(tissuePixelCount) / Double(pixels.count)
  }

  /// Whether mask pixel (x, y) is tissue. Coordinates are mask pixels.
  public subscript(x: Int, y: Int) -> Bool {
    precondition(
      x >= 0 && x < width && y >= 0 && y < height,
      "mask pixel (\(x), \(y)) outside the \(width)×\(height) mask")
    return pixels[y * width + x]
  }

  /// Whether the mask pixel under level-0 point `point` is tissue; points
  /// outside the mask are background.
  public func isTissue(at point: Level0Point) -> Bool {
    let x = Int((Double(point.x) / downsample).rounded(.down))
    let y = Int((Double(point.y) / downsample).rounded(.down))
    guard x >= 0, x < width, y >= 0, y < height else { return false }
    return pixels[y * width + x]
  }

  /// The mask as 8-bit grey samples, 255 for tissue and 0 for background,
  /// same row-major layout as ``pixels``: ready for a grey PNG.
  public func greySamples() -> [UInt8] {
    pixels.map { $0 ? 255 : 0 }
  }
}
