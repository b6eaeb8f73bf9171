import CTIFF
import Foundation
import SlideIO

// Every libtiff call of the Exports module lives in this file.

/// The tags of one pyramid level's directory (IFD).
struct LabelTIFFLevelTags {
  /// Level size in this level's pixels.
  var size: PixelSize
  /// Tile width and height in pixels.
  var tileSize: Int
  /// `SubfileType = 1` (reduced-resolution image) rather than 0.
  var reduced: Bool
  /// 256 colours for `Photometric = palette`, or `nil` for
  /// `Photometric = min-is-black` grey.
  var palette: [LabelColor]?
  /// Pixels per centimetre of this level (both axes), when known.
  var pixelsPerCentimetre: Double?
  /// `ImageDescription`, when any.
  var description: String?
  /// Deflate level 1…9 (libtiff's `TIFFTAG_ZIPQUALITY` pseudo tag).
  var deflateLevel: Int
}

/// One libtiff handle on a label TIFF being written, or on a spool file
/// being read back. Used by one thread at a time. libtiff's messages are
/// captured on the handle, never printed.
final class LabelTIFFFile {
  /// The user's destination, quoted in errors.
  let shownPath: String
  private var tif: OpaquePointer?
  private let messages = Messages()

  final class Messages {
    var lastError: String?
  }

  /// Opens `file` in libtiff mode `mode` ("w", "w8" for BigTIFF, "r").
  /// - Throws: ``ExportError/tiffFailed(path:level:detail:)``.
  init(file: String, mode: String, shownAs shownPath: String, level: Int) throws {
    self.shownPath = shownPath
    guard let options = TIFFOpenOptionsAlloc() else {
      throw ExportError.tiffFailed(
        path: shownPath, level: level, detail: "libtiff could not allocate its options")
    }
    defer { TIFFOpenOptionsFree(options) }
    let user = Unmanaged.passUnretained(messages).toOpaque()
    TIFFOpenOptionsSetErrorHandlerExtR(options, labelTIFFErrorHandler, user)
    TIFFOpenOptionsSetWarningHandlerExtR(options, labelTIFFWarningHandler, user)
    guard let tif = TIFFOpenExt(file, mode, options) else {
      throw ExportError.tiffFailed(
        path: shownPath, level: level,
        detail: messages.lastError ?? "libtiff could not open '\(file)'")
    }
    self.tif = tif
  }

  deinit {
    if let tif { TIFFClose(tif) }
  }

  private func failure(_ level: Int, _ what: String) -> ExportError {
    let reason = messages.lastError.map { "\(what): \($0)" } ?? what
    messages.lastError = nil
    return ExportError.tiffFailed(path: shownPath, level: level, detail: reason)
  }

  private func set(_ tag: Int32, _ arguments: [any CVarArg]) -> Bool {
    guard let tif else { return false }
    return withVaList(arguments) { TIFFVSetField(tif, UInt32(tag), $0) } == 1
  }

  /// Sets the tags of the directory about to be written (`TIFFVSetField`).
  func setTags(_ tags: LabelTIFFLevelTags, level: Int) throws {
    // 32-bit tags take UInt32, 16-bit ones Int32 (C varargs promotion);
    // rationals take Double.
    var ok = set(TIFFTAG_SUBFILETYPE, [UInt32(tags.reduced ? FILETYPE_REDUCEDIMAGE : 0)])
    ok = ok && set(TIFFTAG_IMAGEWIDTH, [UInt32(tags.size.width)])
    ok = ok && set(TIFFTAG_IMAGELENGTH, [UInt32(tags.size.height)])
    ok = ok && set(TIFFTAG_TILEWIDTH, [UInt32(tags.tileSize)])
    ok = ok && set(TIFFTAG_TILELENGTH, [UInt32(tags.tileSize)])
    ok = ok && set(TIFFTAG_BITSPERSAMPLE, [Int32(8)])
    ok = ok && set(TIFFTAG_SAMPLESPERPIXEL, [Int32(1)])
    ok = ok && set(TIFFTAG_SAMPLEFORMAT, [Int32(SAMPLEFORMAT_UINT)])
    ok = ok && set(TIFFTAG_PLANARCONFIG, [Int32(PLANARCONFIG_CONTIG)])
    ok = ok && set(TIFFTAG_COMPRESSION, [Int32(COMPRESSION_ADOBE_DEFLATE)])
    ok = ok && set(TIFFTAG_ZIPQUALITY, [Int32(tags.deflateLevel)])
    // A Swift String is not a C string through varargs: pass a pointer.
    ok = ok && "HoloHisto".withCString { set(TIFFTAG_SOFTWARE, [$0]) }
    if let ppcm = tags.pixelsPerCentimetre {
      ok = ok && set(TIFFTAG_XRESOLUTION, [ppcm])
      ok = ok && set(TIFFTAG_YRESOLUTION, [ppcm])
      ok = ok && set(TIFFTAG_RESOLUTIONUNIT, [Int32(RESUNIT_CENTIMETER)])
    }
    if let description = tags.description {
      ok = ok && description.withCString { set(TIFFTAG_IMAGEDESCRIPTION, [$0]) }
    }
    if let palette = tags.palette {
      precondition(palette.count == 256, "a colour map has 256 entries, got \(palette.count)")
      ok = ok && set(TIFFTAG_PHOTOMETRIC, [Int32(PHOTOMETRIC_PALETTE)])
      // TIFF colour maps are 16-bit: 8-bit c becomes c·257 (0→0, 255→65535).
      var red = palette.map { UInt16($0.red) * 257 }
      var green = palette.map { UInt16($0.green) * 257 }
      var blue = palette.map { UInt16($0.blue) * 257 }
      ok =
        ok
        && red.withUnsafeMutableBufferPointer { r in
          green.withUnsafeMutableBufferPointer { g in
            blue.withUnsafeMutableBufferPointer { b in
              set(TIFFTAG_COLORMAP, [r.baseAddress!, g.baseAddress!, b.baseAddress!])
            }
          }
        }
    } else {
      ok = ok && set(TIFFTAG_PHOTOMETRIC, [Int32(PHOTOMETRIC_MINISBLACK)])
    }
    guard ok else { throw failure(level, "setting the directory's tags failed") }
  }

