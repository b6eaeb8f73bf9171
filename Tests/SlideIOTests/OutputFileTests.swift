import Foundation
import XCTest

@testable import SlideIO

/// Output paths that must be refused, or written through, before any work.
final class OutputFileTests: XCTestCase {
  let pixel: [UInt8] = [128]

  func write(_ path: String, inputs: [String] = []) -> String? {
    do {
      try PNGWriter.writeGrey(samples: pixel, width: 1, height: 1, to: path, inputs: inputs)
      return nil
    } catch {
      return "\(error)"
    }
  }

  func testRefusesToOverwriteAnInput() throws {
    let folder = try temporaryFolder(self)
    let input = folder.appendingPathComponent("slide.png").path
    try FileManager.default.copyItem(
      atPath: Fixture.data("tiles/skimage_ihc.png"), toPath: input)
    let before = try Data(contentsOf: URL(fileURLWithPath: input))
    XCTAssertEqual(
      write(input, inputs: [input]),
      "\(input): cannot write the file (it is the input '\(input)'; "
        + "choose another output path).")
    XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: input)), before)
  }

  func testRefusesFIFOsAndDirectories() throws {
    let folder = try temporaryFolder(self)
    let fifo = folder.appendingPathComponent("pipe").path
    XCTAssertEqual(mkfifo(fifo, 0o644), 0)
    XCTAssertEqual(write(fifo), "\(fifo): cannot write the file (it is not a regular file).")
    let directory = folder.appendingPathComponent("sub.png").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
    XCTAssertEqual(write(directory), "\(directory): cannot write the file (it is a directory).")
    XCTAssertEqual(
      Set(try FileManager.default.contentsOfDirectory(atPath: folder.path)), ["pipe", "sub.png"])
  }

  func testWritesThroughSymbolicLinks() throws {
    let folder = try temporaryFolder(self)
    let target = folder.appendingPathComponent("target.png").path
    let link = folder.appendingPathComponent("link.png").path
    _ = FileManager.default.createFile(atPath: target, contents: Data("old".utf8))
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
    XCTAssertNil(write(link))
    let attributes = try FileManager.default.attributesOfItem(atPath: link)
    XCTAssertEqual(attributes[.type] as? FileAttributeType, .typeSymbolicLink)
    let slide = try Slide(path: target)
    XCTAssertEqual(try slide.readLevel(0).pixels, [128, 128, 128])
  }

  /// CMU cut after level 0 but inside its thumbnail directory: reading
  /// level 0 alone would work, but the file must not pass as a smaller,
  /// metadata-less slide.
  func testSlideCutInsideALaterDirectoryIsRefused() throws {
    let bytes = try Data(contentsOf: URL(fileURLWithPath: Fixture.data(
      "wsi/CMU-1-Small-Region.svs")))
    let path = try temporaryFolder(self).appendingPathComponent("cut.svs").path
    _ = FileManager.default.createFile(atPath: path, contents: bytes.prefix(1_474_400))
    XCTAssertThrowsError(try Slide(path: path)) { error in
      XCTAssertEqual(
        "\(error)",
        "\(path): the file is damaged or truncated "
          + "(Failed to read directory at offset 1474362).")
    }
  }
}
