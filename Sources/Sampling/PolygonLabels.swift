import Foundation
import SlideIO

/// Label polygons from a GeoJSON file, rasterised on demand.
///
/// Accepted input: a `FeatureCollection` of `Feature`s, a single `Feature`,
/// or a bare geometry; geometries `Polygon` and `MultiPolygon` (features
/// with a `null` geometry are skipped, any other geometry type is refused).
/// Coordinates are **level-0 pixels** (x to the right, y down, (0, 0) the
/// slide's top-left corner), as QuPath and most annotation tools export
/// them. A polygon's first ring is its outline and the others are holes.
///
/// Class: the feature's `properties[classProperty]` when it is an integer in
/// 1...254, else ``defaultClass``. Later features paint over earlier ones.
///
/// Fill rule: **even-odd**, applied to the rings of one polygon together, so
/// a hole ring removes its area whatever its winding (GeoJSON files in the
/// wild do not reliably follow RFC 7946's winding order). A pixel is inside
/// when its centre is: output pixel (i, j) of a read at `levelOrigin` and
/// `downsample` is tested at level-0 point
/// `((levelOrigin.x + i + 0.5) · downsample, (levelOrigin.y + j + 0.5) · downsample)`;
/// points exactly on a left or top edge count as inside, on a right or
/// bottom edge as outside, so abutting polygons never share a pixel.
public struct PolygonLabels: Sendable {
  /// One polygon: its rings, in level-0 pixels, and the class it paints.
  public struct Polygon: Sendable, Equatable {
    /// Ring 0 is the outline, the rest are holes; each ring is a list of
    /// (x, y) vertices, closed or not (the closing edge is implied).
    public var rings: [[SIMD2<Double>]]
    /// The label value written inside (1...254).
    public var classValue: UInt8

    public init(rings: [[SIMD2<Double>]], classValue: UInt8) {
      self.rings = rings
      self.classValue = classValue
    }
  }

  /// Value used when a feature has no usable class property.
  public static let defaultClass: UInt8 = 1

  /// The polygons, in painting order.
  public let polygons: [Polygon]
  /// Per polygon: its edges and bounding box, ready for scanlines.
  private let prepared: [PreparedPolygon]

  public init(polygons: [Polygon]) {
    self.polygons = polygons
    self.prepared = polygons.map(PreparedPolygon.init)
  }

  /// Parses a GeoJSON file.
  ///
  /// - Parameter classProperty: the feature property holding the class.
  /// - Throws: ``SamplingError/invalidGeoJSON(path:detail:)`` naming
  ///   the problem (unreadable file, not JSON, unknown geometry, a vertex
  ///   that is not two numbers).
  public init(geoJSONPath path: String, classProperty: String = "label") throws {
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw SamplingError.invalidGeoJSON(path: path, detail: "cannot read the file")
    }
    try self.init(geoJSON: data, path: path, classProperty: classProperty)
  }

  /// Parses GeoJSON held in memory; `path` only names it in errors.
  public init(geoJSON data: Data, path: String, classProperty: String = "label") throws {
    let root: Any
    do {
      root = try JSONSerialization.jsonObject(with: data)
    } catch {
      throw SamplingError.invalidGeoJSON(path: path, detail: "not valid JSON")
    }
    var parser = GeoJSONParser(path: path, classProperty: classProperty)
    try parser.parse(root)
    self.init(polygons: parser.polygons)
  }

  /// Rasterises the polygons over a region of one level.
  ///
  /// - Parameters:
  ///   - levelOrigin: top-left of the region, in the level's pixels.
  ///   - downsample: level-0 pixels per level pixel.
  ///   - size: region size in level pixels.
  /// - Returns: `size.width × size.height` labels, row-major: 0 outside
  ///   every polygon, else the class of the last polygon covering the
  ///   pixel centre (see ``PolygonLabels`` for the rule).
  /// - Complexity: O(rows × edges of the polygons overlapping the region
  ///   + covered pixels).
  public func rasterise(levelOrigin: LevelPoint, downsample: Double, size: PixelSize) -> [UInt8] {
    var labels = [UInt8](repeating: 0, count: size.width * size.height)
    rasterise(levelOrigin: levelOrigin, downsample: downsample, size: size, into: &labels)
    return labels
  }

  /// Paints the polygons into `labels` (row-major, `size` level pixels),
  /// leaving pixels outside every polygon unchanged.
  func rasterise(
    levelOrigin: LevelPoint, downsample: Double, size: PixelSize, into labels: inout [UInt8]
  ) {
    precondition(labels.count == size.width * size.height, "label buffer is not \(size)")
    // the region's extent in level-0 pixels, to skip far polygons
    let left = Double(levelOrigin.x) * downsample
    let top = Double(levelOrigin.y) * downsample
    let right = Double(levelOrigin.x + size.width) * downsample
    let bottom = Double(levelOrigin.y + size.height) * downsample
    var crossings: [Double] = []

    labels.withUnsafeMutableBufferPointer { output in
      for polygon in prepared {
        guard polygon.maxX > left, polygon.minX < right, polygon.maxY > top,
          polygon.minY < bottom
        else { continue }

        // rows whose centres lie within the polygon's vertical extent
        let firstRow = max(0, Int((polygon.minY / downsample - 0.5).rounded(.up)) - levelOrigin.y)
        let lastRow = min(
          size.height - 1, Int((polygon.maxY / downsample - 0.5).rounded(.up)) - levelOrigin.y)
        guard firstRow <= lastRow else { continue }
        for row in firstRow...lastRow {
          // crossings of the row's centre line (half-open in y: y1 <= y < y2)
          let y = (Double(levelOrigin.y + row) + 0.5) * downsample
          crossings.removeAll(keepingCapacity: true)
          for edge in polygon.edges where (edge.y1 <= y) != (edge.y2 <= y) {
            crossings.append(edge.x1 + (y - edge.y1) * edge.slope)
          }
          crossings.sort()

          // even-odd: fill between crossings 0–1, 2–3, …; pixel i is in when
          // its centre x lies in [a, b)
          var pair = 0
          while pair + 1 < crossings.count {
            let from = Int((crossings[pair] / downsample - 0.5).rounded(.up)) - levelOrigin.x
            let to = Int((crossings[pair + 1] / downsample - 0.5).rounded(.up)) - levelOrigin.x
            let start = max(0, from)
            let end = min(size.width, to)
            if start < end {
              let rowStart = row * size.width
              for i in (rowStart + start)..<(rowStart + end) { output[i] = polygon.classValue }
            }
            pair += 2
          }
        }
      }
    }
  }
}

