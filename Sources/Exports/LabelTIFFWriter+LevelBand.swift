import CZlib
import Foundation
import SlideIO

/// One pyramid level in flight: its current band of up to `tileSize` rows
/// (row-major, level width per row) and the libtiff handle its tiles go to.
final class LevelBand {
  let index: Int
  /// Level size in this level's pixels.
  let size: PixelSize
  let tileSize: Int
  /// The file the tiles go to (the output for level 0, else a spool).
  let file: String
  let tiff: LabelTIFFFile
  /// The stored bytes of an all-background tile, written without
  /// compressing each such tile again (most of a slide is background).
  let zeroTile: [UInt8]?
  private var band: [UInt8]
  private var tile: [UInt8]
  /// Rows held in the current band.
  private(set) var rowsInBand = 0
  /// Rows of this level received so far.
  private(set) var rowsReceived = 0
  /// Tile row the current band fills.
  private var bandIndex = 0

  init(
    index: Int, size: PixelSize, tileSize: Int, file: String, tiff: LabelTIFFFile,
    zeroTile: [UInt8]?
  ) {
    self.zeroTile = zeroTile
    self.index = index
    self.size = size
    self.tileSize = tileSize
    self.file = file
    self.tiff = tiff
    band = [UInt8](repeating: 0, count: size.width * tileSize)
    tile = [UInt8](repeating: 0, count: tileSize * tileSize)
  }

  var tilesAcross: Int { (size.width + tileSize - 1) / tileSize }
  var tileCount: Int { tilesAcross * ((size.height + tileSize - 1) / tileSize) }

  /// The band is ready to write: full, or holding the level's last rows.
  var isFull: Bool {
    rowsInBand == tileSize || (rowsInBand > 0 && rowsReceived == size.height)
  }

  /// Whether every row of the current band arrived as background (through
  /// ``appendBackground(count:)``): its tiles and its reduction are then
  /// known to be zero without looking.
  private(set) var isBackground = true
  /// Whether the whole band buffer holds zeros, so background rows need no
  /// clearing.
  private var bufferIsZero = true

  /// Copies up to `count` rows into the band; returns how many fit.
  func append(rows: UnsafePointer<UInt8>, count: Int) -> Int {
    let take = min(count, tileSize - rowsInBand)
    band.withUnsafeMutableBufferPointer { pixels in
      (pixels.baseAddress! + rowsInBand * size.width).update(from: rows, count: take * size.width)
    }
    rowsInBand += take
    rowsReceived += take
    isBackground = false
    bufferIsZero = false
    return take
  }

  /// Adds up to `count` background (zero) rows; returns how many fit.
  func appendBackground(count: Int) -> Int {
    let take = min(count, tileSize - rowsInBand)
    if !bufferIsZero {
      band.withUnsafeMutableBufferPointer { pixels in
        (pixels.baseAddress! + rowsInBand * size.width).update(
          repeating: 0, count: take * size.width)
      }
    }
    rowsInBand += take
    rowsReceived += take
    return take
  }

  func withRows<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
    try band.withUnsafeBufferPointer(body)
  }

  /// Cuts the band into tiles (zero padding past the level's right and
  /// bottom edges) and writes them.
  func writeTiles() throws {
    let width = size.width
    let rows = rowsInBand
    for column in 0..<tilesAcross {
      let x0 = column * tileSize
      let visible = min(tileSize, width - x0)
      try band.withUnsafeBufferPointer { pixels in
        try tile.withUnsafeMutableBytes { raw in
          let out = raw.bindMemory(to: UInt8.self)
          let tileIndex = bandIndex * tilesAcross + column
          let start = pixels.baseAddress! + x0
          if let zeroTile,
            isBackground
              || (0..<rows).allSatisfy({ Self.isZero(start + $0 * width, count: visible) })
          {
            try tiff.writeRawTile(index: tileIndex, zeroTile, level: index)
            return
          }
          if visible < tileSize || rows < tileSize { out.update(repeating: 0) }
          for r in 0..<rows {
            (out.baseAddress! + r * tileSize).update(
              from: pixels.baseAddress! + r * width + x0, count: visible)
          }
          try tiff.writeTile(index: tileIndex, raw, level: index)
        }
      }
    }
  }

  /// Whether `count` bytes from `start` are all zero (a word at a time).
  static func isZero(_ start: UnsafePointer<UInt8>, count: Int) -> Bool {
    var i = 0
    let raw = UnsafeRawPointer(start)
    var bits: UInt64 = 0
    while i + 64 <= count {
      for k in Swift.stride(from: 0, to: 64, by: 8) {
        bits |= raw.loadUnaligned(fromByteOffset: i + k, as: UInt64.self)
      }
      if bits != 0 { return false }
      i += 64
    }
    while i < count {
      bits |= UInt64(start[i])
      i += 1
    }
    return bits == 0
  }

  /// A zlib stream of `tileSize²` zero bytes, as deflate-compressed TIFF
  /// tiles store it (the horizontal predictor is not used, and would leave
  /// zeros unchanged anyway); `nil` if zlib fails, and tiles are then
  /// compressed one by one.
  static func compressedZeroTile(tileSize: Int, level: Int) -> [UInt8]? {
    let zeros = [UInt8](repeating: 0, count: tileSize * tileSize)
    var length = compressBound(uLong(zeros.count))
    var out = [UInt8](repeating: 0, count: Int(length))
    let status = compress2(&out, &length, zeros, uLong(zeros.count), Int32(level))
    guard status == Z_OK else { return nil }
    return Array(out.prefix(Int(length)))
  }

  func startNextBand() {
    rowsInBand = 0
    bandIndex += 1
    isBackground = true
  }

  /// Closes the handle and, unless `keepFile` (the output, which
  /// ``OutputFile`` removes), deletes the spool file.
  func abandon(keepFile: Bool) {
    tiff.abandon()
    if !keepFile { unlink(file) }
  }
}
