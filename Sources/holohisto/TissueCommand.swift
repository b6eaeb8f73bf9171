import Foundation
import Sampling
import SlideIO

/// `holohisto tissue SLIDE -o MASK.png [--level N]`: the tissue mask as a
/// 0/255 grey PNG, and the tissue fraction on standard output.
struct TissueCommand {
  static let name = "tissue"
  static let summary =
    "Find tissue at low resolution and write it as a PNG mask."
  static let help = """
    USAGE: holohisto tissue SLIDE -o MASK.png [--level N]

    Finds tissue by the colour saturation of a low-resolution view (Otsu
    threshold, glass, black and white treated as background, specks removed
    and small holes filled) and writes it as an 8-bit grey PNG: 255 tissue,
    0 background. Mask pixel (x, y) covers level-0 pixels from
    (x, y) × downsample, as printed. The PNG appears only once complete.

    ARGUMENTS:
      SLIDE              The slide to look at.

    OPTIONS:
      -o, --output FILE  Where to write the PNG mask (required).
      --level N          Compute the mask at pyramid level N ('holohisto info'
                         lists them), at that level's full size. Default:
                         about 1000 px on the slide's long side (at most
                         2 Mpx): the smallest level that large, box-averaged
                         further when still larger.
      -h, --help         Show this help.
    """
  static let scanner = ArgumentScanner(
    command: name,
    options: [
      .init(name: "output", short: "o", takesValue: true, valueName: "FILE"),
      .init(name: "level", short: nil, takesValue: true, valueName: "N"),
      .init(name: "help", short: "h", takesValue: false),
    ])

  /// Path of the slide, as given.
  var slidePath: String
  /// Where the PNG goes.
  var outputPath: String
  /// Requested level, or `nil` to choose automatically.
  var level: Int?

  /// Parses the arguments after `tissue`.
  init(arguments: [String]) throws(UsageError) {
    let scanned = try Self.scanner.scan(arguments)
    slidePath = try Positionals.single(
      scanned.positionals, name: "SLIDE", command: Self.name)
    guard let output = scanned.values["output"], !output.isEmpty else {
      throw UsageError(
        "'tissue' needs an output file (-o MASK.png)", command: Self.name)
    }
    outputPath = output
    if let text = scanned.values["level"] {
      guard let value = Int(text), value >= 0 else {
        throw UsageError(
          "--level must be a whole number from 0, got '\(text)'",
          command: Self.name)
      }
      level = value
    }
  }

  /// Computes the mask, writes the PNG and prints the fraction.
  func run() throws {
    // Check the output before the work, so a bad path fails at once.
    _ = try OutputFile(path: outputPath, inputs: [slidePath])
    let slide = try Slide(path: slidePath)
    let mask = try TissueDetector().detect(in: slide, level: level)
    try PNGWriter.writeGrey(
      samples: mask.greySamples(), width: mask.width, height: mask.height,
      to: outputPath, inputs: [slidePath])
    let fraction = String(format: "%.3f", mask.fraction)
    Console.out(
      "tissue fraction \(fraction) (level \(mask.level), "
        + "downsample \(Console.number(mask.downsample)), \(mask.size) px)")
  }
}