/// A polygon reduced to what scanline filling needs.
private struct PreparedPolygon: Sendable {
  struct Edge: Sendable {
    var x1: Double
    var y1: Double
    var y2: Double
    /// dx / dy of the edge (edges with dy = 0 are dropped: a horizontal
    /// edge never crosses a centre line under the half-open rule).
    var slope: Double
  }

  var edges: [Edge] = []
  var classValue: UInt8
  var minX = Double.infinity
  var minY = Double.infinity
  var maxX = -Double.infinity
  var maxY = -Double.infinity

  init(_ polygon: PolygonLabels.Polygon) {
    classValue = polygon.classValue
    for ring in polygon.rings where ring.count >= 3 {
      for (k, a) in ring.enumerated() {
        let b = ring[(k + 1) % ring.count]
        minX = min(minX, a.x)
        maxX = max(maxX, a.x)
        minY = min(minY, a.y)
        maxY = max(maxY, a.y)
        guard a.y != b.y else { continue }
        edges.append(Edge(x1: a.x, y1: a.y, y2: b.y, slope: (b.x - a.x) / (b.y - a.y)))
      }
    }
  }
}

/// Walks a decoded GeoJSON object and collects polygons.
private struct GeoJSONParser {
  let path: String
  let classProperty: String
  var polygons: [PolygonLabels.Polygon] = []

  init(path: String, classProperty: String) {
    self.path = path
    self.classProperty = classProperty
  }

  func fail(_ detail: String) -> SamplingError {
    .invalidGeoJSON(path: path, detail: detail)
  }

  mutating func parse(_ root: Any) throws {
    guard let object = root as? [String: Any], let type = object["type"] as? String else {
      throw fail("the top level is not a GeoJSON object with a 'type'")
    }
    switch type {
    case "FeatureCollection":
      guard let features = object["features"] as? [Any] else {
        throw fail("the FeatureCollection has no 'features' array")
      }
      for (index, feature) in features.enumerated() {
        try parseFeature(feature, name: "feature \(index)")
      }
    case "Feature":
      try parseFeature(object, name: "the feature")
    default:
      try parseGeometry(object, classValue: PolygonLabels.defaultClass, name: "the geometry")
    }
  }

  mutating func parseFeature(_ value: Any, name: String) throws {
    guard let feature = value as? [String: Any] else { throw fail("\(name) is not an object") }
    guard let geometry = feature["geometry"], !(geometry is NSNull) else { return }
    var classValue = PolygonLabels.defaultClass
    if let properties = feature["properties"] as? [String: Any],
      let number = properties[classProperty] as? NSNumber,
      let integer = Int(exactly: number.doubleValue), (1...254).contains(integer)
    {
      classValue = UInt8(integer)
    }
    try parseGeometry(geometry, classValue: classValue, name: name)
  }

  mutating func parseGeometry(_ value: Any, classValue: UInt8, name: String) throws {
    guard let geometry = value as? [String: Any], let type = geometry["type"] as? String else {
      throw fail("\(name) has no geometry 'type'")
    }
    switch type {
    case "Polygon":
      let rings = try parseRings(geometry["coordinates"], name: name)
      polygons.append(.init(rings: rings, classValue: classValue))
    case "MultiPolygon":
      guard let parts = geometry["coordinates"] as? [Any] else {
        throw fail("\(name): MultiPolygon coordinates are not an array")
      }
      for part in parts {
        let rings = try parseRings(part, name: name)
        polygons.append(.init(rings: rings, classValue: classValue))
      }
    default:
      throw fail("\(name) has geometry type '\(type)'; only Polygon and MultiPolygon are labels")
    }
  }

  func parseRings(_ value: Any?, name: String) throws -> [[SIMD2<Double>]] {
    guard let rings = value as? [Any] else {
      throw fail("\(name): polygon coordinates are not an array of rings")
    }
    return try rings.map { ring in
      guard let vertices = ring as? [Any] else { throw fail("\(name): a ring is not an array") }
      return try vertices.map { vertex in
        guard let pair = vertex as? [NSNumber], pair.count >= 2 else {
          throw fail("\(name): vertex \(vertex) is not [x, y]")
        }
        return SIMD2(pair[0].doubleValue, pair[1].doubleValue)
      }
    }
  }
}
