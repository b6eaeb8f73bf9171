import XCTest

@testable import SlideIO

final class LevelChoiceTests: XCTestCase {
  /// BRACS levels have downsamples 1, 2.0013 and 4.0143 (floored sizes).
  func testDownsampleRequestsPickTheRightLevel() throws {
    let slide = try Slide(path: Fixture.data("wsi/BRACS_1640_N_3_cropped.tiff"))
    XCTAssertEqual(slide.bestLevel(forDownsample: 0.5), 0)
    XCTAssertEqual(slide.bestLevel(forDownsample: 1), 0)
    XCTAssertEqual(slide.bestLevel(forDownsample: 1.9), 0)
    // 1.99 is within 1% of level 1's 2.0013: tolerance works both ways.
    XCTAssertEqual(slide.bestLevel(forDownsample: 1.99), 1)
    XCTAssertEqual(slide.bestLevel(forDownsample: 2), 1)
    XCTAssertEqual(slide.bestLevel(forDownsample: 3.9), 1)
    // 4.0143 is within 1% of 4: the ×4 level, not the ×2 one.
    XCTAssertEqual(slide.bestLevel(forDownsample: 4), 2)
    XCTAssertEqual(slide.bestLevel(forDownsample: 64), 2)
  }

  func testMPPRequests() throws {
    let cmu = try Slide(path: Fixture.data("wsi/CMU-1-Small-Region.svs"))
    XCTAssertEqual(try cmu.bestLevel(forMPP: 0.5), 0)
    XCTAssertEqual(try cmu.bestLevel(forMPP: 2), 0)

    let bracs = try Slide(path: Fixture.data("wsi/BRACS_1640_N_3_cropped.tiff"))
    XCTAssertThrowsError(try bracs.bestLevel(forMPP: 1)) { error in
      XCTAssertEqual(
        "\(error)",
        "\(bracs.path): the slide's resolution (µm per pixel) is unknown, "
          + "so a level cannot be chosen by mpp.")
    }
  }

  func testFrameConversions() {
    let p = LevelPoint(Level0Point(x: 401, y: 799), downsample: 4.0143)
    XCTAssertEqual(p, LevelPoint(x: 99, y: 199))
    XCTAssertEqual(Level0Point(LevelPoint(x: 100, y: 0), downsample: 4.0143),
      Level0Point(x: 401, y: 0))
  }

  func testImplausibleResolutionIsUnknown() {
    let level = SlideLevel(size: PixelSize(width: 10, height: 10), downsample: 1)
    let p = SlideProperties(
      vendor: "tiff", levels: [level], mppX: 1000, mppY: 0.25, objectivePower: 0,
      associatedImages: [], raw: [:])
    XCTAssertNil(p.mppX)
    XCTAssertEqual(p.mppY, 0.25)
    XCTAssertEqual(p.mpp, 0.25)
    XCTAssertNil(p.objectivePower)
  }
}
