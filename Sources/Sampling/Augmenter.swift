import Foundation
import SlideIO

/// Random training augmentations of an image and its label map.
///
/// Applied in this order, each drawn from the caller's generator:
/// 1. horizontal flip, vertical flip (each with probability ½);
/// 2. rotation by k × 90° clockwise, k uniform in 0…3 for square images;
///    for non-square images k is 0 or 2 only, so the size never changes;
/// 3. stain jitter in HED space (``hedJitter(_:scales:shifts:)``): each
///    stain's concentration scaled by a factor in
///    `1 ± stainScale` and shifted by an amount in `± stainShift`;
/// 4. scale jitter about the centre by a factor in `1 ± scaleJitter`,
///    keeping the size: bilinear for the image (white beyond the edge),
///    nearest for labels (``labelPadValue`` beyond the edge).
///
/// Geometric steps (1, 2, 4) move image and labels identically, so label
/// (x, y) stays under image pixel (x, y). Layouts: ``SlideIO/RGBImage``
/// and row-major labels of the same width and height.
public struct Augmenter: Sendable, Equatable, Codable {
  public var flips = true
  public var rotations = true
  /// Largest relative change of each stain's concentration (0 disables).
  public var stainScale = 0.05
  /// Largest shift of each stain's concentration, in optical-density units
  /// (natural log) (0 disables).
  public var stainShift = 0.05
  /// Largest relative zoom (0.1: 0.9× to 1.1×; 0 disables).
  public var scaleJitter = 0.1
  /// Label written where zooming out uncovers pixels beyond the edge.
  public var labelPadValue: UInt8 = LabelSource.ignoreValue

  public init() {}

  /// Augments `image` and `labels` in place.
  ///
  /// - Parameters:
  ///   - labels: row-major labels of the image's size, or `nil`.
  ///   - generator: the randomness; the same state gives the same result.
  public func apply(
    to image: inout RGBImage, labels: inout [UInt8]?, generator: inout SplitMix64
  ) {
    precondition(
      stainScale >= 0 && stainShift >= 0 && (0..<1).contains(scaleJitter),
      "Augmenter needs stainScale, stainShift ≥ 0 and scaleJitter in [0, 1); got "
        + "\(stainScale), \(stainShift), \(scaleJitter)")
    if let labels {
      precondition(
        labels.count == image.width * image.height,
        "labels hold \(labels.count) values for a \(image.size) image")
    }

    // geometry: flips, then quarter turns
    if flips {
      if generator.next() >> 63 == 1 { Self.flipHorizontally(&image, labels: &labels) }
      if generator.next() >> 63 == 1 { Self.flipVertically(&image, labels: &labels) }
    }
    if rotations {
      let turns =
        image.width == image.height
        ? generator.nextInt(below: 4) : 2 * generator.nextInt(below: 2)
      Self.rotate(&image, labels: &labels, quarterTurns: turns)
    }

    // stains
    if stainScale > 0 || stainShift > 0 {
      var scales = SIMD3<Double>(repeating: 1)
      var shifts = SIMD3<Double>(repeating: 0)
      for stain in 0..<3 {
        scales[stain] = generator.nextDouble(in: (1 - stainScale)...(1 + stainScale))
        shifts[stain] = generator.nextDouble(in: -stainShift...stainShift)
      }
      image = Self.hedJitter(image, scales: scales, shifts: shifts)
    }

    // zoom about the centre, keeping the size
    if scaleJitter > 0 {
      let zoom = generator.nextDouble(in: (1 - scaleJitter)...(1 + scaleJitter))
      Self.zoom(&image, labels: &labels, factor: zoom, labelPadValue: labelPadValue)
    }
  }

  // MARK: Geometry

  /// Mirrors left to right: pixel (x, y) moves to (W − 1 − x, y).
  public static func flipHorizontally(_ image: inout RGBImage, labels: inout [UInt8]?) {
    let w = image.width
    let h = image.height
    // swap pixels pairwise inside each row, in place
    image.pixels.withUnsafeMutableBufferPointer { pixels in
      for y in 0..<h {
        var left = y * w * 3
        var right = (y * w + w - 1) * 3
        while left < right {
          for c in 0..<3 { pixels.swapAt(left + c, right + c) }
          left += 3
          right -= 3
        }
      }
    }
    labels?.withUnsafeMutableBufferPointer { values in
      for y in 0..<h { values[(y * w)..<(y * w + w)].reverse() }
    }
  }

