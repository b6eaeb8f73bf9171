import Exports
import Inference

/// Feeds a ``LabelTIFFWriter`` from an ``OrderedWorker``, so that
/// compressing, reducing and writing the mask overlaps the model instead of
/// holding up the next tile row. At most `depth` bands wait (bounding memory
/// to that many bands of level-0 rows); a writer failure is reported by the
/// next call.
final class WriterQueue: @unchecked Sendable {
  // Safety: the writer is touched only by the worker's jobs, and after
  // draining it.
  private let writer: LabelTIFFWriter
  private let worker: OrderedWorker

  init(_ writer: LabelTIFFWriter, depth: Int = 3) {
    self.writer = writer
    worker = OrderedWorker(label: "holohisto.mask-writer", depth: depth)
  }

  /// Queues full-width level-0 rows.
  func append(rows: [UInt8]) throws {
    try worker.submit { [writer] in try writer.append(rows: rows) }
  }

  /// Queues `count` background rows.
  func appendBackground(rows count: Int) throws {
    try worker.submit { [writer] in try writer.appendBackground(rows: count) }
  }

  /// Waits for the queue, then finishes the file.
  func finish() throws {
    try worker.drain()
    try writer.finish()
  }

  /// Waits for the queue, then removes every temporary file.
  func cancel() {
    try? worker.drain()
    writer.cancel()
  }
}
