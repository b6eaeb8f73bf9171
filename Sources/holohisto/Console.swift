import Foundation

/// Where `holohisto` writes: results to standard output, errors and
/// progress to standard error, so stdout stays machine-readable.
enum Console {
  /// Writes one line to standard output.
  static func out(_ line: String) {
    print(line)
  }

  /// Flushes standard output and reports whether everything written to it
  /// arrived (a full disk or closed pipe shows up here, not at `print`).
  static func flushOutput() -> Bool {
    // fflush(NULL) flushes every output stream, stdout included, without
    // touching the C global `stdout`, which Swift 6 deems unsafe to share.
    fflush(nil) == 0
  }

  /// Writes one line to standard error, unbuffered.
  static func error(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
  }

  /// `value` with at most `decimals` decimals and no trailing zeros:
  /// 1 → "1", 4.00523 → "4.0052", 0.499 → "0.499".
  static func number(_ value: Double, decimals: Int = 4) -> String {
    var text = String(format: "%.\(decimals)f", value)
    if text.contains(".") {
      while text.hasSuffix("0") { text.removeLast() }
      if text.hasSuffix(".") { text.removeLast() }
    }
    return text == "-0" ? "0" : text
  }
}
