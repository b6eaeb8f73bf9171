import XCTest

@testable import Sampling

final class OtsuThresholdTests: XCTestCase {
  func testTwoPeaksSplitBetweenThem() throws {
    var histogram = [Int](repeating: 0, count: 256)
    histogram[10] = 500
    histogram[11] = 300
    histogram[200] = 100
    let split = try XCTUnwrap(OtsuThreshold.split(histogram))
    // every split from bin 11 to 199 separates the peaks equally well; the
    // lowest wins
    XCTAssertEqual(split.lastLowBin, 11)
    XCTAssertEqual(
      split.lowMean, (10.0 * 500 + 11 * 300) / 800, accuracy: 1e-12)
  }

  func testSplitIsolatesTheFarthestPeak() throws {
    // three equal peaks at 0, 100, 110: the split isolates the far peak
    var histogram = [Int](repeating: 0, count: 256)
    histogram[0] = 100
    histogram[100] = 100
    histogram[110] = 100
    XCTAssertEqual(OtsuThreshold.split(histogram)?.lastLowBin, 0)
  }

  func testDegenerateHistogramsHaveNoSplit() {
    XCTAssertNil(OtsuThreshold.split([Int](repeating: 0, count: 256)))
    var single = [Int](repeating: 0, count: 256)
    single[42] = 1_000
    XCTAssertNil(OtsuThreshold.split(single))
  }
}
