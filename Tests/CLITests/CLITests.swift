import Foundation
import XCTest

/// End-to-end runs of the `holohisto` binary: what it prints, on which
/// stream, and with which exit status.
final class CLITests: XCTestCase {
  let cmu = CLIRunner.data("wsi/CMU-1-Small-Region.svs")

  /// Checks a failed run: `status`, nothing on stdout, and exactly one line
  /// on stderr that starts with "holohisto: ", ends with a full stop and
  /// contains each of `fragments`.
  func assertFailure(
    _ outcome: CLIRunner.Outcome, status: Int32, mentions fragments: [String],
    file: StaticString = #filePath, line: UInt = #line
  ) {
    XCTAssertEqual(
      outcome.status, status, outcome.stderr, file: file, line: line)
    XCTAssertEqual(outcome.stdout, "", file: file, line: line)
    let lines = outcome.stderr.split(
      separator: "\n", omittingEmptySubsequences: false)
    XCTAssertEqual(
      lines.count, 2, "one line then the newline: \(outcome.stderr)",
      file: file, line: line)
    let message = String(lines.first ?? "")
    XCTAssertTrue(
      message.hasPrefix("holohisto: "), message, file: file, line: line)
    XCTAssertTrue(message.hasSuffix("."), message, file: file, line: line)
    for fragment in fragments {
      XCTAssertTrue(
        message.contains(fragment), "'\(fragment)' in: \(message)", file: file,
        line: line)
    }
  }

  // MARK: info

  func testInfoOnCMU() throws {
    let outcome = try CLIRunner.run(["info", cmu])
    XCTAssertEqual(outcome.status, 0, outcome.stderr)
    XCTAssertEqual(outcome.stderr, "")
    XCTAssertEqual(
      outcome.stdout,
      """
      file: \(cmu)
      vendor: aperio
      dimensions: 2220×2967 px (level 0)
      mpp: x 0.499, y 0.499 µm per level-0 pixel
      objective power: 20
      associated images: label, macro, thumbnail
      levels: 1
        level 0: 2220×2967 px, downsample 1

      """)
  }

  func testInfoOnBRACSShowsLevelsAndUnknownMPP() throws {
    // its resolution tag says 1000 µm/px: implausible, so unknown
    let bracs = CLIRunner.data("wsi/BRACS_1640_N_3_cropped.tiff")
    let outcome = try CLIRunner.run(["info", bracs])
    XCTAssertEqual(outcome.status, 0, outcome.stderr)
    let lines = outcome.stdout.split(separator: "\n").map(String.init)
    XCTAssertTrue(lines.contains("vendor: generic-tiff"), outcome.stdout)
    XCTAssertTrue(lines.contains("mpp: unknown"), outcome.stdout)
    XCTAssertTrue(lines.contains("levels: 3"), outcome.stdout)
    XCTAssertTrue(
      lines.contains("  level 1: 325×371 px, downsample 2.0013"), outcome.stdout
    )
    XCTAssertTrue(
      lines.contains("  level 2: 162×185 px, downsample 4.0143"), outcome.stdout
    )
  }

