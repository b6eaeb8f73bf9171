import Foundation
import XCTest

@testable import Inference

final class SlideManifestTests: XCTestCase {
  func write(_ text: String) throws -> String {
    let folder = FileManager.default.temporaryDirectory
      .appendingPathComponent("holohisto-manifest-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    addTeardownBlock { try? FileManager.default.removeItem(at: folder) }
    let path = folder.appendingPathComponent("slides.csv").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  func testColumnsQuotesAndPaths() throws {
    let path = try write(
      "# cohort\r\nid,downsample,slide,output\r\n"
        + "1,,a/one.svs,\r\n2,4,\"/data/two, final.tif\",masks/two.tif\r\n\r\n"
        + "3,,\"say \"\"hi\"\".ndpi\",\n")
    let folder = (path as NSString).deletingLastPathComponent
    let manifest = try SlideManifest.load(path: path, outputFolder: "/out")
    XCTAssertEqual(manifest.entries.count, 3)
    XCTAssertEqual(manifest.entries[0].slide, folder + "/a/one.svs")
    XCTAssertEqual(manifest.entries[0].output, "/out/one.tif")
    XCTAssertNil(manifest.entries[0].downsample)
    XCTAssertEqual(manifest.entries[0].line, 3)
    XCTAssertEqual(manifest.entries[1].slide, "/data/two, final.tif")
    XCTAssertEqual(manifest.entries[1].output, "/out/masks/two.tif")
    XCTAssertEqual(manifest.entries[1].downsample, 4)
    XCTAssertEqual(manifest.entries[2].slide, folder + "/say \"hi\".ndpi")
    XCTAssertEqual(manifest.entries[2].output, "/out/say \"hi\".tif")
  }

  func testShardsAreRoundRobinAndCoverEverything() throws {
    let rows = (0..<7).map { "s\($0).svs" }.joined(separator: "\n")
    let manifest = try SlideManifest.load(path: try write("slide\n" + rows), outputFolder: "o")
    let shards = (0..<3).map { manifest.entries(of: Shard(index: $0, count: 3)) }
    XCTAssertEqual(shards.map(\.count), [3, 2, 2])
    XCTAssertEqual(shards[1].map(\.output), ["o/s1.tif", "o/s4.tif"])
    XCTAssertEqual(Set(shards.joined().map(\.slide)).count, 7)
  }

  func testShardParsingAndSlurm() throws {
    XCTAssertEqual(Shard("2/5"), Shard(index: 2, count: 5))
    XCTAssertNil(Shard("5/5"))
    XCTAssertNil(Shard("-1/5"))
    XCTAssertNil(Shard("1"))
    XCTAssertNil(Shard("a/b"))
    XCTAssertEqual(
      try Shard.slurm(["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "4",
        "SLURM_ARRAY_TASK_MIN": "1"]), Shard(index: 2, count: 4))
    XCTAssertEqual(
      try Shard.slurm(["SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "2"]),
      Shard(index: 0, count: 2))
    // --array=0-10:2 has 6 tasks: IDs 0, 2, …, 10 are shards 0…5.
    for (id, index) in [(0, 0), (6, 3), (10, 5)] {
      XCTAssertEqual(
        try Shard.slurm(["SLURM_ARRAY_TASK_ID": "\(id)", "SLURM_ARRAY_TASK_COUNT": "6",
          "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_STEP": "2"]),
        Shard(index: index, count: 6))
    }
    XCTAssertNil(try Shard.slurm(["SLURM_JOB_ID": "7"]))
    // Inconsistent variables are an error, never the whole cohort.
    for broken in [
      ["SLURM_ARRAY_TASK_ID": "9", "SLURM_ARRAY_TASK_COUNT": "2"],
      ["SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "2"],
      ["SLURM_ARRAY_TASK_ID": "1"],
      ["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "6",
        "SLURM_ARRAY_TASK_STEP": "2"],
    ] {
      XCTAssertThrowsError(try Shard.slurm(broken), "\(broken)")
    }
  }

  func testBadManifestsNameTheLine() throws {
    func message(_ text: String) throws -> String {
      let path = try write(text)
      do {
        _ = try SlideManifest.load(path: path, outputFolder: "o")
        return "loaded"
      } catch {
        return "\(error)".replacingOccurrences(of: path, with: "M")
      }
    }
    XCTAssertEqual(try message(""), "M: the manifest is empty (no header row).")
    XCTAssertEqual(
      try message("path,output\nx.svs,\n"),
      "M, line 1: the header has no 'slide' column (found: path, output).")
    XCTAssertEqual(try message("slide\n\n ,\n"), "M, line 3: the slide is empty.")
    XCTAssertEqual(
      try message("slide,downsample\na.svs,zero\n"),
      "M, line 2: downsample 'zero' is not a number in (0, 1024].")
    XCTAssertEqual(
      try message("slide\ndir1/a.svs\ndir2/a.tif\n"),
      "M, line 3: writes o/a.tif, as line 2 does; give one of them an 'output'.")
    XCTAssertEqual(try message("slide\n\"a.svs\n"), "M, line 2: a quote is not closed.")
    XCTAssertThrowsError(try SlideManifest.load(path: "/no/such.csv", outputFolder: "o")) {
      XCTAssertEqual("\($0)", "/no/such.csv: the manifest does not exist.")
    }
  }
}
