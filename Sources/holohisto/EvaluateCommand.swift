import Evaluation
import Foundation
import Model
import Sampling
import SlideIO
import Training

/// `holohisto evaluate --pred MASK --truth MASK`: Dice per patch and over
/// the whole slide, per class and mean. `holohisto evaluate --model STEM
/// --tiles DIR`: a model's Dice on each tile of a tile folder's split.
struct EvaluateCommand {
  static let name = "evaluate"
  static let summary = "Score a predicted mask against the truth (Dice per patch and slide)."
  static let help = """
    USAGE: holohisto evaluate --pred MASK --truth MASK [--slide SLIDE]
                              [--classes N] [--patch WxH] [--csv FILE]
                              [--json FILE]
           holohisto evaluate --model STEM --tiles DIR [--split NAME]
                              [--downsample D] [--csv FILE]

    Scores the predicted label mask against the truth, both read at level 0
    (label TIFF, PNG or any readable image of the slide's level-0 size; the
    red sample is the class, 255 counts as class 1). Prints the whole-slide
    Dice per class and the mean over patches of the patch Dice.

    Empty versus empty: where a class is absent from both masks (in a patch,
    or in the slide), its Dice is undefined; it is shown as 'n/a', left out
    of the means, and counted, never scored as a perfect 1.

    With --model, segments every tile of the split (images/<split>/*.jpg
    beside masks/<split>/*.png) at the training downsample, brings the
    logits back to full size, and prints each tile's Dice and the mean; the
    CSV (case,dice) feeds 'holohisto compare'.

    OPTIONS:
      --pred MASK      The predicted mask (required).
      --truth MASK     The ground-truth mask (required).
      --slide SLIDE    Score only pixels on tissue, found in this slide as by
                       'holohisto tissue'.
      --classes N      Number of classes including background (default 2).
      --patch WxH      Patch size in level-0 px (default 3840x2160).
      --csv FILE       Write one row per patch.
      --json FILE      Write the summary and every patch as JSON.
      --model STEM     A model checkpoint (STEM.json + STEM.safetensors).
      --tiles DIR      A tile folder to score the model on.
      --split NAME     The tile folder's split (default test).
      --downsample D   Tile pixels per model pixel (default 2, as trained).
      -h, --help       Show this help.
    """
  static let scanner = ArgumentScanner(
    command: name,
    options: [
      .init(name: "pred", short: nil, takesValue: true, valueName: "MASK"),
      .init(name: "truth", short: nil, takesValue: true, valueName: "MASK"),
      .init(name: "slide", short: nil, takesValue: true, valueName: "SLIDE"),
      .init(name: "classes", short: nil, takesValue: true, valueName: "N"),
      .init(name: "patch", short: nil, takesValue: true, valueName: "WxH"),
      .init(name: "csv", short: nil, takesValue: true, valueName: "FILE"),
      .init(name: "json", short: nil, takesValue: true, valueName: "FILE"),
      .init(name: "model", short: nil, takesValue: true, valueName: "STEM"),
      .init(name: "tiles", short: nil, takesValue: true, valueName: "DIR"),
      .init(name: "split", short: nil, takesValue: true, valueName: "NAME"),
      .init(name: "downsample", short: nil, takesValue: true, valueName: "D"),
      .init(name: "help", short: "h", takesValue: false),
    ])

  var prediction: String
  var truth: String
  var slide: String?
  var classCount = 2
  var patch = PixelSize(width: 3840, height: 2160)
  var csvPath: String?
  var jsonPath: String?
  /// Model mode: checkpoint stem, tile folder, split, downsample.
  var tiles: (model: String, folder: String, split: String, downsample: Double)?

