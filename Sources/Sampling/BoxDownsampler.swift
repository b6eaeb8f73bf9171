import SlideIO

/// Reads a whole pyramid level shrunk by a whole factor, averaging each
/// `factor × factor` box of level pixels into one output pixel.
///
/// The level is read in horizontal bands of about ``bandBytes``, so memory
/// stays bounded even for a single-level slide of many gigapixels.
enum BoxDownsampler {
  /// Target size of one band read, in RGB bytes: large enough that the
  /// per-read overhead vanishes, small enough to leave memory alone.
  static let bandBytes = 64 << 20

  /// Size of the result for a level of `size` and box `factor`: partial
  /// boxes at the right and bottom edges still give an output pixel.
  static func outputSize(of size: PixelSize, factor: Int) -> PixelSize {
    PixelSize(
      width: (size.width + factor - 1) / factor,
      height: (size.height + factor - 1) / factor)
  }

  /// Reads `level` of `slide` and box-averages it by `factor`.
  ///
  /// - Returns: an image of ``outputSize(of:factor:)``; output pixel (x, y)
  ///   is the rounded mean of level pixels `[x·factor, (x+1)·factor) ×
  ///   [y·factor, (y+1)·factor)` that lie inside the level (edge boxes
  ///   average fewer pixels). `factor` 1 returns the level as read.
  ///   `bandBytes` bounds each read (tests shrink it to force many bands).
  /// - Throws: the ``SlideError`` of a failed read.
  static func read(
    _ slide: Slide, level: Int, factor: Int, bandBytes: Int = Self.bandBytes
  ) throws -> RGBImage {
    precondition(factor >= 1, "box factor must be at least 1, got \(factor)")
    let levelSize = try slide.size(level: level)
    if factor == 1 { return try slide.readLevel(level) }

    let out = outputSize(of: levelSize, factor: factor)
    var pixels = [UInt8](repeating: 255, count: out.width * out.height * 3)
    let bandRows = max(1, bandBytes / max(1, levelSize.width * 3 * factor))  // output rows
    var outRow = 0
    while outRow < out.height {
      // read the level rows behind output rows outRow ..< outRow + rows
      let rows = min(bandRows, out.height - outRow)
      let levelRow = outRow * factor
      let levelRows = min(rows * factor, levelSize.height - levelRow)
      let band = try slide.readRegion(
        levelOrigin: LevelPoint(x: 0, y: levelRow), level: level,
        size: PixelSize(width: levelSize.width, height: levelRows))
      average(
        band, factor: factor, into: &pixels, outputWidth: out.width,
        firstOutputRow: outRow)
      outRow += rows
    }
    return RGBImage(width: out.width, height: out.height, pixels: pixels)
  }

  /// Box-averages `image` by `factor` in memory; same rules as
  /// ``read(_:level:factor:)``.
  static func downsample(_ image: RGBImage, factor: Int) -> RGBImage {
    precondition(factor >= 1, "box factor must be at least 1, got \(factor)")
    if factor == 1 { return image }
    let out = outputSize(of: image.size, factor: factor)
    var pixels = [UInt8](repeating: 255, count: out.width * out.height * 3)
    average(
      image, factor: factor, into: &pixels, outputWidth: out.width,
      firstOutputRow: 0)
    return RGBImage(width: out.width, height: out.height, pixels: pixels)
  }

  /// Averages the boxes of `band` (whose row 0 is output row
  /// `firstOutputRow × factor`) into rows of `output` (interleaved RGB,
  /// `outputWidth` pixels per row).
  private static func average(
    _ band: RGBImage, factor: Int, into output: inout [UInt8], outputWidth: Int,
    firstOutputRow: Int
  ) {
    let bandOutputRows = (band.height + factor - 1) / factor
    var sums = [Int](repeating: 0, count: outputWidth * 3)
    var counts = [Int](repeating: 0, count: outputWidth)
    band.pixels.withUnsafeBufferPointer { source in
      for boxRow in 0..<bandOutputRows {
        // sum the box rows, then divide with rounding to nearest
        for i in sums.indices { sums[i] = 0 }
        for i in counts.indices { counts[i] = 0 }
        let yEnd = min(band.height, (boxRow + 1) * factor)
        for y in (boxRow * factor)..<yEnd {
          let rowStart = y * band.width * 3
          for x in 0..<band.width {
            let o = x / factor
            let s = rowStart + x * 3
            sums[o * 3] += Int(source[s])
            sums[o * 3 + 1] += Int(source[s + 1])
            sums[o * 3 + 2] += Int(source[s + 2])
            counts[o] += 1
          }
        }
        let outStart = (firstOutputRow + boxRow) * outputWidth * 3
        for o in 0..<outputWidth where counts[o] > 0 {
          let n = counts[o]
          for c in 0..<3 {
            output[outStart + o * 3 + c] = UInt8((sums[o * 3 + c] + n / 2) / n)
          }
        }
      }
    }
  }
}
