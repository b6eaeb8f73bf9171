import Foundation
import XCTest

@testable import SlideIO

/// PNG variants the real tiles do not cover (synthetic, made from a real
/// crop by scripts/fixtures/make_test_pngs.py): stored values must come
/// back unchanged, with no gamma conversion, and alpha composited onto
/// white as straight alpha.
final class PNGReadingTests: XCTestCase {
  func testStoredValuesComeBackUnchanged() throws {
    let url = URL(fileURLWithPath: Fixture.file("png_cases.json"))
    let table = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    let names = ["png16_rgb.png", "png_gamma10.png", "png_rgba.png", "png_grey16.png"]
    for name in names {
      let entry = table[name] as! [String: Any]
      let slide = try Slide(path: Fixture.file(name))
      XCTAssertEqual(
        slide.dimensions,
        PixelSize(width: entry["width"] as! Int, height: entry["height"] as! Int), name)
      let expected = (entry["rgb"] as! [Int]).map(UInt8.init)
      XCTAssertEqual(try slide.readLevel(0).pixels, expected, name)
    }
  }

  func testTruncatedPNG() throws {
    let bytes = try Data(contentsOf: URL(fileURLWithPath: Fixture.data("tiles/skimage_ihc.png")))
    let path = try temporaryFolder(self).appendingPathComponent("half.png").path
    _ = FileManager.default.createFile(atPath: path, contents: bytes.prefix(bytes.count / 2))
    XCTAssertThrowsError(try Slide(path: path)) { error in
      XCTAssertTrue(
        "\(error)".hasPrefix("\(path): the file is damaged or truncated (libpng: "), "\(error)")
    }
  }
}
