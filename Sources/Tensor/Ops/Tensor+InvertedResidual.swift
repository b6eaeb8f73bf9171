/// One convolution of a fused block: weights, bias and the activation
/// applied to its output.
public struct ConvUnit {
  /// `[out, in/groups, k, k]`.
  public var weight: Tensor
  /// `[out]`, or `nil`.
  public var bias: Tensor?
  public var activation: ConvActivation

  public init(weight: Tensor, bias: Tensor? = nil, activation: ConvActivation = .identity) {
    self.weight = weight
    self.bias = bias
    self.activation = activation
  }
}

extension Tensor {
  /// An inverted residual block (MobileNetV2's, EfficientViT's MBConv and
  /// DSConv) on NCHW input `[N, C, H, W]`: an optional 1×1 `expand`
  /// convolution (`[M, C, 1, 1]`), a k×k `depthwise` one (`[M, 1, k, k]`,
  /// stride `stride`, padding k/2), a 1×1 `project` one (`[O, M, 1, 1]`),
  /// each followed by its unit's activation, plus the input when
  /// `residual` (O = C, stride 1).
  ///
  /// - Returns: `[N, O, (H − 1)/s + 1, (W − 1)/s + 1]` for odd k.
  ///
  /// When no graph is recorded (inference) one kernel runs the block in
  /// bands of output rows and the expanded M-channel activations, the
  /// block's largest tensor, never reach memory
  /// (`InvertedResidualKernel`); otherwise it is the three `conv2d`
  /// calls and an add, with their backward. Fold batch norms into the
  /// units first (`Tensor.foldingBatchNorm`).
  public func invertedResidual(
    expand: ConvUnit?, depthwise: ConvUnit, project: ConvUnit, stride: Int,
    residual: Bool
  ) -> Tensor {
    let units = [expand, depthwise, project].compactMap { $0 }
    precondition(
      rank == 4 && shape[2] > 0 && shape[3] > 0
        && units.allSatisfy { $0.weight.rank == 4 },
      "invertedResidual: input \(shape) is not a non-empty NCHW image, or a "
        + "weight of \(units.map(\.weight.shape)) is not 4-D")
    let c = shape[1]
    let m = expand?.weight.shape[0] ?? c
    let k = depthwise.weight.shape[2]
    let o = project.weight.shape[0]
    precondition(
      (expand.map { $0.weight.shape == [m, c, 1, 1] } ?? true)
        && depthwise.weight.shape == [m, 1, k, k] && k % 2 == 1
        && project.weight.shape == [o, m, 1, 1]
        && units.allSatisfy { u in u.bias.map { $0.shape == [u.weight.shape[0]] } ?? true },
      "invertedResidual: input \(shape) does not fit expand "
        + "\(expand?.weight.shape ?? []), depthwise \(depthwise.weight.shape), "
        + "project \(project.weight.shape) and their biases")
    precondition(
      stride == 1 || stride == 2, "invertedResidual: stride \(stride) is not 1 or 2")
    precondition(
      !residual || (o == c && stride == 1),
      "invertedResidual: a residual needs \(o) outputs = \(c) inputs and stride 1")
    let records = GradMode.isEnabled
      && (requiresGrad
        || units.contains { $0.weight.requiresGrad || $0.bias?.requiresGrad == true })
    if records { return composed(expand, depthwise, project, stride, residual) }

    let g = InvertedResidualGeometry(
      batch: shape[0], inChannels: c, height: shape[2], width: shape[3],
      midChannels: m, outChannels: o, kernel: k, stride: stride,
      hasExpand: expand != nil, residual: residual)
    let out = Tensor.empty([g.batch, o, g.outH, g.outW])
    func raw(_ u: ConvUnit) -> FusedConvUnit {
      FusedConvUnit(
        weight: u.weight.storage.pointer,
        bias: u.bias.map { UnsafePointer($0.storage.pointer) },
        activation: u.activation)
    }
    withExtendedLifetime(units) {
      InvertedResidualKernel.forward(
        g, x: storage.pointer, expand: expand.map(raw), depthwise: raw(depthwise),
        project: raw(project), y: out.storage.pointer)
    }
    return out
  }

  /// The block as separate differentiable ops (and the reference the
  /// fused kernel is tested against).
  func composed(
    _ expand: ConvUnit?, _ depthwise: ConvUnit, _ project: ConvUnit,
    _ stride: Int, _ residual: Bool
  ) -> Tensor {
    var h = self
    if let expand {
      h = h.conv2d(weight: expand.weight, bias: expand.bias, activation: expand.activation)
    }
    let k = depthwise.weight.shape[2]
    h = h.conv2d(
      weight: depthwise.weight, bias: depthwise.bias, stride: stride, padding: k / 2,
      groups: depthwise.weight.shape[0], activation: depthwise.activation)
    h = h.conv2d(weight: project.weight, bias: project.bias, activation: project.activation)
    return residual ? self + h : h
  }
}
