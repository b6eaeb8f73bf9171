import Sampling
import SlideIO

/// Random training patches centred on tissue, across many slides.
///
/// Item k is drawn from its own generator, `SplitMix64(seed:index: k)`, so
/// it depends on (seed, k) alone: the sequence is reproducible, resumes
/// exactly from a saved ``State``, and a ``Prefetcher`` can build items on
/// several threads in any order and still deliver the serial sequence.
///
/// Drawing item k:
/// 1. a slide, with probability proportional to its tissue area
///    (``TrainingSlide/tissueArea``);
/// 2. a tissue pixel of its ``Sampling/TissueMask``, uniformly, then a
///    level-0 pixel uniformly inside that mask pixel's square: the
///    patch's ``Plan/centre``, always on tissue;
/// 3. the patch: ``Configuration/patchSize`` output pixels at the chosen
///    resolution, centred on that point and then shifted so that it lies
///    inside the level. A level smaller than the patch along an axis is
///    **padded on the right or bottom**: origin 0 on that axis, image
///    pixels beyond the level white (255, 255, 255), labels beyond it
///    ``Configuration/labelPadValue`` (255, "ignore", by default).
///
/// Unlimited: ``next()`` never runs out.
public struct RandomPatchSampler: Sendable {
  /// The resolution patches are taken at.
  public enum Resolution: Sendable, Equatable {
    /// A pyramid level, read as is.
    case level(Int)
    /// A target downsample (level-0 pixels per output pixel): read at
    /// ``SlideIO/Slide/bestLevel(forDownsample:)`` and resized by the
    /// remaining factor (bilinear image, nearest labels).
    case downsample(Double)
    /// A target resolution in µm per output pixel: as ``downsample(_:)``
    /// with `mpp / slide mpp`, through ``SlideIO/Slide/bestLevel(forMPP:)``.
    case mpp(Double)
  }

  /// What patches look like.
  public struct Configuration: Sendable {
    /// Output size in output pixels (default 3840×2160, 4K UHD).
    public var patchSize = PixelSize(width: 3840, height: 2160)
    public var resolution = Resolution.level(0)
    /// Label of pixels beyond the slide (255 = ignore; use 0 to count them
    /// as background).
    public var labelPadValue: UInt8 = LabelSource.ignoreValue
    /// Applied to every patch with generator stream 1 of (seed, k).
    public var augmenter: Augmenter?

    public init(
      patchSize: PixelSize = PixelSize(width: 3840, height: 2160),
      resolution: Resolution = .level(0), labelPadValue: UInt8 = LabelSource.ignoreValue,
      augmenter: Augmenter? = nil
    ) {
      self.patchSize = patchSize
      self.resolution = resolution
      self.labelPadValue = labelPadValue
      self.augmenter = augmenter
    }
  }

  /// Everything needed to resume: the seed, the index of the next item,
  /// and a check that the state is used with the same slides.
  public struct State: Codable, Equatable, Sendable {
    public var seed: UInt64
    /// Index k of the item the next ``next()`` returns.
    public var nextIndex: Int
    /// Number of slides, and their tissue areas summed, when the state
    /// was made (checked on resume).
    public var sourceCount: Int
    public var totalTissueArea: Double
  }

  /// Where one patch comes from; no pixels yet.
  public struct Plan: Sendable, Equatable {
    /// Item index k.
    public var index: Int
    /// Index into ``RandomPatchSampler/sources``.
    public var sourceIndex: Int
    /// The tissue point drawn, in level-0 pixels.
    public var centre: Level0Point
    /// The level read.
    public var level: Int
    /// Top-left of the region read, in `level`'s pixels (inside the level,
    /// or 0 on an axis where the level is smaller than the region).
    public var levelOrigin: LevelPoint
    /// The same corner in level-0 pixels.
    public var level0Origin: Level0Point
    /// Region read, in `level`'s pixels (equal to ``outputSize`` unless
    /// the resolution needs a resize).
    public var readSize: PixelSize
    /// Patch size after resizing, in output pixels.
    public var outputSize: PixelSize
  }

  /// A patch: its plan, pixels and labels.
  public struct Patch: Sendable {
    public var plan: Plan
    /// `plan.outputSize` pixels (see ``SlideIO/RGBImage`` for the layout).
    public var image: RGBImage
    /// Row-major labels of the image's size, or `nil` for an unlabelled
    /// slide.
    public var labels: [UInt8]?
  }

