import Foundation
import Sampling
import SlideIO
import XCTest

final class LabelSourceTests: XCTestCase {
  /// HuBMAP train/2: 0/255 mask whose foreground fraction FILES.tsv gives
  /// as 0.0159.
  func testBinaryMaskReadsAsClassOne() throws {
    let slide = try Slide(path: Fixture.hubmapImage("2"), threads: 1)
    let labels = try LabelSource(rasterPath: Fixture.hubmapMask("2"), for: slide)
    let size = PixelSize(width: 1600, height: 1200)
    let values = try labels.read(levelOrigin: LevelPoint(x: 0, y: 0), level: 0, size: size)
    XCTAssertEqual(Set(values), [0, 1])
    let ones = values.reduce(0) { $0 + Int($1) }
    let fraction = Double(ones) / Double(size.width * size.height)
    XCTAssertEqual((fraction * 10_000).rounded() / 10_000, 0.0159)

    // raw 255 ↔ label 1, pixel for pixel
    let raw = try Fixture.greySamples(Fixture.hubmapMask("2")).samples
    XCTAssertEqual(values, raw.map { $0 == 255 ? 1 : 0 })
  }

  /// HuBMAP instance map train/16 holds glomeruli 1…3 (FILES.tsv: 3).
  func testSmallIntegerLabelsAndEncodings() throws {
    let slide = try Slide(path: Fixture.hubmapImage("16"), threads: 1)
    let path = "\(Fixture.hubmap)/instances/train/16.png"
    let origin = LevelPoint(x: 0, y: 0)
    let size = PixelSize(width: 1600, height: 1200)
    let automatic = try LabelSource(rasterPath: path, for: slide)
      .read(levelOrigin: origin, level: 0, size: size)
    let binary = try LabelSource(rasterPath: path, for: slide, encoding: .binary)
      .read(levelOrigin: origin, level: 0, size: size)
    XCTAssertEqual(Set(automatic), [0, 1, 2, 3])
    XCTAssertEqual(Set(binary), [0, 1])
    XCTAssertEqual(binary, automatic.map { $0 == 0 ? 0 : 1 })
  }

  func testMaskSizeMismatchNamesBothSizes() throws {
    let slide = try Slide(path: Fixture.cmu, threads: 1)
    XCTAssertThrowsError(try LabelSource(rasterPath: Fixture.hubmapMask("2"), for: slide)) {
      error in
      XCTAssertEqual(
        error as? SamplingError,
        .labelSizeMismatch(
          labelPath: Fixture.hubmapMask("2"), labelSize: PixelSize(width: 1600, height: 1200),
          slidePath: Fixture.cmu, slideSize: PixelSize(width: 2220, height: 2967)))
      let message = "\(error)"
      XCTAssertTrue(message.contains("1600×1200"), message)
      XCTAssertTrue(message.contains("2220×2967"), message)
    }
  }

  /// A synthetic class map over the 3-level BRACS slide: one-level PNG
  /// sampled nearest at levels 1 and 2, and a pyramidal TIFF copied one to
  /// one, agree with the nearest rule computed here.
  func testNearestSamplingAndPyramidalLabels() throws {
    let slide = try Slide(path: Fixture.bracs, threads: 1)
    let full = slide.dimensions  // 650×743
    let pattern = (0..<(full.width * full.height)).map { i in
      UInt8(((i % full.width) / 7 + (i / full.width) / 5) % 4)
    }
    let folder = try Fixture.temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let pngPath = folder.appendingPathComponent("labels.png").path
    try PNGWriter.writeGrey(
      samples: pattern, width: full.width, height: full.height, to: pngPath)

    // the nearest rule: level pixel i ← level-0 pixel ⌊(i + 0.5) · d⌋
    var levels: [(size: PixelSize, samples: [UInt8])] = []
    for level in 0..<slide.levelCount {
      let size = try slide.size(level: level)
      let d = try slide.downsample(level: level)
      let samples = (0..<(size.width * size.height)).map { i in
        let x = Int((Double(i % size.width) + 0.5) * d)
        let y = Int((Double(i / size.width) + 0.5) * d)
        return pattern[min(y, full.height - 1) * full.width + min(x, full.width - 1)]
      }
      levels.append((size, samples))
    }
    let tiffPath = folder.appendingPathComponent("labels.tiff").path
    try TiledTIFFWriter.write(levels: levels, to: tiffPath)
    let pyramid = try Slide(path: tiffPath, threads: 1)
    XCTAssertEqual(pyramid.levelCount, 3)

    let png = try LabelSource(rasterPath: pngPath, for: slide, encoding: .classIndex)
    let tiff = try LabelSource(rasterPath: tiffPath, for: slide, encoding: .classIndex)
    for level in 1..<3 {
      let size = levels[level].size
      let origin = LevelPoint(x: 0, y: 0)
      XCTAssertEqual(
        try png.read(levelOrigin: origin, level: level, size: size), levels[level].samples,
        "one-level PNG, level \(level)")
      XCTAssertEqual(
        try tiff.read(levelOrigin: origin, level: level, size: size), levels[level].samples,
        "pyramidal TIFF, level \(level)")
    }

    // a region half outside level 1 reads the outside value there
    let part = try tiff.read(
      levelOrigin: LevelPoint(x: 300, y: -10), level: 1, size: PixelSize(width: 50, height: 20),
      outsideValue: 255)
    XCTAssertEqual(part[0], 255)  // (300, −10): above the level
    XCTAssertEqual(part[10 * 50 + 30], 255)  // (330, 0): right of 325
    XCTAssertEqual(part[10 * 50 + 5], levels[1].samples[305])  // (305, 0)
  }

