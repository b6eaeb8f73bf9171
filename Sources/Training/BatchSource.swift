import Tensor

/// One training batch.
public struct TrainingBatch {
  /// `[N, 3, H, W]` RGB in [0, 1], NCHW.
  public var images: Tensor
  /// `N·H·W` class indices, row-major per image.
  public var labels: [Int]

  public init(images: Tensor, labels: [Int]) {
    self.images = images
    self.labels = labels
  }
}

/// Where batches come from. `batch(step:)` must be a pure function of the
/// step (and the source's seed): that is what makes a resumed run repeat
/// an uninterrupted one exactly, with no sampler state to save.
public protocol BatchSource: Sendable {
  func batch(step: Int) throws -> TrainingBatch
}

/// A held-out case for validation: one image and its labels.
public struct ValidationCase {
  public var name: String
  /// `[1, 3, H, W]` RGB in [0, 1].
  public var image: Tensor
  /// `H·W` class indices.
  public var labels: [Int]

  public init(name: String, image: Tensor, labels: [Int]) {
    self.name = name
    self.image = image
    self.labels = labels
  }
}
