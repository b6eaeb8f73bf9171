// An EfficientViT-B0-sized segmentation net built from Tensor ops, for the
// benchmark only (the model proper belongs in the Model module). The same
// layer list, in the same order, is `B0Net` in scripts/bench/tensor_peer.py.
//
// Layout: NCHW throughout. Widths 8/16/32/64/128, strides to 1/32,
// ReLU linear attention (LiteMLA) in the last two stages, a head that
// merges 1/8, 1/16 and 1/32 features at 1/8 and upsamples bilinearly to
// the input size.
import Tensor

/// Whether inference folds norms into weights and runs fused kernels
/// (`conv2d(activation:)`, `invertedResidual`), as the Model module does;
/// `false` runs every op separately (the bench times both).
nonisolated(unsafe) var fusedInference = true

/// Activation after a convolution.
enum Activation { case none, relu, hardswish }

/// One convolution with optional bias, optional batch norm and an
/// activation, in that order (conv → norm → act).
final class ConvLayer {
  let weight: Tensor
  let bias: Tensor?
  let stride, padding, groups: Int
  /// gamma, beta, running mean, running variance, each `[out]`.
  let norm: (Tensor, Tensor, Tensor, Tensor)?
  let activation: Activation

  /// - Parameters: `weight` is `[out, in/groups, k, k]`; padding is `k/2`.
  init(
    _ cin: Int, _ cout: Int, k: Int, stride: Int = 1, groups: Int = 1,
    bias: Bool = false, norm: Bool = true, act: Activation = .none,
    rng: inout Xoshiro256
  ) {
    weight = Tensor.kaimingNormal([cout, cin / groups, k, k], rng: &rng)
    self.bias = bias ? Tensor.zeros([cout]) : nil
    self.stride = stride
    padding = k / 2
    self.groups = groups
    self.norm = norm
      ? (Tensor.ones([cout]), Tensor.zeros([cout]), Tensor.zeros([cout]),
        Tensor.ones([cout]))
      : nil
    activation = act
  }

  var parameters: [Tensor] {
    [weight] + (bias.map { [$0] } ?? []) + (norm.map { [$0.0, $0.1] } ?? [])
  }

  /// The layer for inference: norm folded into weight and bias.
  var folded: ConvUnit {
    let act: ConvActivation = switch activation {
    case .none: .identity
    case .relu: .relu
    case .hardswish: .hardswish
    }
    guard let n = norm else { return ConvUnit(weight: weight, bias: bias, activation: act) }
    let f = Tensor.foldingBatchNorm(
      weight: weight, bias: bias, gamma: n.0, beta: n.1, runningMean: n.2,
      runningVar: n.3)
    return ConvUnit(weight: f.weight, bias: f.bias, activation: act)
  }

  /// `[N, in, H, W]` → `[N, out, H/stride, W/stride]`. In fused
  /// inference the norm is folded into the convolution's weights and the
  /// activation applied by the convolution kernel.
  func callAsFunction(_ x: Tensor, training: Bool) -> Tensor {
    if !training && fusedInference {
      let u = folded
      return x.conv2d(
        weight: u.weight, bias: u.bias, stride: stride, padding: padding,
        groups: groups, activation: u.activation)
    }
    var h = x.conv2d(
      weight: weight, bias: bias, stride: stride, padding: padding, groups: groups)
    if let n = norm {
      h = h.batchNorm(
        gamma: n.0, beta: n.1, runningMean: n.2, runningVar: n.3,
        training: training)
    }
    switch activation {
    case .none: return h
    case .relu: return h.relu()
    case .hardswish: return h.hardswish()
    }
  }
}

/// Any block of the net.
protocol Block: AnyObject {
  var parameters: [Tensor] { get }
  func callAsFunction(_ x: Tensor, training: Bool) -> Tensor
}

/// A chain of layers, with a residual connection when `residual`.
final class Chain: Block {
  let layers: [ConvLayer]
  let residual: Bool

  init(_ layers: [ConvLayer], residual: Bool) {
    self.layers = layers
    self.residual = residual
  }

  var parameters: [Tensor] { layers.flatMap { $0.parameters } }

