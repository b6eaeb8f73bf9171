/// 2-D convolution over NCHW images.
extension Tensor {
  /// Cross-correlation like PyTorch's `conv2d`.
  ///
  /// - Parameters:
  ///   - weight: `[out, in/groups, kh, kw]`.
  ///   - bias: `[out]` or `nil`.
  ///   - stride, padding, dilation: in pixels, the same along both axes;
  ///     padding is zeros on every side.
  ///   - groups: channel groups; `groups == in == out` is depthwise.
  ///   - activation: applied to the output, the same as calling it on the
  ///     result. When no graph is recorded (inference) the kernels apply it
  ///     as they store each value, which saves a pass over the output;
  ///     otherwise it is the separate op, so its backward is unchanged.
  /// - Returns: `[N, out, (H + 2p − d·(kh − 1) − 1)/s + 1, …]`. The
  ///   padded input must hold the dilated kernel once along each axis
  ///   (H + 2p ≥ d·(kh − 1) + 1), as in PyTorch; otherwise this stops
  ///   with the shapes in the message.
  ///
  /// Runs on oneDNN where it can, else on the module's own kernels (see
  /// `ConvKernels`); `Conv2DReference` is the slow definition every path is
  /// tested against.
  public func conv2d(
    weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
    dilation: Int = 1, groups: Int = 1, activation: ConvActivation = .identity
  ) -> Tensor {
    let records = GradMode.isEnabled
      && (requiresGrad || weight.requiresGrad || bias?.requiresGrad == true)
    if activation != .identity && records {
      return activation(
        conv2d(
          weight: weight, bias: bias, stride: stride, padding: padding,
          dilation: dilation, groups: groups))
    }
    precondition(
      rank == 4 && weight.rank == 4 && groups > 0
        && shape[1] % groups == 0 && weight.shape[0] % groups == 0
        && weight.shape[1] * groups == shape[1],
      "conv2d: input \(shape) does not fit weight \(weight.shape) "
        + "with groups \(groups)")
    precondition(
      stride > 0 && padding >= 0 && dilation > 0,
      "conv2d: stride \(stride), padding \(padding), dilation \(dilation)")
    let geo = ConvGeometry(
      batch: shape[0], inChannels: shape[1], height: shape[2],
      width: shape[3], outChannels: weight.shape[0],
      kernelH: weight.shape[2], kernelW: weight.shape[3], stride: stride,
      padding: padding, dilation: dilation, groups: groups)
    precondition(
      geo.outH > 0 && geo.outW > 0,
      "conv2d: input \(shape) is smaller than kernel \(weight.shape)")
    if let bias {
      precondition(
        bias.shape == [geo.outChannels],
        "conv2d: bias \(bias.shape) is not [\(geo.outChannels)]")
    }
    let x = self
    let out = Tensor.empty(geo.outputShape)
    let bp = bias.map { UnsafePointer($0.storage.pointer) }
    ConvKernels.forward(
      geo, x: x.storage.pointer, w: weight.storage.pointer, bias: bp,
      activation: activation, y: out.storage.pointer)
    let parents = bias.map { [x, weight, $0] } ?? [x, weight]
    return Tensor.result(
      shape: geo.outputShape, storage: out.storage, parents: parents
    ) { g, _ in
      let gx = x.requiresGrad ? Tensor.empty(x.shape) : nil
      let gw = weight.requiresGrad ? Tensor.empty(weight.shape) : nil
      let gy = g.storage.pointer
      ConvKernels.backward(
        geo, x: x.storage.pointer, w: weight.storage.pointer, gy: gy,
        gx: gx?.storage.pointer, gw: gw?.storage.pointer)
      var grads: [Tensor?] = [gx, gw]
      if bias != nil {
        grads.append(
          Tensor.vector(
            Elementwise.channelSums(
              gy, batch: geo.batch, channels: geo.outChannels,
              spatial: geo.outH * geo.outW)))
      }
      return grads
    }
  }

  /// The weight and bias of one convolution equal to the convolution
  /// (`weight` `[out, in/groups, k, k]`, `bias` `[out]` or `nil`) followed
  /// by batch norm in eval mode: with s = γ / √(running var + eps),
  /// weight·s per output channel and (bias − running mean)·s + β.
  ///
  /// Built from differentiable ops on the (small) parameters, so gradients
  /// reach `weight`, `bias`, γ and β as through the unfolded pair; the
  /// result differs from conv-then-norm only by float rounding. Inference
  /// uses it to skip the normalisation pass over the activations.
  public static func foldingBatchNorm(
    weight: Tensor, bias: Tensor?, gamma: Tensor, beta: Tensor,
    runningMean: Tensor, runningVar: Tensor, eps: Float = 1e-5
  ) -> (weight: Tensor, bias: Tensor) {
    precondition(weight.rank == 4, "foldingBatchNorm: weight \(weight.shape) is not 4-D")
    let out = weight.shape[0]
    precondition(
      [gamma, beta, runningMean, runningVar].allSatisfy {
        $0.shape == [out]
      } && (bias == nil || bias!.shape == [out]),
      "foldingBatchNorm: weight \(weight.shape) does not fit gamma "
        + "\(gamma.shape), beta \(beta.shape), running mean "
        + "\(runningMean.shape), running var \(runningVar.shape)")
    let records = GradMode.isEnabled
      && ([weight, gamma, beta].contains { $0.requiresGrad } || bias?.requiresGrad == true)
    guard records else {
      return foldedBatchNormValues(
        weight: weight, bias: bias, gamma: gamma, beta: beta,
        runningMean: runningMean, runningVar: runningVar, eps: eps)
    }
    let scale = gamma / (runningVar + eps).sqrt()
    let folded = weight * scale.reshaped([out, 1, 1, 1])
    let shifted = bias.map { $0 - runningMean } ?? (runningMean * -1)
    return (folded, shifted * scale + beta)
  }

  /// `foldingBatchNorm` without a graph, as plain loops: inference folds
  /// on every forward, and the broadcasting ops cost about 3% of the
  /// EfficientViT-B0 forward.
  private static func foldedBatchNormValues(
    weight: Tensor, bias: Tensor?, gamma: Tensor, beta: Tensor,
    runningMean: Tensor, runningVar: Tensor, eps: Float
  ) -> (weight: Tensor, bias: Tensor) {
    let out = weight.shape[0], perChannel = weight.count / Swift.max(out, 1)
    let w = Tensor.empty(weight.shape), b = Tensor.empty([out])
    let pw = weight.storage.pointer, pf = w.storage.pointer
    for o in 0..<out {
      let scale = gamma.storage.pointer[o]
        / (runningVar.storage.pointer[o] + eps).squareRoot()
      let row = pw + o * perChannel, folded = pf + o * perChannel
      for i in 0..<perChannel { folded[i] = row[i] * scale }
      let shifted = (bias?.storage.pointer[o] ?? 0) - runningMean.storage.pointer[o]
      b.storage.pointer[o] = shifted * scale + beta.storage.pointer[o]
    }
    return (w, b)
  }
}
