import COpenSlide
import Foundation

/// Reads slides through OpenSlide: the formats the direct TIFF reader does
/// not handle (NDPI, SCN, MRXS, Philips, Ventana, VMS, JPEG 2000 SVS), and
/// the metadata of every file OpenSlide recognises.
///
/// OpenSlide handles are thread-safe, so one handle serves all threads.
/// OpenSlide errors are sticky: once a read fails, the handle refuses every
/// later read, and each refusal names the first failure.
final class OpenSlideReader: SlideBackend, @unchecked Sendable {
  let path: String
  let osr: OpaquePointer
  /// Level downsamples, to map a level-pixel origin back to the level-0
  /// origin OpenSlide takes.
  let downsamples: [Double]

  /// Rows per `openslide_read_region` call are chosen so one call's ARGB
  /// scratch stays at or below this many pixels (64 MiB).
  static let bandPixels = 16 << 20

  init(path: String) throws {
    guard let osr = openslide_open(path) else {
      throw SlideError.unsupportedFormat(path: path, detail: "OpenSlide does not recognise it")
    }
    if let message = openslide_get_error(osr) {
      let text = Self.detail(message, path: path)
      openslide_close(osr)
      throw SlideError.corrupt(path: path, detail: text)
    }
    self.path = path
    self.osr = osr
    let count = Int(openslide_get_level_count(osr))
    self.downsamples = (0..<count).map { openslide_get_level_downsample(osr, Int32($0)) }
  }

  deinit { openslide_close(osr) }

  // MARK: Metadata

  /// Properties as OpenSlide reports them.
  func properties() -> SlideProperties {
    var raw: [String: String] = [:]
    if let names = openslide_get_property_names(osr) {
      var i = 0
      while let name = names[i] {
        if let value = openslide_get_property_value(osr, name) {
          raw[String(cString: name)] = String(cString: value)
        }
        i += 1
      }
    }
    var levels: [SlideLevel] = []
    for level in 0..<downsamples.count {
      var w: Int64 = 0
      var h: Int64 = 0
      openslide_get_level_dimensions(osr, Int32(level), &w, &h)
      levels.append(
        SlideLevel(size: PixelSize(width: Int(w), height: Int(h)), downsample: downsamples[level]))
    }
    return SlideProperties(
      vendor: raw["openslide.vendor"] ?? "unknown",
      levels: levels,
      mppX: raw["openslide.mpp-x"].flatMap(Double.init),
      mppY: raw["openslide.mpp-y"].flatMap(Double.init),
      objectivePower: raw["openslide.objective-power"].flatMap(Double.init),
      associatedImages: associatedImageNames(),
      raw: raw)
  }

  private func associatedImageNames() -> [String] {
    guard let names = openslide_get_associated_image_names(osr) else { return [] }
    var result: [String] = []
    var i = 0
    while let name = names[i] {
      result.append(String(cString: name))
      i += 1
    }
    return result
  }

  // MARK: Pixels

  func read(
    level: Int, origin: LevelPoint, size: PixelSize,
    into output: UnsafeMutableBufferPointer<UInt8>
  ) throws {
    // OpenSlide takes the origin in level-0 pixels. For level 0 the mapping
    // is exact; for other levels a non-integer downsample makes OpenSlide
    // place the region with a sub-pixel shift, which this cannot undo.
    let downsample = downsamples[level]
    let bandRows = max(1, min(size.height, Self.bandPixels / size.width))
    var argb = [UInt32](repeating: 0, count: bandRows * size.width)

    var row = 0
    while row < size.height {
      let rows = min(bandRows, size.height - row)
      let x0 = Int64((Double(origin.x) * downsample).rounded())
      let y0 = Int64((Double(origin.y + row) * downsample).rounded())
      argb.withUnsafeMutableBufferPointer { buffer in
        openslide_read_region(
          osr, buffer.baseAddress, x0, y0, Int32(level), Int64(size.width), Int64(rows))
      }
      try checkError()
      let destination = UnsafeMutableBufferPointer(
        rebasing: output[(row * size.width * 3)..<((row + rows) * size.width * 3)])
      Self.convert(argb: argb, count: rows * size.width, into: destination)
      row += rows
    }
  }

  func readAssociatedImage(_ name: String) throws -> RGBImage {
    var w: Int64 = 0
    var h: Int64 = 0
    openslide_get_associated_image_dimensions(osr, name, &w, &h)
    try checkError()
    guard w > 0, h > 0 else {
      throw SlideError.noSuchAssociatedImage(
        path: path, name: name, available: associatedImageNames())
    }
    var argb = [UInt32](repeating: 0, count: Int(w * h))
    argb.withUnsafeMutableBufferPointer {
      openslide_read_associated_image(osr, name, $0.baseAddress)
    }
    try checkError()
    var image = RGBImage(width: Int(w), height: Int(h))
    image.pixels.withUnsafeMutableBufferPointer {
      Self.convert(argb: argb, count: Int(w * h), into: $0)
    }
    return image
  }

  private func checkError() throws {
    if let message = openslide_get_error(osr) {
      throw SlideError.corrupt(path: path, detail: Self.detail(message, path: path))
    }
  }

  /// OpenSlide's message with the path (already at the head of every
  /// ``SlideError`` sentence) replaced by "the file".
  private static func detail(_ message: UnsafePointer<CChar>, path: String) -> String {
    String(cString: message).replacingOccurrences(of: path, with: "the file")
  }

  /// OpenSlide's pixels are premultiplied ARGB in native-endian `UInt32`
  /// (alpha in the top byte, blue in the lowest). Composited onto white;
  /// fully transparent pixels (outside the scanned area) become white.
  static func convert(
    argb: [UInt32], count: Int, into output: UnsafeMutableBufferPointer<UInt8>
  ) {
    for i in 0..<count {
      let v = argb[i]
      let a = UInt8(truncatingIfNeeded: v >> 24)
      output[i * 3] = onWhite(premultiplied: UInt8(truncatingIfNeeded: v >> 16), alpha: a)
      output[i * 3 + 1] = onWhite(premultiplied: UInt8(truncatingIfNeeded: v >> 8), alpha: a)
      output[i * 3 + 2] = onWhite(premultiplied: UInt8(truncatingIfNeeded: v), alpha: a)
    }
  }
}
