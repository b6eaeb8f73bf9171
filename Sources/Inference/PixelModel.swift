import Model
import Tensor

/// What whole-slide segmentation needs of a model: class scores for a batch
/// of RGB tiles. ``Model/SegmentationModel`` is one; tests use simple
/// per-pixel rules, whose output cannot depend on how a slide is tiled.
public protocol PixelModel {
  /// Number of classes (scores per pixel).
  var classCount: Int { get }
  /// `[N, 3, H, W]` RGB in [0, 1] → `[N, classCount, H, W]` scores
  /// (logits or probabilities; the largest wins).
  func scores(_ images: Tensor) throws -> Tensor
}

extension SegmentationModel: PixelModel {
  public var classCount: Int { config.classes }

  public func scores(_ images: Tensor) throws -> Tensor {
    try withNoGrad { try self(images) }
  }
}
