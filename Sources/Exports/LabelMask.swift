import SlideIO

/// A uint8 label mask held in memory, and where it lies on the slide.
///
/// Layout: row-major, one byte per pixel, no padding; pixel `(x, y)` is
/// `labels[y * width + x]`, class `k` stored as `k`, 0 = background.
/// Mask pixel `(x, y)` covers the level-0 square from
/// `origin + (x, y) · downsample` to `origin + (x + 1, y + 1) · downsample`.
public struct LabelMask: Sendable, Equatable {
  /// Width and height in mask pixels.
  public let width: Int
  public let height: Int
  public var labels: [UInt8]
  /// Level-0 position of the mask's top-left corner, in level-0 pixels.
  public var origin: Level0Point
  /// Level-0 pixels per mask pixel (1 for a level-0 mask, 2ⁿ for a mask of
  /// pyramid level n).
  public var downsample: Double

  /// Wraps `labels`; `labels.count` must be `width * height`.
  public init(
    width: Int, height: Int, labels: [UInt8], origin: Level0Point = Level0Point(x: 0, y: 0),
    downsample: Double = 1
  ) {
    precondition(
      width >= 0 && height >= 0 && labels.count == width * height,
      "label mask \(width)×\(height) needs \(width * height) labels, got \(labels.count)")
    self.width = width
    self.height = height
    self.labels = labels
    self.origin = origin
    self.downsample = downsample
  }

  /// Size in mask pixels.
  public var size: PixelSize { PixelSize(width: width, height: height) }

  /// The label at mask pixel `(x, y)`.
  public subscript(x: Int, y: Int) -> UInt8 { labels[y * width + x] }
}
