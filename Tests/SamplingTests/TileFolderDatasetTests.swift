import Foundation
import Sampling
import SlideIO
import XCTest

final class TileFolderDatasetTests: XCTestCase {
  func testHubmapSplits() throws {
    let train = try TileFolderDataset(root: Fixture.hubmap, split: "train")
    let test = try TileFolderDataset(root: Fixture.hubmap, split: "test")
    XCTAssertEqual(train.items.count, 90)
    XCTAssertEqual(test.items.count, 10)
    // numeric order of stems; test split stems from the folder listing
    XCTAssertEqual(
      test.items.map(\.stem),
      [
        "32", "33", "47", "163", "205", "237", "275", "303",
        "321", "351",
      ])
    XCTAssertEqual(train.items.first?.maskPath, Fixture.hubmapMask("2"))

    let (slide, labels) = try test.open(0)
    XCTAssertEqual(slide.dimensions, PixelSize(width: 1600, height: 1200))
    XCTAssertEqual(labels.path, Fixture.hubmapMask("32", split: "test"))
  }

  func testMissingOrEmptyFolderNamesThePath() throws {
    let folder = try Fixture.temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    XCTAssertThrowsError(try TileFolderDataset(root: folder.path, split: "train")) { error in
      guard case .emptyDataset(let path, _) = error as? SamplingError else {
        return XCTFail("unexpected \(error)")
      }
      XCTAssertEqual(path, folder.path + "/images/train")
      XCTAssertTrue("\(error)".contains(folder.path + "/images/train"))
    }

    let images = folder.appendingPathComponent("images/train")
    try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
    try Data("notes".utf8).write(to: images.appendingPathComponent("README.txt"))
    XCTAssertThrowsError(try TileFolderDataset(root: folder.path, split: "train")) { error in
      guard case .emptyDataset = error as? SamplingError else {
        return XCTFail("unexpected \(error)")
      }
    }
  }

  func testImageWithoutMaskNamesBothPaths() throws {
    let folder = try Fixture.temporaryFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let images = folder.appendingPathComponent("images/train")
    let masks = folder.appendingPathComponent("masks/train")
    try FileManager.default.createDirectory(at: images, withIntermediateDirectories: true)
    try FileManager.default.createDirectory(at: masks, withIntermediateDirectories: true)
    for stem in ["2", "16"] {
      try FileManager.default.copyItem(
        atPath: Fixture.hubmapImage(stem), toPath: images.appendingPathComponent("\(stem).jpg").path
      )
    }
    try FileManager.default.copyItem(
      atPath: Fixture.hubmapMask("2"), toPath: masks.appendingPathComponent("2.png").path)
    XCTAssertThrowsError(try TileFolderDataset(root: folder.path, split: "train")) { error in
      XCTAssertEqual(
        error as? SamplingError,
        .missingMask(
          imagePath: images.appendingPathComponent("16.jpg").path,
          expectedMaskPath: masks.appendingPathComponent("16.png").path))
    }
  }
}
