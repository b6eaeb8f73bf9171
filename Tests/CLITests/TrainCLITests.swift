import Foundation
import XCTest

/// `holohisto train` end to end on a small folder of real HuBMAP PAS tiles
/// (four training tiles, one held out), with a tiny model: a run killed
/// with SIGKILL and resumed repeats an uninterrupted run's losses exactly.
final class TrainCLITests: XCTestCase {
  /// A tile folder with the HuBMAP layout holding `stems` of the train split.
  func tileFolder(_ stems: [String]) throws -> URL {
    let source = URL(fileURLWithPath: CLIRunner.data("labeled/hubmap-glomeruli-cnsiu"))
    let folder = try temporaryFolder(self)
    let fm = FileManager.default
    for kind in ["images", "masks"] {
      try fm.createDirectory(
        at: folder.appendingPathComponent("\(kind)/train"), withIntermediateDirectories: true)
    }
    for stem in stems {
      try fm.copyItem(
        at: source.appendingPathComponent("images/train/\(stem).jpg"),
        to: folder.appendingPathComponent("images/train/\(stem).jpg"))
      try fm.copyItem(
        at: source.appendingPathComponent("masks/train/\(stem).png"),
        to: folder.appendingPathComponent("masks/train/\(stem).png"))
    }
    return folder
  }

  func writeConfig(tiles: URL, steps: Int, in folder: URL) throws -> String {
    let text = """
      { "tiles": "\(tiles.path)", "validation_tiles": 1, "patch": [64, 64],
        "downsample": 8, "batch_size": 2, "steps": \(steps), "warmup_steps": 2,
        "validate_every": 4, "checkpoint_every": 2, "seed": 4,
        "model": { "variant": "patch", "stage_dims": [16, 32], "stage_depths": [1, 1],
                   "head_dim": 8, "decoder_dim": 16, "skip_channels": 8 } }
      """
    let path = folder.appendingPathComponent("train.json").path
    _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    return path
  }

  func losses(_ folder: URL) throws -> [String] {
    let text = try String(
      contentsOf: folder.appendingPathComponent("log.csv"), encoding: .utf8)
    return text.split(separator: "\n").dropFirst().map { String($0.split(separator: ",")[2]) }
  }

  func stems() throws -> [String] {
    let train = URL(fileURLWithPath: CLIRunner.data("labeled/hubmap-glomeruli-cnsiu"))
      .appendingPathComponent("images/train")
    let all = try FileManager.default.contentsOfDirectory(atPath: train.path)
      .filter { $0.hasSuffix(".jpg") }.map { String($0.dropLast(4)) }.sorted()
    return Array(all.prefix(5))
  }

