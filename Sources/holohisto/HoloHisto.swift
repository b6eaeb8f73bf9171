import Foundation
import Inference

/// The `holohisto` command: picks the subcommand, runs it, and turns every
/// outcome into an exit status and at most one line on standard error.
///
/// Exit statuses: 0 success (help and version included), 64 a usage error
/// (`EX_USAGE`: unknown subcommand or option, missing argument), 1 any
/// other failure (unreadable slide, unwritable output).
enum HoloHisto {
  static let version = "0.1.0"

  static let help = """
    OVERVIEW: HoloHisto reads whole-slide images and segments them.

    USAGE: holohisto <subcommand> [options]

    SUBCOMMANDS:
      \(pad(InfoCommand.name))\(InfoCommand.summary)
      \(pad(TissueCommand.name))\(TissueCommand.summary)
      \(pad(EvaluateCommand.name))\(EvaluateCommand.summary)
      \(pad(CompareCommand.name))\(CompareCommand.summary)
      \(pad(TrainCommand.name))\(TrainCommand.summary)
      \(pad(SegmentCommand.name))\(SegmentCommand.summary)

    OPTIONS:
      -h, --help  Show this help.
      --version   Show the version.

    Run 'holohisto <subcommand> --help' for a subcommand's arguments.
    """

  /// Runs with `arguments` (without the program name) and returns the exit
  /// status. Never throws or traps for bad input.
  static func main(_ arguments: [String]) -> Int32 {
    do {
      try dispatch(arguments)
      return 0
    } catch let error as UsageError {
      Console.error("holohisto: \(error)")
      return 64
    } catch let error as InferenceError {
      Console.error("holohisto: \(sentence(error))")
      if case .interrupted = error { return 130 }
      return 1
    } catch {
      Console.error("holohisto: \(sentence(error))")
      return 1
    }
  }

  private static func dispatch(_ arguments: [String]) throws {
    guard let first = arguments.first else {
      throw UsageError("missing subcommand (info, tissue, evaluate, compare, train or segment)")
    }
    let rest = Array(arguments.dropFirst())
    switch first {
    case "-h", "--help", "help":
      Console.out(help)
    case "--version":
      Console.out("holohisto \(version)")
    case InfoCommand.name:
      if ArgumentScanner.asksForHelp(rest) {
        return Console.out(InfoCommand.help)
      }
      try InfoCommand(arguments: rest).run()
    case TissueCommand.name:
      if ArgumentScanner.asksForHelp(rest) {
        return Console.out(TissueCommand.help)
      }
      try TissueCommand(arguments: rest).run()
    case EvaluateCommand.name:
      if ArgumentScanner.asksForHelp(rest) {
        return Console.out(EvaluateCommand.help)
      }
      try EvaluateCommand(arguments: rest).run()
    case CompareCommand.name:
      if ArgumentScanner.asksForHelp(rest) {
        return Console.out(CompareCommand.help)
      }
      try CompareCommand(arguments: rest).run()
    case TrainCommand.name:
      if ArgumentScanner.asksForHelp(rest) {
        return Console.out(TrainCommand.help)
      }
      try TrainCommand(arguments: rest).run()
    case SegmentCommand.name:
      if ArgumentScanner.asksForHelp(rest) {
        return Console.out(SegmentCommand.help)
      }
      try SegmentCommand(arguments: rest).run()
    default:
      if first.hasPrefix("-") { throw UsageError("unknown option '\(first)'") }
      throw UsageError(
        "unknown subcommand '\(first)' "
          + "(expected info, tissue, evaluate, compare, train or segment)")
    }
  }

  /// An error as one sentence ending in a full stop. Slide, sampling and
  /// writer errors already are; anything else is described by Swift.
  private static func sentence(_ error: any Error) -> String {
    let line = "\(error)".replacingOccurrences(of: "\n", with: " ")
    return line.hasSuffix(".") ? line : line + "."
  }

  private static func pad(_ name: String) -> String {
    name.padding(toLength: 10, withPad: " ", startingAt: 0)
  }
}