  /// Per slide: the level read and the region size there.
  struct SourcePlan: Sendable {
    var level: Int
    var levelSize: PixelSize
    var downsample: Double
    var readSize: PixelSize
    /// Tissue pixels of the slide's mask in rows `0..<r`, for r = 0…height:
    /// the k-th tissue pixel (row-major) is found by a binary search over
    /// rows and a scan of one row, in O(height) memory per slide.
    var tissueBeforeRow: [Int]

    var tissueCount: Int { tissueBeforeRow[tissueBeforeRow.count - 1] }
  }

  public let sources: [TrainingSlide]
  public let configuration: Configuration
  /// Where the sampler stands; save it to resume.
  public private(set) var state: State
  let sourcePlans: [SourcePlan]
  /// Running sums of tissue area, for choosing a slide.
  let cumulativeArea: [Double]
  /// Fallback when rounding puts the pick at the very end of the sums.
  let lastSourceWithTissue: Int

  /// A sampler over `sources`, starting at item 0.
  ///
  /// - Throws: ``SamplingError/noTissue(paths:)`` when no slide has
  ///   tissue, ``SamplingError/invalidSetting(name:value:expected:)``
  ///   for a non-positive patch size or resolution,
  ///   ``SlideIO/SlideError/levelOutOfRange(path:level:levelCount:)`` or
  ///   ``SlideIO/SlideError/unknownResolution(path:)`` from choosing levels.
  public init(sources: [TrainingSlide], configuration: Configuration = .init(), seed: UInt64)
    throws
  {
    let size = configuration.patchSize
    guard size.width > 0, size.height > 0 else {
      throw SamplingError.invalidSetting(
        name: "patchSize", value: "\(size)", expected: "positive width and height")
    }
    var plans: [SourcePlan] = []
    for source in sources {
      plans.append(try Self.plan(for: source, configuration))
    }
    var sum = 0.0
    let cumulative = sources.map { source in
      sum += source.tissueArea
      return sum
    }
    guard sum > 0 else {
      throw SamplingError.noTissue(paths: sources.map(\.slide.path))
    }
    self.sources = sources
    self.configuration = configuration
    self.sourcePlans = plans
    self.cumulativeArea = cumulative
    self.lastSourceWithTissue = plans.lastIndex { $0.tissueCount > 0 } ?? 0
    self.state = State(seed: seed, nextIndex: 0, sourceCount: sources.count, totalTissueArea: sum)
  }

  /// A sampler over the same `sources` that continues from `state`.
  ///
  /// - Throws: as ``init(sources:configuration:seed:)``, or
  ///   ``SamplingError/stateMismatch(detail:)`` when the slides differ
  ///   in number or tissue area from those the state was saved with.
  public init(sources: [TrainingSlide], configuration: Configuration = .init(), state: State)
    throws
  {
    try self.init(sources: sources, configuration: configuration, seed: state.seed)
    guard self.state.sourceCount == state.sourceCount,
      self.state.totalTissueArea == state.totalTissueArea, state.nextIndex >= 0
    else {
      throw SamplingError.stateMismatch(
        detail: "saved with \(state.sourceCount) slides of \(state.totalTissueArea) "
          + "level-0 px² tissue, given \(self.state.sourceCount) slides of "
          + "\(self.state.totalTissueArea)")
    }
    self.state = state
  }

  /// The level and region size for one slide.
  static func plan(for source: TrainingSlide, _ configuration: Configuration) throws
    -> SourcePlan
  {
    let slide = source.slide
    let output = configuration.patchSize
    var target: Double?
    var level: Int
    switch configuration.resolution {
    case .level(let chosen):
      level = chosen
    case .downsample(let downsample):
      guard downsample > 0 else {
        throw SamplingError.invalidSetting(
          name: "downsample", value: "\(downsample)", expected: "a positive number")
      }
      target = downsample
      level = slide.bestLevel(forDownsample: downsample)
    case .mpp(let mpp):
      guard mpp > 0 else {
        throw SamplingError.invalidSetting(
          name: "mpp", value: "\(mpp)", expected: "a positive number of µm per pixel")
      }
      level = try slide.bestLevel(forMPP: mpp)
      target = mpp / (slide.properties.mpp ?? 1)
    }
    let levelSize = try slide.size(level: level)
    let downsample = try slide.downsample(level: level)

    // region read at the level: output size × remaining factor (≥ 1 up to
    // the level tolerance)
    var readSize = output
    if let target {
      let factor = target / downsample
      readSize = PixelSize(
        width: max(1, Int((Double(output.width) * factor).rounded())),
        height: max(1, Int((Double(output.height) * factor).rounded())))
    }
    let mask = source.tissue
    var before = [0]
    before.reserveCapacity(mask.height + 1)
    mask.pixels.withUnsafeBufferPointer { pixels in
      for y in 0..<mask.height {
        var count = 0
        for x in 0..<mask.width where pixels[y * mask.width + x] { count += 1 }
        before.append(before[y] + count)
      }
    }
    return SourcePlan(
      level: level, levelSize: levelSize, downsample: downsample, readSize: readSize,
      tissueBeforeRow: before)
  }