  func testKilledRunResumesExactly() throws {
    let tiles = try tileFolder(try stems())
    let work = try temporaryFolder(self)
    let config = try writeConfig(tiles: tiles, steps: 12, in: work)

    let straight = work.appendingPathComponent("straight")
    let run = try CLIRunner.run(["train", "--config", config, "-o", straight.path])
    XCTAssertEqual(run.status, 0, run.stderr)
    XCTAssertTrue(run.stdout.hasPrefix("step 12 of 12; best validation Dice "), run.stdout)
    let expected = try losses(straight)
    XCTAssertEqual(expected.count, 12)

    // The trained model scores every tile of a split.
    let csv = work.appendingPathComponent("scores.csv").path
    let scored = try CLIRunner.run([
      "evaluate", "--model", straight.appendingPathComponent("best").path, "--tiles",
      tiles.path, "--split", "train", "--downsample", "8", "--csv", csv,
    ])
    XCTAssertEqual(scored.status, 0, scored.stderr)
    XCTAssertTrue(scored.stdout.contains("| mean of 5 | "), scored.stdout)
    let rows = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
    XCTAssertEqual(rows.first, "case,dice")
    XCTAssertEqual(rows.count, 6)
    for row in rows.dropFirst() {
      let dice = Double(row.split(separator: ",")[1])!
      XCTAssertTrue((0...1).contains(dice), String(row))
    }

    // The model segments a tile as a one-level slide (no µm/px: explicit
    // downsample) into a label TIFF with GeoJSON, overlay and summary.
    let image = tiles.appendingPathComponent("images/train/\(try stems()[0]).jpg").path
    let mask = work.appendingPathComponent("seg.tif").path
    let noScale = try CLIRunner.run([
      "segment", image, "--model", straight.appendingPathComponent("best").path, "-o", mask,
    ])
    XCTAssertEqual(noScale.status, 1)
    XCTAssertTrue(noScale.stderr.contains("µm per pixel is unknown"), noScale.stderr)
    XCTAssertFalse(FileManager.default.fileExists(atPath: mask))
    let segmented = try CLIRunner.run([
      "segment", image, "--model", straight.appendingPathComponent("best").path, "-o", mask,
      "--downsample", "8", "--tile", "64", "--overlap", "8",
    ])
    XCTAssertEqual(segmented.status, 0, segmented.stderr)
    for suffix in [".tif", ".geojson", ".overlay.png", ".summary.json"] {
      let path = work.appendingPathComponent("seg\(suffix)").path
      XCTAssertTrue(FileManager.default.fileExists(atPath: path), path)
    }
    let info = try CLIRunner.run(["info", mask, "--json"])
    XCTAssertTrue(info.stdout.contains("\"width\":1600"), info.stdout)
    let geojson = try JSONSerialization.jsonObject(
      with: Data(contentsOf: work.appendingPathComponent("seg.geojson"))) as! [String: Any]
    XCTAssertEqual(geojson["type"] as? String, "FeatureCollection")

    // Start again in another folder and SIGKILL it once a checkpoint exists.
    let killed = work.appendingPathComponent("killed")
    let process = Process()
    process.executableURL = try CLIRunner.executable()
    process.arguments = ["train", "--config", config, "-o", killed.path]
    process.standardError = FileHandle.nullDevice
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    let checkpoint = killed.appendingPathComponent("last.safetensors").path
    let deadline = Date().addingTimeInterval(120)
    while !FileManager.default.fileExists(atPath: checkpoint) && Date() < deadline {
      usleep(20_000)
    }
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint))

    let resumed = try CLIRunner.run(["train", "--config", config, "-o", killed.path])
    XCTAssertEqual(resumed.status, 0, resumed.stderr)
    XCTAssertEqual(try losses(killed), expected)
    // Nothing half-written is left beside the outputs.
    let names = try FileManager.default.contentsOfDirectory(atPath: killed.path)
    XCTAssertEqual(Set(names), ["best.json", "best.safetensors", "last.safetensors", "log.csv"])
  }

  func testBadInputsFailBeforeTraining() throws {
    let work = try temporaryFolder(self)
    let empty = work.appendingPathComponent("empty")
    try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: false)
    let config = try writeConfig(tiles: empty, steps: 2, in: work)
    let out = work.appendingPathComponent("out").path
    let outcome = try CLIRunner.run(["train", "--config", config, "-o", out])
    XCTAssertEqual(outcome.status, 1)
    XCTAssertTrue(outcome.stderr.hasPrefix("holohisto: \(empty.path): "), outcome.stderr)

    let badKey = work.appendingPathComponent("bad.json").path
    _ = FileManager.default.createFile(
      atPath: badKey, contents: Data(#"{"tiles": "x", "stepz": 3}"#.utf8))
    let unknown = try CLIRunner.run(["train", "--config", badKey, "-o", out])
    XCTAssertEqual(unknown.status, 1)
    XCTAssertTrue(unknown.stderr.contains("unknown config key 'stepz'"), unknown.stderr)

    let usage = try CLIRunner.run(["train", "--config", badKey])
    XCTAssertEqual(usage.status, 64)
  }
}
