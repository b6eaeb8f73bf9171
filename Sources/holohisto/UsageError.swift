/// A mistake in how `holohisto` was called: an unknown subcommand or
/// option, a missing or malformed argument. Exits with status 64
/// (`EX_USAGE`).
struct UsageError: Error, Equatable, CustomStringConvertible {
  /// What is wrong, as a sentence without the final full stop.
  let message: String
  /// The subcommand whose help to point at, or `nil` for the top level.
  let command: String?

  init(_ message: String, command: String? = nil) {
    self.message = message
    self.command = command
  }

  var description: String {
    let help = command.map { "holohisto \($0) --help" } ?? "holohisto --help"
    return "\(message); run '\(help)' for usage."
  }
}
