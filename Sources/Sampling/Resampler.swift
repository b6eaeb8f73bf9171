import SlideIO

/// Resampling of images (bilinear) and label maps (nearest) under an
/// axis-aligned scale and offset.
///
/// Mapping, per axis: output pixel centre `o + 0.5` looks at source
/// coordinate `(o + 0.5) · scale + offset`, in source pixels whose centres
/// sit at `s + 0.5`. Resizing a W-pixel row to w pixels is `scale = W / w`,
/// `offset = 0`.
public enum Resampler {
  /// Bilinear resampling of `image` to `size`. Source coordinates more than
  /// half a pixel outside the image read `fill`; within that margin the
  /// edge pixels are repeated.
  public static func bilinear(
    _ image: RGBImage, to size: PixelSize, scale: SIMD2<Double>, offset: SIMD2<Double>,
    fill: UInt8 = 255
  ) -> RGBImage {
    let width = size.width
    let height = size.height
    // per-column source taps and weights, computed once
    let xTaps = taps(count: width, scale: scale.x, offset: offset.x, limit: image.width)
    let yTaps = taps(count: height, scale: scale.y, offset: offset.y, limit: image.height)
    let sourceWidth = image.width
    let pixels = [UInt8](unsafeUninitializedCapacity: width * height * 3) { output, count in
      image.pixels.withUnsafeBufferPointer { source in
        for y in 0..<height {
          let row = yTaps[y]
          for x in 0..<width {
            let column = xTaps[x]
            let o = (y * width + x) * 3
            guard row.inside, column.inside else {
              output[o] = fill
              output[o + 1] = fill
              output[o + 2] = fill
              continue
            }
            // the four neighbours, channel by channel (Float is exact for
            // 8-bit samples and ample for their weighted means)
            let upperLeft = (row.low * sourceWidth + column.low) * 3
            let upperRight = (row.low * sourceWidth + column.high) * 3
            let lowerLeft = (row.high * sourceWidth + column.low) * 3
            let lowerRight = (row.high * sourceWidth + column.high) * 3
            for c in 0..<3 {
              let a = Float(source[upperLeft + c])
              let b = Float(source[upperRight + c])
              let d = Float(source[lowerLeft + c])
              let e = Float(source[lowerRight + c])
              let upper = a + (b - a) * column.weight
              let lower = d + (e - d) * column.weight
              // in 0…255 already (a convex mix of samples): round half up
              output[o + c] = UInt8(upper + (lower - upper) * row.weight + 0.5)
            }
          }
        }
      }
      count = width * height * 3
    }
    return RGBImage(width: width, height: height, pixels: pixels)
  }

  /// Nearest-neighbour resampling of a row-major label map of
  /// `sourceSize` to `size`; source pixel `⌊(o + 0.5) · scale + offset⌋`,
  /// `fill` outside the source.
  public static func nearest(
    _ labels: [UInt8], sourceSize: PixelSize, to size: PixelSize, scale: SIMD2<Double>,
    offset: SIMD2<Double>, fill: UInt8
  ) -> [UInt8] {
    func index(_ o: Int, _ scale: Double, _ offset: Double, _ limit: Int) -> Int? {
      let s = Int(((Double(o) + 0.5) * scale + offset).rounded(.down))
      return s >= 0 && s < limit ? s : nil
    }
    let columns = (0..<size.width).map { index($0, scale.x, offset.x, sourceSize.width) }
    let rows = (0..<size.height).map { index($0, scale.y, offset.y, sourceSize.height) }
    return [UInt8](unsafeUninitializedCapacity: size.width * size.height) { output, count in
      labels.withUnsafeBufferPointer { source in
        for (y, row) in rows.enumerated() {
          for (x, column) in columns.enumerated() {
            if let row, let column {
              output[y * size.width + x] = source[row * sourceSize.width + column]
            } else {
              output[y * size.width + x] = fill
            }
          }
        }
      }
      count = size.width * size.height
    }
  }

  /// One output column's (or row's) two source taps and the weight of the
  /// second; `inside` is false when the source coordinate lies more than
  /// half a pixel outside `0..<limit`.
  struct Tap {
    var low: Int
    var high: Int
    var weight: Float
    var inside: Bool
  }

  static func taps(count: Int, scale: Double, offset: Double, limit: Int) -> [Tap] {
    (0..<count).map { o in
      // source coordinate in pixel-index units (centres at integers)
      let s = (Double(o) + 0.5) * scale + offset - 0.5
      guard s >= -0.5, s <= Double(limit) - 0.5 else {
        return Tap(low: 0, high: 0, weight: 0, inside: false)
      }
      let clamped = min(max(s, 0), Double(limit - 1))
      let low = Int(clamped.rounded(.down))
      let high = min(low + 1, limit - 1)
      return Tap(low: low, high: high, weight: Float(clamped - Double(low)), inside: true)
    }
  }
}
