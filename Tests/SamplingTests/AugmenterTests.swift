import Foundation
import Sampling
import SlideIO
import XCTest

final class AugmenterTests: XCTestCase {
  /// A W×H image whose pixel (x, y) is (x, y, 7) with label 10·y + x (so
  /// each label names its own pixel).
  func coded(width: Int, height: Int) -> (RGBImage, [UInt8]) {
    var image = RGBImage(width: width, height: height)
    var labels = [UInt8](repeating: 0, count: width * height)
    for y in 0..<height {
      for x in 0..<width {
        image.pixels[(y * width + x) * 3] = UInt8(x)
        image.pixels[(y * width + x) * 3 + 1] = UInt8(y)
        image.pixels[(y * width + x) * 3 + 2] = 7
        labels[y * width + x] = UInt8(10 * y + x)
      }
    }
    return (image, labels)
  }

  func assertAligned(
    _ image: RGBImage, _ labels: [UInt8]?, file: StaticString = #filePath,
    line: UInt = #line
  ) {
    guard let labels else { return XCTFail("labels lost", file: file, line: line) }
    for y in 0..<image.height {
      for x in 0..<image.width {
        let pixel = image[x, y]
        XCTAssertEqual(
          labels[y * image.width + x], 10 * pixel.g + pixel.r, "at (\(x), \(y))",
          file: file, line: line)
      }
    }
  }

  func testFlipsAndQuarterTurnsMoveLabelsWithPixels() {
    let (image, labels) = coded(width: 5, height: 3)

    var flipped = image
    var flippedLabels: [UInt8]? = labels
    Augmenter.flipHorizontally(&flipped, labels: &flippedLabels)
    XCTAssertTrue(flipped[4, 1] == (0, 1, 7))
    assertAligned(flipped, flippedLabels)

    Augmenter.flipVertically(&flipped, labels: &flippedLabels)
    XCTAssertTrue(flipped[4, 2] == (0, 0, 7))
    assertAligned(flipped, flippedLabels)

    for turns in 1...3 {
      var rotated = image
      var rotatedLabels: [UInt8]? = labels
      Augmenter.rotate(&rotated, labels: &rotatedLabels, quarterTurns: turns)
      assertAligned(rotated, rotatedLabels)
      if turns == 1 {
        // clockwise: (x, y) of 5×3 → (H − 1 − y, x) of 3×5
        XCTAssertEqual(rotated.size, PixelSize(width: 3, height: 5))
        XCTAssertTrue(rotated[2 - 0, 4] == (4, 0, 7))
        XCTAssertTrue(rotated[2 - 2, 1] == (1, 2, 7))
      }
    }
    var full = image
    var fullLabels: [UInt8]? = labels
    Augmenter.rotate(&full, labels: &fullLabels, quarterTurns: 4)
    XCTAssertEqual(full, image)
  }

  /// A random augmentation (geometry only) of the real HuBMAP tile 2 and
  /// its mask: label under each pixel equals the mask under the pixel it
  /// came from; found by matching a marker painted into both.
  func testRandomGeometryKeepsRealMaskAligned() throws {
    let slide = try Slide(path: Fixture.hubmapImage("2"), threads: 1)
    let labels = try LabelSource(rasterPath: Fixture.hubmapMask("2"), for: slide)
    let origin = LevelPoint(x: 300, y: 200)
    let size = PixelSize(width: 256, height: 256)
    var image = try slide.readRegion(levelOrigin: origin, level: 0, size: size)
    var mask: [UInt8]? = try labels.read(levelOrigin: origin, level: 0, size: size)
    // marker: pixel (10, 20) pure red in the image, class 9 in the labels
    image.pixels[(20 * 256 + 10) * 3..<(20 * 256 + 10) * 3 + 3] = [255, 0, 0]
    mask?[20 * 256 + 10] = 9

    var augmenter = Augmenter()
    augmenter.stainScale = 0
    augmenter.stainShift = 0
    augmenter.scaleJitter = 0
    for seed in 0..<8 {
      var generator = SplitMix64(seed: UInt64(seed))
      var outImage = image
      var outMask = mask
      augmenter.apply(to: &outImage, labels: &outMask, generator: &generator)
      let labelAt = try XCTUnwrap(outMask).firstIndex(of: 9)
      let redAt = (0..<(256 * 256)).first { outImage.pixels[$0 * 3..<$0 * 3 + 3] == [255, 0, 0] }
      XCTAssertEqual(labelAt, redAt, "seed \(seed)")
      XCTAssertEqual(
        try XCTUnwrap(outMask).filter { $0 == 1 }.count,
        try XCTUnwrap(mask).filter { $0 == 1 }.count)
    }
  }

