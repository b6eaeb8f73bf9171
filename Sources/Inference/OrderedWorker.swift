import Dispatch
import Foundation
import Tensor

/// Jobs run on a thread of their own, one at a time, in the order they were
/// submitted, so the submitting thread goes straight on. At most `depth`
/// jobs wait (bounding what they hold); after a job fails the rest are
/// skipped and the failure is reported by the next `submit` or `drain`.
///
/// ``SlideSegmenter`` blends on one (adding tile probabilities into the
/// ``BandAccumulator``, finishing rows, level-0 rows, the resume log) while
/// the model runs; `holohisto segment` writes the mask on another.
public final class OrderedWorker: @unchecked Sendable {
  // Safety: everything below `failure` is touched only by jobs on `queue`,
  // or by the caller after `drain`; `failure` is guarded by `lock`.
  private let queue: DispatchQueue
  private let slots: DispatchSemaphore
  private let lock = NSLock()
  private var failure: (any Error)?

  public init(label: String, depth: Int) {
    queue = DispatchQueue(label: label)
    slots = DispatchSemaphore(value: depth)
  }

  /// Queues `job` after everything submitted before it.
  public func submit(_ job: @escaping () throws -> Void) throws {
    try rethrow()
    slots.wait()
    let box = UncheckedJob(job)
    queue.async { [self] in
      defer { slots.signal() }
      guard lock.withLock({ failure == nil }) else { return }
      do {
        try box.job()
      } catch {
        lock.withLock { failure = error }
      }
    }
  }

  /// Waits for every submitted job; throws the first failure.
  public func drain() throws {
    queue.sync {}
    try rethrow()
  }

  private func rethrow() throws {
    if let error = lock.withLock({ failure }) { throw error }
  }
}

/// A job handed to the blend thread. The caller hands over what the job
/// captures and touches it again only after ``OrderedWorker/drain()``.
private struct UncheckedJob: @unchecked Sendable {
  let job: () throws -> Void
  init(_ job: @escaping () throws -> Void) { self.job = job }
}