  /// In fused inference the chain (an inverted residual: 2 or 3 layers
  /// ending in a 1×1) runs as one block (`Tensor.invertedResidual`).
  func callAsFunction(_ x: Tensor, training: Bool) -> Tensor {
    if !training && fusedInference {
      let units = layers.map(\.folded)
      let dw = layers[layers.count - 2]
      return x.invertedResidual(
        expand: layers.count == 3 ? units[0] : nil, depthwise: units[units.count - 2],
        project: units[units.count - 1], stride: dw.stride, residual: residual)
    }
    var h = x
    for layer in layers { h = layer(h, training: training) }
    return residual ? x + h : h
  }

  /// Depthwise 3×3 (BN, hardswish) then pointwise (BN).
  static func dsConv(_ cin: Int, _ cout: Int, rng: inout Xoshiro256) -> Chain {
    Chain(
      [
        ConvLayer(cin, cin, k: 3, groups: cin, act: .hardswish, rng: &rng),
        ConvLayer(cin, cout, k: 1, rng: &rng),
      ], residual: cin == cout)
  }

  /// Inverted bottleneck: 1×1 expand (×4), depthwise 3×3 with `stride`,
  /// 1×1 project (BN). With `fewerNorm` the first two have a bias and no
  /// norm (EfficientViT's stages 3 and 4 and the head).
  static func mbConv(
    _ cin: Int, _ cout: Int, stride: Int = 1, fewerNorm: Bool,
    rng: inout Xoshiro256
  ) -> Chain {
    let mid = cin * 4
    return Chain(
      [
        ConvLayer(
          cin, mid, k: 1, bias: fewerNorm, norm: !fewerNorm, act: .hardswish,
          rng: &rng),
        ConvLayer(
          mid, mid, k: 3, stride: stride, groups: mid, bias: fewerNorm,
          norm: !fewerNorm, act: .hardswish, rng: &rng),
        ConvLayer(mid, cout, k: 1, rng: &rng),
      ], residual: cin == cout && stride == 1)
  }
}

/// Multi-scale ReLU linear attention (EfficientViT's LiteMLA), residual
/// not included.
///
/// `[N, C, H, W]` → `[N, C, H, W]`. Heads of `dim` channels; q, k, v come
/// from one 1×1 convolution and a second scale from a 5×5 depthwise plus a
/// grouped 1×1 convolution over them, so there are `2·C/dim` heads. Per
/// head: `out = (V·relu(K)ᵀ)·relu(Q) / (Σ relu(K)ᵀ·relu(Q) + eps)`, with
/// `V·Kᵀ` (`dim×dim`) and `Σ K` (`dim`) computed once over all tokens
/// (in fused inference: `Tensor.reluLinearAttention`).
final class LiteMLA: Block {
  let dim, heads: Int
  let qkv, aggregateDepthwise, aggregatePointwise, project: ConvLayer
  let eps: Float = 1e-15

  init(_ channels: Int, dim: Int = 16, rng: inout Xoshiro256) {
    self.dim = dim
    heads = channels / dim
    let total = heads * dim
    qkv = ConvLayer(channels, 3 * total, k: 1, norm: false, rng: &rng)
    aggregateDepthwise = ConvLayer(
      3 * total, 3 * total, k: 5, groups: 3 * total, norm: false, rng: &rng)
    aggregatePointwise = ConvLayer(
      3 * total, 3 * total, k: 1, groups: 3 * heads, norm: false, rng: &rng)
    project = ConvLayer(2 * total, channels, k: 1, rng: &rng)
  }

  var parameters: [Tensor] {
    [qkv, aggregateDepthwise, aggregatePointwise, project].flatMap { $0.parameters }
  }

