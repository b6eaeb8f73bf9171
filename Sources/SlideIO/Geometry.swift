/// A point in **level-0 pixels**: the slide's full-resolution frame, where
/// annotations, GeoJSON and label masks live. `x` grows to the right, `y`
/// grows downwards, and (0, 0) is the top-left corner of the slide.
///
/// A distinct type from ``LevelPoint`` so the two frames never mix silently:
/// convert with ``LevelPoint/init(_:downsample:)`` or
/// ``Level0Point/init(_:downsample:)``.
public struct Level0Point: Hashable, Sendable, CustomStringConvertible {
  public var x: Int
  public var y: Int

  public init(x: Int, y: Int) {
    self.x = x
    self.y = y
  }

  /// The level-0 point under the top-left corner of level pixel `point`,
  /// for a level whose downsample is `downsample` (level-0 pixels per level
  /// pixel). Rounds to the nearest level-0 pixel.
  public init(_ point: LevelPoint, downsample: Double) {
    self.x = Int((Double(point.x) * downsample).rounded())
    self.y = Int((Double(point.y) * downsample).rounded())
  }

  public var description: String { "(\(x), \(y)) level-0 px" }
}

/// A point in the pixels of one pyramid level: what a read at that level
/// returns. Same axes as ``Level0Point``.
public struct LevelPoint: Hashable, Sendable, CustomStringConvertible {
  public var x: Int
  public var y: Int

  public init(x: Int, y: Int) {
    self.x = x
    self.y = y
  }

  /// The level pixel that contains level-0 pixel `point`, for a level whose
  /// downsample is `downsample`. Floors, as OpenSlide does, so a level-0
  /// origin never maps past the pixel it lies in.
  public init(_ point: Level0Point, downsample: Double) {
    self.x = Int((Double(point.x) / downsample).rounded(.down))
    self.y = Int((Double(point.y) / downsample).rounded(.down))
  }

  public var description: String { "(\(x), \(y)) level px" }
}

/// A width and height in pixels. Which level's pixels is said wherever a
/// size appears.
public struct PixelSize: Hashable, Sendable, CustomStringConvertible {
  public var width: Int
  public var height: Int

  public init(width: Int, height: Int) {
    self.width = width
    self.height = height
  }

  /// Number of pixels, or `nil` when the product overflows `Int`.
  public var pixelCount: Int? {
    let (n, overflow) = width.multipliedReportingOverflow(by: height)
    return overflow ? nil : n
  }

  public var description: String { "\(width)×\(height)" }
}
