import Foundation
import SlideIO
import Tensor
import XCTest

@testable import Inference

/// ``RedRule`` that fails on its `failAt`-th call, like a run killed part
/// way through.
final class FailingRule: PixelModel {
  struct Stop: Error {}
  var calls = 0
  let failAt: Int
  init(failAt: Int) { self.failAt = failAt }
  var classCount: Int { 2 }
  func scores(_ images: Tensor) throws -> Tensor {
    calls += 1
    if calls == failAt { throw Stop() }
    return try RedRule().scores(images)
  }
}

final class SegmentationJournalTests: XCTestCase {
  let cmu = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("shared/data/wsi/CMU-1-Small-Region.svs").path

  func folder() throws -> String {
    let url = FileManager.default.temporaryDirectory
      .appendingPathComponent("holohisto-journal-\(UUID().uuidString)")
    addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url.path
  }

  func segment(
    _ model: any PixelModel, journal: SegmentationJournal?
  ) throws -> (labels: [UInt8], summary: SlideSegmenter.Summary) {
    let segmenter = try SlideSegmenter(
      model: model,
      options: .init(tileSize: 128, overlap: 32, batchSize: 3, checkpointSeconds: 0))
    var labels: [UInt8] = []
    let summary = try segmenter.segment(
      try Slide(path: cmu), downsample: 4, tissue: nil, journal: journal
    ) { labels += $0 }
    return (labels, summary)
  }

  /// A run stopped part way continues from its last saved tile row, and
  /// the labels and class counts equal an uninterrupted run's exactly.
  func testInterruptedRunContinuesToTheSameMask() throws {
    let whole = try segment(RedRule(), journal: nil)
    let path = try folder()

    // 2220×2967 at ×4 is 555×742 model pixels: 8 tile rows of 6 tiles,
    // 2 calls per row; failing at call 8 (row 3's second) leaves rows 0–2
    // saved.
    let first = try SegmentationJournal(folder: path, identity: "cmu ×4")
    XCTAssertFalse(first.canResume)
    XCTAssertThrowsError(try segment(FailingRule(failAt: 8), journal: first))
    first.close()
    XCTAssertTrue(FileManager.default.fileExists(atPath: path + "/state.json"))

    let second = try SegmentationJournal(folder: path, identity: "cmu ×4")
    XCTAssertTrue(second.canResume)
    XCTAssertEqual(second.resumeTileRow, 3)
    let counting = FailingRule(failAt: 0)
    let resumed = try segment(counting, journal: second)
    XCTAssertEqual(resumed.summary.resumedAtTileRow, 3)
    XCTAssertEqual(counting.calls, 10, "only the five unsaved tile rows run again")
    XCTAssertEqual(resumed.labels.count, whole.labels.count)
    XCTAssertTrue(resumed.labels == whole.labels)
    XCTAssertEqual(resumed.summary.classPixels, whole.summary.classPixels)
    second.remove()
    XCTAssertFalse(FileManager.default.fileExists(atPath: path))
  }

  /// A journal written for other settings is ignored: the run starts over.
  func testAnotherIdentityStartsOver() throws {
    let path = try folder()
    let first = try SegmentationJournal(folder: path, identity: "tile 128")
    XCTAssertThrowsError(try segment(FailingRule(failAt: 5), journal: first))
    first.close()
    let other = try SegmentationJournal(folder: path, identity: "tile 256")
    XCTAssertFalse(other.canResume)
    XCTAssertEqual(other.resumeTileRow, 0)
  }

  /// A log longer than its saved point (killed between a row and the next
  /// save) is cut back; a log shorter than recorded is not trusted.
  func testLogBeyondTheSavedPointIsCutAndShortLogIsRefused() throws {
    let whole = try segment(RedRule(), journal: nil)
    let path = try folder()
    let first = try SegmentationJournal(folder: path, identity: "x")
    XCTAssertThrowsError(try segment(FailingRule(failAt: 8), journal: first))
    first.close()
    let log = FileHandle(forWritingAtPath: path + "/rows.log")!
    try log.seekToEnd()
    try log.write(contentsOf: Data(repeating: 7, count: 1000))
    try log.close()
    let reopened = try SegmentationJournal(folder: path, identity: "x")
    let resumed = try segment(RedRule(), journal: reopened)
    XCTAssertTrue(resumed.labels == whole.labels)

    let again = try folder()
    let broken = try SegmentationJournal(folder: again, identity: "x")
    XCTAssertThrowsError(try segment(FailingRule(failAt: 8), journal: broken))
    broken.close()
    try FileHandle(forWritingAtPath: again + "/rows.log")!.truncate(atOffset: 10)
    XCTAssertFalse(try SegmentationJournal(folder: again, identity: "x").canResume)
  }

  /// A failure before any point was saved leaves no folder behind.
  func testNothingSavedLeavesNoFolder() throws {
    let path = try folder()
    let journal = try SegmentationJournal(folder: path, identity: "x")
    XCTAssertThrowsError(try segment(FailingRule(failAt: 1), journal: journal))
    journal.close()
    XCTAssertFalse(FileManager.default.fileExists(atPath: path))
  }
}
