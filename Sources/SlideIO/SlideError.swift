/// Everything that can go wrong when opening or reading a slide.
///
/// Each case renders, through ``description``, as one sentence that names the
/// file and the problem, with the offending values, ready for a user.
public enum SlideError: Error, Equatable, Sendable, CustomStringConvertible {
  /// Nothing exists at the path.
  case fileNotFound(path: String)
  /// The path names a directory, not a file.
  case isDirectory(path: String)
  /// The file has zero bytes.
  case emptyFile(path: String)
  /// No reader recognises the file's contents.
  case unsupportedFormat(path: String, detail: String)
  /// The file claims a known format but its contents cannot be decoded.
  case corrupt(path: String, detail: String)
  /// The file exists but the operating system refuses to read it.
  case unreadable(path: String, detail: String)
  /// A level index outside `0..<levelCount`.
  case levelOutOfRange(path: String, level: Int, levelCount: Int)
  /// A region with a zero or negative width or height.
  case invalidRegionSize(path: String, size: PixelSize)
  /// A region whose pixels would take more memory than allowed.
  case regionTooLarge(path: String, size: PixelSize, limitBytes: Int)
  /// No associated image of that name.
  case noSuchAssociatedImage(path: String, name: String, available: [String])
  /// An output file (PNG) could not be written; nothing was left behind.
  case writeFailed(path: String, detail: String)
  /// The slide's resolution (µm per pixel) is not known, so a level cannot be
  /// chosen by resolution.
  case unknownResolution(path: String)

  public var description: String {
    switch self {
    case .fileNotFound(let path):
      return "\(path): no such file."
    case .isDirectory(let path):
      return "\(path): is a directory, not a slide file."
    case .emptyFile(let path):
      return "\(path): the file is empty (0 bytes)."
    case .unsupportedFormat(let path, let detail):
      return "\(path): not a slide format HoloHisto reads (\(detail))."
    case .corrupt(let path, let detail):
      return "\(path): the file is damaged or truncated (\(detail))."
    case .unreadable(let path, let detail):
      return "\(path): cannot be read (\(detail))."
    case .levelOutOfRange(let path, let level, let count):
      return "\(path): level \(level) does not exist; the slide has levels 0 to \(count - 1)."
    case .invalidRegionSize(let path, let size):
      return "\(path): region size \(size) is invalid; width and height must be positive."
    case .regionTooLarge(let path, let size, let limit):
      let gib = Double(limit) / Double(1 << 30)
      let shown = (gib * 10).rounded() / 10
      return "\(path): region \(size) is too large to read at once "
        + "(limit \(shown) GiB of RGB pixels); read it in smaller regions."
    case .noSuchAssociatedImage(let path, let name, let available):
      let list = available.isEmpty ? "none" : available.joined(separator: ", ")
      return "\(path): no associated image named '\(name)' (available: \(list))."
    case .writeFailed(let path, let detail):
      return "\(path): cannot write the file (\(detail))."
    case .unknownResolution(let path):
      return "\(path): the slide's resolution (µm per pixel) is unknown, "
        + "so a level cannot be chosen by mpp."
    }
  }
}
