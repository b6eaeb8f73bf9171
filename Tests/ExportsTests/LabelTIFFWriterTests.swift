import Exports
import Foundation
import SlideIO
import XCTest

final class LabelTIFFWriterTests: XCTestCase {
  /// Writes `mask` in bands of `bandRows` rows.
  private func write(
    _ mask: LabelMask, to path: String, bandRows: Int, options: LabelTIFFWriter.Options
  ) throws -> LabelTIFFWriter {
    let writer = try LabelTIFFWriter(path: path, size: mask.size, options: options)
    var y = 0
    while y < mask.height {
      let rows = min(bandRows, mask.height - y)
      try writer.append(rows: Array(mask.labels[(y * mask.width)..<((y + rows) * mask.width)]))
      y += rows
    }
    try writer.finish()
    return writer
  }

  /// Every level of `path` read back through SlideIO, decoded to labels by
  /// `decode` (RGB → label), compared with the in-memory reference pyramid.
  private func assertPyramid(
    _ path: String, mask: LabelMask, rule: PyramidReduction,
    decode: (UInt8, UInt8, UInt8) -> UInt8?, file: StaticString = #filePath, line: UInt = #line
  ) throws {
    let slide = try Slide(path: path)
    let sizes = LabelPyramid.levelSizes(level0: mask.size, tileSize: LabelTIFFWriter.tileSize)
    XCTAssertEqual(slide.levelCount, sizes.count, "level count", file: file, line: line)
    var reference = mask.labels
    var size = mask.size
    for level in 0..<min(slide.levelCount, sizes.count) {
      if level > 0 {
        (reference, size) = LabelPyramid.reduceLevel(reference, size: size, rule: rule)
      }
      XCTAssertEqual(size, sizes[level], file: file, line: line)
      XCTAssertEqual(
        try slide.size(level: level), size, "level \(level) size", file: file, line: line)
      let image = try slide.readLevel(level)
      var mismatches = 0
      for i in reference.indices {
        let p = i * 3
        let label = decode(image.pixels[p], image.pixels[p + 1], image.pixels[p + 2])
        if label != reference[i] { mismatches += 1 }
      }
      XCTAssertEqual(mismatches, 0, "level \(level): labels differ", file: file, line: line)
    }
  }

  /// The real mosaic (3200×2400, two classes from real glomerulus masks),
  /// grey, bands of 256 rows: five levels; level 0 byte for byte, reduced
  /// levels equal the mode reference.
  func testRealMosaicGreyRoundTripsThroughSlideIO() throws {
    let mask = try TestMasks.mosaic()
    let folder = try TestMasks.scratchFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = (folder as NSString).appendingPathComponent("mosaic.tif")

    let writer = try write(
      mask, to: path, bandRows: 256, options: .init(coloring: .grey, micronsPerPixel: 0.5))
    XCTAssertEqual(
      writer.levelSizes,
      [(3200, 2400), (1600, 1200), (800, 600), (400, 300), (200, 150)].map {
        PixelSize(width: $0.0, height: $0.1)
      })
    XCTAssertFalse(writer.isBigTIFF)
    XCTAssertEqual(TestMasks.contents(folder), ["mosaic.tif"], "no temporary file left")
    try assertPyramid(path, mask: mask, rule: .mode) { r, g, b in r == g && g == b ? r : nil }
  }

  /// The same mosaic with the colour map (default), bands of 512 rows:
  /// colours decode back to labels.
  func testRealMosaicPaletteRoundTripsThroughSlideIO() throws {
    let mask = try TestMasks.mosaic()
    let folder = try TestMasks.scratchFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = (folder as NSString).appendingPathComponent("mosaic-palette.tif")
    let classes = LabelClasses([
      LabelClass(value: 1, name: "Glomerulus", color: LabelColor(red: 0, green: 200, blue: 83)),
      LabelClass(value: 2, name: "Glomerulus B", color: LabelColor(red: 255, green: 64, blue: 64)),
    ])
    _ = try write(
      mask, to: path, bandRows: 512, options: .init(classes: classes, micronsPerPixel: 0.5))
    try assertPyramid(path, mask: mask, rule: .mode) { r, g, b in
      switch (r, g, b) {
      case (0, 0, 0): return 0
      case (0, 200, 83): return 1
      case (255, 64, 64): return 2
      default: return nil
      }
    }

    // Stored reads return the class values themselves, not the colours.
    let slide = try Slide(path: path)
    var stored = RGBImage(width: 0, height: 0)
    try slide.readRegion(
      levelOrigin: LevelPoint(x: 0, y: 0), level: 0, size: slide.dimensions, into: &stored,
      values: .stored)
    let values = stride(from: 0, to: stored.pixels.count, by: 3).map { stored.pixels[$0] }
    XCTAssertEqual(values, mask.labels)

    try keepForPythonCheck(path, mask: mask)
  }

