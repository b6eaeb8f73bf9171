import CPNG
import CTurboJPEG
import Foundation

/// A PNG or JPEG file read as a one-level slide. The whole image is decoded
/// once at open and kept in memory (3 bytes per pixel), which suits tiles
/// and thumbnails; gigapixel images belong in a tiled TIFF.
final class RasterReader: SlideBackend, @unchecked Sendable {
  let path: String
  let image: RGBImage

  init(path: String, image: RGBImage) {
    self.path = path
    self.image = image
  }

  func read(
    level: Int, origin: LevelPoint, size: PixelSize,
    into output: UnsafeMutableBufferPointer<UInt8>
  ) throws {
    let region = PixelRect(x: origin.x, y: origin.y, width: size.width, height: size.height)
    let inside = region.intersection(
      PixelRect(x: 0, y: 0, width: image.width, height: image.height))
    if inside != region { output.update(repeating: 255) }
    guard let inside else { return }
    image.pixels.withUnsafeBufferPointer { src in
      for y in inside.y..<inside.maxY {
        let s = src.baseAddress! + (y * image.width + inside.x) * 3
        let d = output.baseAddress! + ((y - region.y) * region.width + (inside.x - region.x)) * 3
        d.update(from: s, count: inside.width * 3)
      }
    }
  }

  // MARK: Decoders

  /// Decodes a PNG with libpng's simplified API: any bit depth and colour
  /// type becomes 8-bit RGB; transparency is composited onto white.
  ///
  /// Known shortcoming: libpng's simplified API treats 16-bit samples as
  /// linear light and encodes them to sRGB when reducing to 8 bits, so a
  /// 16-bit PNG's values come out gamma-encoded rather than simply scaled.
  static func decodePNG(path: String, maxBytes: Int) throws -> RGBImage {
    var png = png_image()
    png.version = UInt32(PNG_IMAGE_VERSION)
    guard png_image_begin_read_from_file(&png, path) != 0 else {
      throw SlideError.corrupt(path: path, detail: "libpng: \(message(of: png))")
    }
    let width = Int(png.width)
    let height = Int(png.height)
    guard width * height * 3 <= maxBytes else {
      png_image_free(&png)
      throw SlideError.regionTooLarge(
        path: path, size: PixelSize(width: width, height: height), limitBytes: maxBytes)
    }
    png.format = UInt32(PNG_FORMAT_RGB)
    var pixels = [UInt8](repeating: 255, count: width * height * 3)
    var white = png_color(red: 255, green: 255, blue: 255)
    let ok = pixels.withUnsafeMutableBytes { buffer in
      png_image_finish_read(&png, &white, buffer.baseAddress, Int32(width * 3), nil)
    }
    guard ok != 0 else {
      let text = message(of: png)
      png_image_free(&png)
      throw SlideError.corrupt(path: path, detail: "libpng: \(text)")
    }
    return RGBImage(width: width, height: height, pixels: pixels)
  }

  private static func message(of png: png_image) -> String {
    withUnsafeBytes(of: png.message) { raw in
      String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
    }
  }

  /// Decodes a baseline or progressive JPEG (greyscale or YCbCr) to RGB with
  /// libjpeg-turbo. CMYK JPEGs are refused: their colours need an ICC
  /// profile to mean anything.
  static func decodeJPEG(path: String, data: Data, maxBytes: Int) throws -> RGBImage {
    guard let tj = tjInitDecompress() else {
      throw SlideError.unreadable(path: path, detail: "libjpeg-turbo could not start")
    }
    defer { tjDestroy(tj) }
    func failure() -> String { String(cString: tjGetErrorStr2(tj)) }

    var width: Int32 = 0
    var height: Int32 = 0
    var subsampling: Int32 = 0
    var colorspace: Int32 = 0
    let header = data.withUnsafeBytes { raw in
      tjDecompressHeader3(
        tj, raw.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt(raw.count),
        &width, &height, &subsampling, &colorspace)
    }
    guard header == 0 else {
      throw SlideError.corrupt(path: path, detail: "JPEG header: \(failure())")
    }
    guard colorspace != Int32(TJCS_CMYK.rawValue), colorspace != Int32(TJCS_YCCK.rawValue) else {
      throw SlideError.unsupportedFormat(path: path, detail: "CMYK JPEG")
    }
    let size = PixelSize(width: Int(width), height: Int(height))
    guard Int(width) * Int(height) * 3 <= maxBytes else {
      throw SlideError.regionTooLarge(path: path, size: size, limitBytes: maxBytes)
    }
    var pixels = [UInt8](repeating: 255, count: Int(width) * Int(height) * 3)
    let status = data.withUnsafeBytes { raw in
      pixels.withUnsafeMutableBufferPointer { out in
        tjDecompress2(
          tj, raw.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt(raw.count),
          out.baseAddress, width, width * 3, height, Int32(TJPF_RGB.rawValue), 0)
      }
    }
    // libjpeg-turbo reports a truncated stream as a warning and fills the
    // missing rows with grey; any warning is refused, so no half image passes.
    guard status == 0 else {
      throw SlideError.corrupt(path: path, detail: "JPEG data: \(failure())")
    }
    return RGBImage(width: Int(width), height: Int(height), pixels: pixels)
  }
}
