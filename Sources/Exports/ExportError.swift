import SlideIO

/// Everything that can go wrong while exporting a mask (label TIFF, GeoJSON,
/// overlay PNG).
///
/// Each case renders, through ``description``, as one sentence that names
/// the output file and the problem, with the offending values. Whatever the
/// case, the destination is left as it was: no partial file, no temporary
/// file.
public enum ExportError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The output cannot be created or written: missing folder, a directory
  /// or device at the destination, an input named as output, a full disk.
  case writeFailed(path: String, detail: String)
  /// A mask or image size that cannot be written (zero, negative, or past
  /// the format's limits), in the pixels of the level named by `what`.
  case invalidSize(path: String, what: String, size: PixelSize)
  /// A band of rows whose byte count is not a whole number of rows.
  case partialRow(path: String, byteCount: Int, width: Int)
  /// More rows pushed than the mask has.
  case tooManyRows(path: String, height: Int, rowsWritten: Int, rowsOffered: Int)
  /// ``LabelTIFFWriter/finish()`` called before every row was pushed.
  case incomplete(path: String, height: Int, rowsWritten: Int)
  /// The writer was already finished or cancelled.
  case writerClosed(path: String)
  /// libtiff refused an operation on one pyramid level.
  case tiffFailed(path: String, level: Int, detail: String)
  /// A resolution that is not a positive, finite number of µm per pixel.
  case invalidResolution(path: String, micronsPerPixel: Double)
  /// An overlay opacity outside 0…1.
  case invalidOpacity(path: String, opacity: Double)
  /// A level-0 downsample (level-0 pixels per mask pixel) that is not a
  /// positive, finite number.
  case invalidDownsample(path: String, downsample: Double)

  public var description: String {
    switch self {
    case .writeFailed(let path, let detail):
      return "\(path): cannot write the file (\(detail))."
    case .invalidSize(let path, let what, let size):
      return "\(path): \(what) size \(size) cannot be written; "
        + "width and height must be positive and within the format's limits."
    case .partialRow(let path, let byteCount, let width):
      return "\(path): a band of \(byteCount) bytes is not a whole number of rows "
        + "of \(width) labels."
    case .tooManyRows(let path, let height, let written, let offered):
      return "\(path): \(offered) more rows pushed after \(written), "
        + "but the mask has only \(height) rows."
    case .incomplete(let path, let height, let written):
      return "\(path): finished after \(written) of \(height) rows; "
        + "nothing was written."
    case .writerClosed(let path):
      return "\(path): the writer is already finished or cancelled."
    case .tiffFailed(let path, let level, let detail):
      return "\(path): libtiff failed on pyramid level \(level) (\(detail))."
    case .invalidResolution(let path, let mpp):
      return "\(path): resolution \(mpp) µm per pixel is invalid; "
        + "it must be positive and finite."
    case .invalidOpacity(let path, let opacity):
      return "\(path): overlay opacity \(opacity) is outside 0…1."
    case .invalidDownsample(let path, let downsample):
      return "\(path): downsample \(downsample) (level-0 pixels per mask pixel) is invalid; "
        + "it must be positive and finite."
    }
  }

  /// Carries a refusal from SlideIO (``OutputFile``, ``PNGWriter``) over
  /// into this module's error type, keeping its sentence.
  static func from(_ error: any Error, path: String) -> ExportError {
    if let error = error as? ExportError { return error }
    if let error = error as? SlideError, case .writeFailed(_, let detail) = error {
      return .writeFailed(path: path, detail: detail)
    }
    return .writeFailed(path: path, detail: String(describing: error))
  }
}
