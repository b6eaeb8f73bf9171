import Foundation
import Tensor

/// Counts multiply-accumulates of the convolutions and matrix products a
/// forward pass runs, from their shapes (an analytic count: nothing is
/// timed). Normalisation, activations, resizing and element-wise
/// arithmetic are not counted; they are O(elements), far below the
/// products in every variant here.
///
/// Use `FlopCounter.count { try model.forward(x) }`; layers report through
/// the task-local `current` counter when one is installed.
public final class FlopCounter: @unchecked Sendable {
  private let lock = NSLock()
  private var macs = 0

  @TaskLocal static var current: FlopCounter?

  /// Adds `n` multiply-accumulates to the installed counter, if any.
  static func add(_ n: Int) {
    guard let c = current else { return }
    c.lock.lock()
    c.macs += n
    c.lock.unlock()
  }

  /// Runs `body` with a fresh counter and returns its FLOP count
  /// (2 per multiply-accumulate).
  public static func count(_ body: () throws -> Void) rethrows -> Int {
    let counter = FlopCounter()
    try $current.withValue(counter) { try body() }
    return 2 * counter.macs
  }
}
