import Sampling
import Sampling
import SlideIO
import XCTest

final class GridTileSamplerTests: XCTestCase {
  func testOriginsPerAxis() {
    // ⌈(L − T) / S⌉ + 1 origins, the last shifted inward to L − T
    XCTAssertEqual(
      GridTileSampler.origins(length: 1600, tile: 512, stride: 256),
      [0, 256, 512, 768, 1024, 1088])
    XCTAssertEqual(GridTileSampler.origins(length: 1024, tile: 512, stride: 256), [0, 256, 512])
    XCTAssertEqual(GridTileSampler.origins(length: 512, tile: 512, stride: 256), [0])
    XCTAssertEqual(GridTileSampler.origins(length: 300, tile: 512, stride: 256), [0])
  }

  /// CMU-1 (2220×2967), 512 px tiles, stride 384 (128 px overlap):
  /// ⌈1708 / 384⌉ + 1 = 6 columns, ⌈2455 / 384⌉ + 1 = 8 rows.
  func testCountsOnCMU() throws {
    let slide = try Slide(path: Fixture.cmu, threads: 1)
    let tissue = try Fixture.detector.detect(in: slide)
    let size = PixelSize(width: 512, height: 512)
    let stride = PixelSize(width: 384, height: 384)
    let all = try GridTileSampler(
      slide: slide, tissue: tissue, level: 0, tileSize: size, stride: stride,
      minTissueFraction: 0)
    XCTAssertEqual(all.gridSize, PixelSize(width: 6, height: 8))
    XCTAssertEqual(all.tiles.count, 48)
    XCTAssertEqual(all.tiles.last?.levelOrigin, LevelPoint(x: 2220 - 512, y: 2967 - 512))
    for tile in all.tiles {
      XCTAssertLessThanOrEqual(tile.levelOrigin.x + 512, 2220)
      XCTAssertLessThanOrEqual(tile.levelOrigin.y + 512, 2967)
    }

    let tissueOnly = try GridTileSampler(
      slide: slide, tissue: tissue, level: 0, tileSize: size, stride: stride,
      minTissueFraction: 0.5)
    XCTAssertLessThan(tissueOnly.tiles.count, 48)
    XCTAssertGreaterThan(tissueOnly.tiles.count, 0)
    XCTAssertTrue(tissueOnly.tiles.allSatisfy { $0.tissueFraction >= 0.5 })
    XCTAssertEqual(
      Set(tissueOnly.tiles.map(\.levelOrigin)),
      Set(all.tiles.filter { $0.tissueFraction >= 0.5 }.map(\.levelOrigin)))
  }

  /// A HuBMAP tile (1600×1200): 6 × 4 tiles of 512 at stride 256; a tile
  /// larger than the slide gives one padded tile at the origin.
  func testCountsOnHubmapTile() throws {
    let source = try Fixture.hubmapSlide("2")
    let grid = try GridTileSampler(
      slide: source.slide, tissue: source.tissue, level: 0,
      tileSize: PixelSize(width: 512, height: 512), stride: PixelSize(width: 256, height: 256),
      minTissueFraction: 0)
    XCTAssertEqual(grid.tiles.count, 24)
    XCTAssertEqual(grid.tiles.map(\.levelOrigin.y).max(), 688)

    let big = try GridTileSampler(
      slide: source.slide, tissue: source.tissue, level: 0,
      tileSize: PixelSize(width: 2048, height: 2048), minTissueFraction: 0)
    XCTAssertEqual(big.tiles.count, 1)
    XCTAssertEqual(big.tiles.first?.levelOrigin, LevelPoint(x: 0, y: 0))
    XCTAssertEqual(big.tiles.first?.tissueFraction ?? -1, source.tissue.fraction, accuracy: 1e-9)

    XCTAssertThrowsError(
      try GridTileSampler(
        slide: source.slide, tissue: source.tissue, level: 0,
        tileSize: PixelSize(width: 0, height: 512)))
  }

  /// BRACS level 1 (325×371, downsample ≈ 2.0013): level-0 origins are the
  /// level origins × downsample, rounded.
  func testLevelAndLevel0Origins() throws {
    let slide = try Slide(path: Fixture.bracs, threads: 1)
    let tissue = try Fixture.detector.detect(in: slide)
    let grid = try GridTileSampler(
      slide: slide, tissue: tissue, level: 1, tileSize: PixelSize(width: 128, height: 128),
      stride: PixelSize(width: 100, height: 100), minTissueFraction: 0)
    // ⌈197 / 100⌉ + 1 = 3 columns, ⌈243 / 100⌉ + 1 = 4 rows
    XCTAssertEqual(grid.gridSize, PixelSize(width: 3, height: 4))
    let d = try slide.downsample(level: 1)
    for tile in grid.tiles {
      XCTAssertEqual(tile.level0Origin.x, Int((Double(tile.levelOrigin.x) * d).rounded()))
      XCTAssertEqual(tile.level0Origin.y, Int((Double(tile.levelOrigin.y) * d).rounded()))
    }
    XCTAssertEqual(grid.tiles.last?.levelOrigin, LevelPoint(x: 325 - 128, y: 371 - 128))
  }
}
