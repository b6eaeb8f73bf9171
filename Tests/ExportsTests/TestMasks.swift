import Exports
import Foundation
import SlideIO
import XCTest

/// Masks for the tests: real glomerulus masks from `../shared/data` and
/// small synthetic ones (named as such where they are used).
enum TestMasks {
  /// `../shared/data/labeled/hubmap-glomeruli-cnsiu` beside the package
  /// (the package root is two levels above this file's folder).
  static let dataset: String = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
    .appendingPathComponent("shared/data/labeled/hubmap-glomeruli-cnsiu").path

  /// Stems of the 10 test tiles, sorted.
  static func testStems() throws -> [String] {
    let folder = (dataset as NSString).appendingPathComponent("masks/test")
    return try FileManager.default.contentsOfDirectory(atPath: folder)
      .filter { $0.hasSuffix(".png") }.map { String($0.dropLast(4)) }.sorted()
  }

  /// A grey PNG from the dataset (`masks`, `instances`) as one byte per
  /// pixel (the red channel of SlideIO's RGB).
  static func grey(_ kind: String, stem: String) throws -> (PixelSize, [UInt8]) {
    let path = (dataset as NSString).appendingPathComponent("\(kind)/test/\(stem).png")
    let image = try Slide(path: path).readLevel(0)
    var grey = [UInt8](repeating: 0, count: image.width * image.height)
    for i in grey.indices { grey[i] = image.pixels[i * 3] }
    return (image.size, grey)
  }

  /// A 3200×2400 mosaic of four real 1600×1200 test masks (2×2), the
  /// glomeruli of tiles 0 and 3 as class 1 and of tiles 1 and 2 as class 2.
  static func mosaic() throws -> LabelMask {
    let stems = Array(try testStems().prefix(4))
    let width = 3200
    var labels = [UInt8](repeating: 0, count: width * 2400)
    for (tile, stem) in stems.enumerated() {
      let (size, grey) = try self.grey("masks", stem: stem)
      XCTAssertEqual(size, PixelSize(width: 1600, height: 1200))
      let value: UInt8 = tile == 0 || tile == 3 ? 1 : 2
      let x0 = (tile % 2) * 1600
      let y0 = (tile / 2) * 1200
      for y in 0..<1200 {
        for x in 0..<1600 where grey[y * 1600 + x] != 0 {
          labels[(y0 + y) * width + x0 + x] = value
        }
      }
    }
    return LabelMask(width: width, height: 2400, labels: labels)
  }

  /// A fresh empty folder under the system's temporary folder.
  static func scratchFolder() throws -> String {
    let path = (NSTemporaryDirectory() as NSString).appendingPathComponent(
      "exports-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  /// Files in `folder`, hidden ones included.
  static func contents(_ folder: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
  }

  /// 4-connected components of equal non-zero value, by a breadth-first
  /// fill written independently of ``ContourTracer``: (class, pixel count)
  /// per component, in raster order of first pixel.
  static func components(_ mask: LabelMask) -> [(value: UInt8, pixels: Int)] {
    var seen = [Bool](repeating: false, count: mask.labels.count)
    var result: [(UInt8, Int)] = []
    for start in mask.labels.indices where mask.labels[start] != 0 && !seen[start] {
      let value = mask.labels[start]
      var queue = [start]
      seen[start] = true
      var head = 0
      while head < queue.count {
        let i = queue[head]
        head += 1
        let x = i % mask.width
        let y = i / mask.width
        for (nx, ny) in [(x - 1, y), (x + 1, y), (x, y - 1), (x, y + 1)]
        where nx >= 0 && ny >= 0 && nx < mask.width && ny < mask.height {
          let n = ny * mask.width + nx
          if !seen[n] && mask.labels[n] == value {
            seen[n] = true
            queue.append(n)
          }
        }
      }
      result.append((value, queue.count))
    }
    return result
  }
}
