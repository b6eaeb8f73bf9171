import Foundation
import SlideIO
import XCTest

/// PNGWriter round trips through HoloHisto's own PNG reader, and its
/// all-or-nothing behaviour on failure.
final class PNGWriterTests: XCTestCase {
  func testRGBRoundTrip() throws {
    let folder = try temporaryFolder(self)
    let path = folder.appendingPathComponent("rgb.png").path
    let image = RGBImage(
      width: 3, height: 2,
      pixels: [255, 0, 0, 0, 255, 0, 0, 0, 255, 1, 2, 3, 250, 128, 7, 0, 0, 0])
    try PNGWriter.write(image, to: path)

    let slide = try Slide(path: path)
    XCTAssertEqual(slide.properties.vendor, "png")
    XCTAssertEqual(try slide.readLevel(0), image)
    XCTAssertEqual(
      try FileManager.default.contentsOfDirectory(atPath: folder.path),
      ["rgb.png"])
  }

  func testGreyRoundTripAndOverwrite() throws {
    let folder = try temporaryFolder(self)
    let path = folder.appendingPathComponent("grey.png").path
    try PNGWriter.writeGrey(
      samples: [9, 9, 9, 9], width: 2, height: 2, to: path)
    try PNGWriter.writeGrey(
      samples: [0, 255, 128, 7], width: 2, height: 2, to: path)

    // grey reads back as r = g = b; the second write replaced the first
    let read = try Slide(path: path).readLevel(0)
    XCTAssertEqual(
      read.pixels, [0, 0, 0, 255, 255, 255, 128, 128, 128, 7, 7, 7])
    XCTAssertEqual(
      try FileManager.default.contentsOfDirectory(atPath: folder.path),
      ["grey.png"])
  }

  func testMissingFolderFailsWithOneSentence() throws {
    let folder = try temporaryFolder(self)
    let path = folder.appendingPathComponent("absent/mask.png").path
    XCTAssertThrowsError(
      try PNGWriter.writeGrey(samples: [0], width: 1, height: 1, to: path)
    ) { error in
      let message = "\(error)"
      XCTAssertEqual(
        message,
        "\(path): cannot write the file (the folder '\(folder.path)/absent' does not exist)."
      )
    }
    XCTAssertEqual(
      try FileManager.default.contentsOfDirectory(atPath: folder.path), [])
  }

  func testDestinationThatIsAFolderLeavesNoTemporaryFile() throws {
    let folder = try temporaryFolder(self)
    let taken = folder.appendingPathComponent("taken.png")
    try FileManager.default.createDirectory(
      at: taken, withIntermediateDirectories: false)
    XCTAssertThrowsError(
      try PNGWriter.writeGrey(samples: [0], width: 1, height: 1, to: taken.path)
    ) { error in
      XCTAssertTrue(
        "\(error)".hasPrefix("\(taken.path): cannot write the file ("), "\(error)")
    }
    XCTAssertEqual(
      try FileManager.default.contentsOfDirectory(atPath: folder.path),
      ["taken.png"])
  }

  func testEmptyImageIsRefused() throws {
    let folder = try temporaryFolder(self)
    let path = folder.appendingPathComponent("empty.png").path
    XCTAssertThrowsError(
      try PNGWriter.write(RGBImage(width: 0, height: 0), to: path))
    XCTAssertFalse(FileManager.default.fileExists(atPath: path))
  }
}