  /// A 100×100 square at (10, 10) with a 20×20 hole at (40, 40), level-0
  /// pixels: 10,000 − 400 = 9,600 pixels at level 0; at downsample 2 the
  /// centres (i + 0.5)·2 in [10, 110) give 50 columns, in [40, 60) 10, so
  /// 2,500 − 100 = 2,400.
  func testGeoJSONSquareWithHoleExactCounts() throws {
    for holeReversed in [false, true] {
      var hole: [[Double]] = [[40, 40], [60, 40], [60, 60], [40, 60], [40, 40]]
      if holeReversed { hole.reverse() }
      let json: [String: Any] = [
        "type": "FeatureCollection",
        "features": [
          [
            "type": "Feature", "properties": ["label": 2],
            "geometry": [
              "type": "Polygon",
              "coordinates": [[[10, 10], [110, 10], [110, 110], [10, 110], [10, 10]], hole],
            ],
          ]
        ],
      ]
      let data = try JSONSerialization.data(withJSONObject: json)
      let polygons = try PolygonLabels(geoJSON: data, path: "synthetic.geojson")
      let level0 = polygons.rasterise(
        levelOrigin: LevelPoint(x: 0, y: 0), downsample: 1,
        size: PixelSize(width: 128, height: 128))
      XCTAssertEqual(level0.filter { $0 == 2 }.count, 9_600)
      XCTAssertEqual(level0.filter { $0 != 0 && $0 != 2 }.count, 0)
      XCTAssertEqual(level0[10 * 128 + 10], 2)  // top-left corner pixel is in
      XCTAssertEqual(level0[109 * 128 + 109], 2)  // bottom-right corner pixel is in
      XCTAssertEqual(level0[110 * 128 + 110], 0)
      XCTAssertEqual(level0[50 * 128 + 50], 0)  // in the hole

      let coarse = polygons.rasterise(
        levelOrigin: LevelPoint(x: 0, y: 0), downsample: 2, size: PixelSize(width: 64, height: 64))
      XCTAssertEqual(coarse.filter { $0 == 2 }.count, 2_400)

      // an offset region sees the same pixels
      let shifted = polygons.rasterise(
        levelOrigin: LevelPoint(x: 30, y: 30), downsample: 1,
        size: PixelSize(width: 100, height: 100))
      XCTAssertEqual(shifted.filter { $0 == 2 }.count, 80 * 80 - 400)
    }
  }

  func testGeoJSONRefusesOtherGeometry() {
    let data = Data(#"{"type":"Feature","geometry":{"type":"Point","coordinates":[1,2]}}"#.utf8)
    XCTAssertThrowsError(try PolygonLabels(geoJSON: data, path: "p.geojson")) { error in
      guard case .invalidGeoJSON(let path, let detail) = error as? SamplingError else {
        return XCTFail("unexpected \(error)")
      }
      XCTAssertEqual(path, "p.geojson")
      XCTAssertTrue(detail.contains("Point"), detail)
    }
  }

  /// The source polygons of HuBMAP train/2, as GeoJSON, against the mask
  /// Pillow rasterised from them (interior and outline): the same pixels but
  /// for a thin outline.
  func testGeoJSONFromRealPolygonsMatchesMask() throws {
    let annotations = try JSONSerialization.jsonObject(
      with: Data(contentsOf: URL(fileURLWithPath: Fixture.hubmap + "/annotations.json")))
    let tiles = try XCTUnwrap((annotations as? [String: Any])?["tiles"] as? [String: Any])
    let tile = try XCTUnwrap(tiles["train/16"] as? [String: Any])
    let shapes = try XCTUnwrap(tile["polygons"] as? [[String: Any]])
    let features: [[String: Any]] = shapes.map { shape in
      [
        "type": "Feature", "properties": [:] as [String: Any],
        "geometry": ["type": "Polygon", "coordinates": [shape["points"] ?? []]],
      ]
    }
    let folder = try Fixture.temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let path = folder.appendingPathComponent("16.geojson").path
    try JSONSerialization.data(withJSONObject: ["type": "FeatureCollection", "features": features])
      .write(to: URL(fileURLWithPath: path))

    let slide = try Slide(path: Fixture.hubmapImage("16"), threads: 1)
    let size = PixelSize(width: 1600, height: 1200)
    let fromPolygons = try LabelSource(path: path, for: slide)
      .read(levelOrigin: LevelPoint(x: 0, y: 0), level: 0, size: size)
    let fromMask = try LabelSource(rasterPath: Fixture.hubmapMask("16"), for: slide)
      .read(levelOrigin: LevelPoint(x: 0, y: 0), level: 0, size: size)
    var both = 0
    var either = 0
    var polygonOnly = 0
    for (a, b) in zip(fromPolygons, fromMask) {
      if a == 1 && b == 1 { both += 1 }
      if a == 1 || b == 1 { either += 1 }
      if a == 1 && b == 0 { polygonOnly += 1 }
    }
    let iou = Double(both) / Double(either)
    XCTAssertGreaterThan(iou, 0.98, "IoU \(iou)")
    XCTAssertLessThan(polygonOnly, 100, "centre-inside pixels missing from the filled mask")
  }
}
