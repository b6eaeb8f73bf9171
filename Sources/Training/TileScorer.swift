import Foundation
import Model
import Sampling
import SlideIO
import Tensor

/// Scores a model on a split of a tile folder, tile by tile: each image is
/// resized by `downsample` (bilinear, as training patches are), segmented,
/// its logits resized back to the tile's full size (bilinear), and the
/// argmax compared with the full-resolution mask.
public enum TileScorer {
  /// One tile's result.
  public struct Score: Sendable, Equatable {
    public let stem: String
    /// Mean Dice over foreground classes present in either mask
    /// (empty versus empty left out; 1 when the tile has none at all).
    public let dice: Double
    public let seconds: Double
  }

  /// - Parameter progress: called after each tile with (done, total).
  public static func score(
    model: SegmentationModel, dataset: TileFolderDataset, downsample: Double,
    progress: (Int, Int) -> Void = { _, _ in }
  ) throws -> [Score] {
    var scores: [Score] = []
    for (index, item) in dataset.items.enumerated() {
      let started = Date()
      let (slide, labels) = try dataset.open(index)
      let image = try slide.readLevel(0)
      let truth = try labels.read(
        levelOrigin: LevelPoint(x: 0, y: 0), level: 0, size: image.size, outsideValue: 0)

      let size = PixelSize(
        width: max(1, Int((Double(image.width) / downsample).rounded())),
        height: max(1, Int((Double(image.height) / downsample).rounded())))
      let scale = SIMD2(
        Double(image.width) / Double(size.width), Double(image.height) / Double(size.height))
      let small = Resampler.bilinear(image, to: size, scale: scale, offset: .zero)
      var values = [Float](repeating: 0, count: 3 * size.width * size.height)
      small.writePlanarUnitFloats(into: &values, offset: 0)
      let input = try Tensor(shape: [1, 3, size.height, size.width], values: values)

      let predicted = try withNoGrad { () -> [Int] in
        let logits = try model(input).resizeBilinear(height: image.height, width: image.width)
        return Trainer.argmax(logits)
      }
      let dice = Trainer.meanDice(
        predicted, truth.map { $0 == LabelSource.ignoreValue ? 0 : Int($0) },
        classes: model.config.classes)
      scores.append(Score(stem: item.stem, dice: dice, seconds: Date().timeIntervalSince(started)))
      progress(index + 1, dataset.items.count)
    }
    return scores
  }
}
