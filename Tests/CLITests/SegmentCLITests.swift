import Foundation
import SlideIO
import XCTest

/// `holohisto segment` with the shipped glomerulus model: cohorts, bad
/// input, and tiling that does not show in the mask.
final class SegmentCLITests: XCTestCase {
  let model = CLIRunner.root.appendingPathComponent("models/glomeruli/holohisto").path
  let tile = CLIRunner.root.appendingPathComponent("demo/kidney-pas-163.jpg").path
  let cmu = CLIRunner.data("wsi/CMU-1-Small-Region.svs")

  /// A 400×300 crop of bare glass from the real CMU slide (its left edge,
  /// 1800 rows down), saved as PNG: a slide without tissue.
  func glass(in folder: URL) throws -> String {
    let path = folder.appendingPathComponent("glass.png").path
    let image = try Slide(path: cmu).readRegion(
      levelOrigin: LevelPoint(x: 0, y: 1800), level: 0,
      size: PixelSize(width: 400, height: 300))
    try PNGWriter.write(image, to: path)
    return path
  }

  func labels(_ path: String) throws -> (width: Int, values: [UInt8]) {
    var image = RGBImage(width: 0, height: 0)
    let slide = try Slide(path: path)
    try slide.readRegion(
      levelOrigin: LevelPoint(x: 0, y: 0), level: 0, size: slide.dimensions, into: &image,
      values: .stored)
    return (image.width, stride(from: 0, to: image.pixels.count, by: 3).map { image.pixels[$0] })
  }

  /// Two overlaps give the same mask except at object edges: every pixel
  /// where they differ lies within 6 pixels of a boundary, and they differ
  /// on under 0.2% of the tile (measured: 0.035%, all within 4 pixels).
  /// No tile-border seams: the disagreement is not along tile lines.
  func testTwoOverlapsAgreeAwayFromObjectEdges() throws {
    let work = try temporaryFolder(self)
    var masks: [[UInt8]] = []
    var width = 0
    for overlap in ["32", "96"] {
      let out = work.appendingPathComponent("o\(overlap).tif").path
      let run = try CLIRunner.run([
        "segment", tile, "--model", model, "--downsample", "2", "--tile", "256",
        "--overlap", overlap, "-o", out,
      ])
      XCTAssertEqual(run.status, 0, run.stderr)
      let read = try labels(out)
      width = read.width
      masks.append(read.values)
    }
    let (a, b) = (masks[0], masks[1])
    XCTAssertEqual(a.count, 1600 * 1200)
    let glomerulus = a.filter { $0 == 1 }.count
    XCTAssertGreaterThan(glomerulus, 30_000, "the tile's glomerulus is found")
    let differing = a.indices.filter { a[$0] != b[$0] }
    XCTAssertLessThan(Double(differing.count) / Double(a.count), 0.002)

    func isBoundary(_ i: Int) -> Bool {
      let x = i % width, y = i / width
      for (dx, dy) in [(1, 0), (-1, 0), (0, 1), (0, -1)] {
        let nx = x + dx, ny = y + dy
        guard nx >= 0, ny >= 0, nx < width, ny < 1200 else { continue }
        if a[ny * width + nx] != a[i] { return true }
      }
      return false
    }
    for i in differing {
      let x = i % width, y = i / width
      var near = false
      for ny in max(0, y - 6)...min(1199, y + 6) where !near {
        for nx in max(0, x - 6)...min(width - 1, x + 6) where isBoundary(ny * width + nx) {
          near = true
          break
        }
      }
      XCTAssertTrue(near, "pixel (\(x), \(y)) differs away from any object edge")
      if !near { break }
    }
  }

  /// A cohort: complete slides are skipped on a second run, a failing
  /// slide is reported and the others still run, shards split the list.
  func testManifestSkipsCompleteSlidesAndReportsFailures() throws {
    let work = try temporaryFolder(self)
    let glass = try glass(in: work)
    let out = work.appendingPathComponent("out")
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: false)
    let manifest = work.appendingPathComponent("slides.csv").path
    try "slide,downsample,output\n\(tile),4,kidney.tif\nglass.png,4,\n".write(
      toFile: manifest, atomically: true, encoding: .utf8)

    let first = try CLIRunner.run([
      "segment", "--manifest", manifest, "--output-dir", out.path, "--model", model,
    ])
    XCTAssertEqual(first.status, 1)
    XCTAssertTrue(first.stdout.contains("slides: 1 segmented, 0 already complete, 1 failed"))
    XCTAssertTrue(
      first.stderr.contains("\(glass): no tissue was found, so there is nothing to segment."),
      first.stderr)
    XCTAssertTrue(first.stderr.contains("1 of 2 slides failed (\(glass))"), first.stderr)
    let names = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
    XCTAssertEqual(
      names, ["kidney.geojson", "kidney.overlay.png", "kidney.summary.json", "kidney.tif"])

