import SlideIO

/// Finds tissue on a slide: a foreground mask at low resolution.
///
/// The method, in order:
/// 1. **Resolution.** Unless a level is given, the mask is computed at about
///    ``targetLongSide`` pixels on the slide's long side: the smallest level
///    at least that large is read (``SlideIO/Slide/bestLevel(forDownsample:)``)
///    and, when it is still larger than ``maxPixels`` or more than twice the
///    target, box-averaged by a whole factor in Swift. A one-level slide is
///    therefore read whole (in bands) and shrunk.
/// 2. **Colour.** Each pixel's HSV saturation `(max − min) / max` of its RGB
///    samples, in `Float` (0 for black), as scikit-image's `rgb2hsv` defines
///    it. Glass is unsaturated; stained tissue is not.
/// 3. **Background rules**, applied before thresholding (such pixels count
///    as saturation 0 in the histogram, and are never tissue): dark pixels
///    (max channel below ``darkValue``: black borders, out-of-scan areas),
///    and near-white pixels (every channel at least ``nearWhiteMinimum``,
///    which includes transparent regions, read as white) whatever their
///    saturation.
/// 4. **Threshold.** Otsu over a 256-bin histogram of saturation on [0, 1]
///    (bin `min(255, ⌊256 s⌋)`); tissue is saturation at or above the lower
///    edge of the first bin above the split. Two guards: when Otsu's low
///    class is itself coloured (mean saturation at least
///    ``glassSaturation``), the image has no glass and Otsu would split
///    tissue from tissue, so ``minSaturation`` is used instead; and the
///    threshold is never below ``minSaturation``. When the histogram has a
///    single non-empty bin (one colour, or all background), there is no
///    tissue.
/// 5. **Clean-up** with connected components: tissue specks
///    (8-connected) smaller than ``minObjectArea`` become background, then
///    background holes (4-connected, not touching the image border) smaller
///    than ``maxHoleArea`` become tissue. Both areas are in level-0 µm²
///    when the slide's mpp is known; otherwise ``nominalMPP`` converts them
///    to level-0 pixels. Either way they become mask pixels by dividing by
///    `(mpp × downsample)²`. The speck size is capped at
///    ``maxSpeckShare`` of the image, so a small tile (a 240 px crop holds
///    only ~14,000 µm² at 0.5 µm/px) is not wiped out by a slide-scale
///    speck size.
///
/// Limits, measured on the tiles under shared/data: saturation alone misses
/// pale immunohistochemistry. In Ki67 tiles (OS-2-ndpi, OS-2-vsi) the
/// haematoxylin-blue tissue has saturation about 0.1 against glass at
/// about 0.04, while brown nuclei reach 0.3 and up, so Otsu splits nuclei
/// from everything else and the clean-up then drops the nuclei as specks:
/// the mask comes out empty. H&E (CMU, BRACS, OS-1) and PAS work. A
/// brightness cue (glass is brighter than tissue) would fix IHC; not done
/// yet because the reference values cover saturation only.
public struct TissueDetector: Sendable {
  /// Aimed-for mask size on the slide's long side, in mask pixels.
  public var targetLongSide = 1000
  /// Largest mask, in mask pixels, when the level is chosen automatically.
  public var maxPixels = 2_000_000
  /// Largest mask for an explicitly requested level, in mask pixels.
  /// Detection holds about 24 bytes per pixel at its peak (RGB, saturation,
  /// flags, component bookkeeping), so 64 Mpx stays near 1.5 GB.
  public var maxExplicitPixels = 64_000_000
  /// Pixels whose brightest channel is below this (0…1 of 255) are
  /// background. 0.1 ≈ 25/255: darker than any stain at low resolution.
  public var darkValue: Float = 0.1
  /// Pixels with every channel at or above this are background (≈ 0.9 of
  /// full scale). Such pixels have saturation at most 0.1 anyway, so the
  /// rule only decides when the Otsu threshold falls that low.
  public var nearWhiteMinimum: UInt8 = 230
  /// Lowest saturation threshold ever used, and the one used when the
  /// image has no glass. Below it lie JPEG noise and colour casts of glass.
  public var minSaturation: Float = 0.05
  /// When the mean saturation of Otsu's low class reaches this, that class
  /// is tissue too (a tissue-only field), not glass.
  public var glassSaturation: Float = 0.1
  /// Tissue components smaller than this are dropped, in level-0 µm²
  /// (10,000 µm²: a 100 µm square).
  public var minObjectArea = 10_000.0
  /// Background holes smaller than this are filled, in level-0 µm².
  public var maxHoleArea = 10_000.0
  /// Resolution assumed to convert the areas to level-0 pixels when the
  /// slide's mpp is unknown (0.5 µm/px: a 20× scan), in µm per pixel.
  public var nominalMPP = 0.5
  /// Largest share of the image that the clean-up may drop as one speck,
  /// whatever ``minObjectArea`` says (10%).
  public var maxSpeckShare = 0.1

  public init() {}

  /// Computes the tissue mask of `slide`.
  ///
  /// - Parameter level: compute the mask at exactly this level, without
  ///   box-averaging; `nil` chooses as described on ``TissueDetector``.
  /// - Returns: the mask, in the frame described on ``TissueMask``.
  /// - Throws: ``SlideIO/SlideError`` from reading (for instance a level
  ///   out of range), or ``SamplingError/maskTooLarge(path:level:size:limitPixels:)``.
  public func detect(in slide: Slide, level: Int? = nil) throws -> TissueMask {
    let (chosenLevel, factor) = try plan(for: slide, level: level)
    let image = try BoxDownsampler.read(
      slide, level: chosenLevel, factor: factor)
    let downsample = try slide.downsample(level: chosenLevel) * Double(factor)
    return detect(
      in: image, level: chosenLevel, downsample: downsample,
      mpp: slide.properties.mpp)
  }

