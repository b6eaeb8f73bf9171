import Exports
import Foundation
import Inference
import Model
import Sampling
import SlideIO

/// Segmenting one slide into its four outputs: `MASK.tif`, `MASK.geojson`,
/// `MASK.overlay.png`, `MASK.summary.json` (MASK = the output without its
/// .tif/.tiff extension), with a resume journal in `MASK.tif.resume/`.
struct SlideJob {
  /// What every slide of a run shares.
  struct Settings {
    var options = SlideSegmenter.Options()
    /// Level-0 pixels per model pixel; `nil`: from the µm/px.
    var downsample: Double?
    /// Smallest object exported: µm² with a known µm/px, else level-0 px²;
    /// `nil`: 100 model pixels.
    var minimumArea: Double?
    /// Ignore a resume journal.
    var restart = false
  }

  static let classes = LabelClasses([
    LabelClass(value: 1, name: "Glomerulus", color: LabelColor(red: 0, green: 200, blue: 0))
  ])

  let slidePath: String
  let output: String
  let settings: Settings

  /// Checks that every output can be written (folder exists, not an input)
  /// before any work starts.
  init(slide: String, output: String, settings: Settings) throws {
    slidePath = slide
    self.output = output
    self.settings = settings
    for path in [output, geojson, overlay, summaryPath] {
      _ = try OutputFile(path: path, inputs: [slide])
    }
  }

  var stem: String {
    let lower = output.lowercased()
    for suffix in [".tiff", ".tif"] where lower.hasSuffix(suffix) {
      return String(output.dropLast(suffix.count))
    }
    return output
  }
  var geojson: String { stem + ".geojson" }
  var overlay: String { stem + ".overlay.png" }
  var summaryPath: String { stem + ".summary.json" }
  var journalFolder: String { output + ".resume" }

  /// Whether an earlier run finished with these settings: every output
  /// exists (the summary is written last), no resume folder is left, and
  /// the summary's `settings` equal this run's (same slide file, model
  /// files, scale, tiling and minimum area); otherwise the slide is done
  /// again.
  func isComplete(model: SegmentationModel, modelStem: String) -> Bool {
    let files = FileManager.default
    guard [output, geojson, overlay, summaryPath].allSatisfy({ files.fileExists(atPath: $0) }),
      !files.fileExists(atPath: journalFolder),
      let data = files.contents(atPath: summaryPath),
      let summary = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
      let saved = summary["settings"] as? String,
      let slide = try? Slide(path: slidePath),
      let d = try? scale(slide: slide, model: model)
    else { return false }
    return saved == completeIdentity(slide: slide, modelStem: modelStem, downsample: d)
  }

  /// Level-0 pixels per model pixel: the setting, else the model's input
  /// µm/px over the slide's.
  func scale(slide: Slide, model: SegmentationModel) throws -> Double {
    if let downsample = settings.downsample { return downsample }
    guard let mpp = slide.properties.mpp else {
      throw InferenceError.unknownScale(path: slidePath, modelMPP: model.config.inputMpp)
    }
    return model.config.inputMpp / mpp
  }

