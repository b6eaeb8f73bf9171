import Foundation
import Sampling
import Sampling
import SlideIO
import XCTest

/// Paths into `shared/data` and small helpers shared by the tests.
enum Fixture {
  static let shared = "/work/shared/data"
  static let hubmap = shared + "/labeled/hubmap-glomeruli-cnsiu"
  static let cmu = shared + "/wsi/CMU-1-Small-Region.svs"
  static let bracs = shared + "/wsi/BRACS_1640_N_3_cropped.tiff"

  static func hubmapImage(_ stem: String, split: String = "train") -> String {
    "\(hubmap)/images/\(split)/\(stem).jpg"
  }

  static func hubmapMask(_ stem: String, split: String = "train") -> String {
    "\(hubmap)/masks/\(split)/\(stem).png"
  }

  /// A tissue detector sized for tests: masks of about 400 px on the long
  /// side, so detection stays fast in debug builds.
  static var detector: TissueDetector {
    var detector = TissueDetector()
    detector.targetLongSide = 400
    return detector
  }

  /// A HuBMAP tile as a one-level slide with its 0/255 mask.
  static func hubmapSlide(_ stem: String) throws -> TrainingSlide {
    let slide = try Slide(path: hubmapImage(stem), threads: 1)
    let labels = try LabelSource(rasterPath: hubmapMask(stem), for: slide)
    return try TrainingSlide(slide: slide, labels: labels, detector: detector)
  }

  /// A fresh empty folder under the temporary directory.
  static func temporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory
      .appendingPathComponent("sampling-extras-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }

  /// The raw grey samples of a grey PNG (through `Slide`, red channel).
  static func greySamples(_ path: String) throws -> (size: PixelSize, samples: [UInt8]) {
    let image = try Slide(path: path, threads: 1).readLevel(0)
    let samples = (0..<(image.width * image.height)).map { image.pixels[$0 * 3] }
    return (image.size, samples)
  }
}

/// Writes a minimal pyramidal TIFF: uncompressed 8-bit grey, 16×16 tiles,
/// one directory per level, little-endian. Enough for label pyramids in
/// tests; written here so the tests need no Python.
enum TiledTIFFWriter {
  static func write(levels: [(size: PixelSize, samples: [UInt8])], to path: String) throws {
    let tile = 16
    var bytes: [UInt8] = Array("II".utf8) + le16(42) + le32(0)
    var previousNextPointer = 4  // where the previous "next IFD" offset lives

    for (index, level) in levels.enumerated() {
      let across = (level.size.width + tile - 1) / tile
      let down = (level.size.height + tile - 1) / tile

      // tile data, padded with zeros at the right and bottom edges
      var offsets: [Int] = []
      for ty in 0..<down {
        for tx in 0..<across {
          offsets.append(bytes.count)
          for y in 0..<tile {
            for x in 0..<tile {
              let sx = tx * tile + x
              let sy = ty * tile + y
              let inside = sx < level.size.width && sy < level.size.height
              bytes.append(inside ? level.samples[sy * level.size.width + sx] : 0)
            }
          }
        }
      }

      // arrays of tile offsets and byte counts; a level of one tile keeps
      // its single offset and count inline in the directory entry instead
      let count = offsets.count
      let offsetsAt = bytes.count
      for offset in offsets { bytes += le32(offset) }
      let countsAt = bytes.count
      for _ in offsets { bytes += le32(tile * tile) }
      if bytes.count % 2 == 1 { bytes.append(0) }

      // the directory
      let ifdAt = bytes.count
      bytes.replaceSubrange(previousNextPointer..<(previousNextPointer + 4), with: le32(ifdAt))
      // NewSubfileType 1 (reduced resolution) marks levels below the first:
      // OpenSlide's generic-tiff reader only counts those as levels
      let entries: [(tag: Int, type: Int, count: Int, value: Int)] = [
        (254, 4, 1, index == 0 ? 0 : 1), (256, 4, 1, level.size.width),
        (257, 4, 1, level.size.height), (258, 3, 1, 8),
        (259, 3, 1, 1), (262, 3, 1, 1), (277, 3, 1, 1), (284, 3, 1, 1),
        (322, 3, 1, tile), (323, 3, 1, tile),
        (324, 4, count, count == 1 ? offsets[0] : offsetsAt),
        (325, 4, count, count == 1 ? tile * tile : countsAt),
      ]
      bytes += le16(entries.count)
      for entry in entries {
        bytes += le16(entry.tag) + le16(entry.type) + le32(entry.count)
        bytes +=
          entry.type == 3 && entry.count == 1 ? le16(entry.value) + le16(0) : le32(entry.value)
      }
      previousNextPointer = bytes.count
      bytes += le32(0)
    }
    try Data(bytes).write(to: URL(fileURLWithPath: path))
  }

  static func le16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF)] }
  static func le32(_ value: Int) -> [UInt8] { le16(value & 0xFFFF) + le16((value >> 16) & 0xFFFF) }
}