  /// Mirrors top to bottom: pixel (x, y) moves to (x, H − 1 − y).
  public static func flipVertically(_ image: inout RGBImage, labels: inout [UInt8]?) {
    let h = image.height
    swapRows(&image.pixels, rowLength: image.width * 3, rows: h)
    if var values = labels {
      labels = nil  // keep `values` uniquely referenced: no copy on write
      swapRows(&values, rowLength: image.width, rows: h)
      labels = values
    }
  }

  /// Swaps row y with row `rows − 1 − y` of a row-major buffer.
  private static func swapRows(_ buffer: inout [UInt8], rowLength: Int, rows: Int) {
    buffer.withUnsafeMutableBufferPointer { values in
      guard let base = values.baseAddress else { return }
      for y in 0..<(rows / 2) {
        let top = UnsafeMutableRawPointer(base + y * rowLength)
        let bottom = UnsafeMutableRawPointer(base + (rows - 1 - y) * rowLength)
        withUnsafeTemporaryAllocation(byteCount: rowLength, alignment: 1) { row in
          guard let scratch = row.baseAddress else { return }
          scratch.copyMemory(from: top, byteCount: rowLength)
          top.copyMemory(from: bottom, byteCount: rowLength)
          bottom.copyMemory(from: scratch, byteCount: rowLength)
        }
      }
    }
  }

  /// Rotates by `quarterTurns` × 90° clockwise (y down): one turn moves
  /// pixel (x, y) of a W×H image to (H − 1 − y, x) of the H×W result.
  public static func rotate(_ image: inout RGBImage, labels: inout [UInt8]?, quarterTurns: Int) {
    let turns = ((quarterTurns % 4) + 4) % 4
    let w = image.width
    let h = image.height
    switch turns {
    case 1:
      remap(&image, labels: &labels, width: h, height: w) { x, y, _, _ in (h - 1 - y, x) }
    case 2:
      flipHorizontally(&image, labels: &labels)
      flipVertically(&image, labels: &labels)
    case 3:
      remap(&image, labels: &labels, width: h, height: w) { x, y, _, _ in (y, w - 1 - x) }
    default:
      break
    }
  }

  /// Moves every source pixel (x, y) of `image` (and `labels`) to
  /// `destination(x, y, W, H)` in a `width × height` result.
  private static func remap(
    _ image: inout RGBImage, labels: inout [UInt8]?, width: Int, height: Int,
    destination: (Int, Int, Int, Int) -> (Int, Int)
  ) {
    let w = image.width
    let h = image.height
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    var moved: [UInt8]? = labels.map { [UInt8](repeating: 0, count: $0.count) }
    image.pixels.withUnsafeBufferPointer { source in
      pixels.withUnsafeMutableBufferPointer { output in
        for y in 0..<h {
          for x in 0..<w {
            let (u, v) = destination(x, y, w, h)
            let s = (y * w + x) * 3
            let d = (v * width + u) * 3
            output[d] = source[s]
            output[d + 1] = source[s + 1]
            output[d + 2] = source[s + 2]
          }
        }
      }
    }
    if let labels, var result = moved {
      result.withUnsafeMutableBufferPointer { output in
        labels.withUnsafeBufferPointer { source in
          for y in 0..<h {
            for x in 0..<w {
              let (u, v) = destination(x, y, w, h)
              output[v * width + u] = source[y * w + x]
            }
          }
        }
      }
      moved = result
    }
    image = RGBImage(width: width, height: height, pixels: pixels)
    labels = moved
  }

  /// Zooms about the image centre by `factor` (> 1 enlarges), keeping the
  /// size: output centre `c + (o − c)` shows source point `c + (o − c) / factor`.
  public static func zoom(
    _ image: inout RGBImage, labels: inout [UInt8]?, factor: Double, labelPadValue: UInt8
  ) {
    let size = image.size
    let scale = SIMD2(repeating: 1 / factor)
    let centre = SIMD2(Double(size.width), Double(size.height)) / 2
    let offset = centre - centre / factor
    if let source = labels {
      labels = Resampler.nearest(
        source, sourceSize: size, to: size, scale: scale, offset: offset, fill: labelPadValue)
    }
    image = Resampler.bilinear(image, to: size, scale: scale, offset: offset)
  }

  // MARK: Stain jitter

  /// Stain optical-density vectors (rows: haematoxylin, eosin, DAB; columns
  /// R, G, B) from Ruifrok & Johnston, "Quantification of histochemical
  /// staining by color deconvolution", Analytical and Quantitative Cytology
  /// and Histology 23(4):291–299, 2001 (their H&E-DAB vectors), each row
  /// normalised to unit length here.
  public static let stainVectors: [SIMD3<Double>] = [
    SIMD3(0.65, 0.70, 0.29), SIMD3(0.07, 0.99, 0.11), SIMD3(0.27, 0.57, 0.78),
  ].map { $0 / ($0 * $0).sum().squareRoot() }

