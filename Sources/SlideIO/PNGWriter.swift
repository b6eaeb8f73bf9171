import CPNG
import Foundation

/// Writes 8-bit RGB or grey PNG files, atomically.
///
/// The file is first written under a temporary name in the destination's
/// folder, then renamed over the destination, so readers see either the old
/// file or the complete new one, never a partial file; on failure the
/// temporary file is removed and the destination is left as it was.
/// Encoding goes through libpng's simplified API (`png_image_write_to_file`).
public enum PNGWriter {
  /// Writes `image` as an 8-bit RGB PNG at `path`.
  ///
  /// - Throws: ``SlideError/writeFailed(path:detail:)`` for an empty image, a missing folder, or a
  ///   failed write or rename.
  public static func write(_ image: RGBImage, to path: String) throws(SlideError) {
    try write(
      samples: image.pixels, width: image.width, height: image.height, channels: 3, to: path)
  }

  /// Writes 8-bit grey `samples` (row-major, `width` per row, no padding)
  /// as a greyscale PNG at `path`.
  ///
  /// - Throws: ``SlideError/writeFailed(path:detail:)``, as ``write(_:to:)``.
  public static func writeGrey(
    samples: [UInt8], width: Int, height: Int, to path: String
  ) throws(SlideError) {
    precondition(
      samples.count == width * height,
      "grey image \(width)×\(height) needs \(width * height) samples, got \(samples.count)")
    try write(samples: samples, width: width, height: height, channels: 1, to: path)
  }

  private static func write(
    samples: [UInt8], width: Int, height: Int, channels: Int, to path: String
  ) throws(SlideError) {
    guard width > 0, height > 0, width <= Int(Int32.max) / channels, height <= Int(Int32.max)
    else {
      throw SlideError.writeFailed(
        path: path, detail: "image size \(width)×\(height) cannot be a PNG")
    }

    // the folder must exist: the temporary file goes there
    let folder = (path as NSString).deletingLastPathComponent
    var isDirectory: ObjCBool = false
    let folderShown = folder.isEmpty ? "." : folder
    guard FileManager.default.fileExists(atPath: folderShown, isDirectory: &isDirectory),
      isDirectory.boolValue
    else {
      throw SlideError.writeFailed(path: path, detail: "the folder '\(folderShown)' does not exist")
    }

    // encode into a hidden temporary file beside the destination
    let name = (path as NSString).lastPathComponent
    let suffix = String(UInt32.random(in: 0...UInt32.max), radix: 16)
    let temporary = (folderShown as NSString).appendingPathComponent(
      ".\(name).\(getpid()).\(suffix).tmp")
    var image = png_image()
    image.version = UInt32(PNG_IMAGE_VERSION)
    image.width = UInt32(width)
    image.height = UInt32(height)
    image.format = channels == 3 ? UInt32(PNG_FORMAT_RGB) : UInt32(PNG_FORMAT_GRAY)
    let written = samples.withUnsafeBytes { buffer in
      png_image_write_to_file(
        &image, temporary, 0, buffer.baseAddress, Int32(width * channels), nil)
    }
    let message = libpngMessage(image)
    png_image_free(&image)
    guard written != 0 else {
      unlink(temporary)
      throw SlideError.writeFailed(path: path, detail: message.isEmpty ? "libpng failed" : message)
    }

    // move it into place
    guard rename(temporary, path) == 0 else {
      let reason = String(cString: strerror(errno))
      unlink(temporary)
      throw SlideError.writeFailed(path: path, detail: reason)
    }
  }

  /// The NUL-terminated message libpng left in `image.message`.
  private static func libpngMessage(_ image: png_image) -> String {
    withUnsafeBytes(of: image.message) { raw in
      let bytes = raw.prefix { $0 != 0 }
      return String(decoding: bytes, as: UTF8.self)
    }
  }
}
