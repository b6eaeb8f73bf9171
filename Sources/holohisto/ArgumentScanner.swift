/// A small command-line scanner: splits one subcommand's arguments into
/// positionals, options with values and flags, against a declared list.
///
/// Accepted spellings: `--name value`, `--name=value`, `-n value` for
/// options; `--name`, `-n` for flags; everything after `--` is positional.
/// A value may not start with `-` unless given as `--name=value` or it is a
/// negative number, so that a forgotten value reads as a missing value, not
/// as swallowing the next flag.
struct ArgumentScanner {
  /// One option or flag a subcommand accepts.
  struct Option {
    /// Long name without dashes (`output` for `--output`).
    var name: String
    /// One-letter alias without the dash (`o` for `-o`), if any.
    var short: Character?
    /// Whether a value follows (an option) or not (a flag).
    var takesValue: Bool
    /// Placeholder shown in messages (`FILE`, `N`).
    var valueName = "VALUE"
  }

  /// The scanned arguments.
  struct Result {
    /// Arguments that are not options, in order.
    var positionals: [String] = []
    /// Option values by long name.
    var values: [String: String] = [:]
    /// Flags given, by long name.
    var flags: Set<String> = []
  }

  /// The subcommand's name, for messages (`info`, `tissue`).
  var command: String
  /// What the subcommand accepts.
  var options: [Option]

  /// Whether `arguments` ask for help (`-h` or `--help` before any `--`).
  static func asksForHelp(_ arguments: [String]) -> Bool {
    for argument in arguments {
      if argument == "--" { return false }
      if argument == "-h" || argument == "--help" { return true }
    }
    return false
  }

  /// Scans `arguments` (without the program and subcommand names).
  ///
  /// - Throws: ``UsageError`` for an unknown option, a missing value, a
  ///   value given to a flag, or an option given twice.
  func scan(_ arguments: [String]) throws(UsageError) -> Result {
    var result = Result()
    var index = 0
    while index < arguments.count {
      let argument = arguments[index]
      index += 1
      if argument == "--" {
        result.positionals += arguments[index...]
        break
      }
      guard argument.hasPrefix("-"), argument != "-" else {
        result.positionals.append(argument)
        continue
      }

      // split `--name=value`; find the declared option
      var spelled = argument
      var attached: String?
      if argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") {
        spelled = String(argument[..<equals])
        attached = String(argument[argument.index(after: equals)...])
      }
      guard let option = find(spelled) else {
        throw UsageError(
          "unknown option '\(spelled)' for '\(command)'", command: command)
      }
      let shown = "--\(option.name)"
      let seen = result.values[option.name] != nil
      if seen || result.flags.contains(option.name) {
        throw UsageError(
          "option '\(shown)' is given more than once", command: command)
      }

      guard option.takesValue else {
        if attached != nil {
          throw UsageError("option '\(shown)' takes no value", command: command)
        }
        result.flags.insert(option.name)
        continue
      }
      if let attached {
        result.values[option.name] = attached
      } else if index < arguments.count,
        !arguments[index].hasPrefix("-") || Self.isNegativeNumber(arguments[index])
      {
        result.values[option.name] = arguments[index]
        index += 1
      } else {
        throw UsageError(
          "option '\(spelled)' needs a value (\(option.valueName))",
          command: command)
      }
    }
    return result
  }

  private func find(_ spelled: String) -> Option? {
    if spelled.hasPrefix("--") {
      let name = spelled.dropFirst(2)
      return options.first { $0.name == name }
    }
    guard spelled.count == 2, let letter = spelled.last else { return nil }
    return options.first { $0.short == letter }
  }

  /// `-3`, `-0.5`, `-1/2`: taken as an option's value (so its range check
  /// can say what is wrong) rather than as a forgotten value.
  static func isNegativeNumber(_ argument: String) -> Bool {
    let rest = argument.dropFirst()
    return argument.hasPrefix("-") && (rest.first?.isNumber == true || rest.first == ".")
  }
}
