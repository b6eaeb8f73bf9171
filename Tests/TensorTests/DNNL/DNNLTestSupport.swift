// Seeded random data and closeness checks shared by the DNNL tests.
import Testing

/// A small deterministic generator (64-bit LCG, top bits) for reproducible inputs.
struct SeededRandom {
  private var state: UInt64

  init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 &+ 1 }

  /// A float uniform in `[-1, 1)`.
  mutating func next() -> Float {
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return Float(state >> 40) / Float(1 << 23) - 1
  }

  /// `count` floats uniform in `[-1, 1)`.
  mutating func array(_ count: Int) -> [Float] { (0..<count).map { _ in next() } }
}

/// Expects `|actual - expected| <= absolute + relative * |expected|` element-wise.
///
/// Reports the first offending index and the worst error, and the caller's location.
func expectClose(
  _ actual: [Float], _ expected: [Float], absolute: Float = 1e-4, relative: Float = 1e-4,
  _ what: String = "", sourceLocation: SourceLocation = #_sourceLocation
) {
  #expect(actual.count == expected.count, "\(what): count", sourceLocation: sourceLocation)
  guard actual.count == expected.count else { return }
  var worst: Float = 0
  var firstBad: Int?
  for index in actual.indices {
    let error = abs(actual[index] - expected[index])
    worst = max(worst, error)
    if firstBad == nil, !(error <= absolute + relative * abs(expected[index])) {
      firstBad = index
    }
  }
  if let bad = firstBad {
    let message =
      "\(what): index \(bad) got \(actual[bad]), expected \(expected[bad]); "
      + "worst abs error \(worst)"
    Issue.record(Comment(rawValue: message), sourceLocation: sourceLocation)
  }
}

/// Non-trivial values: fails if everything is (near) zero, so tests can't pass vacuously.
func expectNonTrivial(
  _ values: [Float], _ what: String = "", sourceLocation: SourceLocation = #_sourceLocation
) {
  let largest = values.map { abs($0) }.max() ?? 0
  #expect(largest > 1e-3, "\(what): all values ~0", sourceLocation: sourceLocation)
}
