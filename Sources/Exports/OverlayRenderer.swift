import SlideIO

/// Blends a label mask over a slide thumbnail, one colour per class.
///
/// The mask and the thumbnail cover the same part of the slide, at any two
/// sizes: thumbnail pixel `(x, y)` takes the label of mask pixel
/// `(⌊(x + ½) · mask.width / width⌋, ⌊(y + ½) · mask.height / height⌋)`
/// (nearest, sampled at pixel centres). Background (0) leaves the thumbnail
/// as it is; class `k` becomes `(1 − opacity) · thumbnail + opacity · colour`
/// per channel, with the colour from ``LabelClasses``. The opacity is taken
/// in steps of 1/256 and the result rounded to the nearest integer.
public enum OverlayRenderer {
  /// The blended image, the thumbnail's size.
  ///
  /// - Parameter opacity: 0 (mask invisible) … 1 (solid colours).
  /// - Throws: ``ExportError/invalidOpacity(path:opacity:)`` outside 0…1
  ///   (path `"overlay"`), ``ExportError/invalidSize(path:what:size:)`` for
  ///   an empty mask.
  /// - Complexity: O(thumbnail pixels).
  public static func render(
    thumbnail: RGBImage, mask: LabelMask, classes: LabelClasses = LabelClasses(),
    opacity: Double = 0.4
  ) throws -> RGBImage {
    try render(
      thumbnail: thumbnail, mask: mask, classes: classes, opacity: opacity, path: "overlay")
  }

  /// Renders as ``render(thumbnail:mask:classes:opacity:)`` and writes an
  /// 8-bit RGB PNG through SlideIO's ``PNGWriter`` (atomic).
  /// - Throws: as ``render(thumbnail:mask:classes:opacity:)`` with `path`,
  ///   or ``ExportError/writeFailed(path:detail:)``.
  public static func write(
    thumbnail: RGBImage, mask: LabelMask, classes: LabelClasses = LabelClasses(),
    opacity: Double = 0.4, to path: String, inputs: [String] = []
  ) throws {
    let image = try render(
      thumbnail: thumbnail, mask: mask, classes: classes, opacity: opacity, path: path)
    do {
      try PNGWriter.write(image, to: path, inputs: inputs)
    } catch {
      throw ExportError.from(error, path: path)
    }
  }

  private static func render(
    thumbnail: RGBImage, mask: LabelMask, classes: LabelClasses, opacity: Double, path: String
  ) throws -> RGBImage {
    guard opacity.isFinite, (0...1).contains(opacity) else {
      throw ExportError.invalidOpacity(path: path, opacity: opacity)
    }
    guard mask.width > 0, mask.height > 0 else {
      throw ExportError.invalidSize(path: path, what: "label mask", size: mask.size)
    }

    // integer blend: alpha in 0…256 so that (c·(256 − a) + k·a + 128) >> 8
    let alpha = Int((opacity * 256).rounded())
    let colors = (0...255).map { classes[UInt8($0)].color }
    var image = thumbnail
    let width = thumbnail.width
    let height = thumbnail.height
    let columns = (0..<width).map { min(mask.width - 1, ((2 * $0 + 1) * mask.width) / (2 * width)) }

    image.pixels.withUnsafeMutableBufferPointer { pixels in
      mask.labels.withUnsafeBufferPointer { labels in
        for y in 0..<height {
          let maskRow = min(mask.height - 1, ((2 * y + 1) * mask.height) / (2 * height))
          for x in 0..<width {
            let label = labels[maskRow * mask.width + columns[x]]
            guard label != 0 else { continue }
            let color = colors[Int(label)]
            let p = (y * width + x) * 3
            pixels[p] = blend(pixels[p], color.red, alpha)
            pixels[p + 1] = blend(pixels[p + 1], color.green, alpha)
            pixels[p + 2] = blend(pixels[p + 2], color.blue, alpha)
          }
        }
      }
    }
    return image
  }

  @inline(__always)
  private static func blend(_ base: UInt8, _ color: UInt8, _ alpha: Int) -> UInt8 {
    UInt8((Int(base) * (256 - alpha) + Int(color) * alpha + 128) >> 8)
  }
}
