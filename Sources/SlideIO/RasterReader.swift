import CPNGDecode
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

  /// Decodes a PNG with libpng (through `CPNGDecode`): palette, grey and
  /// low bit depths expand to RGB, 16-bit samples keep their high byte (as
  /// libtiff does for 16-bit TIFF), no gamma or colour-space conversion is
  /// applied, and alpha (or tRNS) is composited onto white as straight alpha.
  static func decodePNG(path: String, maxBytes: Int) throws -> RGBImage {
    var decoded = holohisto_png_image()
    var message = [CChar](repeating: 0, count: 256)
    let status = holohisto_png_read(
      path, UInt64(maxBytes / 3), &decoded, &message, message.count)
    defer { holohisto_png_free(&decoded) }
    let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) },
      as: UTF8.self)
    if status == -2 {
      throw SlideError.unsupportedFormat(path: path, detail: "PNG \(reason)")
    }
    guard status == 0, let rgba = decoded.rgba else {
      throw SlideError.corrupt(path: path, detail: "libpng: \(reason)")
    }
    let width = Int(decoded.width)
    let height = Int(decoded.height)
    let pixels = [UInt8](unsafeUninitializedCapacity: width * height * 3) { buffer, count in
      for i in 0..<(width * height) {
        let a = rgba[i * 4 + 3]
        buffer[i * 3] = onWhite(straight: rgba[i * 4], alpha: a)
        buffer[i * 3 + 1] = onWhite(straight: rgba[i * 4 + 1], alpha: a)
        buffer[i * 3 + 2] = onWhite(straight: rgba[i * 4 + 2], alpha: a)
      }
      count = width * height * 3
    }
    return RGBImage(width: width, height: height, pixels: pixels)
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
