/// One level of a slide's resolution pyramid.
public struct SlideLevel: Hashable, Sendable {
  /// Size of the whole level, in this level's pixels.
  public let size: PixelSize
  /// Level-0 pixels per pixel of this level (1 for level 0). Computed as the
  /// mean of the width and height ratios, as OpenSlide does, so it carries
  /// the rounding of floored level sizes (e.g. 4.0052 rather than 4).
  public let downsample: Double

  public init(size: PixelSize, downsample: Double) {
    self.size = size
    self.downsample = downsample
  }
}

/// What is known about a slide, independent of which reader decodes it.
public struct SlideProperties: Sendable, Equatable {
  /// Format family: an OpenSlide vendor name (`aperio`, `generic-tiff`,
  /// `hamamatsu`, …) or, for files OpenSlide does not open, `ome-tiff`,
  /// `tiff`, `png` or `jpeg`.
  public let vendor: String
  /// The pyramid, largest first. Never empty.
  public let levels: [SlideLevel]
  /// Micrometres per level-0 pixel along x, or `nil` when the file does not
  /// say or says something implausible (outside ``plausibleMPP``).
  public let mppX: Double?
  /// Micrometres per level-0 pixel along y; same rules as ``mppX``.
  public let mppY: Double?
  /// Scanner objective magnification (e.g. 20), when the file records it.
  public let objectivePower: Double?
  /// Names of associated images (`thumbnail`, `label`, `macro`, …).
  public let associatedImages: [String]
  /// Every raw key/value property the reader found (OpenSlide's property
  /// names where OpenSlide opened the file).
  public let raw: [String: String]

  /// Range of level-0 µm/px accepted as a real resolution: finer than
  /// 0.01 µm/px is beyond any light microscope, and no slide scanner's full
  /// resolution is coarser than 20 µm/px (a 1.25× objective scans at about
  /// 8). Coarser values are defaults written by software that did not know
  /// the scale: 10 px/cm gives 1000 µm/px, 72 dpi 353, 300 dpi 85.
  public static let plausibleMPP: ClosedRange<Double> = 0.01...20

  public init(
    vendor: String, levels: [SlideLevel], mppX: Double?, mppY: Double?,
    objectivePower: Double?, associatedImages: [String], raw: [String: String]
  ) {
    precondition(!levels.isEmpty, "a slide has at least one level")
    self.vendor = vendor
    self.levels = levels
    self.mppX = mppX.flatMap { Self.plausibleMPP.contains($0) ? $0 : nil }
    self.mppY = mppY.flatMap { Self.plausibleMPP.contains($0) ? $0 : nil }
    self.objectivePower = objectivePower.flatMap { $0 > 0 && $0 <= 1000 ? $0 : nil }
    self.associatedImages = associatedImages
    self.raw = raw
  }

  /// Size of level 0, in level-0 pixels.
  public var dimensions: PixelSize { levels[0].size }

  /// Mean of ``mppX`` and ``mppY`` when both are known, else whichever is.
  public var mpp: Double? {
    switch (mppX, mppY) {
    case (let x?, let y?): return (x + y) / 2
    case (let x?, nil): return x
    case (nil, let y?): return y
    default: return nil
    }
  }
}
