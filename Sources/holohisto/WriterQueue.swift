import Dispatch
import Exports
import Foundation

/// Feeds a ``LabelTIFFWriter`` on its own thread, so that compressing,
/// reducing and writing the mask overlaps the model instead of holding up
/// the next tile row. At most `depth` bands wait in the queue (bounding
/// memory to that many bands of level-0 rows); a writer failure is
/// reported by the next call.
final class WriterQueue: @unchecked Sendable {
  // Safety: the writer is touched only on `queue` (and after draining it);
  // `failure` is guarded by `lock`.
  private let writer: LabelTIFFWriter
  private let queue = DispatchQueue(label: "holohisto.mask-writer")
  private let slots: DispatchSemaphore
  private let lock = NSLock()
  private var failure: (any Error)?

  init(_ writer: LabelTIFFWriter, depth: Int = 3) {
    self.writer = writer
    slots = DispatchSemaphore(value: depth)
  }

  /// Queues full-width level-0 rows.
  func append(rows: [UInt8]) throws {
    try submit { try $0.append(rows: rows) }
  }

  /// Queues `count` background rows.
  func appendBackground(rows count: Int) throws {
    try submit { try $0.appendBackground(rows: count) }
  }

  /// Waits for the queue, then finishes the file.
  func finish() throws {
    queue.sync {}
    try rethrow()
    try writer.finish()
  }

  /// Waits for the queue, then removes every temporary file.
  func cancel() {
    queue.sync {}
    writer.cancel()
  }

  private func submit(_ work: @escaping @Sendable (LabelTIFFWriter) throws -> Void) throws {
    try rethrow()
    slots.wait()
    queue.async { [self] in
      defer { slots.signal() }
      guard lock.withLock({ failure == nil }) else { return }
      do {
        try work(writer)
      } catch {
        lock.withLock { failure = error }
      }
    }
  }

  private func rethrow() throws {
    if let error = lock.withLock({ failure }) { throw error }
  }
}
