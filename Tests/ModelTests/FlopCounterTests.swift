import XCTest

@testable import Model
@testable import Tensor

final class FlopCounterTests: XCTestCase {
  /// FLOPs are counted from shapes: one 1×1 conv-BN of 4 → 6 channels on
  /// 5×3 pixels is 2·4·6·15 FLOP.
  func testFlopCounter() {
    let store = ParameterStore(seed: 0)
    let layer = ConvNorm(
      ParameterScope(store: store, prefix: ""), in: 4, out: 6, kernel: 1)
    let flops = FlopCounter.count {
      _ = layer(Tensor.zeros([1, 4, 5, 3]), training: false)
    }
    XCTAssertEqual(flops, 2 * 4 * 6 * 15)
  }

  /// The whole default U-Net at 64×64 against its closed form: per level
  /// two 3×3 convolutions each way, 1×1 classifier (53 456 MACs per pixel
  /// at full size, 106.9 GFLOP/Mpx).
  func testUNetFlopsMatchClosedForm() throws {
    let config = ModelConfig(variant: .unet)
    let model = try SegmentationModel(config: config)
    let w = config.unetWidths, side = 64
    var macs = 0
    for l in w.indices {
      let pixels = (side >> l) * (side >> l)
      let cin = l == 0 ? 3 : w[l - 1]
      macs += pixels * 9 * (cin * w[l] + w[l] * w[l])
      if l < w.count - 1 {
        macs += pixels * 9 * ((w[l + 1] + w[l]) * w[l] + w[l] * w[l])
      }
    }
    macs += side * side * w[0] * config.classes
    let flops = try FlopCounter.count {
      _ = try withNoGrad { try model(Tensor.zeros([1, 3, side, side])) }
    }
    XCTAssertEqual(flops, 2 * macs)
    XCTAssertEqual(
      Double(2 * macs) / Double(side * side) / 1e3, 106.9, accuracy: 0.1)
  }
}
