import Foundation
import SlideIO

/// `holohisto info SLIDE [--json]`: a slide's size, pyramid, resolution,
/// objective, vendor and associated images.
struct InfoCommand {
  static let name = "info"
  static let summary =
    "Show a slide's size, pyramid levels, resolution and vendor."
  static let help = """
    USAGE: holohisto info SLIDE [--json]

    Shows what HoloHisto knows about a slide: level-0 size, every pyramid
    level (size in that level's pixels, downsample in level-0 pixels per
    level pixel), µm per level-0 pixel along x and y ("unknown" when the file
    does not say), objective power, vendor and associated images.

    ARGUMENTS:
      SLIDE          A whole-slide image (SVS, tiled TIFF, any format OpenSlide
                     opens), or a plain TIFF, PNG or JPEG.

    OPTIONS:
      --json         Print one JSON object (sorted keys; unknown values null).
      -h, --help     Show this help.
    """
  static let scanner = ArgumentScanner(
    command: name,
    options: [
      .init(name: "json", short: nil, takesValue: false),
      .init(name: "help", short: "h", takesValue: false),
    ])

  /// Path of the slide, as given.
  var slidePath: String
  /// Whether to print JSON instead of text.
  var json: Bool

  /// Parses the arguments after `info`.
  init(arguments: [String]) throws(UsageError) {
    let scanned = try Self.scanner.scan(arguments)
    slidePath = try Positionals.single(
      scanned.positionals, name: "SLIDE", command: Self.name)
    json = scanned.flags.contains("json")
  }

  /// Opens the slide and prints its description.
  func run() throws {
    let slide = try Slide(path: slidePath)
    if json {
      Console.out(try jsonText(slide.properties))
    } else {
      for line in textLines(slide.properties) { Console.out(line) }
    }
  }

  /// The human-readable report, one line per fact.
  func textLines(_ properties: SlideProperties) -> [String] {
    let mpp: String
    switch (properties.mppX, properties.mppY) {
    case (nil, nil):
      mpp = "unknown"
    case (let x, let y):
      let shown = { (v: Double?) in v.map { Console.number($0) } ?? "unknown" }
      mpp = "x \(shown(x)), y \(shown(y)) µm per level-0 pixel"
    }
    let associated = properties.associatedImages
    var lines = [
      "file: \(slidePath)",
      "vendor: \(properties.vendor)",
      "dimensions: \(properties.dimensions) px (level 0)",
      "mpp: \(mpp)",
      "objective power: \(properties.objectivePower.map { Console.number($0) } ?? "unknown")",
      "associated images: \(associated.isEmpty ? "none" : associated.joined(separator: ", "))",
      "levels: \(properties.levels.count)",
    ]
    for (index, level) in properties.levels.enumerated() {
      lines.append(
        "  level \(index): \(level.size) px, downsample \(Console.number(level.downsample))"
      )
    }
    return lines
  }

  /// The report as one JSON object with sorted keys: `path`, `vendor`,
  /// `width`, `height` (level-0 px), `mppX`, `mppY` (µm per level-0 px or
  /// null), `objectivePower` (or null), `associatedImages` and `levels`
  /// (each `level`, `width`, `height` in that level's px, `downsample`).
  func jsonText(_ properties: SlideProperties) throws -> String {
    let levels = properties.levels.enumerated().map {
      (index, level) -> [String: Any] in
      [
        "level": index, "width": level.size.width, "height": level.size.height,
        "downsample": level.downsample,
      ]
    }
    let object: [String: Any] = [
      "path": slidePath,
      "vendor": properties.vendor,
      "width": properties.dimensions.width,
      "height": properties.dimensions.height,
      "mppX": properties.mppX ?? NSNull(),
      "mppY": properties.mppY ?? NSNull(),
      "objectivePower": properties.objectivePower ?? NSNull(),
      "associatedImages": properties.associatedImages,
      "levels": levels,
    ]
    let data = try JSONSerialization.data(
      withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
    return String(decoding: data, as: UTF8.self)
  }
}