  func run(model: SegmentationModel, modelStem: String) throws {
    let slide = try Slide(path: slidePath)
    let d = try scale(slide: slide, model: model)
    let tissue = try TissueDetector().detect(in: slide)
    guard tissue.tissuePixelCount > 0 else { throw InferenceError.noTissue(path: slidePath) }

    for path in [output, geojson, overlay, summaryPath] {
      OutputFile.removeStaleTemporaries(of: path)
    }
    if settings.restart { try? FileManager.default.removeItem(atPath: journalFolder) }
    // Settings are checked before the journal folder appears.
    let segmenter = try SlideSegmenter(model: model, options: settings.options)
    let journal = try SegmentationJournal(
      folder: journalFolder,
      identity: identity(slide: slide, modelStem: modelStem, downsample: d))
    if journal.canResume {
      Console.error("resuming from \(journalFolder) at tile row \(journal.resumeTileRow)")
    }
    let writer: LabelTIFFWriter
    do {
      writer = try LabelTIFFWriter(
        path: output, size: slide.dimensions,
        options: .init(classes: Self.classes, micronsPerPixel: slide.properties.mpp),
        inputs: [slidePath])
    } catch {
      journal.close()
      throw error
    }

    let started = Date()
    var lastReport = Date.distantPast
    var summary: SlideSegmenter.Summary
    let queued = WriterQueue(writer)
    do {
      summary = try segmenter.segment(
        slide, downsample: d, tissue: tissue, journal: journal,
        background: { try queued.appendBackground(rows: $0) },
        isCancelled: { Interruption.shared.isRaised }
      ) { rows in
        try queued.append(rows: rows)
      } progress: { done, total in
        let now = Date()
        guard done == total || now.timeIntervalSince(lastReport) >= 1 else { return }
        lastReport = now
        let elapsed = now.timeIntervalSince(started)
        let left = elapsed / Double(max(done, 1)) * Double(total - done)
        Console.error("tiles \(done)/\(total), ETA \(Int(left.rounded())) s")
      }
      // The wall time includes waiting for the queued writes and closing
      // the file, so the model's share is not flattered.
      let draining = Date()
      try queued.finish()
      summary.wallSeconds += Date().timeIntervalSince(draining)
    } catch InferenceError.interrupted {
      queued.cancel()
      journal.close()
      throw InferenceError.interrupted(
        output: output, journal: journal.canResume ? journalFolder : nil)
    } catch {
      queued.cancel()
      journal.close()
      throw error
    }

    let objects: Int
    do {
      objects = try writeExports(
        slide: slide, tissue: tissue, summary: summary, downsample: d, modelStem: modelStem)
    } catch {
      // The mask is complete but its companions are not: drop it too, so
      // a cohort run does not take the slide for done.
      unlink(output)
      journal.remove()
      throw error
    }
    journal.remove()

    let mpp = slide.properties.mpp
    Console.out(
      "slide: \(slidePath) (\(slide.dimensions) px, downsample "
        + "\(Console.number(d)) for the model)")
    Console.out("tiles: \(summary.tissueTiles) with tissue of \(summary.tiles)")
    for (k, pixels) in summary.classPixels.enumerated().dropFirst() {
      let area = mpp.map { String(format: ", %.0f µm²", Double(pixels) * $0 * $0) } ?? ""
      Console.out("class \(k): \(pixels) px\(area)")
    }
    let share = summary.modelSeconds / max(summary.wallSeconds, 1e-9) * 100
    Console.out(
      String(
        format: "time: %.1f s (model %.1f s, %.0f%%; reading %.1f s, of which the model "
          + "waited %.1f s)", summary.wallSeconds, summary.modelSeconds, share,
        summary.readSeconds, summary.readWaitSeconds))
    Console.out("objects: \(objects)")
    Console.out("mask: \(output)")
  }

