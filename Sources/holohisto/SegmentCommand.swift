import Exports
import Foundation
import Inference
import Model
import Sampling
import SlideIO

/// `holohisto segment SLIDE --model STEM -o MASK.tif`: whole-slide
/// segmentation into a pyramidal label TIFF.
struct SegmentCommand {
  static let name = "segment"
  static let summary = "Segment a whole slide into a pyramidal label TIFF."
  static let help = """
    USAGE: holohisto segment SLIDE --model STEM -o MASK.tif [--downsample D]
                             [--tile N] [--overlap N] [--batch N]

    Finds tissue, tiles it at the model's input scale with overlap, runs
    the model on the tissue tiles, blends overlaps (linear ramps), and
    streams the level-0 label mask into a pyramidal tiled TIFF (256×256
    deflate tiles, reduced levels by 2×2 mode, palette colours; class k
    stored as value k, 0 = background). The TIFF appears only once
    complete. Beside it: MASK.geojson (one polygon per object, level-0
    coordinates, holes as inner rings, QuPath's classification form, areas
    in px² and µm²), MASK.overlay.png (the mask over a thumbnail) and
    MASK.summary.json (object count and areas, tissue area, timings).
    Prints tile counts, class areas and where the time went.

    Scale: the model's input µm/px (its config) divided by the slide's;
    slides without a known µm/px need --downsample (level-0 pixels per
    model pixel).

    OPTIONS:
      --model STEM      Model checkpoint (STEM.json + STEM.safetensors).
      -o, --output FILE Where to write the label TIFF (required).
      --downsample D    Level-0 pixels per model pixel (overrides the scale).
      --tile N          Tile edge in model pixels (default 512).
      --overlap N       Overlap between tiles in model pixels (default 64).
      --batch N         Tiles per model call (default 2).
      -h, --help        Show this help.
    """
  static let scanner = ArgumentScanner(
    command: name,
    options: [
      .init(name: "model", short: nil, takesValue: true, valueName: "STEM"),
      .init(name: "output", short: "o", takesValue: true, valueName: "FILE"),
      .init(name: "downsample", short: nil, takesValue: true, valueName: "D"),
      .init(name: "tile", short: nil, takesValue: true, valueName: "N"),
      .init(name: "overlap", short: nil, takesValue: true, valueName: "N"),
      .init(name: "batch", short: nil, takesValue: true, valueName: "N"),
      .init(name: "help", short: "h", takesValue: false),
    ])

  var slidePath: String
  var modelStem: String
  var output: String
  var downsample: Double?
  var options = SlideSegmenter.Options()

  init(arguments: [String]) throws(UsageError) {
    let scanned = try Self.scanner.scan(arguments)
    slidePath = try Positionals.single(scanned.positionals, name: "SLIDE", command: Self.name)
    guard let model = scanned.values["model"], let output = scanned.values["output"] else {
      throw UsageError("'segment' needs --model STEM and -o MASK.tif", command: Self.name)
    }
    modelStem = model
    self.output = output
    func number(_ key: String, _ range: ClosedRange<Int>) throws(UsageError) -> Int? {
      guard let text = scanned.values[key] else { return nil }
      guard let n = Int(text), range.contains(n) else {
        throw UsageError(
          "--\(key) must be a whole number in \(range), got '\(text)'", command: Self.name)
      }
      return n
    }
    if let n = try number("tile", 16...8192) { options.tileSize = n }
    if let n = try number("overlap", 0...4096) { options.overlap = n }
    if let n = try number("batch", 1...64) { options.batchSize = n }
    if let text = scanned.values["downsample"] {
      guard let d = Double(text), d > 0, d <= 1024 else {
        throw UsageError(
          "--downsample must be a number in (0, 1024], got '\(text)'", command: Self.name)
      }
      downsample = d
    }
  }

  func run() throws {
    _ = try OutputFile(path: output, inputs: [slidePath])
    let slide = try Slide(path: slidePath)
    let model = try Checkpoint.load(stem: modelStem)
    let d: Double
    if let downsample {
      d = downsample
    } else if let mpp = slide.properties.mpp {
      d = model.config.inputMpp / mpp
    } else {
      throw InferenceError.unknownScale(path: slidePath, modelMPP: model.config.inputMpp)
    }
    let tissue = try TissueDetector().detect(in: slide)
    guard tissue.tissuePixelCount > 0 else { throw InferenceError.noTissue(path: slidePath) }

    let writer = try LabelTIFFWriter(
      path: output, size: slide.dimensions,
      options: .init(
        classes: LabelClasses([
          LabelClass(value: 1, name: "Glomerulus", color: LabelColor(red: 0, green: 200, blue: 0))
        ]),
        micronsPerPixel: slide.properties.mpp),
      inputs: [slidePath])
    let segmenter = try SlideSegmenter(model: model, options: options)
    let started = Date()
    let summary: SlideSegmenter.Summary
    do {
      summary = try segmenter.segment(slide, downsample: d, tissue: tissue) { rows in
        try writer.append(rows: rows)
      } progress: { done, total in
        let elapsed = Date().timeIntervalSince(started)
        let left = elapsed / Double(done) * Double(total - done)
        Console.error("tiles \(done)/\(total), ETA \(Int(left.rounded())) s")
      }
      try writer.finish()
    } catch {
      writer.cancel()
      throw error
    }

    let exported = try writeExports(slide: slide, tissue: tissue, summary: summary)
    let mpp = slide.properties.mpp
    Console.out("slide: \(slidePath) (\(slide.dimensions) px, downsample "
      + "\(Console.number(d)) for the model)")
    Console.out("tiles: \(summary.tissueTiles) with tissue of \(summary.tiles)")
    for (k, pixels) in summary.classPixels.enumerated().dropFirst() {
      let area = mpp.map { String(format: ", %.0f µm²", Double(pixels) * $0 * $0) } ?? ""
      Console.out("class \(k): \(pixels) px\(area)")
    }
    let share = summary.modelSeconds / max(summary.wallSeconds, 1e-9) * 100
    Console.out(String(
      format: "time: %.1f s (model %.1f s, %.0f%%; reading %.1f s)", summary.wallSeconds,
      summary.modelSeconds, share, summary.readSeconds))
    Console.out("objects: \(exported)")
    Console.out("mask: \(output)")
  }

