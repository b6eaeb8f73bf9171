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

  public var description: String {
    switch self {
    case .maskTooLarge(let path, let level, let size, let limit):
      return "\(path): level \(level) (\(size) px) is too large for a tissue "
        + "mask (limit \(limit) pixels); choose a level further down the pyramid."
    }
  }
}