  func testHEDRoundTripWithinOne() throws {
    let regions = [
      (Fixture.hubmapImage("2"), LevelPoint(x: 400, y: 300)),
      (Fixture.cmu, LevelPoint(x: 800, y: 1200)),
    ]
    for (path, origin) in regions {
      let image = try Slide(path: path, threads: 1).readRegion(
        levelOrigin: origin, level: 0, size: PixelSize(width: 256, height: 256))
      let back = Augmenter.hedJitter(image, scales: .one, shifts: .zero)
      let worst = zip(image.pixels, back.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 99
      XCTAssertLessThanOrEqual(worst, 1, path)
    }
    // every RGB corner and grey level survives too
    var all = RGBImage(width: 256, height: 8)
    for x in 0..<256 {
      for y in 0..<8 {
        let i = (y * 256 + x) * 3
        all.pixels[i] = UInt8(x)
        all.pixels[i + 1] = y & 1 == 0 ? UInt8(x) : 255 - UInt8(x)
        all.pixels[i + 2] = y & 2 == 0 ? 0 : 255
      }
    }
    let back = Augmenter.hedJitter(all, scales: .one, shifts: .zero)
    XCTAssertLessThanOrEqual(
      zip(all.pixels, back.pixels).map { abs(Int($0) - Int($1)) }.max() ?? 99, 1)
  }

  /// More haematoxylin darkens the red channel of a PAS tile most (the
  /// haematoxylin vector's largest components are red and green).
  func testHaematoxylinScaleDarkens() throws {
    let image = try Slide(path: Fixture.hubmapImage("2"), threads: 1).readRegion(
      levelOrigin: LevelPoint(x: 400, y: 300), level: 0, size: PixelSize(width: 128, height: 128))
    let darker = Augmenter.hedJitter(image, scales: SIMD3(1.5, 1, 1), shifts: .zero)
    func mean(_ image: RGBImage, _ c: Int) -> Double {
      stride(from: c, to: image.pixels.count, by: 3).reduce(0.0) { $0 + Double(image.pixels[$1]) }
        / Double(image.width * image.height)
    }
    XCTAssertLessThan(mean(darker, 0), mean(image, 0) - 1)
  }

  func testSeededAndLabelsStayNearest() throws {
    let slide = try Slide(path: Fixture.hubmapImage("16"), threads: 1)
    let source = try LabelSource(rasterPath: "\(Fixture.hubmap)/instances/train/16.png", for: slide)
    let origin = LevelPoint(x: 600, y: 400)
    let size = PixelSize(width: 200, height: 200)
    let image = try slide.readRegion(levelOrigin: origin, level: 0, size: size)
    let labels = try source.read(levelOrigin: origin, level: 0, size: size)
    var augmenter = Augmenter()
    augmenter.scaleJitter = 0.3

    func run(_ seed: UInt64) -> (RGBImage, [UInt8]?) {
      var generator = SplitMix64(seed: seed)
      var outImage = image
      var outLabels: [UInt8]? = labels
      augmenter.apply(to: &outImage, labels: &outLabels, generator: &generator)
      return (outImage, outLabels)
    }
    let a = run(3)
    let b = run(3)
    let c = run(4)
    XCTAssertEqual(a.0, b.0)
    XCTAssertEqual(a.1, b.1)
    XCTAssertNotEqual(a.0, c.0)
    for seed: UInt64 in 0..<6 {
      let values = Set(try XCTUnwrap(run(seed).1))
      XCTAssertTrue(values.isSubset(of: Set(labels).union([255])), "\(values)")
    }
  }
}