  // MARK: Drawing

  /// The plan of item `index`; depends on the seed and `index` only.
  public func plan(index: Int) -> Plan {
    var generator = SplitMix64(seed: state.seed, index: index, stream: 0)

    // a slide, weighted by tissue area
    let total = cumulativeArea[cumulativeArea.count - 1]
    let pick = generator.nextUnit() * total
    // (a slide without tissue adds nothing to the sums, so is never first)
    let sourceIndex = cumulativeArea.firstIndex { pick < $0 } ?? lastSourceWithTissue
    let source = sources[sourceIndex]
    let plan = sourcePlans[sourceIndex]

    // a tissue pixel, then a level-0 pixel inside its square
    let mask = source.tissue
    let (maskX, maskY) = Self.tissuePixel(
      generator.nextInt(below: plan.tissueCount), of: mask,
      tissueBeforeRow: plan.tissueBeforeRow)
    let centre = Level0Point(
      x: Self.level0Coordinate(
        maskCoordinate: maskX, downsample: mask.downsample,
        unit: generator.nextUnit(), limit: source.slide.dimensions.width),
      y: Self.level0Coordinate(
        maskCoordinate: maskY, downsample: mask.downsample,
        unit: generator.nextUnit(), limit: source.slide.dimensions.height))

    // the region around it, shifted inside the level (or padded)
    let levelCentre = LevelPoint(centre, downsample: plan.downsample)
    let origin = LevelPoint(
      x: Self.origin(
        centre: levelCentre.x, length: plan.readSize.width, levelLength: plan.levelSize.width),
      y: Self.origin(
        centre: levelCentre.y, length: plan.readSize.height, levelLength: plan.levelSize.height))
    return Plan(
      index: index, sourceIndex: sourceIndex, centre: centre, level: plan.level,
      levelOrigin: origin, level0Origin: Level0Point(origin, downsample: plan.downsample),
      readSize: plan.readSize, outputSize: configuration.patchSize)
  }

  /// The `rank`-th tissue pixel of `mask` in row-major order (0-based).
  static func tissuePixel(_ rank: Int, of mask: TissueMask, tissueBeforeRow: [Int])
    -> (x: Int, y: Int)
  {
    // the row: the last r with tissueBeforeRow[r] <= rank
    var low = 0
    var high = mask.height - 1
    while low < high {
      let middle = (low + high + 1) / 2
      if tissueBeforeRow[middle] <= rank { low = middle } else { high = middle - 1 }
    }
    var remaining = rank - tissueBeforeRow[low]
    for x in 0..<mask.width where mask.pixels[low * mask.width + x] {
      if remaining == 0 { return (x, low) }
      remaining -= 1
    }
    preconditionFailure("tissue pixel \(rank) not in row \(low) of the mask")
  }

  /// A level-0 coordinate inside mask pixel `maskCoordinate` (covering
  /// `[m · d, (m + 1) · d)`), at fraction `unit` of it, kept inside the
  /// mask pixel and the slide.
  static func level0Coordinate(
    maskCoordinate m: Int, downsample d: Double, unit: Double, limit: Int
  )
    -> Int
  {
    var value = Int(((Double(m) + unit) * d).rounded(.down))
    value = min(value, limit - 1)
    // undo rounding that crossed into a neighbouring mask pixel
    while value > 0, Int((Double(value) / d).rounded(.down)) > m { value -= 1 }
    while Int((Double(value) / d).rounded(.down)) < m { value += 1 }
    return value
  }

  /// Origin along one axis: centred on `centre`, then shifted into
  /// `0...levelLength − length`; 0 when the level is shorter than `length`.
  static func origin(centre: Int, length: Int, levelLength: Int) -> Int {
    guard levelLength > length else { return 0 }
    return min(max(0, centre - length / 2), levelLength - length)
  }

