import CTIFF

/// Resolution and descriptive tags of a TIFF that OpenSlide does not open.
///
/// Resolution comes from OME-XML `PhysicalSizeX/Y` when the description is
/// OME-XML, otherwise from `XResolution`/`YResolution` with a centimetre or
/// inch `ResolutionUnit` (no unit means no scale). Implausible values are
/// dropped later by ``SlideProperties``.
struct TIFFMetadata {
  var isOME = false
  /// OME `SizeC` when it says several channels share one image (1 otherwise).
  var planesPerImage = 1
  var mppX: Double?
  var mppY: Double?
  var raw: [String: String] = [:]

  init(handle: TIFFHandle) {
    let description = handle.string(TIFFTAG_IMAGEDESCRIPTION)
    let names: [(Int32, String)] = [
      (TIFFTAG_IMAGEDESCRIPTION, "ImageDescription"), (TIFFTAG_SOFTWARE, "Software"),
      (TIFFTAG_MAKE, "Make"), (TIFFTAG_MODEL, "Model"), (TIFFTAG_DATETIME, "DateTime"),
    ]
    for (tag, name) in names {
      if let value = handle.string(tag) { raw["tiff.\(name)"] = value }
    }
    let xRes = handle.float(TIFFTAG_XRESOLUTION).map(Double.init)
    let yRes = handle.float(TIFFTAG_YRESOLUTION).map(Double.init)
    let unit = Int32(handle.uint16(TIFFTAG_RESOLUTIONUNIT) ?? UInt16(RESUNIT_INCH))
    if let xRes { raw["tiff.XResolution"] = String(xRes) }
    if let yRes { raw["tiff.YResolution"] = String(yRes) }
    raw["tiff.ResolutionUnit"] = unit == RESUNIT_CENTIMETER ? "centimeter"
      : unit == RESUNIT_INCH ? "inch" : "none"

    if let description, description.contains("<OME") {
      isOME = true
      planesPerImage = Self.attribute(description, "SizeC").flatMap { Int($0) } ?? 1
      mppX = Self.omePhysicalSize(description, axis: "X")
      mppY = Self.omePhysicalSize(description, axis: "Y")
      if let mppX { raw["ome.PhysicalSizeX-um"] = String(mppX) }
      if let mppY { raw["ome.PhysicalSizeY-um"] = String(mppY) }
      return
    }
    let micronsPerUnit: Double? =
      unit == RESUNIT_CENTIMETER ? 10_000 : unit == RESUNIT_INCH ? 25_400 : nil
    if let micronsPerUnit {
      mppX = xRes.flatMap { $0 > 0 ? micronsPerUnit / $0 : nil }
      mppY = yRes.flatMap { $0 > 0 ? micronsPerUnit / $0 : nil }
    }
  }

  /// `PhysicalSize<axis>` of the first `Pixels` element, in µm.
  static func omePhysicalSize(_ xml: String, axis: String) -> Double? {
    guard let value = attribute(xml, "PhysicalSize\(axis)").flatMap(Double.init) else {
      return nil
    }
    let unit = attribute(xml, "PhysicalSize\(axis)Unit") ?? "µm"
    let scale: [String: Double] = [
      // micro sign (U+00B5) and Greek mu (U+03BC) both occur in the wild
      "µm": 1, "\u{03BC}m": 1, "um": 1, "micron": 1, "nm": 1e-3, "Å": 1e-4,
      "mm": 1e3, "cm": 1e4, "m": 1e6,
    ]
    return scale[unit].map { value * $0 }
  }

  /// The value of the first `name="…"` attribute in `xml`.
  private static func attribute(_ xml: String, _ name: String) -> String? {
    guard let start = xml.range(of: " \(name)=\"") else { return nil }
    let rest = xml[start.upperBound...]
    guard let end = rest.firstIndex(of: "\"") else { return nil }
    return String(rest[..<end])
  }
}
