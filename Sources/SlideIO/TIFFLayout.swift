import CTIFF

/// Geometry and pixel format of one TIFF image file directory (IFD) used as
/// a pyramid level. Tiled images have real tiles; strip images are read as
/// tiles one image wide and `RowsPerStrip` high.
struct TIFFLevelLayout: Sendable, Equatable {
  /// Byte offset of the IFD in the file.
  var offset: UInt64
  var width: Int
  var height: Int
  var tiled: Bool
  /// Tile (or strip) width and height in this level's pixels.
  var tileWidth: Int
  var tileHeight: Int
  var pixelFormat: TIFFPixelFormat
}

/// How the decoded samples of a tile map to RGB.
enum TIFFPixelFormat: Sendable, Equatable {
  /// 8-bit chunky samples decoded by `TIFFReadEncodedTile/Strip`:
  /// `samples` per pixel; grey when `grey` (inverted when `minIsWhite`);
  /// `alpha` says which sample (if any) is alpha and whether colour samples
  /// are premultiplied by it. JPEG tiles stored as YCbCr are converted to
  /// RGB by libtiff (`TIFFTAG_JPEGCOLORMODE`) when `jpegToRGB`.
  case chunky8(
    samples: Int, grey: Bool, minIsWhite: Bool, alpha: TIFFAlpha, jpegToRGB: Bool)
  /// JPEG-compressed 8-bit RGB, YCbCr or grey tiles, decoded by
  /// ``JPEGTileDecoder`` (libjpeg-turbo) straight from the raw tile bytes.
  case jpeg(photometricRGB: Bool)
  /// 8-bit palette images: `colormap` holds 256 × (r, g, b), 8 bits each.
  case palette8(colormap: [UInt8])
  /// Anything else libtiff can render (palette, 16-bit, planar, CMYK, …)
  /// through its RGBA interface, which returns premultiplied ABGR rows
  /// bottom-up. Slower, but correct for every variant libtiff knows.
  case rgba
}

/// Alpha channel of a chunky image.
enum TIFFAlpha: Sendable, Equatable {
  case none
  /// Colour samples already multiplied by alpha (`ExtraSamples` = 1).
  case premultiplied(index: Int)
  /// Colour samples independent of alpha (`ExtraSamples` = 2).
  case straight(index: Int)
}

extension TIFFLevelLayout {
  /// Reads the current directory of `handle`.
  /// - Throws: ``SlideError/unsupportedFormat(path:detail:)`` when libtiff
  ///   cannot decode the directory's pixels at all.
  static func current(_ handle: TIFFHandle, path: String) throws -> TIFFLevelLayout {
    let tif = handle.tif
    let width = Int(handle.uint32(TIFFTAG_IMAGEWIDTH, defaulted: false) ?? 0)
    let height = Int(handle.uint32(TIFFTAG_IMAGELENGTH, defaulted: false) ?? 0)
    guard width > 0, height > 0 else {
      throw SlideError.corrupt(
        path: path, detail: "an image directory has size \(width)×\(height)")
    }
    let tiled = TIFFIsTiled(tif) != 0
    let tileWidth: Int
    let tileHeight: Int
    if tiled {
      tileWidth = Int(handle.uint32(TIFFTAG_TILEWIDTH, defaulted: false) ?? 0)
      tileHeight = Int(handle.uint32(TIFFTAG_TILELENGTH, defaulted: false) ?? 0)
    } else {
      tileWidth = width
      let rows = Int(handle.uint32(TIFFTAG_ROWSPERSTRIP) ?? UInt32(height))
      tileHeight = min(max(rows, 1), height)
    }
    guard tileWidth > 0, tileHeight > 0 else {
      throw SlideError.corrupt(
        path: path, detail: "tile size \(tileWidth)×\(tileHeight) is invalid")
    }
    let format = try pixelFormat(handle, path: path)
    return TIFFLevelLayout(
      offset: UInt64(TIFFCurrentDirOffset(tif)), width: width, height: height, tiled: tiled,
      tileWidth: tileWidth, tileHeight: tileHeight, pixelFormat: format)
  }