  /// Compresses and writes tile `index` (row-major over the tile grid) from
  /// `tileSize²` bytes (`TIFFWriteEncodedTile`).
  func writeTile(index: Int, _ bytes: UnsafeMutableRawBufferPointer, level: Int) throws {
    guard let tif,
      TIFFWriteEncodedTile(tif, UInt32(index), bytes.baseAddress, tmsize_t(bytes.count)) >= 0
    else { throw failure(level, "writing tile \(index) failed") }
  }

  /// The stored (compressed) bytes of tile `index` (`TIFFReadRawTile`).
  func rawTile(index: Int, level: Int) throws -> [UInt8] {
    guard let tif else { throw failure(level, "the spool file is closed") }
    let count = Int(TIFFGetStrileByteCount(tif, UInt32(index)))
    guard count > 0 else { throw failure(level, "spooled tile \(index) is missing") }
    var bytes = [UInt8](repeating: 0, count: count)
    let read = bytes.withUnsafeMutableBytes {
      TIFFReadRawTile(tif, UInt32(index), $0.baseAddress, tmsize_t(count))
    }
    guard read == tmsize_t(count) else {
      throw failure(level, "reading spooled tile \(index) failed")
    }
    return bytes
  }

  /// Writes already-compressed bytes as tile `index` (`TIFFWriteRawTile`).
  func writeRawTile(index: Int, _ bytes: [UInt8], level: Int) throws {
    guard let tif else { throw failure(level, "the file is closed") }
    var copy = bytes
    let written = copy.withUnsafeMutableBytes {
      TIFFWriteRawTile(tif, UInt32(index), $0.baseAddress, tmsize_t($0.count))
    }
    guard written == tmsize_t(bytes.count) else {
      throw failure(level, "writing tile \(index) failed")
    }
  }

  /// Ends the current directory and starts a new one (`TIFFWriteDirectory`).
  func writeDirectory(level: Int) throws {
    guard let tif, TIFFWriteDirectory(tif) == 1 else {
      throw failure(level, "writing the directory failed")
    }
  }

  /// Flushes and closes the handle (`TIFFFlush`, `TIFFClose`).
  func close(level: Int) throws {
    guard let tif else { return }
    let flushed = TIFFFlush(tif) == 1
    TIFFClose(tif)
    self.tif = nil
    guard flushed else { throw failure(level, "flushing the file failed") }
  }

  /// Closes without checking anything (after a failure).
  func abandon() {
    if let tif { TIFFClose(tif) }
    tif = nil
  }
}

private func labelTIFFMessage(
  _ format: UnsafePointer<CChar>?, _ arguments: CVaListPointer
) -> String {
  guard let format else { return "unknown libtiff error" }
  var buffer = [CChar](repeating: 0, count: 512)
  _ = vsnprintf(&buffer, buffer.count, format, arguments)
  let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
  return String(decoding: bytes, as: UTF8.self)
}

private let labelTIFFErrorHandler: TIFFErrorHandlerExtR = { _, user, _, format, arguments in
  guard let user, let arguments else { return 1 }
  let box = Unmanaged<LabelTIFFFile.Messages>.fromOpaque(user).takeUnretainedValue()
  box.lastError = labelTIFFMessage(format, arguments)
  return 1
}

// Warnings say nothing about whether the file is written correctly; they
// are dropped so the library stays silent.
private let labelTIFFWarningHandler: TIFFErrorHandlerExtR = { _, _, _, _, _ in 1 }
