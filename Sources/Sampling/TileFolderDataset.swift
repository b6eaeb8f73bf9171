import Foundation
import Sampling
import SlideIO

/// A folder of image tiles with one mask per tile, laid out as
///
///     <root>/images/<split>/<stem>.jpg   (also .jpeg, .png, .tif, .tiff)
///     <root>/masks/<split>/<stem>.png
///
/// (the layout of `shared/data/labeled/hubmap-glomeruli-cnsiu`, whose masks
/// are 8-bit grey, 0 background and 255 glomerulus). Each tile opens as a
/// one-level slide with a raster ``LabelSource``: its level-0 frame is the
/// tile's pixels.
public struct TileFolderDataset: Sendable {
  /// One image/mask pair.
  public struct Item: Sendable, Equatable {
    public let split: String
    /// File name without extension.
    public let stem: String
    public let imagePath: String
    public let maskPath: String
  }

  /// Image extensions recognised, lower case.
  public static let imageExtensions: Set<String> = ["jpg", "jpeg", "png", "tif", "tiff"]

  /// The dataset folder, as given.
  public let root: String
  public let split: String
  /// The pairs, ordered by stem: numerically when both stems are whole
  /// numbers, else by code points, so the order never depends on the file
  /// system.
  public let items: [Item]

  /// Lists `root/images/<split>` and pairs every image with its mask.
  ///
  /// - Throws: ``SamplingError/emptyDataset(path:detail:)`` when the
  ///   image folder is missing or holds no image, or
  ///   ``SamplingError/missingMask(imagePath:expectedMaskPath:)`` for
  ///   the first image (in order) without its mask.
  public init(root: String, split: String) throws {
    let rootURL = URL(fileURLWithPath: root)
    let imageFolder = rootURL.appendingPathComponent("images").appendingPathComponent(split)
    let maskFolder = rootURL.appendingPathComponent("masks").appendingPathComponent(split)
    let names: [String]
    do {
      names = try FileManager.default.contentsOfDirectory(atPath: imageFolder.path)
    } catch {
      throw SamplingError.emptyDataset(
        path: imageFolder.path, detail: "the folder does not exist or cannot be listed")
    }

    var items: [Item] = []
    for name in names where !name.hasPrefix(".") {
      let url = imageFolder.appendingPathComponent(name)
      guard Self.imageExtensions.contains(url.pathExtension.lowercased()) else { continue }
      let stem = url.deletingPathExtension().lastPathComponent
      let mask = maskFolder.appendingPathComponent(stem + ".png")
      items.append(Item(split: split, stem: stem, imagePath: url.path, maskPath: mask.path))
    }
    guard !items.isEmpty else {
      throw SamplingError.emptyDataset(
        path: imageFolder.path,
        detail: "no .jpg, .jpeg, .png, .tif or .tiff images in the folder")
    }
    items.sort { Self.stemOrder($0.stem, $1.stem) }
    for item in items where !FileManager.default.fileExists(atPath: item.maskPath) {
      throw SamplingError.missingMask(
        imagePath: item.imagePath, expectedMaskPath: item.maskPath)
    }
    self.root = root
    self.split = split
    self.items = items
  }

  /// Opens item `index` as a one-level slide with its mask.
  ///
  /// - Throws: ``SlideIO/SlideError`` from opening either file, or
  ///   ``SamplingError/labelSizeMismatch(labelPath:labelSize:slidePath:slideSize:)``.
  public func open(
    _ index: Int, encoding: LabelEncoding = .automatic
  ) throws -> (slide: Slide, labels: LabelSource) {
    let item = items[index]
    let slide = try Slide(path: item.imagePath, threads: 1)
    let labels = try LabelSource(rasterPath: item.maskPath, for: slide, encoding: encoding)
    return (slide, labels)
  }

  /// Opens every item and detects its tissue: sources for
  /// ``RandomPatchSampler``.
  ///
  /// - Throws: as ``open(_:encoding:)``, or the detector's errors.
  public func trainingSlides(
    detector: TissueDetector = TissueDetector(), encoding: LabelEncoding = .automatic
  ) throws -> [TrainingSlide] {
    try items.indices.map { index in
      let (slide, labels) = try open(index, encoding: encoding)
      return try TrainingSlide(slide: slide, labels: labels, detector: detector)
    }
  }

  static func stemOrder(_ a: String, _ b: String) -> Bool {
    if let x = Int(a), let y = Int(b), x != y { return x < y }
    return Array(a.unicodeScalars.map(\.value)).lexicographicallyPrecedes(
      b.unicodeScalars.map(\.value))
  }
}