  /// Synthetic odd-sized mask (1001×777, labels from a fixed formula with
  /// one-pixel objects), bands of 100 rows, nearest reduction, BigTIFF:
  /// edge tiles, odd halving and the partial last band all round-trip.
  func testSyntheticOddSizeNearestBigTIFF() throws {
    let width = 1001
    let height = 777
    var labels = [UInt8](repeating: 0, count: width * height)
    for y in 0..<height {
      for x in 0..<width {
        labels[y * width + x] = UInt8(((x / 7) ^ (y / 5)) % 4 == 0 ? (x + y) % 5 : 0)
      }
    }
    let mask = LabelMask(width: width, height: height, labels: labels)
    let folder = try TestMasks.scratchFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = (folder as NSString).appendingPathComponent("odd.tif")

    let writer = try write(
      mask, to: path, bandRows: 100,
      options: .init(reduction: .nearest, coloring: .grey, container: .bigTIFF))
    XCTAssertTrue(writer.isBigTIFF)
    XCTAssertEqual(writer.levelSizes.map(\.width), [1001, 501, 251])
    XCTAssertEqual(writer.levelSizes.map(\.height), [777, 389, 195])
    let header = try XCTUnwrap(FileHandle(forReadingAtPath: path)).readData(ofLength: 4)
    XCTAssertEqual(Array(header), [0x49, 0x49, 43, 0], "little-endian BigTIFF header")
    try assertPyramid(path, mask: mask, rule: .nearest) { r, g, b in r == g && g == b ? r : nil }
    try keepForPythonCheck(path, mask: mask)
  }

  /// With `HOLOHISTO_EXPORTS_KEEP=folder` in the environment, copies the
  /// TIFF there and writes its level-0 labels beside it as a grey PNG
  /// (`<name>.labels.png`), for `scripts/check_label_tiff.py --reference`.
  private func keepForPythonCheck(_ path: String, mask: LabelMask) throws {
    guard let keep = ProcessInfo.processInfo.environment["HOLOHISTO_EXPORTS_KEEP"] else { return }
    let name = (path as NSString).lastPathComponent
    let kept = (keep as NSString).appendingPathComponent(name)
    try? FileManager.default.removeItem(atPath: kept)
    try FileManager.default.copyItem(atPath: path, toPath: kept)
    try PNGWriter.writeGrey(
      samples: mask.labels, width: mask.width, height: mask.height,
      to: (keep as NSString).appendingPathComponent(
        ((name as NSString).deletingPathExtension) + ".labels.png"))
  }

  /// Synthetic 700×531 mask: bands of 1, 256, 300 and all rows give
  /// byte-identical files (band height only changes when tiles are cut).
  func testSyntheticBandHeightDoesNotChangeTheFile() throws {
    let width = 700
    let height = 531
    let labels = (0..<(width * height)).map { i -> UInt8 in
      let (x, y) = (i % width, i / width)
      return (x * x + 3 * y * y) % 97 < 20 ? UInt8(1 + (x / 50 + y / 40) % 3) : 0
    }
    let mask = LabelMask(width: width, height: height, labels: labels)
    let folder = try TestMasks.scratchFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    var files: [Data] = []
    for rows in [1, 256, 300, height] {
      let path = (folder as NSString).appendingPathComponent("bands-\(rows).tif")
      _ = try write(mask, to: path, bandRows: rows, options: .init())
      files.append(try Data(contentsOf: URL(fileURLWithPath: path)))
    }
    XCTAssertEqual(Set(files).count, 1, "files differ with the band height")
    // default colour map: background black, classes 1…3 from the cycle
    let colors = (0...3).map { LabelClasses()[UInt8($0)].color }
    try assertPyramid(
      (folder as NSString).appendingPathComponent("bands-1.tif"), mask: mask, rule: .mode
    ) { r, g, b in
      colors.firstIndex(of: LabelColor(red: r, green: g, blue: b)).map(UInt8.init)
    }
  }

