import Foundation
import XCTest

@testable import Evaluation
import SlideIO

/// Dice and the signed-rank test against numpy and scipy on the same inputs
/// (Fixtures/evaluation_reference.json, scripts/fixtures/
/// make_evaluation_fixtures.py).
final class EvaluationTests: XCTestCase {
  static let root = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  static let fixtures = root.appendingPathComponent("Tests/EvaluationTests/Fixtures")

  nonisolated(unsafe) static let reference: [String: Any] = {
    let url = fixtures.appendingPathComponent("evaluation_reference.json")
    return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
  }()

  func truthPath() -> String {
    Self.root.deletingLastPathComponent()
      .appendingPathComponent("shared/data/labeled/hubmap-glomeruli-cnsiu/masks/test/47.png").path
  }

  /// A real glomerulus mask against a shifted copy of itself.
  func testDiceOnARealMaskMatchesNumpy() throws {
    let dice = Self.reference["dice"] as! [String: Any]
    let truth = try Slide(path: truthPath())
    let prediction = try Slide(
      path: Self.fixtures.appendingPathComponent("pred_shifted.png").path)
    let report = try DiceEvaluator(patchSize: PixelSize(width: 640, height: 480))
      .evaluate(prediction: prediction, truth: truth)

    XCTAssertEqual(report.slideMeanDice!, dice["whole"] as! Double, accuracy: 1e-12)
    let expected = dice["patches"] as! [[String: Any]]
    XCTAssertEqual(report.patches.count, expected.count)
    for (patch, reference) in zip(report.patches, expected) {
      XCTAssertEqual(patch.x, reference["x"] as! Int)
      XCTAssertEqual(patch.y, reference["y"] as! Int)
      if let value = reference["dice"] as? Double {
        XCTAssertEqual(patch.meanDice!, value, accuracy: 1e-12, "patch \(patch.x),\(patch.y)")
      } else {
        XCTAssertNil(patch.meanDice, "empty-vs-empty patch \(patch.x),\(patch.y)")
      }
    }
    XCTAssertEqual(
      report.emptyPatchCount, expected.filter { $0["dice"] is NSNull }.count)
  }

  func testIdenticalMasksScoreOneAndMismatchedSizesFail() throws {
    let truth = try Slide(path: truthPath())
    let report = try DiceEvaluator().evaluate(prediction: truth, truth: truth)
    XCTAssertEqual(report.slideMeanDice, 1)
    XCTAssertEqual(report.patches.count, 1)

    let other = try Slide(path: Self.root.deletingLastPathComponent()
      .appendingPathComponent("shared/data/tiles/skimage_ihc.png").path)
    XCTAssertThrowsError(try DiceEvaluator().evaluate(prediction: other, truth: truth)) {
      XCTAssertEqual(
        "\($0)",
        "\(truth.path): the truth mask is 1600×1200 px but the prediction \(other.path) "
          + "is 512×512 px; both must have the same level-0 size.")
    }
  }

  func testEmptyVersusEmptyIsUndefinedNotPerfect() {
    XCTAssertNil(ConfusionCounts().dice)
    XCTAssertEqual(ConfusionCounts(truePositive: 0, falsePositive: 3, falseNegative: 0).dice, 0)
    XCTAssertEqual(ConfusionCounts(truePositive: 4, falsePositive: 1, falseNegative: 1).dice, 0.8)
  }

  func testWilcoxonMatchesScipy() throws {
    let cases = Self.reference["wilcoxon"] as! [String: [String: Any]]
    for (name, entry) in cases {
      let result = try WilcoxonSignedRank(
        entry["first"] as! [Double], entry["second"] as! [Double])
      XCTAssertEqual(result.pairCount, entry["n"] as! Int, name)
      XCTAssertEqual(result.statistic, entry["statistic"] as! Double, accuracy: 1e-9, name)
      XCTAssertEqual(result.pValue, entry["p"] as! Double, accuracy: 1e-9, name)
      XCTAssertEqual(result.exact, (entry["method"] as! String) == "exact", name)
    }
  }

  func testWilcoxonRefusesDegenerateInput() {
    XCTAssertThrowsError(try WilcoxonSignedRank([0.5, 0.6], [0.5, 0.6]))
    XCTAssertThrowsError(try WilcoxonSignedRank([0.5], [0.5, 0.6]))
  }
}
