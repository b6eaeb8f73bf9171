import Exports
import Foundation
import SlideIO
import XCTest

final class GeoJSONWriterTests: XCTestCase {
  private func shoelace(_ ring: [[Double]]) -> Double {
    var sum = 0.0
    for i in 0..<(ring.count - 1) {
      sum += ring[i][0] * ring[i + 1][1] - ring[i + 1][0] * ring[i][1]
    }
    return sum / 2
  }

  private func features(_ path: String) throws -> [[String: Any]] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    XCTAssertEqual(root["type"] as? String, "FeatureCollection")
    return try XCTUnwrap(root["features"] as? [[String: Any]])
  }

  /// The real mosaic placed at level-0 origin (1000, 2000) with downsample
  /// 2 (as if it were a level-1 mask): one Feature per component, level-0
  /// coordinates, shoelace areas = pixel count × 4, QuPath properties.
  func testRealMosaicFeatures() throws {
    var mask = try TestMasks.mosaic()
    mask.origin = Level0Point(x: 1000, y: 2000)
    mask.downsample = 2
    let expected = TestMasks.components(mask)
    let objects = ContourTracer.trace(mask)
    let folder = try TestMasks.scratchFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = (folder as NSString).appendingPathComponent("objects.geojson")
    let classes = LabelClasses([
      LabelClass(value: 1, name: "Glomerulus", color: LabelColor(red: 0, green: 200, blue: 83))
    ])
    try GeoJSONWriter.write(objects, classes: classes, micronsPerPixel: 0.25, to: path)
    XCTAssertEqual(TestMasks.contents(folder), ["objects.geojson"])

    let list = try features(path)
    XCTAssertEqual(list.count, expected.count)
    var areas: [[Int]] = []
    for feature in list {
      let geometry = try XCTUnwrap(feature["geometry"] as? [String: Any])
      XCTAssertEqual(geometry["type"] as? String, "Polygon")
      let rings = try XCTUnwrap(geometry["coordinates"] as? [[[Double]]])
      XCTAssertGreaterThan(shoelace(rings[0]), 0, "exterior counter-clockwise")
      for hole in rings.dropFirst() { XCTAssertLessThan(shoelace(hole), 0, "hole clockwise") }
      for ring in rings {
        XCTAssertEqual(ring.first, ring.last)
        for point in ring {
          XCTAssertTrue((1000...7400).contains(point[0]) && (2000...6800).contains(point[1]))
        }
      }
      let area = rings.map(shoelace).reduce(0, +)
      let properties = try XCTUnwrap(feature["properties"] as? [String: Any])
      XCTAssertEqual(properties["objectType"] as? String, "annotation")
      let value = try XCTUnwrap(properties["classValue"] as? Int)
      let classification = try XCTUnwrap(properties["classification"] as? [String: Any])
      XCTAssertEqual(classification["name"] as? String, value == 1 ? "Glomerulus" : "Class 2")
      XCTAssertEqual(classification["color"] as? [Int], value == 1 ? [0, 200, 83] : [255, 64, 64])
      XCTAssertEqual(properties["areaPixels"] as? Double, area)
      XCTAssertEqual(properties["areaMicrometres2"] as? Double, area * 0.0625)
      let measurements = try XCTUnwrap(properties["measurements"] as? [String: Double])
      XCTAssertEqual(measurements["Area px^2"], area)
      areas.append([value, Int(area) / 4])
    }
    XCTAssertEqual(
      areas.sorted { $0.lexicographicallyPrecedes($1) },
      expected.map { [Int($0.value), $0.pixels] }.sorted { $0.lexicographicallyPrecedes($1) })
  }

  /// Synthetic ring: the hole comes second, clockwise; detections and no µm².
  func testSyntheticRingAsDetection() throws {
    var labels = [UInt8](repeating: 0, count: 36)
    for y in 1...4 { for x in 1...4 where !(2...3 ~= x && 2...3 ~= y) { labels[y * 6 + x] = 3 } }
    let objects = ContourTracer.trace(LabelMask(width: 6, height: 6, labels: labels))
    let folder = try TestMasks.scratchFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = (folder as NSString).appendingPathComponent("ring.geojson")
    try GeoJSONWriter.write(objects, objectType: .detection, to: path)

    let list = try features(path)
    XCTAssertEqual(list.count, 1)
    let geometry = try XCTUnwrap(list[0]["geometry"] as? [String: Any])
    let rings = try XCTUnwrap(geometry["coordinates"] as? [[[Double]]])
    XCTAssertEqual(rings.count, 2)
    XCTAssertEqual(shoelace(rings[0]), 16)
    XCTAssertEqual(shoelace(rings[1]), -4)
    let properties = try XCTUnwrap(list[0]["properties"] as? [String: Any])
    XCTAssertEqual(properties["objectType"] as? String, "detection")
    XCTAssertNil(properties["areaMicrometres2"])
    XCTAssertEqual(properties["areaPixels"] as? Double, 12)
  }

  func testNamesAreEscaped() {
    XCTAssertEqual(GeoJSONWriterTestsSupport.escaped("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"")
  }

  func testMissingFolderAndBadResolutionLeaveNothing() throws {
    let folder = try TestMasks.scratchFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let missing = (folder as NSString).appendingPathComponent("nope/objects.geojson")
    XCTAssertThrowsError(try GeoJSONWriter.write([], to: missing)) { error in
      guard case ExportError.writeFailed(let path, let detail) = error else {
        return XCTFail("unexpected \(error)")
      }
      XCTAssertEqual(path, missing)
      XCTAssertTrue(detail.contains("does not exist"), detail)
    }
    let path = (folder as NSString).appendingPathComponent("objects.geojson")
    XCTAssertThrowsError(try GeoJSONWriter.write([], micronsPerPixel: .nan, to: path)) {
      guard case ExportError.invalidResolution = $0 else { return XCTFail("unexpected \($0)") }
    }
    XCTAssertEqual(TestMasks.contents(folder), [])

    // an empty collection is still valid GeoJSON
    try GeoJSONWriter.write([], to: path)
    XCTAssertEqual(try features(path).count, 0)
  }
}

/// Reaches the writer's string escaping through its output.
enum GeoJSONWriterTestsSupport {
  static func escaped(_ name: String) -> String {
    let objects = ContourTracer.trace(LabelMask(width: 1, height: 1, labels: [1]))
    let folder = (NSTemporaryDirectory() as NSString).appendingPathComponent(
      "exports-escape-\(UUID().uuidString)")
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = (folder as NSString).appendingPathComponent("x.geojson")
    let classes = LabelClasses([
      LabelClass(value: 1, name: name, color: LabelColor(red: 1, green: 2, blue: 3))
    ])
    guard (try? GeoJSONWriter.write(objects, classes: classes, to: path)) != nil,
      let text = try? String(contentsOfFile: path, encoding: .utf8),
      let start = text.range(of: "\"name\":"), let end = text.range(of: ",\"color\"")
    else { return "" }
    return String(text[start.upperBound..<end.lowerBound])
  }
}
