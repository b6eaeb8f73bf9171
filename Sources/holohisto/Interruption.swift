import Dispatch
import Foundation

/// Turns the first SIGINT or SIGTERM into a flag that long commands poll
/// between units of work, so they stop through their normal clean-up path
/// (temporary files removed, resume state kept). A second signal ends the
/// process at once, as usual.
final class Interruption: @unchecked Sendable {
  // Safety: `raised` is guarded by `lock`; `sources` is written once, by
  // `install`, before any signal can be handled.
  static let shared = Interruption()
  private let lock = NSLock()
  private var raised = false
  private var sources: [DispatchSourceSignal] = []

  /// Starts catching SIGINT and SIGTERM.
  func install() {
    for number in [SIGINT, SIGTERM] {
      signal(number, SIG_IGN)
      let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
      source.setEventHandler { [self] in
        let again = lock.withLock {
          defer { raised = true }
          return raised
        }
        if again {
          signal(number, SIG_DFL)
          kill(getpid(), number)
        }
      }
      source.resume()
      sources.append(source)
    }
  }

  /// Whether a signal arrived.
  var isRaised: Bool { lock.withLock { raised } }
}
