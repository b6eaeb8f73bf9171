import Foundation
import Sampling
import SlideIO
import XCTest

@testable import Sampling

final class RandomPatchSamplerTests: XCTestCase {
  /// Three real HuBMAP tiles (one-level slides with masks) and CMU-1 (no
  /// labels), detected once for the whole class.
  nonisolated(unsafe) static var cachedSources: [TrainingSlide]?

  func sources() throws -> [TrainingSlide] {
    if let cached = Self.cachedSources { return cached }
    var sources = try ["2", "16", "17"].map(Fixture.hubmapSlide)
    let cmu = try Slide(path: Fixture.cmu, threads: 1)
    sources.append(try TrainingSlide(slide: cmu, labels: nil, detector: Fixture.detector))
    Self.cachedSources = sources
    return sources
  }

  func small(_ side: Int = 256, augmenter: Augmenter? = nil) -> RandomPatchSampler.Configuration {
    .init(patchSize: PixelSize(width: side, height: side), augmenter: augmenter)
  }

  func testSameSeedSamePlansDifferentSeedDifferent() throws {
    let sources = try sources()
    let a = try RandomPatchSampler(sources: sources, configuration: small(), seed: 7)
    let b = try RandomPatchSampler(sources: sources, configuration: small(), seed: 7)
    let c = try RandomPatchSampler(sources: sources, configuration: small(), seed: 8)
    let planA = Array(a.upcomingPlans.prefix(100))
    XCTAssertEqual(planA, Array(b.upcomingPlans.prefix(100)))
    let planC = Array(c.upcomingPlans.prefix(100))
    XCTAssertNotEqual(planA.map(\.centre), planC.map(\.centre))
    // every slide gets drawn
    XCTAssertEqual(Set(planA.map(\.sourceIndex)), [0, 1, 2, 3])
  }

  func testCentresOnTissueAndPatchesInsideTheSlide() throws {
    let sources = try sources()
    let sampler = try RandomPatchSampler(sources: sources, configuration: small(512), seed: 1)
    for plan in sampler.upcomingPlans.prefix(400) {
      let source = sources[plan.sourceIndex]
      XCTAssertTrue(source.tissue.isTissue(at: plan.centre), "\(plan)")
      let size = source.slide.dimensions
      XCTAssertGreaterThanOrEqual(plan.levelOrigin.x, 0)
      XCTAssertGreaterThanOrEqual(plan.levelOrigin.y, 0)
      XCTAssertLessThanOrEqual(plan.levelOrigin.x + plan.readSize.width, size.width)
      XCTAssertLessThanOrEqual(plan.levelOrigin.y + plan.readSize.height, size.height)
      // the centre is inside its patch
      XCTAssertTrue((plan.levelOrigin.x..<(plan.levelOrigin.x + 512)).contains(plan.centre.x))
      XCTAssertTrue((plan.levelOrigin.y..<(plan.levelOrigin.y + 512)).contains(plan.centre.y))
    }
  }

  /// Slides are drawn in proportion to their tissue area.
  func testSlidesWeightedByTissueArea() throws {
    let sources = try sources()
    let sampler = try RandomPatchSampler(sources: sources, configuration: small(), seed: 3)
    var counts = [Int](repeating: 0, count: sources.count)
    let n = 4000
    for plan in sampler.upcomingPlans.prefix(n) { counts[plan.sourceIndex] += 1 }
    let total = sources.reduce(0) { $0 + $1.tissueArea }
    for (index, source) in sources.enumerated() {
      let expected = source.tissueArea / total
      XCTAssertEqual(Double(counts[index]) / Double(n), expected, accuracy: 0.03)
    }
  }

  /// A 4K patch (3840×2160, the default) of a 1600×1200 tile: origin 0,
  /// white image and ignore labels (255) beyond the tile, or background 0
  /// when asked.
  func testSlideSmallerThanPatchIsPadded() throws {
    let tile = try sources()[0]
    for pad: UInt8 in [255, 0] {
      var sampler = try RandomPatchSampler(
        sources: [tile], configuration: .init(labelPadValue: pad), seed: 11)
      let patch = try sampler.next()
      XCTAssertEqual(patch.plan.levelOrigin, LevelPoint(x: 0, y: 0))
      XCTAssertEqual(patch.image.size, PixelSize(width: 3840, height: 2160))
      let labels = try XCTUnwrap(patch.labels)
      XCTAssertEqual(labels.count, 3840 * 2160)
      let inside = try tile.slide.readLevel(0)
      let mask = try XCTUnwrap(tile.labels).read(
        levelOrigin: LevelPoint(x: 0, y: 0), level: 0, size: PixelSize(width: 1600, height: 1200))
      for (x, y) in [(1599, 1199), (0, 0), (800, 600), (1234, 77)] {
        XCTAssertTrue(patch.image[x, y] == inside[x, y])
        XCTAssertEqual(labels[y * 3840 + x], mask[y * 1600 + x])
      }
      for (x, y) in [(1600, 0), (3839, 2159), (0, 1200), (2000, 100)] {
        XCTAssertTrue(patch.image[x, y] == (255, 255, 255), "(\(x), \(y))")
        XCTAssertEqual(labels[y * 3840 + x], pad, "(\(x), \(y))")
      }
      // the whole of row 1200 and the tail of row 0 are padding
      XCTAssertTrue(labels[(1200 * 3840)..<(1201 * 3840)].allSatisfy { $0 == pad })
      XCTAssertTrue(labels[1600..<3840].allSatisfy { $0 == pad })
    }
  }

