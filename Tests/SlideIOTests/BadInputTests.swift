import Foundation
import XCTest

@testable import SlideIO

/// Each bad input ends in one sentence naming the file and the problem.
final class BadInputTests: XCTestCase {
  func message(_ body: () throws -> Any) -> String? {
    do {
      _ = try body()
      return nil
    } catch {
      return "\(error)"
    }
  }

  func testMissingFile() {
    XCTAssertEqual(
      message { try Slide(path: "/nonexistent/slide.svs") },
      "/nonexistent/slide.svs: no such file.")
  }

  func testDirectory() throws {
    let folder = try temporaryFolder(self)
    XCTAssertEqual(
      message { try Slide(path: folder.path) },
      "\(folder.path): is a directory, not a slide file.")
  }

  func testEmptyFile() throws {
    let path = try temporaryFolder(self).appendingPathComponent("empty.svs").path
    _ = FileManager.default.createFile(atPath: path, contents: Data())
    XCTAssertEqual(message { try Slide(path: path) }, "\(path): the file is empty (0 bytes).")
  }

  func testTextFileNamedSVS() throws {
    let path = try temporaryFolder(self).appendingPathComponent("notes.svs").path
    _ = FileManager.default.createFile(atPath: path, contents: Data("hello, slide\n".utf8))
    XCTAssertEqual(
      message { try Slide(path: path) },
      "\(path): not a slide format HoloHisto reads "
        + "(not a TIFF, PNG or JPEG file, nor a format OpenSlide recognises).")
  }

  /// A real deflate TIFF cut in the middle of its tile data.
  func testTruncatedTIFF() {
    let path = Fixture.file("truncated.tif")
    let text = message { try Slide(path: path).readLevel(0) }
    XCTAssertNotNil(text)
    XCTAssertTrue(
      text!.hasPrefix("\(path): the file is damaged or truncated ("), text ?? "")
  }

  /// Cut the real CMU slide in the middle of its level-0 tile data.
  func testTruncatedSVSFailsOnTheMissingTiles() throws {
    let source = Fixture.data("wsi/CMU-1-Small-Region.svs")
    let bytes = try Data(contentsOf: URL(fileURLWithPath: source))
    let path = try temporaryFolder(self).appendingPathComponent("cut.svs").path
    _ = FileManager.default.createFile(atPath: path, contents: bytes.prefix(700_000))
    let text = message { try Slide(path: path).readLevel(0) }
    XCTAssertNotNil(text)
    XCTAssertTrue(text!.hasPrefix("\(path): the file is damaged or truncated ("), text ?? "")
  }

  func testRegionSizes() throws {
    let slide = try Slide(path: Fixture.data("wsi/CMU-1-Small-Region.svs"))
    let origin = Level0Point(x: 0, y: 0)
    XCTAssertEqual(
      message { try slide.readRegion(origin: origin, level: 0, size: .init(width: 0, height: 5)) },
      "\(slide.path): region size 0×5 is invalid; width and height must be positive.")
    XCTAssertEqual(
      message {
        try slide.readRegion(origin: origin, level: 0, size: .init(width: 10, height: -3))
      },
      "\(slide.path): region size 10×-3 is invalid; width and height must be positive.")
  }

  /// Refused before allocating: 10⁶ × 10⁶ RGB would be 3 TB.
  func testRegionTooLarge() throws {
    let slide = try Slide(
      path: Fixture.data("wsi/CMU-1-Small-Region.svs"), maxRegionBytes: 1 << 30)
    let huge = PixelSize(width: 1_000_000, height: 1_000_000)
    XCTAssertEqual(
      message { try slide.readRegion(origin: .init(x: 0, y: 0), level: 0, size: huge) },
      "\(slide.path): region 1000000×1000000 is too large to read at once "
        + "(limit 1.0 GiB of RGB pixels); read it in smaller regions.")
    let overflow = PixelSize(width: Int.max / 2, height: 4)
    XCTAssertNotNil(
      message { try slide.readRegion(origin: .init(x: 0, y: 0), level: 0, size: overflow) })
  }

  func testLevelOutOfRange() throws {
    let slide = try Slide(path: Fixture.data("wsi/BRACS_1640_N_3_cropped.tiff"))
    XCTAssertEqual(
      message {
        try slide.readRegion(origin: .init(x: 0, y: 0), level: 3, size: .init(width: 1, height: 1))
      },
      "\(slide.path): level 3 does not exist; the slide has levels 0 to 2.")
    XCTAssertEqual(
      message { try slide.readLevel(-1) },
      "\(slide.path): level -1 does not exist; the slide has levels 0 to 2.")
  }
}