    let second = try CLIRunner.run([
      "segment", "--manifest", manifest, "--output-dir", out.path, "--model", model,
      "--shard", "0/2",
    ])
    XCTAssertEqual(second.status, 0, second.stderr)
    XCTAssertTrue(second.stderr.contains("shard 0/2: 1 of 2 slides"), second.stderr)
    XCTAssertTrue(second.stderr.contains("complete, skipped"), second.stderr)
    XCTAssertTrue(second.stdout.contains("slides: 0 segmented, 1 already complete, 0 failed"))

    // The Slurm array task picks the shard when --shard is absent.
    let slurm = try CLIRunner.run(
      ["segment", "--manifest", manifest, "--output-dir", out.path, "--model", model],
      environment: ["SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "1",
        "SLURM_ARRAY_TASK_COUNT": "2"])
    XCTAssertEqual(slurm.status, 1)
    XCTAssertTrue(slurm.stderr.contains("shard 1/2: 1 of 2 slides"), slurm.stderr)
  }

  /// Bad input ends with one sentence naming the file, status 1, and no
  /// file left in the output folder.
  func testBadInputLeavesNothing() throws {
    let work = try temporaryFolder(self)
    let out = work.appendingPathComponent("out")
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: false)
    let mask = out.appendingPathComponent("m.tif").path

    // A model file that is not a model.
    let fake = work.appendingPathComponent("fake").path
    try "not a model".write(toFile: fake + ".json", atomically: true, encoding: .utf8)
    try Data(repeating: 1, count: 64).write(to: URL(fileURLWithPath: fake + ".safetensors"))
    let notModel = try CLIRunner.run([
      "segment", tile, "--model", fake, "--downsample", "2", "-o", mask,
    ])
    XCTAssertEqual(notModel.status, 1)
    XCTAssertTrue(notModel.stderr.contains(fake), notModel.stderr)
    XCTAssertEqual(notModel.stderr.split(separator: "\n").count, 1, notModel.stderr)

    // An output path in a folder that does not exist.
    let missing = work.appendingPathComponent("no/such/m.tif").path
    let noFolder = try CLIRunner.run([
      "segment", tile, "--model", model, "--downsample", "2", "-o", missing,
    ])
    XCTAssertEqual(noFolder.status, 1)
    XCTAssertTrue(noFolder.stderr.contains("does not exist"), noFolder.stderr)

    // A slide without tissue.
    let glass = try glass(in: work)
    let bare = try CLIRunner.run([
      "segment", glass, "--model", model, "--downsample", "2", "-o", mask,
    ])
    XCTAssertEqual(bare.status, 1)
    XCTAssertEqual(
      bare.stderr, "holohisto: \(glass): no tissue was found, so there is nothing to segment.\n")

    // Settings that cannot work: usage errors before any work; a scale
    // whose buffers would be absurd: one sentence.
    for (extra, status, text) in [
      (["--downsample", "2", "--tile", "100", "--overlap", "50"], Int32(64), "less than half"),
      (["--downsample", "2", "--output-format-check"], 64, ".tif"),
      (["--downsample", "0.001"], 1, "blending buffer"),
      (["--downsample", "300"], 1, "-pixel reads per tile"),
    ] {
      let png = extra.last == "--output-format-check"
      var arguments = ["segment", tile, "--model", model, "-o", png ? mask + ".png" : mask]
      arguments.insert(contentsOf: extra.filter { $0 != "--output-format-check" }, at: 2)
      let run = try CLIRunner.run(arguments)
      XCTAssertEqual(run.status, status, "\(extra): \(run.stderr)")
      XCTAssertTrue(run.stderr.contains(text), "\(extra): \(run.stderr)")
    }
    let slurm = try CLIRunner.run(
      ["segment", "--manifest", "m.csv", "--output-dir", out.path, "--model", model],
      environment: ["SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "2"])
    XCTAssertEqual(slurm.status, 64, slurm.stderr)
    XCTAssertTrue(slurm.stderr.contains("SLURM_ARRAY_TASK_ID=3"), slurm.stderr)

    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out.path), [])
  }

  /// Ctrl-C stops at the next model call through the normal clean-up:
  /// status 130, one sentence, nothing half-written left.
  func testInterruptLeavesNothing() throws {
    let work = try temporaryFolder(self)
    let mask = work.appendingPathComponent("m.tif").path
    let process = Process()
    process.executableURL = try CLIRunner.executable()
    process.arguments = [
      "segment", CLIRunner.root.appendingPathComponent("demo/kidney-mosaic.tif").path,
      "--model", model, "--downsample", "2", "-o", mask,
    ]
    let errors = Pipe()
    process.standardError = errors
    process.standardOutput = FileHandle.nullDevice
    try process.run()
    // Wait for the first progress line, then interrupt.
    let handle = errors.fileHandleForReading
    var seen = Data()
    while !String(decoding: seen, as: UTF8.self).contains("tiles ") {
      let chunk = handle.availableData
      if chunk.isEmpty { break }
      seen += chunk
    }
    kill(process.processIdentifier, SIGINT)
    seen += handle.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: seen, as: UTF8.self)
    XCTAssertEqual(process.terminationStatus, 130, text)
    XCTAssertTrue(text.contains("\(mask): interrupted; nothing was written"), text)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: work.path), [])
  }
}
