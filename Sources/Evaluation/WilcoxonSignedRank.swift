import Foundation

/// The Wilcoxon signed-rank test for paired scores (two-sided), as used to
/// compare two methods' per-case Dice.
///
/// Zero differences are dropped (Wilcoxon's original treatment); the
/// remaining |differences| are ranked with ties sharing their mean rank.
/// The statistic is `W = min(W+, W−)`. The p-value is exact for up to
/// ``exactLimit`` pairs, computed from the permutation distribution of the
/// actual (possibly tied) ranks by dynamic programming over doubled ranks;
/// above that, the normal approximation with the tie correction of the
/// variance and no continuity correction.
public struct WilcoxonSignedRank: Sendable, Equatable {
  /// Number of non-zero differences used.
  public let pairCount: Int
  /// Sum of ranks of positive differences (first minus second).
  public let positiveRankSum: Double
  /// `min(W+, W−)`.
  public let statistic: Double
  /// Two-sided p-value.
  public let pValue: Double
  /// Whether ``pValue`` is exact (else normal approximation).
  public let exact: Bool

  /// Largest number of non-zero differences for the exact distribution.
  public static let exactLimit = 50

  /// Tests `first[i]` against `second[i]`.
  /// - Throws: ``EvaluationError/unpaired(detail:)`` for different lengths,
  ///   ``EvaluationError/tooFewPairs(count:)`` when all differences are 0.
  public init(_ first: [Double], _ second: [Double]) throws {
    guard first.count == second.count else {
      throw EvaluationError.unpaired(
        detail: "\(first.count) scores against \(second.count)")
    }
    let differences = zip(first, second).map { $0 - $1 }.filter { $0 != 0 }
    let n = differences.count
    guard n > 0 else { throw EvaluationError.tooFewPairs(count: 0) }

    // Mean ranks of |d|, ties sharing the average of the ranks they span.
    let order = differences.indices.sorted { abs(differences[$0]) < abs(differences[$1]) }
    var ranks = [Double](repeating: 0, count: n)
    var tieGroups: [Int] = []
    var start = 0
    while start < n {
      var end = start
      while end + 1 < n && abs(differences[order[end + 1]]) == abs(differences[order[start]]) {
        end += 1
      }
      let mean = Double(start + end + 2) / 2
      for k in start...end { ranks[order[k]] = mean }
      tieGroups.append(end - start + 1)
      start = end + 1
    }

    let positive = zip(differences, ranks).filter { $0.0 > 0 }.reduce(0) { $0 + $1.1 }
    let total = Double(n * (n + 1)) / 2
    pairCount = n
    positiveRankSum = positive
    statistic = min(positive, total - positive)

    if n <= Self.exactLimit {
      exact = true
      pValue = Self.exactPValue(ranks: ranks, statistic: statistic)
    } else {
      exact = false
      let mean = total / 2
      let ties = tieGroups.reduce(0.0) { $0 + Double($1 * $1 * $1 - $1) }
      let variance = Double(n * (n + 1) * (2 * n + 1)) / 24 - ties / 48
      let z = (statistic - mean) / variance.squareRoot()
      pValue = min(1, erfc(abs(z) / 2.0.squareRoot()))
    }
  }

  /// P(W+ ≤ w or W+ ≥ total − w) under H0, where each rank's sign is an
  /// independent fair coin. Ranks are multiples of ½, so doubled ranks are
  /// integers and the distribution is a subset-sum count.
  static func exactPValue(ranks: [Double], statistic: Double) -> Double {
    let doubled = ranks.map { Int(($0 * 2).rounded()) }
    let maximum = doubled.reduce(0, +)
    var ways = [Double](repeating: 0, count: maximum + 1)
    ways[0] = 1
    var reach = 0
    for r in doubled {
      for s in stride(from: reach, through: 0, by: -1) where ways[s] > 0 {
        ways[s + r] += ways[s]
      }
      reach += r
    }
    let all = pow(2.0, Double(ranks.count))
    let threshold = Int((statistic * 2).rounded())
    var tail = 0.0
    for s in 0...min(threshold, maximum) { tail += ways[s] }
    return min(1, 2 * tail / all)
  }
}