  private static func pixelFormat(_ handle: TIFFHandle, path: String) throws -> TIFFPixelFormat {
    let compression = Int32(handle.uint16(TIFFTAG_COMPRESSION) ?? 1)
    guard TIFFIsCODECConfigured(UInt16(compression)) != 0 else {
      throw SlideError.unsupportedFormat(
        path: path, detail: "TIFF compression \(compression) has no decoder in libtiff")
    }
    let bits = handle.uint16(TIFFTAG_BITSPERSAMPLE) ?? 1
    let samples = Int(handle.uint16(TIFFTAG_SAMPLESPERPIXEL) ?? 1)
    let planar = handle.uint16(TIFFTAG_PLANARCONFIG) ?? 1
    let sampleFormat = handle.uint16(TIFFTAG_SAMPLEFORMAT) ?? 1
    let photometric = Int32(handle.uint16(TIFFTAG_PHOTOMETRIC, defaulted: false) ?? 0xFFFF)
    let extras = handle.array(TIFFTAG_EXTRASAMPLES, of: UInt16.self, defaulted: true)

    let grey = photometric == PHOTOMETRIC_MINISBLACK || photometric == PHOTOMETRIC_MINISWHITE
    let colour =
      photometric == PHOTOMETRIC_RGB
      || (photometric == PHOTOMETRIC_YCBCR && compression == COMPRESSION_JPEG)
    let colourSamples = grey ? 1 : 3
    let simple =
      bits == 8 && sampleFormat == 1 && planar == 1 && (grey || colour)
      && samples >= colourSamples
    if photometric == PHOTOMETRIC_PALETTE, bits == 8, samples == 1, planar == 1,
      sampleFormat == 1, let map = colormap(handle)
    {
      return .palette8(colormap: map)
    }
    let jpegLayout = samples == (grey ? 1 : 3) && photometric != PHOTOMETRIC_MINISWHITE
    if simple && compression == COMPRESSION_JPEG && jpegLayout {
      return .jpeg(photometricRGB: photometric == PHOTOMETRIC_RGB)
    }
    if simple {
      var alpha = TIFFAlpha.none
      if let first = extras.first, samples > colourSamples {
        if Int32(first) == EXTRASAMPLE_ASSOCALPHA {
          alpha = .premultiplied(index: colourSamples)
        } else if Int32(first) == EXTRASAMPLE_UNASSALPHA {
          alpha = .straight(index: colourSamples)
        }
      }
      return .chunky8(
        samples: samples, grey: grey, minIsWhite: photometric == PHOTOMETRIC_MINISWHITE,
        alpha: alpha, jpegToRGB: photometric == PHOTOMETRIC_YCBCR)
    }

    var reason = [CChar](repeating: 0, count: 1024)
    // (palette images other than 8-bit go through libtiff's renderer)
    guard TIFFRGBAImageOK(handle.tif, &reason) == 1 else {
      let text = String(decoding: reason.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) },
        as: UTF8.self)
      throw SlideError.unsupportedFormat(path: path, detail: "libtiff: \(text)")
    }
    return .rgba
  }
}

extension TIFFLevelLayout {
  /// The 8-bit palette's colour map as 256 × (r, g, b), each the high byte
  /// of libtiff's 16-bit entry.
  static func colormap(_ handle: TIFFHandle) -> [UInt8]? {
    var red: UnsafeMutablePointer<UInt16>? = nil
    var green: UnsafeMutablePointer<UInt16>? = nil
    var blue: UnsafeMutablePointer<UInt16>? = nil
    let ok = withUnsafeMutablePointer(to: &red) { r in
      withUnsafeMutablePointer(to: &green) { g in
        withUnsafeMutablePointer(to: &blue) { b in
          withVaList([r, g, b]) { TIFFVGetField(handle.tif, UInt32(TIFFTAG_COLORMAP), $0) }
        }
      }
    }
    guard ok == 1, let red, let green, let blue else { return nil }
    var map = [UInt8](repeating: 0, count: 768)
    for i in 0..<256 {
      map[i * 3] = UInt8(red[i] >> 8)
      map[i * 3 + 1] = UInt8(green[i] >> 8)
      map[i * 3 + 2] = UInt8(blue[i] >> 8)
    }
    return map
  }
}