  /// Background rows pushed as a count give the same file, byte for byte,
  /// as pushing their zeros (a synthetic mask: objects in a few row bands,
  /// with whole background bands and runs of every length between).
  func testSyntheticBackgroundRowsEqualZeros() throws {
    let width = 900
    let height = 1400
    let labels = (0..<(width * height)).map { i -> UInt8 in
      let (x, y) = (i % width, i / width)
      let inBand = (300..<420).contains(y) || (700..<703).contains(y) || y == 1399
      return inBand && (x * 7 + y * 3) % 61 < 25 ? UInt8(1 + x % 2) : 0
    }
    let mask = LabelMask(width: width, height: height, labels: labels)
    let folder = try TestMasks.scratchFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let zeros = (folder as NSString).appendingPathComponent("zeros.tif")
    _ = try write(mask, to: zeros, bandRows: 37, options: .init())

    let counted = (folder as NSString).appendingPathComponent("counted.tif")
    let writer = try LabelTIFFWriter(path: counted, size: mask.size, options: .init())
    var y = 0
    while y < height {
      let row = Array(labels[(y * width)..<((y + 1) * width)])
      var run = 1
      if row.allSatisfy({ $0 == 0 }) {
        while y + run < height
          && labels[((y + run) * width)..<((y + run + 1) * width)].allSatisfy({ $0 == 0 })
        { run += 1 }
        try writer.appendBackground(rows: run)
      } else {
        try writer.append(rows: row)
      }
      y += run
    }
    try writer.finish()
    XCTAssertEqual(
      try Data(contentsOf: URL(fileURLWithPath: zeros)),
      try Data(contentsOf: URL(fileURLWithPath: counted)))
    let colors = (0...2).map { LabelClasses()[UInt8($0)].color }
    try assertPyramid(counted, mask: mask, rule: .mode) { r, g, b in
      colors.firstIndex(of: LabelColor(red: r, green: g, blue: b)).map(UInt8.init)
    }

    // More background rows than the mask has: refused, nothing left.
    let small = (folder as NSString).appendingPathComponent("small.tif")
    let tooMany = try LabelTIFFWriter(
      path: small, size: PixelSize(width: 10, height: 10), options: .init())
    try tooMany.appendBackground(rows: 4)
    XCTAssertThrowsError(try tooMany.appendBackground(rows: 7)) { error in
      XCTAssertEqual(
        error as? ExportError,
        .tooManyRows(path: small, height: 10, rowsWritten: 4, rowsOffered: 7))
    }
    XCTAssertEqual(
      try FileManager.default.contentsOfDirectory(atPath: folder).sorted(),
      ["counted.tif", "zeros.tif"])
  }

  /// The mode rule on single blocks, ties going to the larger value, and
  /// partial blocks (a synthetic check of the documented rule).
  func testModeRule() {
    XCTAssertEqual(LabelPyramid.reduce(0, 0, 0, 1, rule: .mode), 0)
    XCTAssertEqual(LabelPyramid.reduce(0, 0, 1, 1, rule: .mode), 1)
    XCTAssertEqual(LabelPyramid.reduce(2, 0, 1, 0, rule: .mode), 0)
    XCTAssertEqual(LabelPyramid.reduce(3, 1, 2, 0, rule: .mode), 3)
    XCTAssertEqual(LabelPyramid.reduce(1, 2, 2, 1, rule: .mode), 2)
    XCTAssertEqual(LabelPyramid.reduce(5, 0, 0, 0, rule: .nearest), 5)
    XCTAssertEqual(LabelPyramid.reduceBlock([0, 4], rule: .mode), 4)
    XCTAssertEqual(LabelPyramid.reduceBlock([7], rule: .mode), 7)
    // the writer's padding for a last column (b = a, d = c) keeps the mode
    XCTAssertEqual(LabelPyramid.reduce(0, 0, 4, 4, rule: .mode), 4)
  }

  func testClassicOrBigTIFFByWorstCase() throws {
    let folder = try TestMasks.scratchFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    // 100 000² could pass 4 GiB uncompressed: BigTIFF; nothing is written
    // until rows arrive, and cancel removes the temporary files
    let big = try LabelTIFFWriter(
      path: (folder as NSString).appendingPathComponent("big.tif"),
      size: PixelSize(width: 100_000, height: 100_000))
    XCTAssertTrue(big.isBigTIFF)
    XCTAssertEqual(big.levelSizes.count, 10)
    XCTAssertEqual(big.levelSizes.last, PixelSize(width: 196, height: 196))
    big.cancel()
    XCTAssertEqual(TestMasks.contents(folder), [])
  }