  /// Paths of the side outputs: `MASK.geojson`, `MASK.overlay.png`,
  /// `MASK.summary.json` (MASK without its .tif/.tiff extension).
  var stem: String {
    let lower = output.lowercased()
    for suffix in [".tiff", ".tif"] where lower.hasSuffix(suffix) {
      return String(output.dropLast(suffix.count))
    }
    return output
  }

  /// Traces the written mask at its finest level of at most 16 Mpx, and
  /// writes the GeoJSON, the overlay (at a level of at most 4 Mpx) and the
  /// summary.
  func writeExports(
    slide: Slide, tissue: TissueMask, summary: SlideSegmenter.Summary
  ) throws -> Int {
    let written = try Slide(path: output)
    func maskLevel(maxPixels: Int) throws -> LabelMask {
      let level =
        written.properties.levels.firstIndex { ($0.size.pixelCount ?? .max) <= maxPixels }
        ?? written.levelCount - 1
      let size = try written.size(level: level)
      var image = RGBImage(width: 0, height: 0)
      try written.readRegion(
        levelOrigin: LevelPoint(x: 0, y: 0), level: level, size: size, into: &image,
        values: .stored)
      let labels = stride(from: 0, to: image.pixels.count, by: 3).map { image.pixels[$0] }
      return LabelMask(
        width: size.width, height: size.height, labels: labels,
        downsample: try written.downsample(level: level))
    }

    let classes = LabelClasses([
      LabelClass(value: 1, name: "Glomerulus", color: LabelColor(red: 0, green: 200, blue: 0))
    ])
    let mpp = slide.properties.mpp
    let objects = ContourTracer.trace(try maskLevel(maxPixels: 16 << 20))
    try GeoJSONWriter.write(
      objects, classes: classes, micronsPerPixel: mpp, to: stem + ".geojson",
      inputs: [slidePath])

    let small = try maskLevel(maxPixels: 4 << 20)
    let thumbnailLevel = slide.bestLevel(forDownsample: small.downsample)
    let thumbnailDownsample = try slide.downsample(level: thumbnailLevel)
    let readSize = PixelSize(
      width: min(
        try slide.size(level: thumbnailLevel).width,
        Int((Double(small.width) * small.downsample / thumbnailDownsample).rounded())),
      height: min(
        try slide.size(level: thumbnailLevel).height,
        Int((Double(small.height) * small.downsample / thumbnailDownsample).rounded())))
    let read = try slide.readRegion(
      levelOrigin: LevelPoint(x: 0, y: 0), level: thumbnailLevel, size: readSize)
    let thumbnail = Resampler.bilinear(
      read, to: small.size,
      scale: SIMD2(
        Double(read.width) / Double(small.width), Double(read.height) / Double(small.height)),
      offset: .zero)
    try OverlayRenderer.write(
      thumbnail: thumbnail, mask: small, classes: classes, to: stem + ".overlay.png",
      inputs: [slidePath])

    let level0Pixels = Double(slide.dimensions.width) * Double(slide.dimensions.height)
    let tissueArea = level0Pixels * tissue.fraction
    func microns(_ px: Double) -> Any { mpp.map { px * $0 * $0 } ?? NSNull() }
    let object: [String: Any] = [
      "slide": slidePath, "mask": output, "model": modelStem,
      "width": slide.dimensions.width, "height": slide.dimensions.height,
      "mpp": mpp ?? NSNull(),
      "object_count": objects.count,
      "objects": objects.map { o -> [String: Any] in
        ["class": Int(o.classValue), "area_px": o.level0Area, "area_um2": microns(o.level0Area)]
      },
      "class_pixels": summary.classPixels,
      "tissue_area_px": tissueArea, "tissue_area_um2": microns(tissueArea),
      "tiles": summary.tiles, "tissue_tiles": summary.tissueTiles,
      "seconds": [
        "wall": summary.wallSeconds, "model": summary.modelSeconds,
        "reading": summary.readSeconds,
      ],
    ]
    let data = try JSONSerialization.data(
      withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
    let file = try OutputFile(path: stem + ".summary.json", inputs: [slidePath])
    guard FileManager.default.createFile(atPath: file.temporary, contents: data) else {
      throw SlideError.writeFailed(path: stem + ".summary.json", detail: "cannot create it")
    }
    try file.commit()
    return objects.count
  }
}
