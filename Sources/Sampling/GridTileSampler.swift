import Sampling
import SlideIO

/// A regular grid of tiles over one level of a slide, keeping the tiles
/// that hold enough tissue: the tiler for whole-slide inference and for
/// exhaustive evaluation.
///
/// Grid, per axis, for a level of length L, tile length T and stride S
/// (all in level pixels): origins 0, S, 2S, … while `origin + T < L`, then
/// a last origin `L − T`, **shifted inward** so the last tile ends exactly
/// at the level's edge (it overlaps its neighbour more than S would). That
/// is `⌈(L − T) / S⌉ + 1` tiles when L ≥ T. When L < T there is one tile,
/// at origin 0, reaching past the level: reads there are padded (white
/// image, as ``SlideIO/Slide`` reads outside a level).
///
/// Tissue fraction of a tile: the share of tissue among the mask pixels
/// whose centres fall inside the tile's level-0 rectangle (clipped to the
/// slide); when no mask pixel centre falls inside (a tile smaller than a
/// mask pixel), the mask pixel under the tile's centre decides (0 or 1).
public struct GridTileSampler: Sendable {
  /// One tile of the grid.
  public struct Tile: Sendable, Equatable {
    /// Position in the grid (row-major over all grid tiles, kept or not).
    public var column: Int
    public var row: Int
    /// Top-left corner in the level's pixels.
    public var levelOrigin: LevelPoint
    /// The same corner in level-0 pixels.
    public var level0Origin: Level0Point
    /// Tile size in the level's pixels.
    public var size: PixelSize
    /// Tissue share, 0…1.
    public var tissueFraction: Double
  }

  public let level: Int
  public let tileSize: PixelSize
  public let stride: PixelSize
  /// Grid size (columns × rows), before the tissue filter.
  public let gridSize: PixelSize
  /// Tiles with at least the requested tissue fraction, row by row.
  public let tiles: [Tile]

  /// Lays the grid over `level` of `slide`.
  ///
  /// - Parameters:
  ///   - tissue: the slide's tissue mask.
  ///   - tileSize: tile size in `level`'s pixels.
  ///   - stride: step between tile origins in `level`'s pixels (default:
  ///     the tile size, no overlap); overlap is `tileSize − stride`.
  ///   - minTissueFraction: keep tiles with at least this tissue share
  ///     (0 keeps every tile).
  /// - Throws: ``SamplingError/invalidSetting(name:value:expected:)``
  ///   for a non-positive size or stride or a fraction outside 0…1, or
  ///   ``SlideIO/SlideError/levelOutOfRange(path:level:levelCount:)``.
  public init(
    slide: Slide, tissue: TissueMask, level: Int, tileSize: PixelSize,
    stride: PixelSize? = nil, minTissueFraction: Double = 0.1
  ) throws {
    let stride = stride ?? tileSize
    guard tileSize.width > 0, tileSize.height > 0 else {
      throw SamplingError.invalidSetting(
        name: "tileSize", value: "\(tileSize)", expected: "positive width and height")
    }
    guard stride.width > 0, stride.height > 0 else {
      throw SamplingError.invalidSetting(
        name: "stride", value: "\(stride)", expected: "positive width and height")
    }
    guard (0...1).contains(minTissueFraction) else {
      throw SamplingError.invalidSetting(
        name: "minTissueFraction", value: "\(minTissueFraction)", expected: "0 to 1")
    }
    let levelSize = try slide.size(level: level)
    let downsample = try slide.downsample(level: level)
    let columns = Self.origins(length: levelSize.width, tile: tileSize.width, stride: stride.width)
    let rows = Self.origins(length: levelSize.height, tile: tileSize.height, stride: stride.height)
    let counter = TissueCounter(tissue)
    let slideSize = slide.dimensions

    var tiles: [Tile] = []
    for (row, y) in rows.enumerated() {
      for (column, x) in columns.enumerated() {
        let origin = LevelPoint(x: x, y: y)
        // the tile's level-0 rectangle, clipped to the slide
        let left = Double(x) * downsample
        let top = Double(y) * downsample
        let right = min(Double(x + tileSize.width) * downsample, Double(slideSize.width))
        let bottom = min(Double(y + tileSize.height) * downsample, Double(slideSize.height))
        let fraction = counter.fraction(left: left, top: top, right: right, bottom: bottom)
        guard fraction >= minTissueFraction else { continue }
        tiles.append(
          Tile(
            column: column, row: row, levelOrigin: origin,
            level0Origin: Level0Point(origin, downsample: downsample), size: tileSize,
            tissueFraction: fraction))
      }
    }
    self.level = level
    self.tileSize = tileSize
    self.stride = stride
    self.gridSize = PixelSize(width: columns.count, height: rows.count)
    self.tiles = tiles
  }

  /// Tile origins along one axis (see ``GridTileSampler`` for the rule).
  public static func origins(length: Int, tile: Int, stride: Int) -> [Int] {
    guard length > tile else { return [0] }
    var origins = Array(Swift.stride(from: 0, to: length - tile, by: stride))
    origins.append(length - tile)
    return origins
  }
}

/// Counts tissue mask pixels in rectangles in O(1), with a summed-area
/// table.
private struct TissueCounter {
  let mask: TissueMask
  /// `(width + 1) × (height + 1)` prefix sums; entry (x, y) counts tissue
  /// in mask pixels `[0, x) × [0, y)`.
  let sums: [Int32]

  init(_ mask: TissueMask) {
    self.mask = mask
    let stride = mask.width + 1
    var sums = [Int32](repeating: 0, count: stride * (mask.height + 1))
    for y in 0..<mask.height {
      var rowSum: Int32 = 0
      for x in 0..<mask.width {
        rowSum += mask.pixels[y * mask.width + x] ? 1 : 0
        sums[(y + 1) * stride + x + 1] = sums[y * stride + x + 1] + rowSum
      }
    }
    self.sums = sums
  }

  /// Tissue share of the mask pixels whose centres lie in the level-0
  /// rectangle `[left, right) × [top, bottom)`.
  func fraction(left: Double, top: Double, right: Double, bottom: Double) -> Double {
    let d = mask.downsample
    // mask pixel m has its centre at (m + 0.5) · d
    func first(_ edge: Double) -> Int { Int((edge / d - 0.5).rounded(.up)) }
    let x0 = max(0, first(left))
    let x1 = min(mask.width, first(right))
    let y0 = max(0, first(top))
    let y1 = min(mask.height, first(bottom))
    guard x0 < x1, y0 < y1 else {
      let centre = Level0Point(x: Int((left + right) / 2), y: Int((top + bottom) / 2))
      return mask.isTissue(at: centre) ? 1 : 0
    }
    let stride = mask.width + 1
    let count =
      sums[y1 * stride + x1] - sums[y0 * stride + x1] - sums[y1 * stride + x0]
      + sums[y0 * stride + x0]
    return Double(count) / Double((x1 - x0) * (y1 - y0))
  }
}
