/// Checks on the positional arguments of a subcommand.
enum Positionals {
  /// The one positional argument `name`, or a usage error naming what is
  /// missing or extra.
  static func single(
    _ positionals: [String], name: String, command: String
  ) throws(UsageError) -> String {
    guard let first = positionals.first else {
      throw UsageError(
        "'\(command)' needs the \(name) argument", command: command)
    }
    guard positionals.count == 1 else {
      throw UsageError(
        "unexpected argument '\(positionals[1])' for '\(command)'",
        command: command)
    }
    return first
  }
}
