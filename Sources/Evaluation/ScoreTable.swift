import Foundation

/// Per-case scores read from a CSV file with a header row, as written by
/// `holohisto evaluate --csv` or by hand (`case,dice`).
public struct ScoreTable: Sendable {
  /// Case key → score. Rows whose score cell is empty (an undefined Dice)
  /// are kept out.
  public let scores: [String: Double]
  /// Rows left out because their score was empty.
  public let undefinedCount: Int

  /// Reads `path`, keying rows by the `key` columns (joined with "/") and
  /// taking the score from `column`.
  /// - Throws: ``EvaluationError/badScoreFile(path:line:detail:)``.
  public init(path: String, key: [String], column: String) throws {
    guard FileManager.default.fileExists(atPath: path) else {
      throw EvaluationError.badScoreFile(path: path, line: 0, detail: "no such file")
    }
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
      throw EvaluationError.badScoreFile(
        path: path, line: 0, detail: "not a readable UTF-8 text file")
    }
    let lines = text.split(whereSeparator: \.isNewline).map(String.init)
    guard let header = lines.first?.split(separator: ",", omittingEmptySubsequences: false)
      .map({ $0.trimmingCharacters(in: .whitespaces) })
    else {
      throw EvaluationError.badScoreFile(path: path, line: 1, detail: "no header row")
    }
    guard let scoreIndex = header.firstIndex(of: column) else {
      throw EvaluationError.badScoreFile(
        path: path, line: 1, detail: "no column '\(column)' in \(header)")
    }
    let keyIndices = try key.map { name in
      guard let i = header.firstIndex(of: name) else {
        throw EvaluationError.badScoreFile(
          path: path, line: 1, detail: "no key column '\(name)' in \(header)")
      }
      return i
    }

    var scores: [String: Double] = [:]
    var undefined = 0
    for (n, line) in lines.enumerated().dropFirst() {
      let cells = line.split(separator: ",", omittingEmptySubsequences: false)
        .map { $0.trimmingCharacters(in: .whitespaces) }
      guard cells.count == header.count else {
        throw EvaluationError.badScoreFile(
          path: path, line: n + 1, detail: "\(cells.count) cells, header has \(header.count)")
      }
      let caseKey = keyIndices.map { cells[$0] }.joined(separator: "/")
      guard scores[caseKey] == nil else {
        throw EvaluationError.badScoreFile(
          path: path, line: n + 1, detail: "case '\(caseKey)' appears twice")
      }
      let cell = cells[scoreIndex]
      if cell.isEmpty {
        undefined += 1
        continue
      }
      guard let value = Double(cell), value.isFinite else {
        throw EvaluationError.badScoreFile(
          path: path, line: n + 1, detail: "'\(cell)' is not a finite number")
      }
      scores[caseKey] = value
    }
    self.scores = scores
    self.undefinedCount = undefined
  }
}
