import Foundation
import XCTest

@testable import SlideIO

/// Edge cases no real file here covers, on synthetic TIFFs made by
/// scripts/fixtures/make_test_tiffs.py from a real HuBMAP tile.
final class SyntheticTIFFTests: XCTestCase {
  let sentinel: (UInt8, UInt8, UInt8) = (255, 0, 255)

  func countSentinel(_ image: RGBImage) -> Int {
    var n = 0
    for i in stride(from: 0, to: image.pixels.count, by: 3)
    where image.pixels[i] == 255 && image.pixels[i + 1] == 0 && image.pixels[i + 2] == 255 {
      n += 1
    }
    return n
  }

  /// Tile padding beyond 1000×777 holds magenta; no read may show it.
  func testTilePaddingNeverLeaks() throws {
    let slide = try Slide(path: Fixture.file("tiled_1000x777_sentinel.tif"))
    let entry = Fixture.object("synthetic", "tiled_1000x777_sentinel")
    XCTAssertEqual(slide.dimensions, PixelSize(width: 1000, height: 777))
    XCTAssertEqual(slide.levelCount, 1)

    let whole = try slide.readLevel(0)
    XCTAssertEqual(countSentinel(whole), 0)
    if let md5 = entry["md5_rgb_bytes"] as? String {
      XCTAssertEqual(md5Hex(whole.pixels), md5)
    }

    // Regions straddling the right and bottom edges and the far corner.
    let regions: [(Int, Int, Int, Int)] = [
      (900, 0, 300, 256), (0, 700, 256, 300), (990, 770, 64, 64), (-5, -5, 1100, 900),
      (768, 512, 512, 512),
    ]
    for (x, y, w, h) in regions {
      let image = try slide.readRegion(
        origin: Level0Point(x: x, y: y), level: 0, size: PixelSize(width: w, height: h))
      XCTAssertEqual(countSentinel(image), 0, "region (\(x), \(y)) \(w)×\(h)")
      for py in 0..<h {
        for px in 0..<w {
          let inside = (0..<1000).contains(x + px) && (0..<777).contains(y + py)
          if inside {
            XCTAssertTrue(image[px, py] == whole[x + px, y + py])
          } else {
            XCTAssertTrue(image[px, py] == (255, 255, 255), "(\(x + px), \(y + py))")
          }
        }
      }
    }
  }

  func testSingleThreadAndParallelDecodingAgree() throws {
    let one = try Slide(path: Fixture.file("tiled_1000x777_sentinel.tif"), threads: 1)
    let four = try Slide(path: Fixture.file("tiled_1000x777_sentinel.tif"), threads: 4)
    XCTAssertEqual(try one.readLevel(0), try four.readLevel(0))
  }

  /// Many threads reading different regions of one open slide at once get
  /// the same pixels as one thread reading them in turn.
  func testConcurrentReadsFromManyThreads() throws {
    let slide = try Slide(path: Fixture.data("wsi/CMU-1-Small-Region.svs"), threads: 2)
    let origins = (0..<24).map { Level0Point(x: ($0 * 173) % 1900, y: ($0 * 311) % 2600) }
    let size = PixelSize(width: 300, height: 280)
    let expected = try origins.map { try slide.readRegion(origin: $0, level: 0, size: size) }

    final class Results: @unchecked Sendable {
      var images = [RGBImage?](repeating: nil, count: 24)
      let lock = NSLock()
    }
    let results = Results()
    DispatchQueue.concurrentPerform(iterations: origins.count) { i in
      let image = try? slide.readRegion(origin: origins[i], level: 0, size: size)
      results.lock.lock()
      results.images[i] = image
      results.lock.unlock()
    }
    for i in origins.indices {
      XCTAssertEqual(results.images[i], expected[i], "region \(i)")
    }
  }
}

extension SyntheticTIFFTests {
  /// OpenSlide sees this OME-TIFF as a one-level generic TIFF with no
  /// scale; HoloHisto reads its SubIFD pyramid and OME-XML resolution.
  func testOMESubIFDPyramid() throws {
    let url = URL(fileURLWithPath: Fixture.file("ome_cases.json"))
    let facts = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    let entry = facts["ome_pyramid.ome.tif"] as! [String: Any]
    let slide = try Slide(path: Fixture.file("ome_pyramid.ome.tif"))
    XCTAssertEqual(slide.properties.vendor, "ome-tiff")
    XCTAssertEqual(
      slide.properties.levels.map { [$0.size.width, $0.size.height] },
      entry["levels"] as! [[Int]])
    XCTAssertEqual(slide.properties.mppX, 0.5)
    XCTAssertEqual(slide.properties.mppY, 0.5)
    for pixel in entry["pixels"] as! [[String: Any]] {
      let level = pixel["level"] as! Int
      let image = try slide.readRegion(
        levelOrigin: LevelPoint(x: pixel["x"] as! Int, y: pixel["y"] as! Int), level: level,
        size: PixelSize(width: 1, height: 1))
      XCTAssertEqual(image.pixels, (pixel["rgb"] as! [Int]).map(UInt8.init), "\(pixel)")
    }
  }

  func testMultiChannelFluorescenceOMEIsRefused() {
    let path = Fixture.file("ome_cyx.ome.tif")
    XCTAssertThrowsError(try Slide(path: path)) { error in
      XCTAssertEqual(
        "\(error)",
        "\(path): not a slide format HoloHisto reads (OME-TIFF with 3 channels stored as "
          + "separate greyscale planes (fluorescence); only brightfield RGB is read).")
    }
  }

  func testFIFOIsRefusedWithoutReading() throws {
    let path = try temporaryFolder(self).appendingPathComponent("pipe.svs").path
    XCTAssertEqual(mkfifo(path, 0o644), 0)
    XCTAssertThrowsError(try Slide(path: path)) { error in
      XCTAssertEqual(
        "\(error)",
        "\(path): not a slide format HoloHisto reads "
          + "(not a regular file (a device, FIFO or socket)).")
    }
  }
}
