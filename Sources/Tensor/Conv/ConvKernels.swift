/// Chooses the kernel for each convolution pass.
///
/// - Forward and input gradient: oneDNN (blocked layouts inside, reorders
///   at the edges), falling back to our own kernels if a oneDNN call fails;
///   depthwise forwards with up to 32 channels (stride 1 or 2) run our own.
/// - Weight gradient: oneDNN, except depthwise, where oneDNN 2.6 has no
///   fast kernel (about 260 ms for 5×5 at 64×512², see STACK.md) and our
///   direct loops run instead.
/// - Own kernels: direct loops for depthwise, im2col + sgemm otherwise.
/// - 1×1, stride-1, unpadded convolutions always run as plain sgemm
///   (`Conv2DGemm`, no im2col): no layout reorders, and OpenBLAS's
///   AVX-512/AVX2 kernels beat a direct Swift loop (tried: 1.5–3× slower).
/// - Small convolutions (under `dnnlMinimumWork` multiply-adds, 2^24) always run
///   our own kernels: oneDNN's OpenMP team costs more than it saves there,
///   and its idle threads spin (libgomp's default wait policy), starving
///   the module's own GCD loops on two cores. Processes that mix both
///   should set `OMP_WAIT_POLICY=passive` in the environment at launch.
enum ConvKernels {
  /// Multiply-adds from which oneDNN runs a convolution.
  static let dnnlMinimumWork = 1 << 24

  /// Whether `g` goes to oneDNN; `prefer` overrides the size rule.
  static func usesDNNL(_ g: ConvGeometry, prefer: Bool?) -> Bool {
    if let prefer { return prefer }
    // A 1×1 convolution over NCHW is one sgemm per image and group with no
    // layout change, while oneDNN would reorder input and output to its
    // blocked layout and back on every call (memory-bound either way).
    if g.isPointwise { return false }
    let work = g.batch * g.outChannels * g.outH * g.outW * g.patch
    return work >= dnnlMinimumWork
  }

  /// Writes `y = activation(conv(x, w) + bias)`. Our own kernels apply
  /// the activation as they store; after oneDNN it is one more pass.
  static func forward(
    _ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
    bias: UnsafePointer<Float>?, activation: ConvActivation = .identity,
    y: UnsafeMutablePointer<Float>, preferDNNL: Bool? = nil
  ) {
    // Few-channel depthwise forwards: oneDNN's NCHW↔blocked reorders cost
    // more than the convolution (B0 at 1024²: 8 channels at 512², 15 ms
    // there against 7 ms for `forwardPadded`).
    let ownDepthwise = preferDNNL == nil && DepthwiseConv.hasPaddedForward(g)
      && g.inChannels <= 32
    guard usesDNNL(g, prefer: preferDNNL) && !ownDepthwise else {
      ownForward(g, x: x, w: w, bias: bias, activation: activation, y: y)
      return
    }
    do {
      try DNNL.conv2dForward(
        g.dnnlShape, input: x, weights: w, bias: bias, output: y)
    } catch {
      ownForward(g, x: x, w: w, bias: bias, activation: activation, y: y)
      return
    }
    guard activation != .identity else { return }
    let epilogue = ConvEpilogue(bias: nil, activation: activation)
    let plane = g.outH * g.outW
    Parallel.forEach(g.batch * g.outChannels, costPerItem: plane) { p in
      epilogue.apply(y + p * plane, count: plane, channel: 0)
    }
  }

  /// Overwrites `gx` and `gw` (each if given) with the gradients.
  static func backward(
    _ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
    gy: UnsafePointer<Float>, gx: UnsafeMutablePointer<Float>?,
    gw: UnsafeMutablePointer<Float>?, preferDNNL: Bool? = nil
  ) {
    guard usesDNNL(g, prefer: preferDNNL) else {
      ownBackward(g, x: x, w: w, gy: gy, gx: gx, gw: gw)
      return
    }
    if let gx {
      do {
        try DNNL.conv2dBackwardData(
          g.dnnlShape, outputGradient: gy, weights: w, inputGradient: gx)
      } catch {
        ownBackward(g, x: x, w: w, gy: gy, gx: gx, gw: nil)
      }
    }
    guard let gw else { return }
    if g.isDepthwise {
      DepthwiseConv.backwardWeight(g, x: x, gy: gy, gw: gw)
      return
    }
    do {
      try DNNL.conv2dBackwardWeights(
        g.dnnlShape, input: x, outputGradient: gy, weightsGradient: gw,
        biasGradient: nil)
    } catch {
      ownBackward(g, x: x, w: w, gy: gy, gx: nil, gw: gw)
    }
  }

  /// The module's own forward kernels (no oneDNN).
  static func ownForward(
    _ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
    bias: UnsafePointer<Float>?, activation: ConvActivation = .identity,
    y: UnsafeMutablePointer<Float>
  ) {
    if g.isDepthwise {
      DepthwiseConv.forward(g, x: x, w: w, bias: bias, activation: activation, y: y)
    } else {
      Conv2DGemm.forward(g, x: x, w: w, bias: bias, activation: activation, y: y)
    }
  }

  /// The module's own backward kernels (no oneDNN).
  static func ownBackward(
    _ g: ConvGeometry, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
    gy: UnsafePointer<Float>, gx: UnsafeMutablePointer<Float>?,
    gw: UnsafeMutablePointer<Float>?
  ) {
    if g.isDepthwise {
      if let gx { DepthwiseConv.backwardData(g, w: w, gy: gy, gx: gx) }
      if let gw { DepthwiseConv.backwardWeight(g, x: x, gy: gy, gw: gw) }
    } else {
      Conv2DGemm.backward(g, x: x, w: w, gy: gy, gx: gx, gw: gw)
    }
  }
}

extension ConvGeometry {
  /// The same convolution described for the oneDNN wrapper.
  var dnnlShape: DNNL.Conv2DShape {
    DNNL.Conv2DShape(
      batch: batch, inputChannels: inChannels, height: height, width: width,
      outputChannels: outChannels, kernelHeight: kernelH,
      kernelWidth: kernelW, strideY: stride, strideX: stride,
      padTop: padding, padLeft: padding, padBottom: padding,
      padRight: padding, dilationY: dilation, dilationX: dilation,
      groups: groups)
  }
}
