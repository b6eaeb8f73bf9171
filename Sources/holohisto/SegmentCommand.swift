import Foundation
import Inference
import Model
import SlideIO

/// `holohisto segment SLIDE --model STEM -o MASK.tif`: whole-slide
/// segmentation into a pyramidal label TIFF; with `--manifest`, a cohort.
struct SegmentCommand {
  static let name = "segment"
  static let summary = "Segment a whole slide (or a cohort) into pyramidal label TIFFs."
  static let help = """
    USAGE: holohisto segment SLIDE --model STEM -o MASK.tif [options]
           holohisto segment --manifest SLIDES.csv --output-dir DIR
                             --model STEM [--shard I/N] [options]

    Finds tissue, tiles it at the model's input scale with overlap, runs
    the model on the tissue tiles (the next tiles are read while the model
    runs), blends overlaps (linear ramps), and streams the level-0 label
    mask into a pyramidal tiled TIFF (256×256 deflate tiles, reduced levels
    by 2×2 mode, palette colours; class k stored as value k, 0 =
    background). The TIFF appears only once complete. Beside it:
    MASK.geojson (one polygon per object, level-0 coordinates, holes as
    inner rings, QuPath's classification form, areas in px² and µm²),
    MASK.overlay.png (the mask over a thumbnail) and MASK.summary.json
    (object count and areas, tissue area, timings). Objects smaller than
    --min-area are left out of the GeoJSON, the counts and the areas, and
    holes smaller than it are filled there; the mask keeps every pixel.

    Resume: while it runs, MASK.tif.resume/ records the finished rows and,
    every 30 s, where to continue. Running the same command again after an
    interruption continues from there (same slide, model, scale and
    tiling; otherwise it starts over). The folder is removed when the
    outputs are complete.

    Cohorts: SLIDES.csv has a header with a 'slide' column (paths relative
    to the CSV) and optional 'output' (mask path relative to DIR; default
    <slide name>.tif) and 'downsample' columns. Slides whose outputs are
    complete for the same slide file, model, scale, tiling and --min-area
    are skipped, so the command can simply be run again; changed settings
    segment the slide again. With
    --shard I/N (0 ≤ I < N) only every N-th slide from the I-th is done;
    inside a Slurm job array the shard defaults to the array task's. A slide
    that fails is reported and the others still run; the exit status is 1
    if any failed.

    Scale: the model's input µm/px (its config) divided by the slide's;
    slides without a known µm/px need --downsample (level-0 pixels per
    model pixel).

    OPTIONS:
      --model STEM       Model checkpoint (STEM.json + STEM.safetensors).
      -o, --output FILE  Where to write the label TIFF (one slide).
      --manifest CSV     Slides to segment (a cohort).
      --output-dir DIR   Folder for the cohort's outputs (must exist).
      --shard I/N        Do shard I of N of the manifest.
      --downsample D     Level-0 pixels per model pixel (overrides the scale).
      --tile N           Tile edge in model pixels (default 512).
      --overlap N        Overlap between tiles in model pixels, less than
                         half a tile (default 64, or tile/4 if smaller).
      --batch N          Tiles per model call (default 2).
      --min-area A       Smallest object kept in the GeoJSON: µm² when the
                         slide's µm/px is known, else level-0 px² (default:
                         100 model pixels, e.g. 400 px² at downsample 2).
      --restart          Ignore a resume folder and start from the top.
      -h, --help         Show this help.
    """
  static let scanner = ArgumentScanner(
    command: name,
    options: [
      .init(name: "model", short: nil, takesValue: true, valueName: "STEM"),
      .init(name: "output", short: "o", takesValue: true, valueName: "FILE"),
      .init(name: "manifest", short: nil, takesValue: true, valueName: "CSV"),
      .init(name: "output-dir", short: nil, takesValue: true, valueName: "DIR"),
      .init(name: "shard", short: nil, takesValue: true, valueName: "I/N"),
      .init(name: "downsample", short: nil, takesValue: true, valueName: "D"),
      .init(name: "tile", short: nil, takesValue: true, valueName: "N"),
      .init(name: "overlap", short: nil, takesValue: true, valueName: "N"),
      .init(name: "batch", short: nil, takesValue: true, valueName: "N"),
      .init(name: "min-area", short: nil, takesValue: true, valueName: "A"),
      .init(name: "restart", short: nil, takesValue: false),
      .init(name: "help", short: "h", takesValue: false),
    ])

  /// One slide, or a manifest of them.
  enum Work {
    case slide(path: String, output: String)
    case cohort(manifest: String, outputFolder: String, shard: Shard?)
  }

  var work: Work
  var modelStem: String
  var settings = SlideJob.Settings()

