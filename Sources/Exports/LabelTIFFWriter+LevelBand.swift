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
  private var band: [UInt8]
  private var tile: [UInt8]
  /// Rows held in the current band.
  private(set) var rowsInBand = 0
  /// Rows of this level received so far.
  private(set) var rowsReceived = 0
  /// Tile row the current band fills.
  private var bandIndex = 0

  init(index: Int, size: PixelSize, tileSize: Int, file: String, tiff: LabelTIFFFile) {
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

  /// Copies up to `count` rows into the band; returns how many fit.
  func append(rows: UnsafePointer<UInt8>, count: Int) -> Int {
    let take = min(count, tileSize - rowsInBand)
    band.withUnsafeMutableBufferPointer { pixels in
      (pixels.baseAddress! + rowsInBand * size.width).update(from: rows, count: take * size.width)
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
          if visible < tileSize || rows < tileSize { out.update(repeating: 0) }
          for r in 0..<rows {
            (out.baseAddress! + r * tileSize).update(
              from: pixels.baseAddress! + r * width + x0, count: visible)
          }
          try tiff.writeTile(index: bandIndex * tilesAcross + column, raw, level: index)
        }
      }
    }
  }

  func startNextBand() {
    rowsInBand = 0
    bandIndex += 1
  }

  /// Closes the handle and, unless `keepFile` (the output, which
  /// ``OutputFile`` removes), deletes the spool file.
  func abandon(keepFile: Bool) {
    tiff.abandon()
    if !keepFile { unlink(file) }
  }
}
