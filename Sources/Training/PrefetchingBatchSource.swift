import Dispatch
import Foundation

/// Reads ahead: while the trainer works on step `s`, batches `s + 1 …
/// s + depth` are built on a background thread. Batches are a pure function
/// of the step (``BatchSource``), so what it hands out is exactly what the
/// wrapped source would have built, whatever the thread timing; a request
/// for a step that was not prefetched (the first one, or after a resume)
/// is built on the spot.
public final class PrefetchingBatchSource: BatchSource, @unchecked Sendable {
  public let source: any BatchSource
  public let depth: Int
  private let queue = DispatchQueue(label: "holohisto.prefetch")
  private let lock = NSCondition()
  private var ready: [Int: Result<TrainingBatch, any Error>] = [:]
  private var pending: Set<Int> = []

  public init(_ source: any BatchSource, depth: Int = 2) {
    self.source = source
    self.depth = max(1, depth)
  }

  public func batch(step: Int) throws -> TrainingBatch {
    lock.lock()
    // Drop anything older than the request, then make sure the steps after
    // it are on their way.
    for old in ready.keys where old < step { ready[old] = nil }
    let upcoming = ((step + 1)...(step + depth)).filter {
      ready[$0] == nil && !pending.contains($0)
    }
    for ahead in upcoming {
      pending.insert(ahead)
      queue.async { [self] in
        let result = Result { try source.batch(step: ahead) }
        lock.lock()
        pending.remove(ahead)
        ready[ahead] = result
        lock.broadcast()
        lock.unlock()
      }
    }
    while ready[step] == nil && pending.contains(step) { lock.wait() }
    if let result = ready.removeValue(forKey: step) {
      lock.unlock()
      return try result.get()
    }
    lock.unlock()
    return try source.batch(step: step)
  }
}
