/// Otsu's threshold over a histogram: the split that maximises the variance
/// between the two classes it creates (Otsu 1979, "A threshold selection
/// method from gray-level histograms").
enum OtsuThreshold {
  /// The result of a split: bins `0...lastLowBin` form the low class.
  struct Split: Equatable {
    /// Index of the last bin of the low class.
    var lastLowBin: Int
    /// Mean bin index of the low class (a bin index, not a bin centre).
    var lowMean: Double
  }

  /// Splits `histogram` (counts per bin) in two.
  ///
  /// - Returns: the split with the largest between-class variance, the
  ///   lowest such bin on ties; `nil` when fewer than two bins hold counts,
  ///   since then no split separates anything.
  /// - Complexity: O(bins).
  static func split(_ histogram: [Int]) -> Split? {
    guard histogram.filter({ $0 > 0 }).count >= 2 else { return nil }

    // Running sums: weights (counts) and first moments (count × bin) of the
    // low class; the high class is the total minus the low class. Doubles
    // keep the products exact up to 2^53, far beyond any mask's pixel count.
    let total = Double(histogram.reduce(0, +))
    let totalMoment = histogram.enumerated().reduce(0.0) {
      $0 + Double($1.offset * $1.element)
    }
    var lowWeight = 0.0
    var lowMoment = 0.0
    var best: Split?
    var bestVariance = -1.0
    for bin in 0..<(histogram.count - 1) {
      lowWeight += Double(histogram[bin])
      lowMoment += Double(bin * histogram[bin])
      let highWeight = total - lowWeight
      guard lowWeight > 0, highWeight > 0 else { continue }

      // between-class variance, up to the constant factor 1 / total²
      let lowMean = lowMoment / lowWeight
      let highMean = (totalMoment - lowMoment) / highWeight
      let variance =
        lowWeight * highWeight * (lowMean - highMean) * (lowMean - highMean)
      if variance > bestVariance {
        bestVariance = variance
        best = Split(lastLowBin: bin, lowMean: lowMean)
      }
    }
    return best
  }
}
