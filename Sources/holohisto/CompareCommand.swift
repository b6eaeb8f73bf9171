import Evaluation
import Foundation
import SlideIO

/// `holohisto compare A.csv B.csv`: the Wilcoxon signed-rank test between
/// two methods' per-case scores.
struct CompareCommand {
  static let name = "compare"
  static let summary = "Wilcoxon signed-rank test between two methods' per-case scores."
  static let help = """
    USAGE: holohisto compare FIRST.csv SECOND.csv [--column NAME]
                             [--key COL[,COL]] [--json FILE]

    Pairs the cases of two CSV score files (each with a header row, as
    written by 'holohisto evaluate --csv', or 'case,dice' by hand) and runs
    the two-sided Wilcoxon signed-rank test on FIRST − SECOND. Cases whose
    score is empty (undefined Dice) in either file are left out, and
    counted. Exact p-value up to 50 non-zero differences (ties handled
    exactly), normal approximation with tie correction above.

    OPTIONS:
      --column NAME    Score column (default: mean_dice, else dice).
      --key COL[,COL]  Columns naming a case (default: case, else x,y).
      --json FILE      Write the result as JSON.
      -h, --help       Show this help.
    """
  static let scanner = ArgumentScanner(
    command: name,
    options: [
      .init(name: "column", short: nil, takesValue: true, valueName: "NAME"),
      .init(name: "key", short: nil, takesValue: true, valueName: "COL"),
      .init(name: "json", short: nil, takesValue: true, valueName: "FILE"),
      .init(name: "help", short: "h", takesValue: false),
    ])

  var first: String
  var second: String
  var column: String?
  var key: [String]?
  var jsonPath: String?

  init(arguments: [String]) throws(UsageError) {
    let scanned = try Self.scanner.scan(arguments)
    guard scanned.positionals.count == 2 else {
      throw UsageError(
        "'compare' needs two score files, got \(scanned.positionals.count)", command: Self.name)
    }
    first = scanned.positionals[0]
    second = scanned.positionals[1]
    column = scanned.values["column"]
    key = scanned.values["key"].map { $0.split(separator: ",").map(String.init) }
    jsonPath = scanned.values["json"]
  }

  func run() throws {
    if let jsonPath { _ = try OutputFile(path: jsonPath, inputs: [first, second]) }
    let header = try headerOf(first)
    let column = self.column ?? (header.contains("mean_dice") ? "mean_dice" : "dice")
    let key = self.key ?? (header.contains("case") ? ["case"] : ["x", "y"])
    let a = try ScoreTable(path: first, key: key, column: column)
    let b = try ScoreTable(path: second, key: key, column: column)

    let onlyA = Set(a.scores.keys).subtracting(b.scores.keys)
    let onlyB = Set(b.scores.keys).subtracting(a.scores.keys)
    let cases = Set(a.scores.keys).intersection(b.scores.keys).sorted()
    guard !cases.isEmpty else {
      throw EvaluationError.unpaired(detail: "no case appears in both \(first) and \(second)")
    }
    let x = cases.map { a.scores[$0]! }
    let y = cases.map { b.scores[$0]! }
    let test = try WilcoxonSignedRank(x, y)
    let meanA = x.reduce(0, +) / Double(x.count)
    let meanB = y.reduce(0, +) / Double(y.count)

    let p = String(format: "%.4g", test.pValue)
    Console.out("cases paired: \(cases.count) (\(column); keyed by \(key.joined(separator: ",")))")
    Console.out("left out: \(onlyA.count + a.undefinedCount) of first, "
      + "\(onlyB.count + b.undefinedCount) of second (unpaired or undefined)")
    Console.out("| method | mean |")
    Console.out("|---|---|")
    Console.out("| \(first) | \(String(format: "%.4f", meanA)) |")
    Console.out("| \(second) | \(String(format: "%.4f", meanB)) |")
    Console.out("Wilcoxon signed-rank: W = \(Console.number(test.statistic)), "
      + "n = \(test.pairCount) non-zero differences, p = \(p) "
      + "(\(test.exact ? "exact" : "normal approximation"), two-sided)")

    if let jsonPath {
      let object: [String: Any] = [
        "first": first, "second": second, "column": column, "cases": cases.count,
        "mean_first": meanA, "mean_second": meanB, "statistic": test.statistic,
        "nonzero_pairs": test.pairCount, "p_value": test.pValue,
        "method": test.exact ? "exact" : "normal approximation",
      ]
      let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
      try writeAtomically(data, to: jsonPath, inputs: [first, second])
    }
  }

  private func headerOf(_ path: String) throws -> [String] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8),
      let line = text.split(whereSeparator: \.isNewline).first
    else {
      throw EvaluationError.badScoreFile(path: path, line: 1, detail: "cannot read a header row")
    }
    return line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
  }
}
