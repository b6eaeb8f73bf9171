/// Whether operations record the graph that `backward()` needs.
///
/// The flag is task-local: `withNoGrad` switches recording off for the body
/// and everything it calls on the same task, and tasks started elsewhere are
/// unaffected.
public enum GradMode {
  /// `true` (the default) while operations record gradient nodes.
  @TaskLocal public static var isEnabled = true
}

/// Runs `body` with graph recording switched off (inference mode): results
/// carry no gradient nodes, so intermediates are freed as soon as they are
/// no longer referenced.
public func withNoGrad<R>(_ body: () throws -> R) rethrows -> R {
  try GradMode.$isEnabled.withValue(false) { try body() }
}
