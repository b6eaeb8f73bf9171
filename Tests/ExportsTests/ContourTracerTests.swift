import Exports
import Foundation
import SlideIO
import XCTest

final class ContourTracerTests: XCTestCase {
  /// Checks one traced object: closed rings, exterior positive and holes
  /// negative, every ring simple (unit-step walk never revisits a corner,
  /// so no repeated vertex and no crossing), and area = pixel count.
  private func assertValid(
    _ object: TracedObject, file: StaticString = #filePath, line: UInt = #line
  ) {
    let rings = [object.exterior] + object.holes
    for (index, ring) in rings.enumerated() {
      XCTAssertGreaterThanOrEqual(ring.count, 5, file: file, line: line)
      XCTAssertEqual(ring.first, ring.last, "ring \(index) closed", file: file, line: line)
      var seen = Set<MaskCorner>()
      for i in 0..<(ring.count - 1) {
        let (a, b) = (ring[i], ring[i + 1])
        XCTAssertTrue(a.x == b.x || a.y == b.y, "axis-aligned edge", file: file, line: line)
        XCTAssertNotEqual(a, b, "no zero-length edge", file: file, line: line)
        let steps = max(abs(b.x - a.x), abs(b.y - a.y))
        for s in 0..<steps {
          let point = MaskCorner(
            x: a.x + (b.x - a.x).signum() * s, y: a.y + (b.y - a.y).signum() * s)
          XCTAssertTrue(
            seen.insert(point).inserted, "ring \(index) revisits \(point)", file: file, line: line)
        }
      }
    }
    XCTAssertGreaterThan(ContourTracer.signedDoubleArea(object.exterior), 0, file: file, line: line)
    for hole in object.holes {
      XCTAssertLessThan(
        ContourTracer.signedDoubleArea(hole), 0, "hole clockwise", file: file, line: line)
    }
    let doubleArea = rings.map(ContourTracer.signedDoubleArea).reduce(0, +)
    XCTAssertEqual(doubleArea, 2 * object.pixelCount, "area = pixels", file: file, line: line)
  }

  private func mask(_ rows: [String]) -> LabelMask {
    let labels = rows.flatMap { $0.map { $0 == "." ? UInt8(0) : UInt8(String($0))! } }
    return LabelMask(width: rows[0].count, height: rows.count, labels: labels)
  }

  /// Every real test mask: one polygon per 4-connected component (counted by
  /// an independent flood fill), polygon areas equal pixel counts exactly.
  /// The 10 tiles hold 35 annotated glomeruli; touching ones merge into one
  /// component, so the component total can only be at most 35.
  func testRealMasksOnePolygonPerComponent() throws {
    var instances = 0
    var components = 0
    for stem in try TestMasks.testStems() {
      let (size, grey) = try TestMasks.grey("masks", stem: stem)
      let labels = grey.map { $0 == 0 ? UInt8(0) : 1 }
      let mask = LabelMask(width: size.width, height: size.height, labels: labels)
      let expected = TestMasks.components(mask)
      let objects = ContourTracer.trace(mask)
      XCTAssertEqual(objects.count, expected.count, "tile \(stem)")
      let traced = objects.map { [Int($0.classValue), $0.pixelCount] }
      let filled = expected.map { [Int($0.value), $0.pixels] }
      XCTAssertEqual(
        traced.sorted { $0.lexicographicallyPrecedes($1) },
        filled.sorted { $0.lexicographicallyPrecedes($1) }, "tile \(stem)")
      for object in objects { assertValid(object) }
      XCTAssertEqual(objects.reduce(0) { $0 + $1.pixelCount }, labels.filter { $0 != 0 }.count)
      components += objects.count
      instances += Int(try TestMasks.grey("instances", stem: stem).1.max() ?? 0)
    }
    XCTAssertEqual(instances, 35)
    XCTAssertLessThanOrEqual(components, 35)
    XCTAssertGreaterThan(components, 0)
  }

  /// Synthetic ring-shaped object: exactly one hole, clockwise.
  func testSyntheticRingHasOneHole() {
    let objects = ContourTracer.trace(
      mask([
        "......",
        ".1111.",
        ".1..1.",
        ".1..1.",
        ".1111.",
        "......",
      ]))
    XCTAssertEqual(objects.count, 1)
    XCTAssertEqual(objects[0].holes.count, 1)
    XCTAssertEqual(objects[0].pixelCount, 12)
    XCTAssertEqual(
      objects[0].exterior,
      [(1, 1), (5, 1), (5, 5), (1, 5), (1, 1)].map { MaskCorner(x: $0.0, y: $0.1) })
    XCTAssertEqual(
      objects[0].holes[0],
      [(2, 4), (4, 4), (4, 2), (2, 2), (2, 4)].map { MaskCorner(x: $0.0, y: $0.1) })
    assertValid(objects[0])
  }

  /// Synthetic: holes under the minimum area are filled (their pixels
  /// counted in, so area still equals the polygon's), larger ones kept.
  func testSyntheticSmallHolesAreFilled() {
    let object = ContourTracer.trace(
      mask([
        "........",
        ".111111.",
        ".1.11..1",
        ".1111..1",
        ".1111111",
        "........",
      ]))[0]
    XCTAssertEqual(object.holes.count, 2)
    let filled = object.fillingHoles(smallerThan: 2)
    XCTAssertEqual(filled.holes.count, 1)
    XCTAssertEqual(filled.pixelCount, object.pixelCount + 1)
    XCTAssertEqual(
      abs(ContourTracer.signedDoubleArea(filled.exterior))
        - filled.holes.reduce(0) { $0 + abs(ContourTracer.signedDoubleArea($1)) },
      2 * filled.pixelCount)
    XCTAssertEqual(object.fillingHoles(smallerThan: 5).holes.count, 0)
    XCTAssertEqual(object.fillingHoles(smallerThan: 1), object)
  }

  /// Synthetic: pixels touching only at a corner are separate objects; an
  /// object closing on itself at a corner gets a hole touching its
  /// exterior at that one corner, and no ring repeats a vertex.
  func testSyntheticDiagonalContacts() {
    let diagonal = ContourTracer.trace(mask(["1.", ".1"]))
    XCTAssertEqual(diagonal.count, 2)
    diagonal.forEach { assertValid($0) }

    let hook = ContourTracer.trace(
      mask([
        "111",
        "1.1",
        "11.",
      ]))
    XCTAssertEqual(hook.count, 1)
    XCTAssertEqual(hook[0].holes.count, 1)
    XCTAssertEqual(hook[0].pixelCount, 7)
    assertValid(hook[0])
  }

  /// Synthetic: several classes, a class-2 object inside a class-1 one (its
  /// region is the class-1 object's hole), objects on every mask edge.
  func testSyntheticClassesAndNesting() {
    let objects = ContourTracer.trace(
      mask([
        "11111",
        "12221",
        "12.21",
        "12221",
        "11113",
      ]))
    XCTAssertEqual(objects.map(\.classValue), [1, 2, 3])
    XCTAssertEqual(objects.map(\.pixelCount), [15, 8, 1])
    XCTAssertEqual(objects.map(\.holes.count), [1, 1, 0])
    objects.forEach { assertValid($0) }
  }
}
