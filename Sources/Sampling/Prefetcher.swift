import Foundation
import SlideIO

/// Builds a ``RandomPatchSampler``'s patches ahead of time on background
/// threads, into a bounded queue, and hands them out in the sampler's own
/// order.
///
/// Worker threads claim item indices k = n, n + 1, … and build each with
/// ``RandomPatchSampler/patch(index:)``, whose randomness depends on
/// (seed, k) only; ``next()`` returns item n, then n + 1, and so on,
/// waiting only when that item is not built yet. The sequence is therefore
/// exactly the serial sampler's, whatever the thread timing. At most
/// `depth` items are built or being built beyond the last one handed out,
/// which bounds memory to about `depth` patches.
///
/// A read error is delivered by ``next()`` at the failing item's place in
/// the sequence, and the prefetcher goes on with later items.
public final class Prefetcher: @unchecked Sendable {
  // Safety: all mutable state lives in `queue`, guarded by its lock.
  private let queue: PrefetchQueue
  private let sampler: RandomPatchSampler

  /// Starts `threads` workers (default 2) keeping up to `depth` patches
  /// (default 4) ready, from `sampler`'s current state.
  public init(sampler: RandomPatchSampler, depth: Int = 4, threads: Int = 2) {
    precondition(depth >= 1, "prefetch depth must be at least 1, got \(depth)")
    precondition(threads >= 1, "prefetch needs at least one thread, got \(threads)")
    self.sampler = sampler
    self.queue = PrefetchQueue(first: sampler.state.nextIndex, depth: depth)
    for _ in 0..<threads {
      let queue = self.queue
      let thread = Thread {
        while let index = queue.claim() {
          queue.deliver(Result { try sampler.patch(index: index) }, index: index)
        }
      }
      thread.name = "holohisto.prefetch"
      thread.start()
    }
  }

  deinit { queue.stop() }

  /// The next patch in the sampler's order; blocks until it is built.
  ///
  /// - Throws: the error that building that item threw, or
  ///   ``SamplingError/prefetcherStopped(index:)`` after ``stop()``.
  public func next() throws -> RandomPatchSampler.Patch {
    try queue.take().get()
  }

  /// The sampler's state after the patches handed out so far: save it to
  /// resume exactly where training stopped.
  public var state: RandomPatchSampler.State {
    var state = sampler.state
    state.nextIndex = queue.delivered
    return state
  }

  /// Stops the workers after the items they are building. Later ``next()``
  /// calls still return items already built or being built, then throw
  /// ``SamplingError/prefetcherStopped(index:)``.
  public func stop() { queue.stop() }
}

/// The shared state of a ``Prefetcher``: which indices are claimed, which
/// are built, which were handed out.
private final class PrefetchQueue: @unchecked Sendable {
  // Safety: every property below is read and written with `condition` held.
  private let condition = NSCondition()
  private let depth: Int
  private var nextToClaim: Int
  private var nextToDeliver: Int
  private var built: [Int: Result<RandomPatchSampler.Patch, any Error>] = [:]
  private var stopped = false

  init(first: Int, depth: Int) {
    self.depth = depth
    self.nextToClaim = first
    self.nextToDeliver = first
  }

  var delivered: Int {
    condition.lock()
    defer { condition.unlock() }
    return nextToDeliver
  }

  /// The next index to build, once the window has room; `nil` once stopped.
  func claim() -> Int? {
    condition.lock()
    defer { condition.unlock() }
    while !stopped && nextToClaim >= nextToDeliver + depth { condition.wait() }
    if stopped { return nil }
    nextToClaim += 1
    return nextToClaim - 1
  }

  func deliver(_ result: Result<RandomPatchSampler.Patch, any Error>, index: Int) {
    condition.lock()
    built[index] = result
    condition.broadcast()
    condition.unlock()
  }

  func take() -> Result<RandomPatchSampler.Patch, any Error> {
    condition.lock()
    defer { condition.unlock() }
    while true {
      if let result = built.removeValue(forKey: nextToDeliver) {
        nextToDeliver += 1
        condition.broadcast()
        return result
      }
      if stopped && nextToDeliver >= nextToClaim {
        return .failure(SamplingError.prefetcherStopped(index: nextToDeliver))
      }
      condition.wait()
    }
  }

  func stop() {
    condition.lock()
    stopped = true
    condition.broadcast()
    condition.unlock()
  }
}
