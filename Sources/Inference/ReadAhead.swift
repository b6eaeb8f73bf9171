import Dispatch

/// Runs one job at a time on a background thread so that the next batch of
/// tiles is read and decoded while the model works on the current one.
///
/// Use: `start` a job, later `take` its result (waiting if it is not done),
/// then `start` the next. `drain` waits for a job nobody will take (after an
/// error), so the slide is never read after the caller has moved on.
final class ReadAhead<Value>: @unchecked Sendable {
  // Safety: `result` is written by the queue's job before `ready` is
  // signalled and read by the caller only after waiting on `ready`.
  private let queue = DispatchQueue(label: "holohisto.inference.read-ahead")
  private let ready = DispatchSemaphore(value: 0)
  private var result: Result<Value, Error>?
  private var running = false

  /// Starts `job`; the previous job must have been taken.
  func start(_ job: @escaping @Sendable () throws -> Value) {
    precondition(!running, "a read is already in flight")
    running = true
    queue.async {
      self.result = Result { try job() }
      self.ready.signal()
    }
  }

  /// The running job's value (or its error), after waiting for it.
  func take() throws -> Value {
    precondition(running, "no read in flight")
    ready.wait()
    running = false
    defer { result = nil }
    return try result!.get()
  }

  /// Waits for a job still in flight and drops its result.
  func drain() {
    guard running else { return }
    ready.wait()
    running = false
    result = nil
  }
}
