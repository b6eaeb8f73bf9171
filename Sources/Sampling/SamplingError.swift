import SlideIO

/// What can go wrong in sampling, apart from the slide errors
/// (``SlideIO/SlideError``) that reading passes through.
///
/// Each case renders, through ``description``, as one sentence naming the
/// file and the problem.
public enum SamplingError: Error, Equatable, Sendable, CustomStringConvertible {
  /// A mask was asked for at a level too large to hold in memory as one
  /// mask; `size` is in that level's pixels.
  case maskTooLarge(path: String, level: Int, size: PixelSize, limitPixels: Int)
  /// A label mask whose level-0 size differs from its slide's; both sizes
  /// are in level-0 pixels.
  case labelSizeMismatch(
    labelPath: String, labelSize: PixelSize, slidePath: String, slideSize: PixelSize)
  /// A GeoJSON file that is not valid JSON or not the expected shape.
  case invalidGeoJSON(path: String, detail: String)
  /// A dataset folder that is missing or holds no images.
  case emptyDataset(path: String, detail: String)
  /// An image in a tile folder without its mask.
  case missingMask(imagePath: String, expectedMaskPath: String)
  /// Sources given to a sampler that cannot be sampled (no sources, or no
  /// tissue anywhere).
  case noTissue(paths: [String])
  /// A saved sampler state that does not belong to this sampler.
  case stateMismatch(detail: String)
  /// ``Prefetcher/next()`` called after ``Prefetcher/stop()`` for an item
  /// that was not built.
  case prefetcherStopped(index: Int)
  /// A sampler or tiler setting out of range.
  case invalidSetting(name: String, value: String, expected: String)

  public var description: String {
    switch self {
    case .maskTooLarge(let path, let level, let size, let limit):
      return "\(path): level \(level) (\(size) px) is too large for a tissue "
        + "mask (limit \(limit) pixels); choose a level further down the pyramid."
    case .labelSizeMismatch(let labelPath, let labelSize, let slidePath, let slideSize):
      return "\(labelPath): label mask is \(labelSize) px but its slide \(slidePath) is "
        + "\(slideSize) px at level 0; a mask must match its slide's level-0 size."
    case .invalidGeoJSON(let path, let detail):
      return "\(path): not usable GeoJSON (\(detail))."
    case .emptyDataset(let path, let detail):
      return "\(path): no tiles to read (\(detail))."
    case .missingMask(let imagePath, let expectedMaskPath):
      return "\(imagePath): image has no mask; expected \(expectedMaskPath)."
    case .noTissue(let paths):
      let list = paths.isEmpty ? "no slides given" : paths.joined(separator: ", ")
      return "nothing to sample: no tissue found in \(list)."
    case .stateMismatch(let detail):
      return "saved sampler state does not fit this sampler (\(detail))."
    case .prefetcherStopped(let index):
      return "the prefetcher was stopped before item \(index) was built."
    case .invalidSetting(let name, let value, let expected):
      return "\(name) = \(value) is out of range; expected \(expected)."
    }
  }
}
