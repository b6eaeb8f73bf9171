/// Converts the visible part of one decoded TIFF tile (or strip) to RGB and
/// writes it into the output region.
enum TIFFPixelCopy {
  /// - Parameters:
  ///   - tile: decoded samples, as `TIFFReadEncodedTile/Strip` or
  ///     `TIFFReadRGBATile/Strip` left them.
  ///   - tileOrigin: the tile's top-left corner in level pixels.
  ///   - rows: rows the decode produced (a short final strip has fewer).
  ///   - visible: level-pixel rectangle to copy, inside both the tile and
  ///     the output's clip (so tile padding never reaches the output).
  static func copy(
    from tile: UnsafeBufferPointer<UInt8>, layout: TIFFLevelLayout,
    tileOrigin: (x: Int, y: Int), rows: Int, visible: PixelRect, into target: OutputTarget
  ) {
    switch layout.pixelFormat {
    case .chunky8(let samples, let grey, let minIsWhite, let alpha, _):
      copyChunky(
        tile, layout: layout, tileOrigin: tileOrigin, visible: visible, target: target,
        samples: samples, grey: grey, minIsWhite: minIsWhite, alpha: alpha)
    case .palette8(let colormap):
      copyPalette(
        tile, layout: layout, tileOrigin: tileOrigin, visible: visible, target: target,
        colormap: colormap)
    case .jpeg:
      copyChunky(
        tile, layout: layout, tileOrigin: tileOrigin, visible: visible, target: target,
        samples: 3, grey: false, minIsWhite: false, alpha: .none)
    case .rgba:
      copyRGBA(tile, layout: layout, tileOrigin: tileOrigin, rows: rows, visible: visible,
        target: target)
    }
  }

  private static func copyChunky(
    _ tile: UnsafeBufferPointer<UInt8>, layout: TIFFLevelLayout, tileOrigin: (x: Int, y: Int),
    visible: PixelRect, target: OutputTarget, samples: Int, grey: Bool, minIsWhite: Bool,
    alpha: TIFFAlpha
  ) {
    let src = tile.baseAddress!
    let rowStride = layout.tileWidth * samples
    let count = visible.width

    for y in visible.y..<visible.maxY {
      let s = src + (y - tileOrigin.y) * rowStride + (visible.x - tileOrigin.x) * samples
      let d = target.pointer(x: visible.x, y: y)

      switch (grey, alpha) {
      case (false, .none) where samples == 3:
        d.update(from: s, count: count * 3)
      case (false, _):
        for i in 0..<count {
          let p = s + i * samples
          let (r, g, b) = composite(p[0], p[1], p[2], alpha: alpha, pixel: p)
          d[i * 3] = r
          d[i * 3 + 1] = g
          d[i * 3 + 2] = b
        }
      case (true, _) where target.stored:
        for i in 0..<count {
          let v = s[i * samples]
          d[i * 3] = v
          d[i * 3 + 1] = v
          d[i * 3 + 2] = v
        }
      case (true, _):
        for i in 0..<count {
          let p = s + i * samples
          let v = minIsWhite ? 255 - p[0] : p[0]
          let (r, _, _) = composite(v, v, v, alpha: alpha, pixel: p)
          d[i * 3] = r
          d[i * 3 + 1] = r
          d[i * 3 + 2] = r
        }
      }
    }
  }

  /// Palette indices → colours, or the indices themselves for stored reads.
  private static func copyPalette(
    _ tile: UnsafeBufferPointer<UInt8>, layout: TIFFLevelLayout, tileOrigin: (x: Int, y: Int),
    visible: PixelRect, target: OutputTarget, colormap: [UInt8]
  ) {
    let src = tile.baseAddress!
    colormap.withUnsafeBufferPointer { map in
      for y in visible.y..<visible.maxY {
        let s = src + (y - tileOrigin.y) * layout.tileWidth + (visible.x - tileOrigin.x)
        let d = target.pointer(x: visible.x, y: y)
        for i in 0..<visible.width {
          let v = Int(s[i])
          if target.stored {
            d[i * 3] = s[i]
            d[i * 3 + 1] = s[i]
            d[i * 3 + 2] = s[i]
          } else {
            d[i * 3] = map[v * 3]
            d[i * 3 + 1] = map[v * 3 + 1]
            d[i * 3 + 2] = map[v * 3 + 2]
          }
        }
      }
    }
  }

  /// Composites one pixel onto white according to `alpha`.
  @inline(__always)
  private static func composite(
    _ r: UInt8, _ g: UInt8, _ b: UInt8, alpha: TIFFAlpha, pixel: UnsafePointer<UInt8>
  ) -> (UInt8, UInt8, UInt8) {
    switch alpha {
    case .none:
      return (r, g, b)
    case .premultiplied(let index):
      return (onWhite(premultiplied: r, alpha: pixel[index]),
        onWhite(premultiplied: g, alpha: pixel[index]),
        onWhite(premultiplied: b, alpha: pixel[index]))
    case .straight(let index):
      return (onWhite(straight: r, alpha: pixel[index]),
        onWhite(straight: g, alpha: pixel[index]),
        onWhite(straight: b, alpha: pixel[index]))
    }
  }

  /// Premultiplied (TIFFRGBA) rows are stored bottom-up: a tile's row `r`
  /// sits at raster row `tileHeight - 1 - r`; a strip's at `rows - 1 - r`.
  private static func copyRGBA(
    _ tile: UnsafeBufferPointer<UInt8>, layout: TIFFLevelLayout, tileOrigin: (x: Int, y: Int),
    rows: Int, visible: PixelRect, target: OutputTarget
  ) {
    let raster = UnsafeRawPointer(tile.baseAddress!).assumingMemoryBound(to: UInt32.self)
    let height = layout.tiled ? layout.tileHeight : rows

    for y in visible.y..<visible.maxY {
      let rasterRow = height - 1 - (y - tileOrigin.y)
      let s = raster + rasterRow * layout.tileWidth + (visible.x - tileOrigin.x)
      let d = target.pointer(x: visible.x, y: y)
      for i in 0..<visible.width {
        let v = s[i]
        let a = UInt8(truncatingIfNeeded: v >> 24)
        d[i * 3] = onWhite(premultiplied: UInt8(truncatingIfNeeded: v), alpha: a)
        d[i * 3 + 1] = onWhite(premultiplied: UInt8(truncatingIfNeeded: v >> 8), alpha: a)
        d[i * 3 + 2] = onWhite(premultiplied: UInt8(truncatingIfNeeded: v >> 16), alpha: a)
      }
    }
  }
}

/// A premultiplied sample composited onto white. Un-premultiplying
/// (`c / a`) and then blending onto white (`c/a · a + 255 · (1 − a)`) reduces
/// to `c + 255 − a`, clamped for files whose samples exceed their alpha.
@inline(__always)
func onWhite(premultiplied c: UInt8, alpha a: UInt8) -> UInt8 {
  UInt8(min(255, Int(c) + 255 - Int(a)))
}

/// A straight (unassociated) sample composited onto white, rounded.
@inline(__always)
func onWhite(straight c: UInt8, alpha a: UInt8) -> UInt8 {
  let v = Int(c) * Int(a) + 255 * (255 - Int(a))
  return UInt8((v + 127) / 255)
}
