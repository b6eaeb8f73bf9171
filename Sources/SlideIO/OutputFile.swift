import Foundation

/// An output file written atomically: the bytes go to a hidden temporary
/// file in the destination's folder, which is renamed over the destination
/// only once complete. Readers see the old file or the whole new one, never
/// a partial one; on failure the temporary file is removed.
///
/// The destination is checked before anything is written: its folder must
/// exist; a symbolic link is followed, so the file it points to is replaced
/// and the link kept; an existing destination must be a regular, writable
/// file (never a directory, device, FIFO or socket); and it must not be one
/// of the command's inputs.
public struct OutputFile: Sendable {
  /// The path as the caller gave it (used in messages).
  public let path: String
  /// Where the file lands: `path` with symbolic links resolved.
  public let destination: String
  /// The hidden temporary file beside `destination`.
  public let temporary: String

  /// Checks `path` and picks a temporary name.
  /// - Parameter inputs: files the command reads; writing over one of them
  ///   is refused.
  /// - Throws: ``SlideError/writeFailed(path:detail:)``.
  public init(path: String, inputs: [String] = []) throws {
    self.path = path
    let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    destination = resolved

    let folder = (resolved as NSString).deletingLastPathComponent
    let folderShown = folder.isEmpty ? "." : folder
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folderShown, isDirectory: &isDirectory),
      isDirectory.boolValue
    else {
      throw SlideError.writeFailed(
        path: path, detail: "the folder '\(folderShown)' does not exist")
    }

    var info = stat()
    if lstat(resolved, &info) == 0 {
      guard info.st_mode & S_IFMT == S_IFREG else {
        let kind = info.st_mode & S_IFMT == S_IFDIR ? "a directory" : "not a regular file"
        throw SlideError.writeFailed(path: path, detail: "it is \(kind)")
      }
      guard access(resolved, W_OK) == 0 else {
        throw SlideError.writeFailed(path: path, detail: "the existing file is not writable")
      }
      for input in inputs {
        var other = stat()
        if stat(input, &other) == 0, other.st_dev == info.st_dev, other.st_ino == info.st_ino {
          throw SlideError.writeFailed(
            path: path, detail: "it is the input '\(input)'; choose another output path")
        }
      }
    }

    let name = (resolved as NSString).lastPathComponent
    let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
    temporary = (folderShown as NSString).appendingPathComponent(
      ".\(name).\(getpid()).\(suffix).tmp")
  }

  /// Moves the finished temporary file into place.
  public func commit() throws {
    guard rename(temporary, destination) == 0 else {
      let reason = String(cString: strerror(errno))
      discard()
      throw SlideError.writeFailed(path: path, detail: reason)
    }
  }

  /// Removes the temporary file (after a failure).
  public func discard() {
    unlink(temporary)
  }

  /// Deletes temporary files that an earlier, killed writer of `path` left
  /// beside it (`.NAME.PID.*.tmp` and anything after `.tmp`, such as a
  /// label TIFF's spooled levels), when process PID no longer exists.
  /// A signal that ends a writer cannot run its clean-up; this is how the
  /// next run of the same command tidies up. Files of live processes are
  /// left alone.
  public static func removeStaleTemporaries(of path: String) {
    let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
    let folder = (resolved as NSString).deletingLastPathComponent
    let name = (resolved as NSString).lastPathComponent
    let prefix = ".\(name)."
    let folderShown = folder.isEmpty ? "." : folder
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: folderShown)
    else { return }
    for entry in entries where entry.hasPrefix(prefix) {
      let rest = entry.dropFirst(prefix.count).split(separator: ".")
      guard rest.count >= 3, rest[2] == "tmp", let pid = Int32(rest[0]), pid > 0,
        kill(pid, 0) != 0, errno == ESRCH
      else { continue }
      unlink((folderShown as NSString).appendingPathComponent(entry))
    }
  }
}
