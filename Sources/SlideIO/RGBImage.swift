/// An 8-bit RGB raster held in memory.
///
/// Memory layout: row-major, interleaved, no padding. Pixel (x, y) has its
/// red, green and blue samples at `pixels[(y * width + x) * 3 + c]` for
/// c = 0, 1, 2. `(0, 0)` is the top-left pixel. Which frame the pixels are in
/// (which level, which origin) is up to whoever produced the image.
public struct RGBImage: Sendable, Equatable {
  public let width: Int
  public let height: Int
  public var pixels: [UInt8]

  /// An image of the given size filled with one colour (white by default).
  public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (255, 255, 255)) {
    precondition(width >= 0 && height >= 0, "negative image size \(width)×\(height)")
    self.width = width
    self.height = height
    if fill.0 == fill.1 && fill.1 == fill.2 {
      self.pixels = [UInt8](repeating: fill.0, count: width * height * 3)
    } else {
      var p = [UInt8](repeating: 0, count: width * height * 3)
      for i in stride(from: 0, to: p.count, by: 3) {
        p[i] = fill.0
        p[i + 1] = fill.1
        p[i + 2] = fill.2
      }
      self.pixels = p
    }
  }

  /// Wraps existing samples; `pixels.count` must be `width * height * 3`.
  public init(width: Int, height: Int, pixels: [UInt8]) {
    precondition(
      pixels.count == width * height * 3,
      "RGBImage \(width)×\(height) needs \(width * height * 3) samples, got \(pixels.count)")
    self.width = width
    self.height = height
    self.pixels = pixels
  }

  public var size: PixelSize { PixelSize(width: width, height: height) }

  /// The (r, g, b) samples of pixel (x, y).
  public subscript(x: Int, y: Int) -> (r: UInt8, g: UInt8, b: UInt8) {
    let i = (y * width + x) * 3
    return (pixels[i], pixels[i + 1], pixels[i + 2])
  }
}

extension RGBImage {
  /// Writes the image as planar floats in [0, 1] (sample / 255) into
  /// `values` from `offset`: all red samples row-major, then green, then
  /// blue — one image of an NCHW tensor's batch.
  public func writePlanarUnitFloats(into values: inout [Float], offset: Int) {
    let plane = width * height
    precondition(
      offset >= 0 && offset + 3 * plane <= values.count,
      "planar copy of \(width)×\(height) at \(offset) exceeds \(values.count) floats")
    pixels.withUnsafeBufferPointer { source in
      values.withUnsafeMutableBufferPointer { target in
        for p in 0..<plane {
          for c in 0..<3 {
            target[offset + c * plane + p] = Float(source[p * 3 + c]) / 255
          }
        }
      }
    }
  }
}
