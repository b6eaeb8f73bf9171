import SlideIO

/// What stops whole-slide segmentation before or while it runs. Each case
/// renders as one sentence naming the file and the offending values.
public enum InferenceError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The model's input resolution cannot be matched to the slide.
  case unknownScale(path: String, modelMPP: Double)
  /// A setting out of range.
  case invalidSetting(name: String, value: String, expected: String)
  /// The slide has no tissue to segment.
  case noTissue(path: String)
  /// A cohort manifest that cannot be used; `line` 0 means the whole file.
  case badManifest(path: String, line: Int, detail: String)
  /// Some slides of a cohort could not be segmented (each was reported).
  case slidesFailed(manifest: String, failed: [String], total: Int)
  /// The run was stopped by a signal; its resume journal, if any, is kept.
  case interrupted(output: String, journal: String?)
  /// The scale cannot work with this slide and tiling (memory or reads
  /// out of proportion).
  case unworkableScale(path: String, downsample: Double, detail: String)
  /// The resume journal of an interrupted run cannot be read or written.
  case journalFailed(path: String, detail: String)

  public var description: String {
    switch self {
    case .unknownScale(let path, let mpp):
      return "\(path): the slide's µm per pixel is unknown, so the model's input scale "
        + "(\(mpp) µm/px) cannot be matched; give the downsample explicitly (--downsample)."
    case .invalidSetting(let name, let value, let expected):
      return "\(name) = \(value) is out of range; expected \(expected)."
    case .noTissue(let path):
      return "\(path): no tissue was found, so there is nothing to segment."
    case .badManifest(let path, let line, let detail):
      return line == 0
        ? "\(path): the manifest \(detail)." : "\(path), line \(line): \(detail)."
    case .slidesFailed(let manifest, let failed, let total):
      let names = failed.prefix(3).joined(separator: ", ") + (failed.count > 3 ? ", …" : "")
      return "\(manifest): \(failed.count) of \(total) slides failed (\(names)); "
        + "run the command again to retry them."
    case .interrupted(let output, let journal):
      return "\(output): interrupted; nothing was written"
        + (journal.map { ", and running the same command again continues from \($0)" } ?? "")
        + "."
    case .unworkableScale(let path, let d, let detail):
      return "\(path): downsample \(d) \(detail)."
    case .journalFailed(let path, let detail):
      return "\(path): the resume journal \(detail)."
    }
  }
}