  /// Reads the pixels and labels of `plan`, resizes them to the output size
  /// and augments them. Safe from any thread.
  ///
  /// - Throws: the ``SlideIO/SlideError`` of a failed read.
  public func read(_ plan: Plan) throws -> Patch {
    let source = sources[plan.sourceIndex]
    var image = try source.slide.readRegion(
      levelOrigin: plan.levelOrigin, level: plan.level, size: plan.readSize)
    var labels = try source.labels?.read(
      levelOrigin: plan.levelOrigin, level: plan.level, size: plan.readSize,
      outsideValue: configuration.labelPadValue)

    if plan.readSize != plan.outputSize {
      let scale = SIMD2(
        Double(plan.readSize.width) / Double(plan.outputSize.width),
        Double(plan.readSize.height) / Double(plan.outputSize.height))
      image = Resampler.bilinear(image, to: plan.outputSize, scale: scale, offset: .zero)
      labels = labels.map {
        Resampler.nearest(
          $0, sourceSize: plan.readSize, to: plan.outputSize, scale: scale, offset: .zero,
          fill: configuration.labelPadValue)
      }
    }
    if let augmenter = configuration.augmenter {
      var generator = SplitMix64(seed: state.seed, index: plan.index, stream: 1)
      augmenter.apply(to: &image, labels: &labels, generator: &generator)
    }
    return Patch(plan: plan, image: image, labels: labels)
  }

  /// A regular grid of plans over every source, at the level and region
  /// size random items use: the tile sampler of the paper's tile-versus-
  /// random comparison, sharing reading, resizing and augmentation.
  ///
  /// The grid per source is ``GridTileSampler``'s (last tile shifted inward)
  /// with regions of the read size stepping by `overlap` output pixels less
  /// (scaled to level pixels), keeping tiles with at least
  /// `minTissueFraction` tissue. Plans come source by source, row by row,
  /// with `index` 0: set ``Plan/index`` to the item index before ``read(_:)``
  /// so that augmentation is drawn per item.
  /// - Throws: ``SamplingError/invalidSetting(name:value:expected:)`` for an
  ///   overlap that leaves no step.
  public func gridPlans(overlap: Int, minTissueFraction: Double) throws -> [Plan] {
    var plans: [Plan] = []
    for (sourceIndex, source) in sources.enumerated() {
      let plan = sourcePlans[sourceIndex]
      let scale = Double(plan.readSize.width) / Double(configuration.patchSize.width)
      let step = PixelSize(
        width: plan.readSize.width - Int((Double(overlap) * scale).rounded()),
        height: plan.readSize.height - Int((Double(overlap) * scale).rounded()))
      guard overlap >= 0, step.width > 0, step.height > 0 else {
        throw SamplingError.invalidSetting(
          name: "overlap", value: "\(overlap)",
          expected: "0 ≤ overlap < patch size \(configuration.patchSize)")
      }
      let grid = try GridTileSampler(
        slide: source.slide, tissue: source.tissue, level: plan.level,
        tileSize: plan.readSize, stride: step, minTissueFraction: minTissueFraction)
      for tile in grid.tiles {
        plans.append(
          Plan(
            index: 0, sourceIndex: sourceIndex,
            centre: Level0Point(
              x: tile.level0Origin.x + Int(Double(plan.readSize.width) * plan.downsample / 2),
              y: tile.level0Origin.y + Int(Double(plan.readSize.height) * plan.downsample / 2)),
            level: plan.level, levelOrigin: tile.levelOrigin, level0Origin: tile.level0Origin,
            readSize: plan.readSize, outputSize: configuration.patchSize))
      }
    }
    return plans
  }

  /// Item `index`, planned and read.
  public func patch(index: Int) throws -> Patch {
    try read(plan(index: index))
  }

  /// The next item; advances ``state`` only when the read succeeds.
  public mutating func next() throws -> Patch {
    let patch = try patch(index: state.nextIndex)
    state.nextIndex += 1
    return patch
  }

  /// The next item's plan, without reading pixels; advances ``state``.
  public mutating func nextPlan() -> Plan {
    defer { state.nextIndex += 1 }
    return plan(index: state.nextIndex)
  }

  /// The plans from ``state`` on, as an endless sequence (does not advance
  /// the sampler).
  public var upcomingPlans: PlanSequence { PlanSequence(sampler: self, index: state.nextIndex) }

  /// An endless sequence of plans.
  public struct PlanSequence: Sequence, IteratorProtocol, Sendable {
    let sampler: RandomPatchSampler
    var index: Int

    public mutating func next() -> Plan? {
      defer { index += 1 }
      return sampler.plan(index: index)
    }
  }
}
