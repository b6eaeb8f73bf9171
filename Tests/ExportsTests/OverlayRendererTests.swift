import Exports
import Foundation
import SlideIO
import XCTest

final class OverlayRendererTests: XCTestCase {
  /// Synthetic: a 2×2 mask over a 4×4 thumbnail; each mask pixel covers a
  /// 2×2 block; opacity ½ gives the rounded midpoint per channel.
  func testSyntheticBlendValues() throws {
    let thumbnail = RGBImage(width: 4, height: 4, fill: (100, 150, 200))
    let mask = LabelMask(width: 2, height: 2, labels: [1, 0, 0, 2])
    let classes = LabelClasses([
      LabelClass(value: 1, name: "A", color: LabelColor(red: 255, green: 0, blue: 0)),
      LabelClass(value: 2, name: "B", color: LabelColor(red: 0, green: 0, blue: 255)),
    ])
    let image = try OverlayRenderer.render(
      thumbnail: thumbnail, mask: mask, classes: classes, opacity: 0.5)
    XCTAssertEqual(image.size, thumbnail.size)
    for y in 0..<4 {
      for x in 0..<4 {
        let pixel = image[x, y]
        switch (x / 2, y / 2) {
        case (0, 0): XCTAssertTrue(pixel == (178, 75, 100), "\(pixel) at \(x), \(y)")
        case (1, 1): XCTAssertTrue(pixel == (50, 75, 228), "\(pixel) at \(x), \(y)")
        default: XCTAssertTrue(pixel == (100, 150, 200), "\(pixel) at \(x), \(y)")
        }
      }
    }
    let solid = try OverlayRenderer.render(
      thumbnail: thumbnail, mask: mask, classes: classes, opacity: 1)
    XCTAssertTrue(solid[0, 0] == (255, 0, 0))
  }

  /// A real tile and its real mask (a quarter-size thumbnail): unlabelled
  /// pixels unchanged, labelled ones tinted; the PNG round-trips.
  func testRealTileOverlayPNG() throws {
    let stem = try XCTUnwrap(try TestMasks.testStems().first)
    let imagePath = (TestMasks.dataset as NSString).appendingPathComponent(
      "images/test/\(stem).jpg")
    let slide = try Slide(path: imagePath)
    let full = try slide.readLevel(0)
    // quarter size by taking every 4th pixel (the mask stays full size)
    var pixels = [UInt8](repeating: 0, count: 400 * 300 * 3)
    for y in 0..<300 {
      for x in 0..<400 {
        for c in 0..<3 {
          pixels[(y * 400 + x) * 3 + c] = full.pixels[(y * 4 * 1600 + x * 4) * 3 + c]
        }
      }
    }
    let thumbnail = RGBImage(width: 400, height: 300, pixels: pixels)
    let (size, grey) = try TestMasks.grey("masks", stem: stem)
    let mask = LabelMask(
      width: size.width, height: size.height, labels: grey.map { $0 == 0 ? 0 : 1 })

    let folder = try TestMasks.scratchFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = (folder as NSString).appendingPathComponent("overlay.png")
    try OverlayRenderer.write(thumbnail: thumbnail, mask: mask, opacity: 0.4, to: path)
    let written = try Slide(path: path).readLevel(0)
    XCTAssertEqual(written, try OverlayRenderer.render(thumbnail: thumbnail, mask: mask))

    var tinted = 0
    for y in 0..<300 {
      for x in 0..<400 {
        let label = mask[x * 4 + 2, y * 4 + 2]
        let before = thumbnail[x, y]
        let after = written[x, y]
        if label == 0 {
          XCTAssertTrue(before == after)
        } else if !(before == after) {
          tinted += 1
        }
      }
    }
    XCTAssertGreaterThan(tinted, 0)
  }

  func testBadOpacityAndMissingFolder() throws {
    let thumbnail = RGBImage(width: 2, height: 2)
    let mask = LabelMask(width: 1, height: 1, labels: [1])
    XCTAssertThrowsError(
      try OverlayRenderer.render(thumbnail: thumbnail, mask: mask, opacity: 1.5)
    ) {
      XCTAssertEqual($0 as? ExportError, .invalidOpacity(path: "overlay", opacity: 1.5))
    }
    let folder = try TestMasks.scratchFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = (folder as NSString).appendingPathComponent("missing/overlay.png")
    XCTAssertThrowsError(try OverlayRenderer.write(thumbnail: thumbnail, mask: mask, to: path)) {
      guard case ExportError.writeFailed(let shown, _) = $0 else { return XCTFail("\($0)") }
      XCTAssertEqual(shown, path)
    }
    XCTAssertEqual(TestMasks.contents(folder), [])
  }
}