  init(arguments: [String]) throws(UsageError) {
    let scanned = try Self.scanner.scan(arguments)
    if let extra = scanned.positionals.first {
      throw UsageError("unexpected argument '\(extra)' for 'evaluate'", command: Self.name)
    }
    csvPath = scanned.values["csv"]
    if let model = scanned.values["model"] {
      guard let folder = scanned.values["tiles"] else {
        throw UsageError("'evaluate --model' needs --tiles DIR", command: Self.name)
      }
      var downsample = 2.0
      if let text = scanned.values["downsample"] {
        guard let value = Double(text), value > 0, value <= 64 else {
          throw UsageError(
            "--downsample must be a number in (0, 64], got '\(text)'", command: Self.name)
        }
        downsample = value
      }
      tiles = (model, folder, scanned.values["split"] ?? "test", downsample)
      prediction = ""
      truth = ""
      return
    }
    guard let prediction = scanned.values["pred"], let truth = scanned.values["truth"] else {
      throw UsageError("'evaluate' needs --pred MASK and --truth MASK", command: Self.name)
    }
    self.prediction = prediction
    self.truth = truth
    slide = scanned.values["slide"]
    jsonPath = scanned.values["json"]
    if let text = scanned.values["classes"] {
      guard let value = Int(text), (2...255).contains(value) else {
        throw UsageError(
          "--classes must be a whole number from 2 to 255, got '\(text)'", command: Self.name)
      }
      classCount = value
    }
    if let text = scanned.values["patch"] {
      let parts = text.lowercased().split(separator: "x").compactMap { Int($0) }
      guard parts.count == 2, parts[0] > 0, parts[1] > 0 else {
        throw UsageError(
          "--patch must be WIDTHxHEIGHT in pixels, e.g. 3840x2160, got '\(text)'",
          command: Self.name)
      }
      patch = PixelSize(width: parts[0], height: parts[1])
    }
  }

  func run() throws {
    if let tiles { return try scoreTiles(tiles) }
    let inputs = [prediction, truth] + (slide.map { [$0] } ?? [])
    // Check outputs before the work, so a bad path fails at once.
    for path in [csvPath, jsonPath].compactMap({ $0 }) {
      _ = try OutputFile(path: path, inputs: inputs)
    }
    let truthSlide = try Slide(path: truth)
    let tissue = try slide.map { path -> TissueMask in
      let opened = try Slide(path: path)
      guard opened.dimensions == truthSlide.dimensions else {
        throw EvaluationError.slideSizeMismatch(
          slide: path, slideSize: opened.dimensions, mask: truth,
          maskSize: truthSlide.dimensions)
      }
      return try TissueDetector().detect(in: opened)
    }
    let report = try DiceEvaluator(classCount: classCount, patchSize: patch).evaluate(
      prediction: Slide(path: prediction), truth: truthSlide, tissue: tissue)

    for line in table(report) { Console.out(line) }
    if let csvPath {
      try writeAtomically(Data(report.csv().utf8), to: csvPath, inputs: inputs)
    }
    if let jsonPath {
      try writeAtomically(
        report.json(prediction: prediction, truth: truth), to: jsonPath, inputs: inputs)
    }
  }

  /// Model mode: Dice per tile, mean, and the CSV `case,dice`.
  func scoreTiles(
    _ tiles: (model: String, folder: String, split: String, downsample: Double)
  ) throws {
    if let csvPath { _ = try OutputFile(path: csvPath) }
    let model = try Checkpoint.load(stem: tiles.model)
    let dataset = try TileFolderDataset(root: tiles.folder, split: tiles.split)
    let scores = try TileScorer.score(
      model: model, dataset: dataset, downsample: tiles.downsample
    ) { done, total in
      Console.error("tile \(done)/\(total)")
    }
    Console.out("model: \(tiles.model) on \(tiles.folder) split \(tiles.split) "
      + "(downsample \(Console.number(tiles.downsample)))")
    Console.out("| tile | Dice |")
    Console.out("|---|---|")
    for score in scores {
      Console.out("| \(score.stem) | \(String(format: "%.4f", score.dice)) |")
    }
    let mean = scores.map(\.dice).reduce(0, +) / Double(max(1, scores.count))
    Console.out("| mean of \(scores.count) | \(String(format: "%.4f", mean)) |")
    if let csvPath {
      let text = "case,dice\n" + scores.map { "\($0.stem),\($0.dice)" }.joined(separator: "\n")
        + "\n"
      try writeAtomically(Data(text.utf8), to: csvPath)
    }
  }

  func table(_ report: DiceReport) -> [String] {
    func shown(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "n/a" }
    let scored = report.patches.count - report.emptyPatchCount
    var lines = [
      "prediction: \(prediction)",
      "truth: \(truth)" + (slide.map { " (scored on tissue of \($0))" } ?? ""),
      "patches: \(report.patches.count) of \(patch) px, \(scored) scored, "
        + "\(report.emptyPatchCount) empty in both masks",
      "| class | slide Dice | mean patch Dice |",
      "|---|---|---|",
    ]
    for c in 1..<report.classCount {
      let perPatch = report.patchMeanDice(class: c)
      lines.append("| \(c) | \(shown(report.slideDice[c - 1])) | \(shown(perPatch)) |")
    }
    lines.append(
      "| mean | \(shown(report.slideMeanDice)) | \(shown(report.patchMeanDice)) |")
    return lines
  }
}
