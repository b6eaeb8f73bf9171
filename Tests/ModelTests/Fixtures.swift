import Foundation
import XCTest

@testable import Model
@testable import Tensor

/// Fixture files written by scripts/make_model_fixtures.py.
enum Fixtures {
  static let directory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().appendingPathComponent("Fixtures").path

  static func path(_ name: String) -> String { directory + "/" + name }

  /// The HuBMAP PAS crop as RGB in [0, 1], `[1, 3, 128, 128]`.
  static var image: Tensor {
    let u8 = try! SafeTensors.read(path: path("crop.safetensors"))["image"]!
    return u8 * (1 / 255)
  }

  /// The glomerulus mask of the crop as class indices (0/1), row-major.
  static var labels: [Int] {
    try! SafeTensors.readIntegers(path: path("crop.safetensors"), name: "mask")
      .values
  }

  /// The top-left `height`×`width` of `image`.
  static func subImage(height: Int, width: Int) -> Tensor {
    image.cropped(top: 0, left: 0, height: height, width: width)
  }

  static func config(_ variant: String) throws -> ModelConfig {
    try ModelConfig.load(path: path(variant + ".json"))
  }

  static func model(_ variant: String) throws -> SegmentationModel {
    try Checkpoint.load(stem: path(variant))
  }

  static func expected(_ variant: String) throws -> [String: Tensor] {
    try SafeTensors.read(path: path(variant + ".expected.safetensors"))
  }
}

/// ‖a − b‖₂ / ‖b‖₂ over all elements (Double accumulation).
func relativeError(_ a: Tensor, _ b: Tensor) -> Double {
  precondition(a.shape == b.shape, "relativeError: \(a.shape) vs \(b.shape)")
  let x = a.scalars, y = b.scalars
  var num = 0.0, den = 0.0
  for i in x.indices {
    let d = Double(x[i]) - Double(y[i])
    num += d * d
    den += Double(y[i]) * Double(y[i])
  }
  return (num / max(den, 1e-30)).squareRoot()
}

/// max |a − b| / max |b|.
func maxRelativeError(_ a: Tensor, _ b: Tensor) -> Double {
  let x = a.scalars, y = b.scalars
  var worst = 0.0, scale = 0.0
  for i in x.indices {
    worst = max(worst, abs(Double(x[i]) - Double(y[i])))
    scale = max(scale, abs(Double(y[i])))
  }
  return worst / max(scale, 1e-30)
}
