import Foundation
import XCTest

/// `holohisto evaluate` and `holohisto compare` on a real glomerulus mask
/// and a shifted copy of it (Tests/EvaluationTests/Fixtures).
final class EvaluationCLITests: XCTestCase {
  let truth = CLIRunner.data("labeled/hubmap-glomeruli-cnsiu/masks/test/47.png")
  let shifted = CLIRunner.root
    .appendingPathComponent("Tests/EvaluationTests/Fixtures/pred_shifted.png").path

  func testEvaluateWritesTablesAndFiles() throws {
    let folder = try temporaryFolder(self)
    let csv = folder.appendingPathComponent("scores.csv").path
    let json = folder.appendingPathComponent("scores.json").path
    let outcome = try CLIRunner.run([
      "evaluate", "--pred", shifted, "--truth", truth, "--patch", "640x480", "--csv", csv,
      "--json", json,
    ])
    XCTAssertEqual(outcome.status, 0, outcome.stderr)
    XCTAssertTrue(outcome.stdout.contains("| 1 | 0.9127 | 0.7008 |"), outcome.stdout)
    XCTAssertTrue(outcome.stdout.contains("9 of 640×480 px, 6 scored, 3 empty"))

    let rows = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
    XCTAssertEqual(rows.count, 10)
    XCTAssertEqual(rows[0], "x,y,width,height,scored_pixels,dice_class_1,mean_dice")
    let object = try JSONSerialization.jsonObject(
      with: Data(contentsOf: URL(fileURLWithPath: json))) as! [String: Any]
    XCTAssertEqual(object["slide_mean_dice"] as! Double, 0.9127084017365291, accuracy: 1e-12)
    XCTAssertEqual(object["empty_patch_count"] as? Int, 3)
  }

  func testCompareRunsTheSignedRankTest() throws {
    let folder = try temporaryFolder(self)
    let a = folder.appendingPathComponent("a.csv").path
    let b = folder.appendingPathComponent("b.csv").path
    for (prediction, path) in [(shifted, a), (truth, b)] {
      let run = try CLIRunner.run([
        "evaluate", "--pred", prediction, "--truth", truth, "--patch", "640x480", "--csv", path,
      ])
      XCTAssertEqual(run.status, 0, run.stderr)
    }
    let outcome = try CLIRunner.run(["compare", a, b])
    XCTAssertEqual(outcome.status, 0, outcome.stderr)
    // All six defined patches are worse in a than in b: p = 2 / 2^6.
    XCTAssertTrue(
      outcome.stdout.contains("W = 0, n = 6 non-zero differences, p = 0.03125 (exact"),
      outcome.stdout)
  }

  func testEvaluateErrors() throws {
    let other = CLIRunner.data("tiles/skimage_ihc.png")
    let mismatch = try CLIRunner.run(["evaluate", "--pred", other, "--truth", truth])
    XCTAssertEqual(mismatch.status, 1)
    XCTAssertTrue(mismatch.stderr.contains("the truth mask is 1600×1200 px but the prediction"))

    let missing = try CLIRunner.run(["evaluate", "--pred", shifted])
    XCTAssertEqual(missing.status, 64)
    XCTAssertTrue(missing.stderr.contains("'evaluate' needs --pred MASK and --truth MASK"))

    let folder = try temporaryFolder(self)
    let nowhere = folder.appendingPathComponent("absent/scores.csv").path
    let unwritable = try CLIRunner.run([
      "evaluate", "--pred", shifted, "--truth", truth, "--csv", nowhere,
    ])
    XCTAssertEqual(unwritable.status, 1)
    XCTAssertTrue(unwritable.stderr.contains("does not exist"), unwritable.stderr)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path), [])

    // --slide must be the masks' slide: a 240×240 one is refused.
    let wrongSlide = try CLIRunner.run([
      "evaluate", "--pred", shifted, "--truth", truth, "--slide",
      CLIRunner.data("tiles/wsidicom_test_tile.png"),
    ])
    XCTAssertEqual(wrongSlide.status, 1)
    XCTAssertTrue(
      wrongSlide.stderr.contains("the slide is 240×240 px but the mask"), wrongSlide.stderr)

    // Scores must be finite numbers.
    let scores = folder.appendingPathComponent("nan.csv").path
    try "case,dice\na,0.5\nb,nan\n".write(toFile: scores, atomically: true, encoding: .utf8)
    let nan = try CLIRunner.run(["compare", scores, scores])
    XCTAssertEqual(nan.status, 1)
    XCTAssertTrue(nan.stderr.contains("line 3 cannot be read ('nan' is not a finite number)"))
  }
}
