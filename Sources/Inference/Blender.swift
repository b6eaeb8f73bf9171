import Dispatch
import Foundation
import Tensor

/// Blending and everything after it — adding tile probabilities into the
/// ``BandAccumulator``, finishing rows, turning them into level-0 rows,
/// the resume log and resume points — on a thread of its own, in the order
/// the work was submitted, so the model's thread goes straight on to the
/// next batch. At most `depth` submissions wait (bounding the probability
/// tensors held). A failure is reported by the next `submit` or `drain`.
final class Blender: @unchecked Sendable {
  // Safety: everything below `failure` is touched only by jobs on `queue`,
  // or by the caller after `drain`; `failure` is guarded by `lock`.
  private let queue = DispatchQueue(label: "holohisto.inference.blend")
  private let slots: DispatchSemaphore
  private let lock = NSLock()
  private var failure: (any Error)?

  init(depth: Int = 2) {
    slots = DispatchSemaphore(value: depth)
  }

  /// Queues `job` after everything submitted before it.
  func submit(_ job: @escaping () throws -> Void) throws {
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
  func drain() throws {
    queue.sync {}
    try rethrow()
  }

  private func rethrow() throws {
    if let error = lock.withLock({ failure }) { throw error }
  }
}

/// A job handed to the blend thread. The caller hands over what the job
/// captures and touches it again only after ``Blender/drain()``.
private struct UncheckedJob: @unchecked Sendable {
  let job: () throws -> Void
  init(_ job: @escaping () throws -> Void) { self.job = job }
}
