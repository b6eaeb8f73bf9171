@testable import Tensor

/// One operation under test, with the parameters that
/// scripts/make_tensor_fixtures.py uses for the case of the same name.
struct OpCase {
  let name: String
  /// Maps the case's inputs (`NAME.in<i>`) to its outputs (`NAME.out<k>`).
  let run: ([Tensor]) -> [Tensor]
  /// Inputs whose gradient is checked; all when `nil`.
  var differentiable: Set<Int>? = nil

  static var all: [OpCase] {
    let ceTargets = Fixtures.integers("cross_entropy.targets")
    let diceTarget = Fixtures.ops["dice.target"] ?? Tensor.zeros([0])
    return [
      OpCase(name: "add") { [$0[0] + $0[1]] },
      OpCase(name: "sub") { [$0[0] - $0[1]] },
      OpCase(name: "mul") { [$0[0] * $0[1]] },
      OpCase(name: "div") { [$0[0] / $0[1]] },
      OpCase(name: "relu") { [$0[0].relu()] },
      OpCase(name: "gelu") { [$0[0].gelu()] },
      OpCase(name: "hardswish") { [$0[0].hardswish()] },
      OpCase(name: "sigmoid") { [$0[0].sigmoid()] },
      OpCase(name: "softmax") { [$0[0].softmax(dim: 1)] },
      OpCase(name: "log_softmax") { [$0[0].logSoftmax(dim: -1)] },
      OpCase(name: "matmul") { [$0[0].matmul($0[1])] },
      OpCase(name: "bmm") { [$0[0].matmul($0[1])] },
      OpCase(name: "linear") { [$0[0].linear(weight: $0[1], bias: $0[2])] },
      OpCase(name: "conv3x3") {
        [$0[0].conv2d(weight: $0[1], bias: $0[2], padding: 1)]
      },
      OpCase(name: "conv_group") {
        [
          $0[0].conv2d(
            weight: $0[1], stride: 2, padding: 2, dilation: 2, groups: 2)
        ]
      },
      OpCase(name: "conv_dw5") {
        [$0[0].conv2d(weight: $0[1], bias: $0[2], padding: 2, groups: 6)]
      },
      OpCase(name: "conv_dw_s2") {
        [$0[0].conv2d(weight: $0[1], stride: 2, padding: 1, groups: 4)]
      },
      OpCase(name: "conv1x1") { [$0[0].conv2d(weight: $0[1], bias: $0[2])] },
      OpCase(name: "bn_train") {
        [
          $0[0].batchNorm(
            gamma: $0[1], beta: $0[2], runningMean: Tensor.zeros([4]),
            runningVar: Tensor.ones([4]), training: true)
        ]
      },
      OpCase(name: "bn_eval") {
        [
          $0[0].batchNorm(
            gamma: $0[1], beta: $0[2],
            runningMean: Fixtures.ops["bn_eval.running_mean"]!,
            runningVar: Fixtures.ops["bn_eval.running_var"]!,
            training: false)
        ]
      },
      OpCase(name: "ln_last") { [$0[0].layerNorm(gamma: $0[1], beta: $0[2])] },
      OpCase(name: "ln_channels") {
        [$0[0].layerNormChannels(gamma: $0[1], beta: $0[2])]
      },
      OpCase(name: "concat") { [Tensor.concat([$0[0], $0[1]], dim: 1)] },
      OpCase(name: "split") { $0[0].split(sizes: [3, 4], dim: 1) },
      OpCase(name: "permute") { [$0[0].permuted([0, 2, 3, 1])] },
      OpCase(name: "pad") {
        [$0[0].padded(top: 1, bottom: 2, left: 3, right: 0)]
      },
      OpCase(name: "crop") {
        [$0[0].cropped(top: 1, left: 2, height: 3, width: 4)]
      },
      OpCase(name: "bilinear_down") {
        [$0[0].resizeBilinear(height: 8, width: 4)]
      },
      OpCase(name: "bilinear_up") {
        [$0[0].resizeBilinear(height: 9, width: 7)]
      },
      OpCase(name: "nearest") { [$0[0].resizeNearest(height: 8, width: 4)] },
      OpCase(name: "nearest_up") {
        [$0[0].resizeNearest(height: 10, width: 14)]
      },
      OpCase(name: "avgpool") {
        [$0[0].avgPool2d(kernel: 3, stride: 2, padding: 1)]
      },
      OpCase(name: "maxpool") {
        [$0[0].maxPool2d(kernel: 3, stride: 2, padding: 1)]
      },
      OpCase(name: "maxpool2") { [$0[0].maxPool2d(kernel: 2)] },
      OpCase(name: "pixel_shuffle") { [$0[0].pixelShuffle(2)] },
      OpCase(name: "sum_dims") { [$0[0].sum(dims: [1, 3])] },
      OpCase(name: "mean_dims") { [$0[0].mean(dims: [0, 2], keepDim: true)] },
      OpCase(name: "codebook", run: { [$0[0].nearestCodebook($0[1]).quantized] },
        differentiable: [0]),
      OpCase(name: "cross_entropy") {
        [$0[0].crossEntropy(targets: ceTargets)]
      },
      OpCase(name: "dice") { [$0[0].softDiceLoss(target: diceTarget)] },
      OpCase(name: "sum_all") { [$0[0].sum()] },
      OpCase(name: "mean_all") { [$0[0].mean()] },
      OpCase(name: "sum_keep") { [$0[0].sum(dim: -1, keepDim: true)] },
      OpCase(name: "concat3") { [Tensor.concat($0, dim: 1)] },
    ]
  }

  /// The case's inputs from the fixture file.
  var inputs: [Tensor] {
    var result: [Tensor] = []
    while let t = Fixtures.ops["\(name).in\(result.count)"] { result.append(t) }
    return result
  }
}
