import Sampling
import SlideIO

/// One slide ready for sampling: its pixels, its labels (if any) and where
/// its tissue is.
public struct TrainingSlide: Sendable {
  /// The slide.
  public let slide: Slide
  /// Its labels, in the slide's frame; `nil` for unlabelled slides.
  public let labels: LabelSource?
  /// Where patch centres may fall.
  public let tissue: TissueMask

  public init(slide: Slide, labels: LabelSource?, tissue: TissueMask) {
    self.slide = slide
    self.labels = labels
    self.tissue = tissue
  }

  /// Pairs `slide` with `labels` and detects its tissue with `detector`.
  ///
  /// - Throws: the detector's errors (``SlideIO/SlideError``,
  ///   ``Sampling/SamplingError``).
  public init(
    slide: Slide, labels: LabelSource?, detector: TissueDetector = TissueDetector()
  ) throws {
    self.init(slide: slide, labels: labels, tissue: try detector.detect(in: slide))
  }

  /// Tissue area in level-0 pixels²: tissue mask pixels × downsample². The
  /// weight a slide gets when samplers choose among slides.
  public var tissueArea: Double {
    Double(tissue.tissuePixelCount) * tissue.downsample * tissue.downsample
  }
}
