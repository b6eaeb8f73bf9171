import Foundation
import Sampling
import SlideIO
import Tensor
import XCTest

@testable import Inference

/// A per-pixel rule as a model: class 1 where red < 200 (stained tissue on
/// the real CMU slide), else 0. Its output at a pixel depends on that pixel
/// alone, so any tiling must give the same mask.
struct RedRule: PixelModel {
  var classCount: Int { 2 }

  func scores(_ images: Tensor) throws -> Tensor {
    let n = images.shape[0], h = images.shape[2], w = images.shape[3]
    let plane = h * w
    let x = images.scalars
    var out = [Float](repeating: 0, count: n * 2 * plane)
    for b in 0..<n {
      for p in 0..<plane {
        let tissue: Float = x[b * 3 * plane + p] * 255 < 200 ? 1 : 0
        out[b * 2 * plane + p] = 1 - tissue
        out[b * 2 * plane + plane + p] = tissue
      }
    }
    return try Tensor(shape: [n, 2, h, w], values: out)
  }
}

final class SlideSegmenterTests: XCTestCase {
  let cmu = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("shared/data/wsi/CMU-1-Small-Region.svs").path

  func run(
    _ slide: Slide, tile: Int, overlap: Int, downsample: Double, tissue: TissueMask? = nil
  ) throws -> (labels: [UInt8], summary: SlideSegmenter.Summary) {
    let segmenter = try SlideSegmenter(
      model: RedRule(), options: .init(tileSize: tile, overlap: overlap, batchSize: 3))
    var labels: [UInt8] = []
    let summary = try segmenter.segment(slide, downsample: downsample, tissue: tissue) {
      labels += $0
    }
    return (labels, summary)
  }

  /// Any tile size and overlap gives the per-pixel rule applied to the
  /// whole level-0 image, with no seams.
  func testTilingDoesNotChangeAPerPixelModel() throws {
    let slide = try Slide(path: cmu)
    let whole = try slide.readLevel(0)
    let expected = stride(from: 0, to: whole.pixels.count, by: 3).map {
      UInt8(whole.pixels[$0] < 200 ? 1 : 0)
    }
    for (tile, overlap) in [(256, 0), (256, 64), (200, 30)] {
      let (labels, summary) = try run(slide, tile: tile, overlap: overlap, downsample: 1)
      XCTAssertEqual(labels.count, 2220 * 2967)
      XCTAssertTrue(labels == expected, "tile \(tile) overlap \(overlap)")
      XCTAssertEqual(summary.classPixels.reduce(0, +), 2220 * 2967)
    }
  }

  /// At ×4 the mask still has the slide's level-0 size, and two overlaps
  /// agree everywhere except within a few pixels of tile borders (where
  /// each tile's bilinear resize sees a different edge).
  func testDownsampledOutputHasLevel0SizeAndOverlapsAgree() throws {
    let slide = try Slide(path: cmu)
    let a = try run(slide, tile: 128, overlap: 16, downsample: 4).labels
    let b = try run(slide, tile: 128, overlap: 48, downsample: 4).labels
    XCTAssertEqual(a.count, 2220 * 2967)
    let differing = zip(a, b).filter { $0 != $1 }.count
    XCTAssertLessThan(Double(differing) / Double(a.count), 0.005)
    XCTAssertGreaterThan(a.filter { $0 == 1 }.count, a.count / 10)
  }

  /// Tiles without tissue are skipped and come out as background.
  func testTissueMaskSkipsGlass() throws {
    let slide = try Slide(path: cmu)
    let tissue = try TissueDetector().detect(in: slide)
    let (labels, summary) = try run(slide, tile: 256, overlap: 32, downsample: 2, tissue: tissue)
    XCTAssertLessThan(summary.tissueTiles, summary.tiles)
    XCTAssertEqual(labels.count, 2220 * 2967)
    // Skipped tiles are background: never tissue where the full run says
    // background, and strictly less tissue overall (dark specks on glass).
    let all = try run(slide, tile: 256, overlap: 32, downsample: 2).labels
    XCTAssertFalse(zip(labels, all).contains { $0 == 1 && $1 == 0 })
    XCTAssertLessThan(labels.filter { $0 == 1 }.count, all.filter { $0 == 1 }.count)
  }

  /// Background rows handed out as counts, put back as zeros, give the
  /// same mask as rows emitted in full, in the same order. The demo mosaic
  /// has bands of glass taller than a tile (×8, 24-pixel tiles).
  func testBackgroundRunsEqualTheirZeros() throws {
    let mosaic = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
      .deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("demo/kidney-mosaic.tif").path
    let slide = try Slide(path: mosaic)
    let tissue = try TissueDetector().detect(in: slide)
    let full = try run(slide, tile: 24, overlap: 4, downsample: 8, tissue: tissue).labels
    let segmenter = try SlideSegmenter(
      model: RedRule(), options: .init(tileSize: 24, overlap: 4, batchSize: 8))
    var labels: [UInt8] = []
    var runs = 0
    _ = try segmenter.segment(
      slide, downsample: 8, tissue: tissue,
      background: { count in
        runs += 1
        labels += [UInt8](repeating: 0, count: count * 9536)
      }
    ) { labels += $0 }
    XCTAssertGreaterThan(runs, 0, "the mosaic has glass-only rows")
    XCTAssertEqual(labels.count, 9536 * 3168)
    XCTAssertTrue(labels == full)
  }

  func testOriginsCoverTheAxis() {
    XCTAssertEqual(SlideSegmenter.origins(length: 1000, tile: 256, stride: 192),
      [0, 192, 384, 576, 744])
    XCTAssertEqual(SlideSegmenter.origins(length: 100, tile: 256, stride: 192), [0])
  }
}
