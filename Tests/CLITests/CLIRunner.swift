import Foundation
import XCTest

/// Runs the built `holohisto` executable and captures what it says.
enum CLIRunner {
  /// What one run produced.
  struct Outcome {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  /// The package root (two levels above this file's folder).
  static let root = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  /// `../shared/data/<relative>` beside the package.
  static func data(_ relative: String) -> String {
    root.deletingLastPathComponent().appendingPathComponent(
      "shared/data/\(relative)"
    ).path
  }

  /// The `holohisto` binary: in the products folder that holds this test
  /// bundle (`.build/<config>/`), found from the running test executable.
  static func executable() throws -> URL {
    var folders: [URL] = []
    let testBundles = Bundle.allBundles.filter { $0.bundlePath.hasSuffix(".xctest") }
    for bundle in testBundles {
      folders.append(bundle.bundleURL.deletingLastPathComponent())
    }
    folders.append(Bundle.main.bundleURL)
    if let main = Bundle.main.executableURL {
      // on Linux the test bundle is itself an executable, or sits inside a
      // `.xctest` folder
      folders.append(main.deletingLastPathComponent())
      folders.append(
        main.deletingLastPathComponent().deletingLastPathComponent())
    }
    for folder in folders {
      let candidate = folder.appendingPathComponent("holohisto")
      if FileManager.default.isExecutableFile(atPath: candidate.path) {
        return candidate
      }
    }
    // `swift build --build-tests` always builds it; its absence is a failure.
    throw CLIRunnerError(
      "no holohisto binary beside the test bundle; looked in \(folders.map(\.path))")
  }

  /// Runs `holohisto` with `arguments` and waits for it.
  /// Slurm job-array variables of the test run itself are not passed on,
  /// so a suite run inside a job array behaves as anywhere else;
  /// `environment` adds or replaces variables.
  static func run(_ arguments: [String], environment: [String: String] = [:]) throws -> Outcome {
    let process = Process()
    process.executableURL = try executable()
    process.arguments = arguments
    var variables = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("SLURM_") }
    variables.merge(environment) { $1 }
    process.environment = variables
    // stdout through a pipe read to its end before waiting, stderr through
    // a file, so neither can fill up and stall the child
    let out = Pipe()
    let errURL = FileManager.default.temporaryDirectory
      .appendingPathComponent("holohisto-stderr-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: errURL) }
    let errHandle = try FileHandle(forWritingTo: errURL)
    defer { try? errHandle.close() }
    process.standardOutput = out
    process.standardError = errHandle
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let errData = try Data(contentsOf: errURL)
    return Outcome(
      status: process.terminationStatus,
      stdout: String(decoding: outData, as: UTF8.self),
      stderr: String(decoding: errData, as: UTF8.self))
  }
}

/// A fresh temporary folder, removed when the test ends.
func temporaryFolder(_ test: XCTestCase) throws -> URL {
  let url = FileManager.default.temporaryDirectory
    .appendingPathComponent("holohisto-cli-test-\(UUID().uuidString)")
  try FileManager.default.createDirectory(
    at: url, withIntermediateDirectories: true)
  test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
  return url
}

/// The CLI under test could not be found or run.
struct CLIRunnerError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
