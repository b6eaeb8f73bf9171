import CPNG
import Foundation

/// Writes 8-bit RGB or grey PNG files, atomically.
///
/// Goes through ``OutputFile``: written under a temporary name beside the
/// destination, then renamed into place; refuses directories, devices,
/// FIFOs and the caller's inputs as destinations.
/// Encoding goes through libpng's simplified API (`png_image_write_to_file`).
public enum PNGWriter {
  /// Writes `image` as an 8-bit RGB PNG at `path`.
  ///
  /// - Parameter inputs: files the caller read; overwriting one is refused.
  /// - Throws: ``SlideError/writeFailed(path:detail:)`` for an empty image,
  ///   a destination ``OutputFile`` refuses, or a failed write or rename.
  public static func write(
    _ image: RGBImage, to path: String, inputs: [String] = []
  ) throws {
    try write(
      samples: image.pixels, width: image.width, height: image.height, channels: 3, to: path,
      inputs: inputs)
  }

  /// Writes 8-bit grey `samples` (row-major, `width` per row, no padding)
  /// as a greyscale PNG at `path`.
  ///
  /// - Throws: ``SlideError/writeFailed(path:detail:)``, as ``write(_:to:)``.
  public static func writeGrey(
    samples: [UInt8], width: Int, height: Int, to path: String, inputs: [String] = []
  ) throws {
    precondition(
      samples.count == width * height,
      "grey image \(width)×\(height) needs \(width * height) samples, got \(samples.count)")
    try write(
      samples: samples, width: width, height: height, channels: 1, to: path, inputs: inputs)
  }

  private static func write(
    samples: [UInt8], width: Int, height: Int, channels: Int, to path: String,
    inputs: [String]
  ) throws {
    guard width > 0, height > 0, width <= Int(Int32.max) / channels, height <= Int(Int32.max)
    else {
      throw SlideError.writeFailed(
        path: path, detail: "image size \(width)×\(height) cannot be a PNG")
    }

    let output = try OutputFile(path: path, inputs: inputs)
    let temporary = output.temporary
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
      output.discard()
      throw SlideError.writeFailed(path: path, detail: message.isEmpty ? "libpng failed" : message)
    }

    try output.commit()
  }

  /// The NUL-terminated message libpng left in `image.message`.
  private static func libpngMessage(_ image: png_image) -> String {
    withUnsafeBytes(of: image.message) { raw in
      let bytes = raw.prefix { $0 != 0 }
      return String(decoding: bytes, as: UTF8.self)
    }
  }
}