  func testInfoJSONParses() throws {
    let outcome = try CLIRunner.run(["info", "--json", cmu])
    XCTAssertEqual(outcome.status, 0, outcome.stderr)
    XCTAssertEqual(outcome.stdout.filter { $0 == "\n" }.count, 1, "one line")
    let object = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8))
        as? [String: Any])
    XCTAssertEqual(object["path"] as? String, cmu)
    XCTAssertEqual(object["vendor"] as? String, "aperio")
    XCTAssertEqual(object["width"] as? Int, 2220)
    XCTAssertEqual(object["height"] as? Int, 2967)
    XCTAssertEqual(
      try XCTUnwrap(object["mppX"] as? Double), 0.499, accuracy: 1e-9)
    XCTAssertEqual(
      try XCTUnwrap(object["mppY"] as? Double), 0.499, accuracy: 1e-9)
    XCTAssertEqual(object["objectivePower"] as? Double, 20)
    XCTAssertEqual(
      object["associatedImages"] as? [String], ["label", "macro", "thumbnail"])
    let levels = try XCTUnwrap(object["levels"] as? [[String: Any]])
    XCTAssertEqual(levels.count, 1)
    XCTAssertEqual(levels.first?["width"] as? Int, 2220)
    XCTAssertEqual(levels.first?["downsample"] as? Double, 1)
  }

  func testInfoJSONWritesNullForUnknownMPP() throws {
    let bracs = CLIRunner.data("wsi/BRACS_1640_N_3_cropped.tiff")
    let outcome = try CLIRunner.run(["info", bracs, "--json"])
    XCTAssertEqual(outcome.status, 0, outcome.stderr)
    let object = try XCTUnwrap(
      JSONSerialization.jsonObject(with: Data(outcome.stdout.utf8))
        as? [String: Any])
    XCTAssertTrue(object["mppX"] is NSNull)
    XCTAssertTrue(object["objectivePower"] is NSNull)
    XCTAssertEqual((object["levels"] as? [Any])?.count, 3)
  }

  // MARK: tissue

  func testTissueWritesAPNGAndPrintsTheFraction() throws {
    let folder = try temporaryFolder(self)
    let png = folder.appendingPathComponent("mask.png")
    let outcome = try CLIRunner.run(["tissue", cmu, "-o", png.path])
    XCTAssertEqual(outcome.status, 0, outcome.stderr)
    XCTAssertEqual(outcome.stderr, "")

    // "tissue fraction F (level 0, downsample 2, 1110×1484 px)", F within 3
    // points of scikit-image's 0.332 (see SamplingTests)
    let prefix = "tissue fraction "
    let suffix = " (level 0, downsample 2, 1110×1484 px)\n"
    XCTAssertTrue(outcome.stdout.hasPrefix(prefix), outcome.stdout)
    XCTAssertTrue(outcome.stdout.hasSuffix(suffix), outcome.stdout)
    let number = outcome.stdout.dropFirst(prefix.count).dropLast(suffix.count)
    XCTAssertEqual(try XCTUnwrap(Double(number)), 0.332, accuracy: 0.03)

    // a real PNG: signature, then IHDR with 1110×1484, 8-bit grey
    let bytes = [UInt8](try Data(contentsOf: png))
    XCTAssertEqual(
      Array(bytes.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    XCTAssertEqual(String(decoding: bytes[12..<16], as: UTF8.self), "IHDR")
    let bigEndian = { (at: Int) in
      bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) }
    }
    XCTAssertEqual(bigEndian(16), 1110)
    XCTAssertEqual(bigEndian(20), 1484)
    XCTAssertEqual(bytes[24], 8, "bit depth")
    XCTAssertEqual(bytes[25], 0, "colour type grey")

    // nothing else left in the folder (no temporary file)
    XCTAssertEqual(
      try FileManager.default.contentsOfDirectory(atPath: folder.path),
      ["mask.png"])
  }

  func testTissueAtAnExplicitLevel() throws {
    let bracs = CLIRunner.data("wsi/BRACS_1640_N_3_cropped.tiff")
    let folder = try temporaryFolder(self)
    let png = folder.appendingPathComponent("m.png").path
    let outcome = try CLIRunner.run([
      "tissue", bracs, "--level", "2", "--output", png,
    ])
    XCTAssertEqual(outcome.status, 0, outcome.stderr)
    XCTAssertEqual(
      outcome.stdout,
      "tissue fraction 1.000 (level 2, downsample 4.0143, 162×185 px)\n")
  }

  func testTissueIntoAMissingFolderLeavesNothing() throws {
    let folder = try temporaryFolder(self)
    let png = folder.appendingPathComponent("no/such/folder/mask.png").path
    let outcome = try CLIRunner.run(["tissue", cmu, "-o", png])
    assertFailure(outcome, status: 1, mentions: [png, "does not exist"])
    XCTAssertEqual(
      try FileManager.default.contentsOfDirectory(atPath: folder.path), [])
  }

  func testTissueOnALevelThatDoesNotExist() throws {
    let folder = try temporaryFolder(self)
    let png = folder.appendingPathComponent("mask.png").path
    let outcome = try CLIRunner.run(["tissue", cmu, "-o", png, "--level", "5"])
    assertFailure(outcome, status: 1, mentions: [cmu, "level 5"])
    XCTAssertFalse(FileManager.default.fileExists(atPath: png))
  }

  // MARK: bad slides

  func testMissingFile() throws {
    let folder = try temporaryFolder(self)
    let path = folder.appendingPathComponent("absent.svs").path
    assertFailure(
      try CLIRunner.run(["info", path]), status: 1,
      mentions: [path, "no such file"])
  }

  func testDirectory() throws {
    let folder = try temporaryFolder(self)
    let outcome = try CLIRunner.run(["info", folder.path])
    assertFailure(outcome, status: 1, mentions: [folder.path, "directory"])
  }

  func testEmptyFile() throws {
    let folder = try temporaryFolder(self)
    let path = folder.appendingPathComponent("empty.svs").path
    XCTAssertTrue(
      FileManager.default.createFile(atPath: path, contents: Data()))
    assertFailure(
      try CLIRunner.run(["info", path]), status: 1, mentions: [path, "empty"])
  }

  func testTextFileNamedSVS() throws {
    let folder = try temporaryFolder(self)
    let path = folder.appendingPathComponent("notes.svs").path
    try Data("these are notes, not a slide\n".utf8).write(
      to: URL(fileURLWithPath: path))
    let outcome = try CLIRunner.run(["info", path])
    assertFailure(outcome, status: 1, mentions: [path, "not a slide format"])
  }

  func testTruncatedTIFF() throws {
    let truncated = CLIRunner.root
      .appendingPathComponent("Tests/SlideIOTests/Fixtures/truncated.tif").path
    // whether opening already fails or only reading the cut tile does, the
    // tissue command must end in one sentence and status 1, with no PNG
    let folder = try temporaryFolder(self)
    let png = folder.appendingPathComponent("mask.png").path
    let outcome = try CLIRunner.run(["tissue", truncated, "-o", png])
    assertFailure(outcome, status: 1, mentions: [truncated])
    XCTAssertEqual(
      try FileManager.default.contentsOfDirectory(atPath: folder.path), [])
  }

  // MARK: usage

  func testUnknownSubcommand() throws {
    let outcome = try CLIRunner.run(["frobnicate", cmu])
    assertFailure(
      outcome, status: 64, mentions: ["unknown subcommand 'frobnicate'"])
  }

  func testNoSubcommand() throws {
    assertFailure(
      try CLIRunner.run([]), status: 64, mentions: ["missing subcommand"])
  }

  func testUnknownOption() throws {
    let outcome = try CLIRunner.run(["info", cmu, "--colour"])
    assertFailure(
      outcome, status: 64, mentions: ["--colour", "holohisto info --help"])
  }

  func testMissingOutput() throws {
    let outcome = try CLIRunner.run(["tissue", cmu])
    assertFailure(
      outcome, status: 64, mentions: ["-o", "holohisto tissue --help"])
  }

  func testOutputWithoutValue() throws {
    assertFailure(
      try CLIRunner.run(["tissue", cmu, "-o"]), status: 64, mentions: ["'-o'"])
  }

  func testMissingSlide() throws {
    assertFailure(try CLIRunner.run(["info"]), status: 64, mentions: ["SLIDE"])
  }

  func testBadLevel() throws {
    let outcome = try CLIRunner.run([
      "tissue", cmu, "-o", "/tmp/x.png", "--level", "two",
    ])
    assertFailure(outcome, status: 64, mentions: ["--level", "'two'"])
  }

  func testHelpAndVersion() throws {
    let helpCalls = [
      ["--help"], ["-h"], ["info", "--help"], ["tissue", "-h"],
      ["tissue", cmu, "-h"],
    ]
    for arguments in helpCalls {
      let outcome = try CLIRunner.run(arguments)
      XCTAssertEqual(outcome.status, 0, "\(arguments)")
      XCTAssertEqual(outcome.stderr, "", "\(arguments)")
      XCTAssertTrue(outcome.stdout.contains("USAGE: holohisto"), "\(arguments)")
    }
    let top = try CLIRunner.run(["--help"]).stdout
    XCTAssertTrue(top.contains("info") && top.contains("tissue"), top)
    let tissueHelp = try CLIRunner.run(["tissue", "--help"]).stdout
    XCTAssertTrue(tissueHelp.contains("-o, --output FILE"), tissueHelp)

    let version = try CLIRunner.run(["--version"])
    XCTAssertEqual(version.status, 0)
    XCTAssertEqual(version.stdout, "holohisto 0.1.0\n")
  }
}
