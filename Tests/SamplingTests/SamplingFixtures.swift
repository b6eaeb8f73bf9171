import Foundation
import SlideIO
import XCTest

/// Paths and reference values for the Sampling tests.
enum SamplingFixture {
  /// The package root (two levels above this file's folder).
  static let root = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  /// `../shared/data/<relative>` beside the package.
  static func data(_ relative: String) -> String {
    root.deletingLastPathComponent().appendingPathComponent(
      "shared/data/\(relative)"
    ).path
  }

  static let cmuPath = data("wsi/CMU-1-Small-Region.svs")
  static let bracsPath = data("wsi/BRACS_1640_N_3_cropped.tiff")

  /// The `tissue` record of Tests/SlideIOTests/Fixtures/slide_reference.json
  /// (scikit-image 0.26 on the same pixels; written by
  /// scripts/fixtures/make_slide_fixtures.py).
  static func tissueReference() throws -> [String: Any] {
    let url = root.appendingPathComponent(
      "Tests/SlideIOTests/Fixtures/slide_reference.json")
    guard FileManager.default.fileExists(atPath: url.path) else {
      throw XCTSkip("slide_reference.json is not there yet: \(url.path)")
    }
    let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
    let tissue = (json as? [String: Any])?["tissue"] as? [String: Any]
    return try XCTUnwrap(tissue, "slide_reference.json has no 'tissue' object")
  }

  /// `foreground_fraction` of `record` itself (`variant` nil) or of its
  /// variant with that `op` and `max_size`.
  static func fraction(
    _ record: [String: Any], variant: (op: String, maxSize: Int)? = nil
  ) throws -> Double {
    guard let variant else {
      return try XCTUnwrap(record["foreground_fraction"] as? Double)
    }
    let variants = try XCTUnwrap(record["variants"] as? [[String: Any]])
    let match = variants.first {
      $0["op"] as? String == variant.op
        && $0["max_size"] as? Int == variant.maxSize
    }
    return try XCTUnwrap(
      match?["foreground_fraction"] as? Double,
      "no variant \(variant) in the reference")
  }

  /// Pastes `right` to the right of `left`; both must have the same height.
  static func sideBySide(_ left: RGBImage, _ right: RGBImage) -> RGBImage {
    precondition(left.height == right.height, "heights differ")
    let width = left.width + right.width
    var pixels: [UInt8] = []
    pixels.reserveCapacity(width * left.height * 3)
    for y in 0..<left.height {
      pixels += left.pixels[(y * left.width * 3)..<((y + 1) * left.width * 3)]
      pixels +=
        right.pixels[(y * right.width * 3)..<((y + 1) * right.width * 3)]
    }
    return RGBImage(width: width, height: left.height, pixels: pixels)
  }
}
