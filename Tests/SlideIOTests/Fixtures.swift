import Foundation
import XCTest

/// Paths and reference values shared by the SlideIO tests.
enum Fixture {
  /// The package root (two levels above this file's folder).
  static let root = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// `../shared/data/<relative>` beside the package.
  static func data(_ relative: String) -> String {
    root.deletingLastPathComponent().appendingPathComponent("shared/data/\(relative)").path
  }

  /// A file under Tests/SlideIOTests/Fixtures.
  static func file(_ name: String) -> String {
    root.appendingPathComponent("Tests/SlideIOTests/Fixtures/\(name)").path
  }

  /// `Tests/SlideIOTests/Fixtures/slide_reference.json`, written by
  /// scripts/fixtures/make_slide_fixtures.py from openslide-python,
  /// tifffile and Pillow.
  nonisolated(unsafe) static let reference: [String: Any] = {
    let data = try! Data(contentsOf: URL(fileURLWithPath: file("slide_reference.json")))
    return try! JSONSerialization.jsonObject(with: data) as! [String: Any]
  }()

  static func object(_ path: String...) -> [String: Any] {
    var node: Any = reference
    for key in path { node = (node as! [String: Any])[key]! }
    return node as! [String: Any]
  }
}

/// A fresh temporary folder, removed when the test ends.
func temporaryFolder(_ test: XCTestCase) throws -> URL {
  let url = FileManager.default.temporaryDirectory
    .appendingPathComponent("holohisto-test-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
  return url
}