  /// Which level to read and by what whole factor to box-average it.
  ///
  /// - Returns: the level and the factor (1 for an explicit level).
  /// - Throws: for an explicit level,
  ///   ``SlideIO/SlideError/levelOutOfRange(path:level:levelCount:)`` or
  ///   ``SamplingError/maskTooLarge(path:level:size:limitPixels:)``.
  public func plan(
    for slide: Slide, level: Int? = nil
  ) throws -> (level: Int, factor: Int) {
    if let level {
      let size = try slide.size(level: level)
      guard let count = size.pixelCount, count <= maxExplicitPixels else {
        throw SamplingError.maskTooLarge(
          path: slide.path, level: level, size: size,
          limitPixels: maxExplicitPixels)
      }
      return (level, 1)
    }

    // the smallest level at least targetLongSide px on the long side
    let full = slide.dimensions
    let longSide = Double(max(full.width, full.height))
    let wanted = max(1, longSide / Double(max(1, targetLongSide)))
    let chosen = slide.bestLevel(forDownsample: wanted)
    let levelSize = try slide.size(level: chosen)
    let levelDownsample = try slide.downsample(level: chosen)

    // shrink further by a whole factor while more than twice the target, then
    // until under the pixel cap (which wins for very elongated slides)
    var factor = max(1, Int((wanted / levelDownsample).rounded(.down)))
    while true {
      let out = BoxDownsampler.outputSize(of: levelSize, factor: factor)
      if (out.pixelCount ?? .max) <= maxPixels { break }
      factor += 1
    }
    return (chosen, factor)
  }

  /// Computes the tissue mask of an image already in memory.
  ///
  /// - Parameters:
  ///   - image: the pixels; mask pixel (x, y) is image pixel (x, y).
  ///   - level: recorded in the mask: the level `image` shows.
  ///   - downsample: level-0 pixels per image pixel.
  ///   - mpp: µm per level-0 pixel, or `nil` when unknown (areas then use
  ///     ``nominalMPP``).
  public func detect(
    in image: RGBImage, level: Int = 0, downsample: Double = 1,
    mpp: Double? = nil
  ) -> TissueMask {
    let count = image.width * image.height
    let saturation = TissueDetector.saturations(
      of: image, darkValue: darkValue, nearWhiteMinimum: nearWhiteMinimum)

    // histogram of saturation, 256 bins on [0, 1]
    var histogram = [Int](repeating: 0, count: 256)
    for s in saturation where s >= 0 { histogram[Self.bin(s)] += 1 }
    histogram[0] += saturation.lazy.filter { $0 < 0 }.count

    guard let threshold = threshold(histogram: histogram) else {
      return TissueMask(
        width: image.width, height: image.height, level: level,
        downsample: downsample, pixels: [Bool](repeating: false, count: count),
        saturationThreshold: nil)
    }
    var tissue = saturation.map { $0 >= threshold }

    // clean-up: areas in level-0 µm² → mask pixels
    let micronsPerMaskPixel = (mpp ?? nominalMPP) * downsample
    let maskPixelArea = micronsPerMaskPixel * micronsPerMaskPixel
    let cap = max(1, Int(Double(count) * maxSpeckShare))
    ComponentFilter.removeSmallComponents(
      of: true, in: &tissue, width: image.width, height: image.height,
      minimumCount: min(cap, Int((minObjectArea / maskPixelArea).rounded(.up))),
      connectivity: .eight)
    ComponentFilter.removeSmallComponents(
      of: false, in: &tissue, width: image.width, height: image.height,
      minimumCount: Int((maxHoleArea / maskPixelArea).rounded(.up)),
      connectivity: .four,
      sparingBorder: true)

    return TissueMask(
      width: image.width, height: image.height, level: level,
      downsample: downsample,
      pixels: tissue, saturationThreshold: threshold)
  }

  /// The saturation threshold for `histogram` (256 bins on [0, 1]), or
  /// `nil` when there is nothing to split.
  func threshold(histogram: [Int]) -> Float? {
    guard let split = OtsuThreshold.split(histogram) else { return nil }
    let otsu = Float(split.lastLowBin + 1) / 256
    // the low class's mean, from bin index back to saturation (bin centre)
    let lowMeanSaturation = Float((split.lowMean + 0.5) / 256)
    if lowMeanSaturation >= glassSaturation { return minSaturation }
    return max(otsu, minSaturation)
  }

  /// Histogram bin of saturation `s` in 0…1.
  static func bin(_ s: Float) -> Int { min(255, Int(s * 256)) }

  /// HSV saturation per pixel, row-major like the image: `(max − min) / max`
  /// in `Float` (0 where max is 0), or −1 for background pixels (dark or
  /// near-white, see ``TissueDetector``).
  static func saturations(
    of image: RGBImage, darkValue: Float, nearWhiteMinimum: UInt8
  ) -> [Float] {
    let count = image.width * image.height
    return [Float](unsafeUninitializedCapacity: count) { output, initialized in
      image.pixels.withUnsafeBufferPointer { rgb in
        for i in 0..<count {
          let r = rgb[i * 3]
          let g = rgb[i * 3 + 1]
          let b = rgb[i * 3 + 2]
          let high = max(r, g, b)
          let low = min(r, g, b)
          if Float(high) < darkValue * 255 || low >= nearWhiteMinimum {
            output[i] = -1
          } else {
            output[i] = high == 0 ? 0 : Float(high - low) / Float(high)
          }
        }
      }
      initialized = count
    }
  }
}
