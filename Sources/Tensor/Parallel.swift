import Dispatch

/// Splits loops across the two cores the project targets.
enum Parallel {
  /// Threads used by the module's own loops.
  static let threads = 2

  /// Carries a non-`Sendable` closure into `concurrentPerform`. Sound here
  /// because every caller gives each iteration disjoint output memory and
  /// `concurrentPerform` returns only after all iterations finish.
  private struct Unchecked<T>: @unchecked Sendable { let value: T }

  private static func perform(_ chunks: Int, _ body: (Int) -> Void) {
    withoutActuallyEscaping(body) { escapable in
      let box = Unchecked(value: escapable)
      DispatchQueue.concurrentPerform(iterations: chunks) { box.value($0) }
    }
  }

  /// Calls `body` on disjoint ranges covering `0..<count`, concurrently
  /// when `count` is at least `grain` per thread, else inline.
  static func forRanges(
    _ count: Int, grain: Int = 16_384, _ body: (Range<Int>) -> Void
  ) {
    let chunks = Swift.min(threads, count / Swift.max(grain, 1))
    if chunks < 2 {
      if count > 0 { body(0..<count) }
      return
    }
    perform(chunks) { i in
      body((count * i / chunks)..<(count * (i + 1) / chunks))
    }
  }

  /// Calls `body(i)` for every `i` in `0..<count`, split across threads
  /// when the work (`count * costPerItem` elements) is large enough.
  static func forEach(
    _ count: Int, costPerItem: Int, _ body: (Int) -> Void
  ) {
    let big = count * costPerItem >= 32_768
    let chunks = big ? Swift.min(threads, count) : 1
    if chunks < 2 {
      for i in 0..<count { body(i) }
      return
    }
    perform(chunks) { c in
      for i in (count * c / chunks)..<(count * (c + 1) / chunks) { body(i) }
    }
  }
}
