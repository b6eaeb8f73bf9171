import Foundation
import Sampling
import SlideIO
import Tensor

/// Training batches from a folder of image/mask tiles, the paper's way:
/// random patches centred on tissue (``Sampling/RandomPatchSampler``),
/// augmented, at the config's downsample. Batch `s` holds sampler items
/// `s·B … s·B + B − 1`, and item k depends only on (seed, k), so batches are
/// a pure function of the step and resume needs no sampler state.
///
/// Held-out tiles: `validationTiles` of the split, chosen by a seeded
/// shuffle, never sampled for training; each becomes one whole-tile
/// ``ValidationCase`` at the same downsample (bilinear image, nearest
/// labels, as the sampler resizes).
///
/// Labels: 0 background, 1 glomerulus (0/255 masks); pixels beyond a tile
/// (only when a patch is larger than a tile) count as background.
public struct TileBatchSource: BatchSource {
  public let sampler: RandomPatchSampler
  /// The grid patches when the config asks for the tile sampler; `nil`
  /// for random patches.
  public let gridPlans: [RandomPatchSampler.Plan]?
  let seed: UInt64
  public let batchSize: Int
  /// Stems of the tiles held out for validation.
  public let validationStems: [String]
  let validationItems: [TileFolderDataset.Item]
  let downsample: Double

  /// - Throws: ``TrainingError/badData(path:detail:)`` for an empty folder
  ///   or too few tiles, and the dataset's own errors (missing masks,
  ///   mismatched sizes) before any training starts.
  public init(config: TrainingConfig) throws {
    let dataset: TileFolderDataset?
    if config.tiles.isEmpty {
      dataset = nil
    } else {
      do {
        dataset = try TileFolderDataset(root: config.tiles, split: config.trainSplit)
      } catch {
        throw TrainingError.badData(
          path: config.tiles, detail: "\(error)".trimmingSuffix("."))
      }
    }
    let items = dataset?.items ?? []
    guard dataset == nil || items.count > config.validationTiles else {
      throw TrainingError.badData(
        path: config.tiles,
        detail: "\(items.count) tiles in split '\(config.trainSplit)', but "
          + "\(config.validationTiles) are to be held out for validation")
    }

    // Seeded shuffle (Fisher–Yates with SplitMix-style steps).
    var order = Array(items.indices)
    var state = config.seed &+ 0x9E37_79B9_7F4A_7C15
    for i in stride(from: order.count - 1, to: 0, by: -1) {
      state = state &+ 0x9E37_79B9_7F4A_7C15
      var z = state
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      z ^= z >> 31
      order.swapAt(i, Int(z % UInt64(i + 1)))
    }
    let held = Set(order.prefix(config.validationTiles))

    var slides: [TrainingSlide] = []
    if let dataset {
      for index in items.indices where !held.contains(index) {
        let (slide, labels) = try dataset.open(index)
        slides.append(
          try TrainingSlide(slide: slide, labels: labels, detector: TissueDetector()))
      }
    }
    // Unlabelled slides (tokenizer pre-training; the config refuses them
    // for segmentation).
    for path in config.slides {
      let slide = try Slide(path: path)
      slides.append(try TrainingSlide(slide: slide, labels: nil, detector: TissueDetector()))
    }
    var augmenter = Augmenter()
    augmenter.labelPadValue = 0
    let configuration = RandomPatchSampler.Configuration(
      patchSize: PixelSize(width: config.patch[0], height: config.patch[1]),
      resolution: .downsample(config.downsample), labelPadValue: 0, augmenter: augmenter)
    sampler = try RandomPatchSampler(
      sources: slides, configuration: configuration, seed: config.seed)
    seed = config.seed
    switch config.sampler {
    case .random:
      gridPlans = nil
    case .grid:
      let plans = try sampler.gridPlans(overlap: config.gridOverlap, minTissueFraction: 0.1)
      guard !plans.isEmpty else {
        throw TrainingError.badData(
          path: config.tiles, detail: "no grid patch holds 10% tissue")
      }
      gridPlans = plans
    }
    batchSize = config.batchSize
    validationItems = order.prefix(config.validationTiles).sorted().map { items[$0] }
    validationStems = validationItems.map(\.stem)
    downsample = config.downsample
  }

  public func batch(step: Int) throws -> TrainingBatch {
    let size = sampler.configuration.patchSize
    let plane = size.width * size.height
    var values = [Float](repeating: 0, count: batchSize * 3 * plane)
    var labels = [Int](repeating: 0, count: batchSize * plane)
    for b in 0..<batchSize {
      let patch = try sampler.read(plan(item: step * batchSize + b))
      patch.image.writePlanarUnitFloats(into: &values, offset: b * 3 * plane)
      if let patchLabels = patch.labels {
        for p in 0..<plane {
          let v = patchLabels[p]
          labels[b * plane + p] = v == LabelSource.ignoreValue ? 0 : Int(v)
        }
      }
    }
    return TrainingBatch(
      images: try Tensor(shape: [batchSize, 3, size.height, size.width], values: values),
      labels: labels)
  }

  /// Where item `k` comes from: a random plan, or grid patch `k mod n` of
  /// epoch `k / n` in that epoch's seeded order (each patch once per
  /// epoch), so batches stay a pure function of the step.
  func plan(item k: Int) -> RandomPatchSampler.Plan {
    guard let gridPlans else { return sampler.plan(index: k) }
    let n = gridPlans.count
    let epoch = k / n
    var order = Array(0..<n)
    var generator = SplitMix64(seed: seed ^ 0x5EED_6121, index: epoch, stream: 2)
    for i in stride(from: n - 1, to: 0, by: -1) {
      order.swapAt(i, generator.nextInt(below: i + 1))
    }
    var plan = gridPlans[order[k % n]]
    plan.index = k
    return plan
  }

  /// Whole held-out tiles at the training downsample.
  public func validationCases() throws -> [ValidationCase] {
    try validationItems.map { item in
      let image = try Slide(path: item.imagePath).readLevel(0)
      let mask = try Slide(path: item.maskPath).readLevel(0)
      let size = PixelSize(
        width: Int((Double(image.width) / downsample).rounded()),
        height: Int((Double(image.height) / downsample).rounded()))
      let scale = SIMD2(
        Double(image.width) / Double(size.width), Double(image.height) / Double(size.height))
      let small = Resampler.bilinear(image, to: size, scale: scale, offset: .zero)
      let maskRed = stride(from: 0, to: mask.pixels.count, by: 3).map { mask.pixels[$0] }
      let smallMask = Resampler.nearest(
        maskRed, sourceSize: mask.size, to: size, scale: scale, offset: .zero, fill: 0)
      var values = [Float](repeating: 0, count: 3 * size.width * size.height)
      small.writePlanarUnitFloats(into: &values, offset: 0)
      return ValidationCase(
        name: item.stem,
        image: try Tensor(shape: [1, 3, size.height, size.width], values: values),
        labels: smallMask.map { $0 > 127 ? 1 : 0 })
    }
  }
}

extension String {
  func trimmingSuffix(_ suffix: String) -> String {
    hasSuffix(suffix) ? String(dropLast(suffix.count)) : self
  }
}