  // MARK: Bad input

  func testMissingFolderIsRefusedAndLeavesNothing() throws {
    let folder = try TestMasks.scratchFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = (folder as NSString).appendingPathComponent("missing/out.tif")
    XCTAssertThrowsError(
      try LabelTIFFWriter(path: path, size: PixelSize(width: 10, height: 10))
    ) { error in
      guard case ExportError.writeFailed(let shown, let detail) = error else {
        return XCTFail("unexpected \(error)")
      }
      XCTAssertEqual(shown, path)
      XCTAssertTrue(detail.contains("does not exist"), detail)
      XCTAssertTrue(String(describing: error).hasPrefix(path))
    }
    XCTAssertEqual(TestMasks.contents(folder), [])
  }

  func testInvalidSizeAndResolution() throws {
    let folder = try TestMasks.scratchFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = (folder as NSString).appendingPathComponent("out.tif")
    XCTAssertThrowsError(try LabelTIFFWriter(path: path, size: PixelSize(width: 0, height: 5))) {
      XCTAssertEqual(
        $0 as? ExportError,
        .invalidSize(path: path, what: "label mask", size: PixelSize(width: 0, height: 5)))
    }
    XCTAssertThrowsError(
      try LabelTIFFWriter(
        path: path, size: PixelSize(width: 5, height: 5), options: .init(micronsPerPixel: -1))
    ) {
      XCTAssertEqual($0 as? ExportError, .invalidResolution(path: path, micronsPerPixel: -1))
    }
    XCTAssertEqual(TestMasks.contents(folder), [])
  }

  func testBadBandsCloseTheWriterAndLeaveNothing() throws {
    let folder = try TestMasks.scratchFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = (folder as NSString).appendingPathComponent("out.tif")
    let size = PixelSize(width: 600, height: 300)

    // a partial row
    var writer = try LabelTIFFWriter(path: path, size: size)
    XCTAssertThrowsError(try writer.append(rows: [UInt8](repeating: 1, count: 601))) {
      XCTAssertEqual($0 as? ExportError, .partialRow(path: path, byteCount: 601, width: 600))
    }
    XCTAssertEqual(TestMasks.contents(folder), [])
    XCTAssertThrowsError(try writer.finish()) {
      XCTAssertEqual($0 as? ExportError, .writerClosed(path: path))
    }

    // too many rows, after a band that already wrote tiles
    writer = try LabelTIFFWriter(path: path, size: size)
    try writer.append(rows: [UInt8](repeating: 1, count: 600 * 256))
    XCTAssertThrowsError(try writer.append(rows: [UInt8](repeating: 1, count: 600 * 45))) {
      XCTAssertEqual(
        $0 as? ExportError,
        .tooManyRows(path: path, height: 300, rowsWritten: 256, rowsOffered: 45))
    }
    XCTAssertEqual(TestMasks.contents(folder), [])

    // finishing early
    writer = try LabelTIFFWriter(path: path, size: size)
    try writer.append(rows: [UInt8](repeating: 1, count: 600 * 10))
    XCTAssertThrowsError(try writer.finish()) {
      XCTAssertEqual($0 as? ExportError, .incomplete(path: path, height: 300, rowsWritten: 10))
    }
    XCTAssertEqual(TestMasks.contents(folder), [])

    // dropped unfinished
    do {
      let dropped = try LabelTIFFWriter(path: path, size: size)
      try dropped.append(rows: [UInt8](repeating: 1, count: 600 * 256))
    }
    XCTAssertEqual(TestMasks.contents(folder), [])
  }

  /// A failed write keeps the previous file at the destination untouched.
  func testExistingDestinationSurvivesAFailure() throws {
    let folder = try TestMasks.scratchFolder()
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = (folder as NSString).appendingPathComponent("out.tif")
    try Data("old".utf8).write(to: URL(fileURLWithPath: path))
    let writer = try LabelTIFFWriter(path: path, size: PixelSize(width: 20, height: 20))
    XCTAssertThrowsError(try writer.finish())
    XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "old")
    XCTAssertEqual(TestMasks.contents(folder), ["out.tif"])
  }
}
