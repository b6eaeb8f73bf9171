import Foundation
import SlideIO

/// Writes traced objects as a GeoJSON FeatureCollection (RFC 7946) that
/// QuPath imports (File › Import objects, or drag and drop).
///
/// One Feature per object:
/// - `geometry`: a `Polygon` whose first ring is the exterior
///   (counter-clockwise by the right-hand rule, read on the numbers with y
///   up) and the rest holes (clockwise); rings closed. Coordinates are in
///   **level-0 pixels**: mask corner `(x, y)` is written as
///   `origin + (x, y) · downsample` of the traced ``LabelMask``, integers printed
///   without a fraction.
/// - `properties`: `objectType` (`"annotation"` or `"detection"`),
///   `classification` `{name, color: [r, g, b]}` from ``LabelClasses``,
///   `classValue` (the stored label `k`), `areaPixels` (area in level-0
///   pixels², pixel count × downsample²), `areaMicrometres2` (µm², only when
///   the level-0 µm per pixel is known), and the same areas under
///   `measurements` (`"Area px^2"`, `"Area µm^2"`) where QuPath lists them:
///   a name → value object, the form QuPath 0.4 and later read and write
///   (QuPath 0.3 and older expected a list of `{name, value}`).
///
/// The file is written atomically through ``OutputFile``.
public enum GeoJSONWriter {
  /// QuPath's object kinds.
  public enum ObjectType: String, Sendable {
    /// Editable regions (few, large objects).
    case annotation
    /// Lightweight, locked objects (many small objects, e.g. nuclei).
    case detection
  }

  /// Writes `objects` to `path`, each placed on level 0 by the origin and
  /// downsample of the mask it was traced from.
  ///
  /// - Parameters:
  ///   - micronsPerPixel: level-0 µm per pixel, when known (adds µm² areas).
  ///   - inputs: files the caller read; overwriting one is refused.
  /// - Throws: ``ExportError/writeFailed(path:detail:)`` for a destination
  ///   ``OutputFile`` refuses or a failed write;
  ///   ``ExportError/invalidResolution(path:micronsPerPixel:)``,
  ///   ``ExportError/invalidDownsample(path:downsample:)`` for an object
  ///   whose downsample is not positive and finite. Nothing is left behind
  ///   after a throw.
  public static func write(
    _ objects: [TracedObject], classes: LabelClasses = LabelClasses(),
    objectType: ObjectType = .annotation, micronsPerPixel: Double? = nil, to path: String,
    inputs: [String] = []
  ) throws {
    if let mpp = micronsPerPixel, !(mpp.isFinite && mpp > 0) {
      throw ExportError.invalidResolution(path: path, micronsPerPixel: mpp)
    }
    for object in objects where !(object.downsample.isFinite && object.downsample > 0) {
      throw ExportError.invalidDownsample(path: path, downsample: object.downsample)
    }
    let output: OutputFile
    do {
      output = try OutputFile(path: path, inputs: inputs)
    } catch {
      throw ExportError.from(error, path: path)
    }
    guard let file = fopen(output.temporary, "wb") else {
      let reason = String(cString: strerror(errno))
      throw ExportError.writeFailed(path: path, detail: reason)
    }

    // one feature at a time, so memory stays at one feature's text
    var ok = fputs("{\"type\":\"FeatureCollection\",\"features\":[\n", file) >= 0
    for (index, object) in objects.enumerated() where ok {
      var text = feature(
        object, classes: classes, objectType: objectType, micronsPerPixel: micronsPerPixel)
      text += index + 1 < objects.count ? ",\n" : "\n"
      ok = fputs(text, file) >= 0
    }
    ok = ok && fputs("]}\n", file) >= 0
    ok = (fclose(file) == 0) && ok
    guard ok else {
      let reason = String(cString: strerror(errno))
      output.discard()
      throw ExportError.writeFailed(path: path, detail: reason)
    }
    do {
      try output.commit()
    } catch {
      throw ExportError.from(error, path: path)
    }
  }

  /// One Feature as compact JSON text.
  static func feature(
    _ object: TracedObject, classes: LabelClasses, objectType: ObjectType,
    micronsPerPixel: Double?
  ) -> String {
    func ring(_ corners: [MaskCorner]) -> String {
      let points = corners.map {
        let point = object.level0($0)
        return "[\(number(point.x)),\(number(point.y))]"
      }
      return "[" + points.joined(separator: ",") + "]"
    }
    let rings = ([object.exterior] + object.holes).map(ring).joined(separator: ",")
    let labelClass = classes[object.classValue]
    let color = labelClass.color
    let areaPixels = object.level0Area

    var measurements = "\"Area px^2\":\(number(areaPixels))"
    var properties =
      "\"objectType\":\"\(objectType.rawValue)\","
      + "\"classification\":{\"name\":\(jsonString(labelClass.name)),"
      + "\"color\":[\(color.red),\(color.green),\(color.blue)]},"
      + "\"classValue\":\(object.classValue),\"areaPixels\":\(number(areaPixels))"
    if let mpp = micronsPerPixel {
      let areaMicrometres = areaPixels * mpp * mpp
      properties += ",\"areaMicrometres2\":\(number(areaMicrometres))"
      measurements += ",\"Area µm^2\":\(number(areaMicrometres))"
    }
    properties += ",\"measurements\":{\(measurements)}"
    return "{\"type\":\"Feature\",\"geometry\":{\"type\":\"Polygon\",\"coordinates\":[\(rings)]},"
      + "\"properties\":{\(properties)}}"
  }

  /// A JSON number: integers without a fraction, others in Swift's
  /// shortest round-trip form.
  static func number(_ value: Double) -> String {
    if value == value.rounded(), abs(value) < 9_007_199_254_740_992 {
      return String(Int64(value))
    }
    return "\(value)"
  }

  /// A JSON string literal with quotes, backslashes and control characters
  /// escaped.
  static func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
      switch scalar {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where scalar.value < 0x20:
        let hex = String(scalar.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      default: out.unicodeScalars.append(scalar)
      }
    }
    return out + "\""
  }
}