  init(
    arguments: [String], environment: [String: String] = ProcessInfo.processInfo.environment
  ) throws(UsageError) {
    let scanned = try Self.scanner.scan(arguments)
    guard let model = scanned.values["model"] else {
      throw UsageError("'segment' needs --model STEM", command: Self.name)
    }
    modelStem = model

    if let manifest = scanned.values["manifest"] {
      guard scanned.positionals.isEmpty, scanned.values["output"] == nil else {
        throw UsageError(
          "--manifest takes the slides from the CSV; drop the SLIDE argument and -o",
          command: Self.name)
      }
      guard let folder = scanned.values["output-dir"] else {
        throw UsageError("--manifest needs --output-dir DIR", command: Self.name)
      }
      var shard: Shard?
      if let text = scanned.values["shard"] {
        guard let parsed = Shard(text) else {
          throw UsageError(
            "--shard must be I/N with 0 ≤ I < N, got '\(text)'", command: Self.name)
        }
        shard = parsed
      } else {
        do {
          shard = try Shard.slurm(environment)
        } catch {
          throw UsageError("\(error)".trimmingCharacters(in: ["."]), command: Self.name)
        }
      }
      work = .cohort(manifest: manifest, outputFolder: folder, shard: shard)
    } else {
      let slide = try Positionals.single(
        scanned.positionals, name: "SLIDE", command: Self.name)
      guard let output = scanned.values["output"] else {
        throw UsageError("'segment' needs -o MASK.tif (or --manifest)", command: Self.name)
      }
      for key in ["output-dir", "shard"] where scanned.values[key] != nil {
        throw UsageError("--\(key) only applies with --manifest", command: Self.name)
      }
      let lower = output.lowercased()
      guard lower.hasSuffix(".tif") || lower.hasSuffix(".tiff") else {
        throw UsageError(
          "-o names the label TIFF and must end in .tif or .tiff, got '\(output)'",
          command: Self.name)
      }
      work = .slide(path: slide, output: output)
    }

    func number(_ key: String, _ range: ClosedRange<Int>) throws(UsageError) -> Int? {
      guard let text = scanned.values[key] else { return nil }
      guard let n = Int(text), range.contains(n) else {
        throw UsageError(
          "--\(key) must be a whole number in \(range), got '\(text)'", command: Self.name)
      }
      return n
    }
    if let n = try number("tile", 16...8192) {
      settings.options.tileSize = n
      // The default overlap shrinks with small tiles; it must stay under
      // half a tile.
      settings.options.overlap = min(64, n / 4)
    }
    if let n = try number("overlap", 0...4096) {
      guard n < (settings.options.tileSize + 1) / 2 else {
        throw UsageError(
          "--overlap must be less than half the tile (\(settings.options.tileSize)), got \(n)",
          command: Self.name)
      }
      settings.options.overlap = n
    }
    if let n = try number("batch", 1...64) { settings.options.batchSize = n }
    if let text = scanned.values["downsample"] {
      guard let d = Double(text), d > 0, d <= 1024 else {
        throw UsageError(
          "--downsample must be a number in (0, 1024], got '\(text)'", command: Self.name)
      }
      settings.downsample = d
    }
    if let text = scanned.values["min-area"] {
      guard let a = Double(text), a >= 0, a.isFinite else {
        throw UsageError(
          "--min-area must be a number ≥ 0, got '\(text)'", command: Self.name)
      }
      settings.minimumArea = a
    }
    settings.restart = scanned.flags.contains("restart")
  }

  func run() throws {
    Interruption.shared.install()
    switch work {
    case .slide(let path, let output):
      let job = try SlideJob(slide: path, output: output, settings: settings)
      let model = try Checkpoint.load(stem: modelStem)
      try job.run(model: model, modelStem: modelStem)

    case .cohort(let manifestPath, let folder, let shard):
      var isFolder: ObjCBool = false
      guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder),
        isFolder.boolValue
      else {
        throw SlideError.writeFailed(
          path: folder, detail: "the output folder does not exist")
      }
      let manifest = try SlideManifest.load(path: manifestPath, outputFolder: folder)
      let entries = shard.map { manifest.entries(of: $0) } ?? manifest.entries
      let model = try Checkpoint.load(stem: modelStem)
      if let shard {
        Console.error(
          "shard \(shard.index)/\(shard.count): \(entries.count) of "
            + "\(manifest.entries.count) slides")
      }
      var failed: [String] = []
      var skipped = 0
      for (i, entry) in entries.enumerated() {
        if Interruption.shared.isRaised {
          throw InferenceError.interrupted(output: manifestPath, journal: nil)
        }
        let prefix = "[\(i + 1)/\(entries.count)] \(entry.slide)"
        var slideSettings = settings
        if let d = entry.downsample { slideSettings.downsample = d }
        do {
          let job = try SlideJob(slide: entry.slide, output: entry.output, settings: slideSettings)
          if !settings.restart && job.isComplete(model: model, modelStem: modelStem) {
            Console.error("\(prefix): complete, skipped")
            skipped += 1
            continue
          }
          Console.error("\(prefix) → \(entry.output)")
          try job.run(model: model, modelStem: modelStem)
        } catch {
          if case InferenceError.interrupted = error { throw error }
          Console.error("\(prefix): \(error)")
          failed.append(entry.slide)
        }
      }
      Console.out(
        "slides: \(entries.count - skipped - failed.count) segmented, \(skipped) already "
          + "complete, \(failed.count) failed")
      if !failed.isEmpty {
        throw InferenceError.slidesFailed(
          manifest: manifestPath, failed: failed, total: entries.count)
      }
    }
  }
}
