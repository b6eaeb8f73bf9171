import XCTest

@testable import Tensor

/// A small conv net learns tissue vs background on a real image crop, and
/// training loops neither leak buffers nor keep graphs alive.
final class TrainingTests: XCTestCase {
  /// conv3×3(3→8) · BN · ReLU · depthwise 3×3 · conv1×1(8→8) · GELU ·
  /// conv1×1(8→2).
  final class TinyNet {
    let w1, g1, b1, rm1, rv1, dw, w2, b2, w3, b3: Tensor

    init(seed: UInt64) {
      var rng = Xoshiro256(seed: seed)
      w1 = Tensor.kaimingNormal([8, 3, 3, 3], rng: &rng)
      g1 = Tensor.ones([8])
      b1 = Tensor.zeros([8])
      rm1 = Tensor.zeros([8])
      rv1 = Tensor.ones([8])
      dw = Tensor.kaimingNormal([8, 1, 3, 3], rng: &rng)
      w2 = Tensor.kaimingNormal([8, 8, 1, 1], rng: &rng)
      b2 = Tensor.zeros([8])
      w3 = Tensor.kaimingNormal([2, 8, 1, 1], gain: 1, rng: &rng)
      b3 = Tensor.zeros([2])
      for p in parameters { p.requiresGrad = true }
    }

    var parameters: [Tensor] { [w1, g1, b1, dw, w2, b2, w3, b3] }

    func callAsFunction(_ x: Tensor, training: Bool) -> Tensor {
      var h = x.conv2d(weight: w1, padding: 1)
      h = h.batchNorm(
        gamma: g1, beta: b1, runningMean: rm1, runningVar: rv1,
        training: training
      ).relu()
      h = h.conv2d(weight: dw, padding: 1, groups: 8)
      h = h.conv2d(weight: w2, bias: b2).gelu()
      return h.conv2d(weight: w3, bias: b3)
    }
  }

  private func accuracy(_ logits: Tensor, _ labels: [Int]) -> Float {
    let p = logits.scalars
    let plane = labels.count
    var right = 0
    for i in 0..<plane {
      let predicted = p[plane + i] > p[i] ? 1 : 0
      if predicted == labels[i] { right += 1 }
    }
    return Float(right) / Float(plane)
  }

  func testConvNetLearnsTissueMask() throws {
    let path = Fixtures.path("tissue.safetensors")
    let data = try SafeTensors.read(path: path)
    let image = try XCTUnwrap(data["train.image"])
    let labels = try SafeTensors.readIntegers(path: path, name: "train.label")
    let testImage = try XCTUnwrap(data["test.image"])
    let testLabels = try SafeTensors.readIntegers(
      path: path, name: "test.label")
    XCTAssertEqual(image.shape, [1, 3, 64, 64])

    let net = TinyNet(seed: 7)
    let opt = AdamW(parameters: net.parameters, learningRate: 1e-2)
    var losses: [Float] = []
    for _ in 0..<40 {
      opt.zeroGrad()
      let logits = net(image, training: true)
      let loss = logits.crossEntropy(targets: labels.values)
      loss.backward()
      GradientClipping.clipByGlobalNorm(net.parameters, maxNorm: 5)
      opt.step()
      losses.append(loss.item)
    }
    let first = losses[0], last = losses.suffix(5).reduce(0, +) / 5
    XCTAssertLessThan(last, 0.5 * first, "losses \(losses)")
    let testLogits = withNoGrad { net(testImage, training: false) }
    XCTAssertFalse(testLogits.hasGradNode)
    // Held-out crop: 76% background, so chance-level guessing scores 0.76.
    let acc = accuracy(testLogits, testLabels.values)
    XCTAssertGreaterThan(acc, 0.85, "held-out pixel accuracy \(acc)")
  }

  func testIntermediatesReleasedAfterBackward() {
    let x = tensor([1, 1, 4, 4], (0..<16).map { Float($0) / 8 })
    let w = tensor([2, 1, 3, 3], (0..<18).map { Float($0) / 9 - 1 })
    w.requiresGrad = true
    weak var weakHidden: Tensor?
    var loss: Tensor?
    do {
      let hidden = x.conv2d(weight: w, padding: 1).relu()
      weakHidden = hidden
      loss = hidden.mean()
    }
    XCTAssertNotNil(weakHidden, "the graph keeps the intermediate alive")
    loss?.backward()
    XCTAssertNil(weakHidden, "backward() should drop the graph")
    XCTAssertNotNil(w.grad)
  }

  func testNoStorageGrowthOver1000Steps() {
    let net = TinyNet(seed: 1)
    let opt = SGD(parameters: net.parameters, learningRate: 1e-3)
    var rng = Xoshiro256(seed: 2)
    let x = Tensor.normal([1, 3, 6, 6], rng: &rng)
    let labels = (0..<36).map { $0 % 2 }
    func step() {
      opt.zeroGrad()
      net(x, training: true).crossEntropy(targets: labels).backward()
      opt.step()
    }
    for _ in 0..<10 { step() }
    let baseline = TensorStorage.live.load(ordering: .relaxed)
    for _ in 0..<1000 { step() }
    let after = TensorStorage.live.load(ordering: .relaxed)
    XCTAssertEqual(after, baseline, "live storages \(baseline) → \(after)")
  }

  /// Graphs that are built but never walked by `backward()` must also go
  /// away: no node may form a reference cycle with its result.
  func testUnusedGraphsAreFreed() {
    let net = TinyNet(seed: 4)
    var rng = Xoshiro256(seed: 8)
    let x = Tensor.normal([1, 3, 6, 6], rng: &rng)
    _ = net(x, training: true).sum()
    let baseline = TensorStorage.live.load(ordering: .relaxed)
    for _ in 0..<100 { _ = net(x, training: true).sum() }
    let after = TensorStorage.live.load(ordering: .relaxed)
    XCTAssertEqual(after, baseline, "live storages \(baseline) → \(after)")
  }

  func testNoGradRecordsNothing() {
    let w = tensor([2], [1, 2])
    w.requiresGrad = true
    let y = withNoGrad { (w * w).sum() }
    XCTAssertFalse(y.requiresGrad)
    XCTAssertFalse(y.hasGradNode)
    XCTAssertTrue((w * w).sum().hasGradNode)
  }
}
