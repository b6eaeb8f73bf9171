import CTIFF
import CTurboJPEG

/// Decodes JPEG-compressed TIFF tiles and strips with libjpeg-turbo directly,
/// bypassing libtiff's codec: libtiff hands over the raw bytes, the shared
/// `JPEGTables` are spliced in front, and the tile decodes straight into the
/// caller's buffer at any row pitch (no per-scanline calls, no extra copy).
///
/// Colour: a tile stored with `Photometric = YCbCr` is converted to RGB. A
/// tile stored with `Photometric = RGB` holds raw R, G, B components when it
/// is not chroma-subsampled (Aperio writes these); those are read as planes
/// with no colour conversion. A subsampled tile labelled RGB can only be
/// YCbCr (Bio-Formats writes such OME-TIFFs), so it is converted.
///
/// One decoder belongs to one ``TIFFHandle`` and so to one thread at a time.
final class JPEGTileDecoder {
  private let tj: tjhandle
  /// `JPEGTables` without its trailing end-of-image marker (empty if absent).
  private let tables: [UInt8]
  private let photometricRGB: Bool
  private var stream: [UInt8] = []
  private var planes: [UInt8] = []

  init(handle: TIFFHandle, photometricRGB: Bool) throws {
    guard let tj = tjInitDecompress() else {
      throw SlideError.unreadable(path: "", detail: "libjpeg-turbo could not start")
    }
    self.tj = tj
    self.photometricRGB = photometricRGB
    var count: UInt32 = 0
    var data: UnsafeMutableRawPointer? = nil
    let ok = withUnsafeMutablePointer(to: &count) { c in
      withUnsafeMutablePointer(to: &data) { d in
        withVaList([c, d]) { TIFFVGetField(handle.tif, UInt32(TIFFTAG_JPEGTABLES), $0) }
      }
    }
    if ok == 1, let data, count >= 4 {
      let bytes = Array(UnsafeRawBufferPointer(start: data, count: Int(count)))
      self.tables = bytes.suffix(2) == [0xFF, 0xD9] ? Array(bytes.dropLast(2)) : bytes
    } else {
      self.tables = []
    }
  }

  deinit { tjDestroy(tj) }

  /// Decodes tile or strip number `index` into `output` as RGB, `pitch`
  /// bytes per row. `width` × `height` is the size the JPEG stream must have:
  /// the full tile, or the strip's row count (a final strip is shorter);
  /// `output` must have room for all of it.
  /// - Returns: `nil` on success, or libtiff's/libjpeg-turbo's reason.
  func decode(
    index: UInt32, tiled: Bool, handle: TIFFHandle, width: Int, height: Int,
    into output: UnsafeMutablePointer<UInt8>, pitch: Int
  ) -> String? {
    let tif = handle.tif
    let rawCount = Int(TIFFGetStrileByteCount(tif, index))
    guard rawCount > 0 else { return "the tile has no data" }
    let total = tables.count + rawCount
    if stream.count < total { stream = [UInt8](repeating: 0, count: total) }

    return stream.withUnsafeMutableBufferPointer { buffer -> String? in
      let base = buffer.baseAddress!
      base.update(from: tables, count: tables.count)
      let readCount = tiled
        ? TIFFReadRawTile(tif, index, base + tables.count, tmsize_t(rawCount))
        : TIFFReadRawStrip(tif, index, base + tables.count, tmsize_t(rawCount))
      guard readCount == rawCount else {
        return handle.lastError ?? "the tile's bytes end early (file truncated)"
      }
      // Tables and tile each begin with a start-of-image marker: drop the
      // tile's so the spliced stream has exactly one.
      var size = total
      let tile = base + tables.count
      if !tables.isEmpty && rawCount >= 2 && tile[0] == 0xFF && tile[1] == 0xD8 {
        tile.update(from: tile + 2, count: rawCount - 2)
        size -= 2
      }
      return decodeStream(base, size: size, width: width, height: height, output: output,
        pitch: pitch)
    }
  }

  private func decodeStream(
    _ data: UnsafeMutablePointer<UInt8>, size: Int, width: Int, height: Int,
    output: UnsafeMutablePointer<UInt8>, pitch: Int
  ) -> String? {
    var w: Int32 = 0
    var h: Int32 = 0
    var subsampling: Int32 = 0
    var colorspace: Int32 = 0
    guard tjDecompressHeader3(tj, data, UInt(size), &w, &h, &subsampling, &colorspace) == 0
    else { return String(cString: tjGetErrorStr2(tj)) }
    guard Int(w) == width, Int(h) == height else {
      return "JPEG is \(w)×\(h), the tile \(width)×\(height)"
    }

    let rawRGB =
      photometricRGB && subsampling == Int32(TJSAMP_444.rawValue)
      && colorspace == Int32(TJCS_YCbCr.rawValue)
    if !rawRGB {
      let status = tjDecompress2(
        tj, data, UInt(size), output, w, Int32(pitch), Int32(height),
        Int32(TJPF_RGB.rawValue), 0)
      return status == 0 ? nil : String(cString: tjGetErrorStr2(tj))
    }
    return decodePlanes(data, size: size, width: width, height: height, output: output,
      pitch: pitch)
  }

  /// Un-subsampled JPEG whose components are R, G, B: decode the three
  /// component planes without colour conversion and interleave them.
  private func decodePlanes(
    _ data: UnsafeMutablePointer<UInt8>, size: Int, width: Int, height: Int,
    output: UnsafeMutablePointer<UInt8>, pitch: Int
  ) -> String? {
    let plane = width * height
    if planes.count < plane * 3 { planes = [UInt8](repeating: 0, count: plane * 3) }
    return planes.withUnsafeMutableBufferPointer { buffer -> String? in
      let p = buffer.baseAddress!
      var pointers: [UnsafeMutablePointer<UInt8>?] = [p, p + plane, p + 2 * plane]
      var strides: [Int32] = [Int32(width), Int32(width), Int32(width)]
      let status = tjDecompressToYUVPlanes(
        tj, data, UInt(size), &pointers, Int32(width), &strides, Int32(height), 0)
      guard status == 0 else { return String(cString: tjGetErrorStr2(tj)) }
      for y in 0..<height {
        let d = output + y * pitch
        let r = p + y * width
        let g = r + plane
        let b = g + plane
        for x in 0..<width {
          d[x * 3] = r[x]
          d[x * 3 + 1] = g[x]
          d[x * 3 + 2] = b[x]
        }
      }
      return nil
    }
  }
}