  func callAsFunction(_ x: Tensor, training: Bool) -> Tensor {
    let n = x.shape[0], h = x.shape[2], w = x.shape[3]
    let base = qkv(x, training: training)
    let scaled = aggregatePointwise(
      aggregateDepthwise(base, training: training), training: training)
    if !training && fusedInference {
      let out = Tensor.reluLinearAttention([base, scaled], headDim: dim, eps: eps)
      return project(out, training: training)
    }
    let all = Tensor.concat([base, scaled], dim: 1)
    let groups = n * 2 * heads
    let t = all.reshaped([groups, 3 * dim, h * w])
    let q = t.slice(dim: 1, start: 0, length: dim).relu()
    let k = t.slice(dim: 1, start: dim, length: dim).relu()
    let v = t.slice(dim: 1, start: 2 * dim, length: dim)
    let kv = v.matmul(k.permuted([0, 2, 1]))  // [G, dim, dim]
    let numerator = kv.matmul(q)  // [G, dim, HW]
    let kSum = k.sum(dim: 2, keepDim: true).permuted([0, 2, 1])  // [G, 1, dim]
    let denominator = kSum.matmul(q) + eps  // [G, 1, HW]
    let out = (numerator / denominator).reshaped([n, 2 * heads * dim, h, w])
    return project(out, training: training)
  }
}

/// LiteMLA (context) then MBConv (local), each residual.
final class EfficientViTBlock: Block {
  let attention: LiteMLA
  let local: Chain

  init(_ channels: Int, rng: inout Xoshiro256) {
    attention = LiteMLA(channels, rng: &rng)
    local = Chain.mbConv(channels, channels, fewerNorm: true, rng: &rng)
  }

  var parameters: [Tensor] { attention.parameters + local.parameters }

  func callAsFunction(_ x: Tensor, training: Bool) -> Tensor {
    local(x + attention(x, training: training), training: training)
  }
}

/// The B0-sized segmentation net: `[N, 3, H, W]` → logits `[N, classes, H, W]`
/// (H, W multiples of 32).
final class B0Net {
  let stem: ConvLayer
  let stages: [[Block]]
  let inputs: [ConvLayer]
  let middle: Chain
  let final: ConvLayer
  let classifier: ConvLayer

  init(classes: Int = 2, rng: inout Xoshiro256) {
    stem = ConvLayer(3, 8, k: 3, stride: 2, act: .hardswish, rng: &rng)
    var stages: [[Block]] = [[Chain.dsConv(8, 8, rng: &rng)]]
    for (cin, cout) in [(8, 16), (16, 32)] {
      stages.append([
        Chain.mbConv(cin, cout, stride: 2, fewerNorm: false, rng: &rng),
        Chain.mbConv(cout, cout, fewerNorm: false, rng: &rng),
      ])
    }
    for (cin, cout) in [(32, 64), (64, 128)] {
      stages.append([
        Chain.mbConv(cin, cout, stride: 2, fewerNorm: true, rng: &rng),
        EfficientViTBlock(cout, rng: &rng),
        EfficientViTBlock(cout, rng: &rng),
      ])
    }
    self.stages = stages
    inputs = [128, 64, 32].map { ConvLayer($0, 32, k: 1, rng: &rng) }
    middle = Chain.mbConv(32, 32, fewerNorm: true, rng: &rng)
    final = ConvLayer(32, 128, k: 1, act: .hardswish, rng: &rng)
    classifier = ConvLayer(128, classes, k: 1, bias: true, norm: false, rng: &rng)
    for p in parameters { p.requiresGrad = true }
  }

  var parameters: [Tensor] {
    stem.parameters + stages.flatMap { $0.flatMap { $0.parameters } }
      + inputs.flatMap { $0.parameters } + middle.parameters
      + final.parameters + classifier.parameters
  }

  func callAsFunction(_ x: Tensor, training: Bool) -> Tensor {
    var h = stem(x, training: training)
    var features: [Tensor] = []
    for stage in stages {
      for block in stage { h = block(h, training: training) }
      features.append(h)
    }
    // features: 1/2, 1/4, 1/8, 1/16, 1/32; the head merges the last three.
    let eighth = features[2]
    let oh = eighth.shape[2], ow = eighth.shape[3]
    var merged = inputs[2](eighth, training: training)
    for (i, f) in [(0, features[4]), (1, features[3])] {
      merged = merged
        + inputs[i](f, training: training).resizeBilinear(height: oh, width: ow)
    }
    let y = final(middle(merged, training: training), training: training)
    return classifier(y, training: training)
      .resizeBilinear(height: x.shape[2], width: x.shape[3])
  }
}