  func testResumeFromSavedStateContinuesIdentically() throws {
    let sources = try sources()
    let configuration = small(128, augmenter: Augmenter())
    var original = try RandomPatchSampler(sources: sources, configuration: configuration, seed: 42)
    for _ in 0..<5 { _ = original.nextPlan() }
    let saved = try JSONEncoder().encode(original.state)

    let state = try JSONDecoder().decode(RandomPatchSampler.State.self, from: saved)
    XCTAssertEqual(state.nextIndex, 5)
    var resumed = try RandomPatchSampler(
      sources: sources, configuration: configuration, state: state)
    for _ in 0..<3 {
      let a = try original.next()
      let b = try resumed.next()
      XCTAssertEqual(a.plan, b.plan)
      XCTAssertEqual(a.image, b.image)
      XCTAssertEqual(a.labels, b.labels)
    }

    // a state from other slides is refused
    XCTAssertThrowsError(
      try RandomPatchSampler(sources: Array(sources.prefix(2)), state: state)
    ) { error in
      guard case .stateMismatch = error as? SamplingError else {
        return XCTFail("unexpected \(error)")
      }
    }
  }

  func testPrefetcherDeliversTheSerialOrder() throws {
    let sources = try sources()
    let configuration = small(128, augmenter: Augmenter())
    var serial = try RandomPatchSampler(sources: sources, configuration: configuration, seed: 5)
    let expected = try (0..<10).map { _ in try serial.next() }

    let prefetcher = Prefetcher(
      sampler: try RandomPatchSampler(sources: sources, configuration: configuration, seed: 5),
      depth: 3, threads: 3)
    defer { prefetcher.stop() }
    for item in expected {
      let got = try prefetcher.next()
      XCTAssertEqual(got.plan, item.plan)
      XCTAssertEqual(got.image, item.image)
      XCTAssertEqual(got.labels, item.labels)
    }
    XCTAssertEqual(prefetcher.state, serial.state)

    // after stop: what was claimed still arrives, then a clear error
    prefetcher.stop()
    var after = 0
    while true {
      do {
        let item = try prefetcher.next()
        XCTAssertEqual(item.plan.index, expected.count + after)
        after += 1
      } catch {
        XCTAssertEqual(
          error as? SamplingError, .prefetcherStopped(index: expected.count + after))
        break
      }
    }
    XCTAssertLessThanOrEqual(after, 3)  // never more than the depth
  }

  /// Resolution by mpp: CMU-1 is 0.499 µm/px and has one level, so 1 µm/px
  /// reads 2.004× the output size at level 0 and shrinks it.
  func testTargetResolutionResizes() throws {
    let cmu = try sources()[3]
    var sampler = try RandomPatchSampler(
      sources: [cmu],
      configuration: .init(patchSize: PixelSize(width: 200, height: 100), resolution: .mpp(1.0)),
      seed: 2)
    let patch = try sampler.next()
    let mpp = try XCTUnwrap(cmu.slide.properties.mpp)
    XCTAssertEqual(patch.plan.level, 0)
    XCTAssertEqual(patch.plan.readSize.width, Int((200 / mpp).rounded()))
    XCTAssertEqual(patch.plan.readSize.height, Int((100 / mpp).rounded()))
    XCTAssertEqual(patch.image.size, PixelSize(width: 200, height: 100))
    XCTAssertNil(patch.labels)

    // HuBMAP tiles have no mpp: a clear error, not a guess
    let tile = try sources()[0]
    XCTAssertThrowsError(
      try RandomPatchSampler(sources: [tile], configuration: .init(resolution: .mpp(1)), seed: 1))

    // by downsample, labels stay labels (nearest)
    var coarse = try RandomPatchSampler(
      sources: [tile],
      configuration: .init(
        patchSize: PixelSize(width: 300, height: 300), resolution: .downsample(2)),
      seed: 4)
    let resized = try coarse.next()
    XCTAssertEqual(resized.plan.readSize, PixelSize(width: 600, height: 600))
    XCTAssertTrue(Set(try XCTUnwrap(resized.labels)).isSubset(of: [0, 1]))
  }

  func testNoTissueIsAnError() throws {
    let tile = try sources()[0]
    let empty = TrainingSlide(
      slide: tile.slide, labels: nil,
      tissue: TissueMask(
        width: 4, height: 3, level: 0, downsample: 400, pixels: [Bool](repeating: false, count: 12),
        saturationThreshold: nil))
    XCTAssertThrowsError(try RandomPatchSampler(sources: [empty], seed: 1)) { error in
      XCTAssertEqual(error as? SamplingError, .noTissue(paths: [tile.slide.path]))
    }
  }
}

final class TissuePixelRankTests: XCTestCase {
  /// Rank k maps to the k-th tissue pixel in row-major order, including
  /// empty rows and the last pixel.
  func testRanksWalkTissueInRowMajorOrder() {
    let flags: [Bool] = [
      false, true, false, true,
      false, false, false, false,
      true, true, false, false,
      false, false, false, true,
    ]
    let mask = TissueMask(
      width: 4, height: 4, level: 0, downsample: 1, pixels: flags, saturationThreshold: 0.1)
    let before = [0, 2, 2, 4, 5]
    let expected = flags.indices.filter { flags[$0] }.map { ($0 % 4, $0 / 4) }
    for (rank, pixel) in expected.enumerated() {
      let found = RandomPatchSampler.tissuePixel(rank, of: mask, tissueBeforeRow: before)
      XCTAssertTrue(found == pixel, "rank \(rank): \(found) vs \(pixel)")
    }
  }
}
