import SlideIO
import XCTest

@testable import Sampling

final class TissueMaskTests: XCTestCase {
  /// 4×2 mask at downsample 8: tissue in mask pixels (1, 0) and (3, 1).
  let mask = TissueMask(
    width: 4, height: 2, level: 1, downsample: 8,
    pixels: [false, true, false, false, false, false, false, true],
    saturationThreshold: 0.2)

  func testFractionAndCount() {
    XCTAssertEqual(mask.tissuePixelCount, 2)
    XCTAssertEqual(mask.fraction, 0.25)
    XCTAssertEqual(mask.greySamples(), [0, 255, 0, 0, 0, 0, 0, 255])
  }

  func testLevel0PointsMapThroughTheDownsample() {
    // mask pixel (1, 0) covers level-0 x 8..<16, y 0..<8
    XCTAssertTrue(mask.isTissue(at: Level0Point(x: 8, y: 0)))
    XCTAssertTrue(mask.isTissue(at: Level0Point(x: 15, y: 7)))
    XCTAssertFalse(mask.isTissue(at: Level0Point(x: 7, y: 0)))
    XCTAssertFalse(mask.isTissue(at: Level0Point(x: 16, y: 0)))
    XCTAssertFalse(mask.isTissue(at: Level0Point(x: 8, y: 8)))
    // mask pixel (3, 1): level-0 x 24..<32, y 8..<16; beyond is outside
    XCTAssertTrue(mask.isTissue(at: Level0Point(x: 31, y: 15)))
    XCTAssertFalse(mask.isTissue(at: Level0Point(x: 32, y: 15)))
    XCTAssertFalse(mask.isTissue(at: Level0Point(x: 31, y: 16)))
    XCTAssertFalse(mask.isTissue(at: Level0Point(x: -1, y: 0)))
  }

  func testBoxAveragingRoundsAndKeepsPartialEdgeBoxes() {
    // 3×1 image, factor 2: the first box averages two pixels, the second
    // holds only the last pixel
    let image = RGBImage(
      width: 3, height: 1, pixels: [0, 10, 255, 1, 11, 0, 7, 8, 9])
    let small = BoxDownsampler.downsample(image, factor: 2)
    XCTAssertEqual(small.size, PixelSize(width: 2, height: 1))
    // means 0.5 → 1, 10.5 → 11, 127.5 → 128: halves round up
    XCTAssertEqual(small.pixels, [1, 11, 128, 7, 8, 9])
  }

  func testBandedReadEqualsWholeRead() throws {
    // BRACS level 0 is 650×743; bands of ~16 KB force many reads, and 743
    // rows leave a partial last box at factor 3
    let slide = try Slide(path: SamplingFixture.bracsPath)
    let whole = BoxDownsampler.downsample(try slide.readLevel(0), factor: 3)
    let banded = try BoxDownsampler.read(
      slide, level: 0, factor: 3, bandBytes: 16_384)
    XCTAssertEqual(banded.size, PixelSize(width: 217, height: 248))
    XCTAssertEqual(banded, whole)
  }
}