  /// The inverse of the stain matrix: optical densities (R, G, B) → stain
  /// concentrations (H, E, D), as `hed = Σ od[c] · inverse[c]`.
  static let inverseStains: [SIMD3<Double>] = invert(stainVectors)

  /// Jitters stains: RGB → optical density `−ln((I + 1) / 256)` → HED
  /// concentrations → `hed · scales + shifts` → back to RGB by the inverse
  /// steps, rounded and clamped to 0…255. The `+ 1` keeps black finite and
  /// maps 255 to zero density. With scales 1 and shifts 0 the image comes
  /// back within ±1 per sample (rounding only).
  public static func hedJitter(
    _ image: RGBImage, scales: SIMD3<Double>, shifts: SIMD3<Double>
  ) -> RGBImage {
    // The round trip is linear in optical density (row vectors, M the
    // stain matrix): od' = od · M⁻¹ · diag(scales) · M + shifts · M, so one
    // 3×3 map and one offset are folded here and applied per pixel, in
    // Float (24-bit mantissas leave rounding errors far below one level);
    // od' back to intensity goes through the `intensities` table.
    let stains = stainVectors
    let inverse = inverseStains
    var rows = [SIMD3<Float>](repeating: .zero, count: 3)
    var offset = SIMD3<Double>.zero
    for s in 0..<3 {
      for c in 0..<3 { rows[c] += SIMD3<Float>(inverse[c][s] * scales[s] * stains[s]) }
      offset += shifts[s] * stains[s]
    }
    let shift = SIMD3<Float>(offset)
    let density = (0...255).map { Float(-log((Double($0) + 1) / 256)) }
    let count = image.width * image.height
    let pixels = [UInt8](unsafeUninitializedCapacity: count * 3) { output, initialized in
      image.pixels.withUnsafeBufferPointer { rgb in
        density.withUnsafeBufferPointer { density in
          Self.intensities.withUnsafeBufferPointer { levels in
            for i in 0..<count {
              let red: SIMD3<Float> = density[Int(rgb[i * 3])] * rows[0]
              let green: SIMD3<Float> = density[Int(rgb[i * 3 + 1])] * rows[1]
              let blue: SIMD3<Float> = density[Int(rgb[i * 3 + 2])] * rows[2]
              let od = red + green + blue + shift
              for c in 0..<3 {
                let step = Int((min(max(od[c], -1), 16) * Self.intensitySteps).rounded())
                output[i * 3 + c] = step < 0 ? 255 : step < levels.count ? levels[step] : 0
              }
            }
          }
        }
      }
      initialized = count * 3
    }
    return RGBImage(width: image.width, height: image.height, pixels: pixels)
  }

  /// Optical-density steps per unit in ``intensities``.
  static let intensitySteps: Float = 4096

  /// Intensity `256 · exp(−od) − 1`, rounded and clamped to 0…255, for od
  /// = k / ``intensitySteps``, k = 0 up to where the intensity reaches 0
  /// (od = ln 256 ≈ 5.55). Quantising od to 1/4096 moves an intensity by at
  /// most 256 / 8192 ≈ 0.03 before rounding, so a lookup replaces three
  /// `exp` calls per pixel without visible cost in accuracy.
  static let intensities: [UInt8] = {
    let count = Int((log(256.0) + 0.01) * Double(intensitySteps)) + 1
    return (0..<count).map { k in
      let value = 256 * exp(-Double(k) / Double(intensitySteps)) - 1
      return UInt8(min(255, max(0, value.rounded())))
    }
  }()

  /// Inverse of the 3×3 matrix whose rows are `rows`, as rows (adjugate
  /// over determinant; the stain matrix is well conditioned).
  static func invert(_ rows: [SIMD3<Double>]) -> [SIMD3<Double>] {
    let (a, b, c) = (rows[0], rows[1], rows[2])
    func cross(_ u: SIMD3<Double>, _ v: SIMD3<Double>) -> SIMD3<Double> {
      SIMD3(u.y * v.z - u.z * v.y, u.z * v.x - u.x * v.z, u.x * v.y - u.y * v.x)
    }
    let determinant = (a * cross(b, c)).sum()
    // columns of the inverse are the cross products over the determinant
    let columns = [cross(b, c), cross(c, a), cross(a, b)].map { $0 / determinant }
    return (0..<3).map { r in SIMD3(columns[0][r], columns[1][r], columns[2][r]) }
  }
}