  /// Everything the mask depends on, so a journal from another run is not
  /// reused: the slide's path, size and modification time, the model's
  /// files' sizes and times, the scale and the tiling.
  func identity(slide: Slide, modelStem: String, downsample: Double) -> String {
    func stamp(_ path: String) -> String {
      let a = try? FileManager.default.attributesOfItem(atPath: path)
      let size = (a?[.size] as? NSNumber)?.intValue ?? -1
      let time = (a?[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
      return "\(size)@\(time)"
    }
    let absolute = URL(fileURLWithPath: slidePath).standardizedFileURL.path
    let o = settings.options
    return [
      "slide \(absolute) \(slide.dimensions) \(stamp(slidePath))",
      "model \(stamp(modelStem + ".json")) \(stamp(modelStem + ".safetensors"))",
      "downsample \(downsample) tile \(o.tileSize) overlap \(o.overlap)",
    ].joined(separator: "; ")
  }

  /// ``identity(slide:modelStem:downsample:)`` plus what only the exports
  /// depend on, recorded in the summary for ``isComplete(model:modelStem:)``.
  func completeIdentity(slide: Slide, modelStem: String, downsample: Double) -> String {
    identity(slide: slide, modelStem: modelStem, downsample: downsample)
      + "; min-area \(settings.minimumArea.map { "\($0)" } ?? "default")"
  }

  /// Traces the written mask at its finest level of at most 16 Mpx, and
  /// writes the GeoJSON, the overlay (at a level of at most 4 Mpx) and the
  /// summary. Returns the number of objects exported.
  func writeExports(
    slide: Slide, tissue: TissueMask, summary: SlideSegmenter.Summary, downsample d: Double,
    modelStem: String
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

    let mpp = slide.properties.mpp
    let minimumPixels =
      settings.minimumArea.map { area in mpp.map { area / ($0 * $0) } ?? area } ?? 100 * d * d
    let traced = ContourTracer.trace(try maskLevel(maxPixels: 16 << 20))
    let kept = traced.filter { $0.level0Area >= minimumPixels }
    let objects = kept.map { $0.fillingHoles(smallerThan: minimumPixels) }
    try GeoJSONWriter.write(
      objects, classes: Self.classes, micronsPerPixel: mpp, to: geojson, inputs: [slidePath])

    let small = try maskLevel(maxPixels: 4 << 20)
    let thumbnailLevel = slide.bestLevel(forDownsample: small.downsample)
    let thumbnailDownsample = try slide.downsample(level: thumbnailLevel)
    let levelSize = try slide.size(level: thumbnailLevel)
    let readSize = PixelSize(
      width: min(
        levelSize.width,
        Int((Double(small.width) * small.downsample / thumbnailDownsample).rounded())),
      height: min(
        levelSize.height,
        Int((Double(small.height) * small.downsample / thumbnailDownsample).rounded())))
    let read = try slide.readRegion(
      levelOrigin: LevelPoint(x: 0, y: 0), level: thumbnailLevel, size: readSize)
    let thumbnail = Resampler.bilinear(
      read, to: small.size,
      scale: SIMD2(
        Double(read.width) / Double(small.width), Double(read.height) / Double(small.height)),
      offset: .zero)
    try OverlayRenderer.write(
      thumbnail: thumbnail, mask: small, classes: Self.classes, to: overlay,
      inputs: [slidePath])

    let level0Pixels = Double(slide.dimensions.width) * Double(slide.dimensions.height)
    let tissueArea = level0Pixels * tissue.fraction
    func microns(_ px: Double) -> Any { mpp.map { px * $0 * $0 } ?? NSNull() }
    let object: [String: Any] = [
      "slide": slidePath, "mask": output, "model": modelStem,
      "width": slide.dimensions.width, "height": slide.dimensions.height,
      "mpp": mpp ?? NSNull(), "downsample": d,
      "object_count": objects.count,
      "objects_below_min_area": traced.count - objects.count,
      "holes_filled": kept.reduce(0) { $0 + $1.holes.count }
        - objects.reduce(0) { $0 + $1.holes.count },
      "min_area_px": minimumPixels, "min_area_um2": microns(minimumPixels),
      "objects": objects.map { o -> [String: Any] in
        ["class": Int(o.classValue), "area_px": o.level0Area, "area_um2": microns(o.level0Area)]
      },
      "class_pixels": summary.classPixels,
      "tissue_area_px": tissueArea.rounded(), "tissue_area_um2": microns(tissueArea),
      "tiles": summary.tiles, "tissue_tiles": summary.tissueTiles,
      "resumed_at_tile_row": summary.resumedAtTileRow,
      "settings": completeIdentity(slide: slide, modelStem: modelStem, downsample: d),
      "seconds": [
        "wall": summary.wallSeconds, "model": summary.modelSeconds,
        "reading": summary.readSeconds, "waiting_for_reads": summary.readWaitSeconds,
      ],
    ]
    let data = try JSONSerialization.data(
      withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
    let file = try OutputFile(path: summaryPath, inputs: [slidePath])
    guard FileManager.default.createFile(atPath: file.temporary, contents: data) else {
      throw SlideError.writeFailed(path: summaryPath, detail: "cannot create it")
    }
    try file.commit()
    return objects.count
  }
}
