// 2D convolution (cross-correlation, as PyTorch's conv2d): forward, backward-data,
// backward-weights.
import CDNNL

extension DNNL {
  /// Geometry of a 2D convolution; also the cache key of its primitives.
  ///
  /// Buffers: input `(batch, inputChannels, height, width)`, weights
  /// `(outputChannels, inputChannels / groups, kernelHeight, kernelWidth)`, bias
  /// `(outputChannels)`, output `(batch, outputChannels, outputHeight, outputWidth)`, all
  /// dense NCHW / OIHW. Dilation 1 means none (PyTorch's convention). Padding may be
  /// asymmetric. Depthwise is `groups == inputChannels == outputChannels`.
  struct Conv2DShape: Hashable, Sendable {
    var batch: Int
    var inputChannels: Int
    var height: Int
    var width: Int
    var outputChannels: Int
    var kernelHeight: Int
    var kernelWidth: Int
    var strideY: Int
    var strideX: Int
    var padTop: Int
    var padLeft: Int
    var padBottom: Int
    var padRight: Int
    var dilationY: Int
    var dilationX: Int
    var groups: Int

    init(
      batch: Int, inputChannels: Int, height: Int, width: Int,
      outputChannels: Int, kernelHeight: Int, kernelWidth: Int,
      strideY: Int = 1, strideX: Int = 1,
      padTop: Int = 0, padLeft: Int = 0, padBottom: Int = 0, padRight: Int = 0,
      dilationY: Int = 1, dilationX: Int = 1, groups: Int = 1
    ) {
      precondition(
        groups >= 1 && inputChannels % groups == 0 && outputChannels % groups == 0,
        "Conv2DShape: channels \(inputChannels)→\(outputChannels) not divisible by "
          + "groups \(groups)")
      precondition(
        strideY >= 1 && strideX >= 1 && dilationY >= 1 && dilationX >= 1,
        "Conv2DShape: stride (\(strideY), \(strideX)) and dilation (\(dilationY), "
          + "\(dilationX)) must be ≥ 1")
      self.batch = batch
      self.inputChannels = inputChannels
      self.height = height
      self.width = width
      self.outputChannels = outputChannels
      self.kernelHeight = kernelHeight
      self.kernelWidth = kernelWidth
      self.strideY = strideY
      self.strideX = strideX
      self.padTop = padTop
      self.padLeft = padLeft
      self.padBottom = padBottom
      self.padRight = padRight
      self.dilationY = dilationY
      self.dilationX = dilationX
      self.groups = groups
      precondition(
        outputHeight >= 1 && outputWidth >= 1,
        "Conv2DShape: empty output \(outputHeight)×\(outputWidth) for input "
          + "\(height)×\(width), kernel \(kernelHeight)×\(kernelWidth)")
    }

    /// `(height + padTop + padBottom - dilationY * (kernelHeight - 1) - 1) / strideY + 1`,
    /// or 0 when the kernel does not fit.
    var outputHeight: Int {
      ConvGeometry.outputSize(
        height + padTop + padBottom - dilationY * (kernelHeight - 1) - 1, strideY)
    }

    /// `(width + padLeft + padRight - dilationX * (kernelWidth - 1) - 1) / strideX + 1`,
    /// or 0 when the kernel does not fit.
    var outputWidth: Int {
      ConvGeometry.outputSize(
        width + padLeft + padRight - dilationX * (kernelWidth - 1) - 1, strideX)
    }

    /// Elements of the input buffer, `batch * inputChannels * height * width`.
    var inputCount: Int { batch * inputChannels * height * width }

    /// Elements of the output buffer, `batch * outputChannels * outputHeight * outputWidth`.
    var outputCount: Int { batch * outputChannels * outputHeight * outputWidth }

    /// Elements of the weights buffer, `outputChannels * (inputChannels / groups) * kH * kW`.
    var weightCount: Int {
      outputChannels * (inputChannels / groups) * kernelHeight * kernelWidth
    }

    /// The numbers that identify this geometry in the primitive cache.
    var keyValues: [Int] {
      [
        batch, inputChannels, height, width, outputChannels, kernelHeight, kernelWidth,
        strideY, strideX, padTop, padLeft, padBottom, padRight, dilationY, dilationX, groups,
      ]
    }

    fileprivate var sourceDims: [Int] { [batch, inputChannels, height, width] }
    fileprivate var destinationDims: [Int] {
      [batch, outputChannels, outputHeight, outputWidth]
    }
    fileprivate var weightDims: [Int] {
      groups == 1
        ? [outputChannels, inputChannels, kernelHeight, kernelWidth]
        : [
          groups, outputChannels / groups, inputChannels / groups, kernelHeight,
          kernelWidth,
        ]
    }
    fileprivate var weightTag: dnnl_format_tag_t { groups == 1 ? dnnl_oihw : dnnl_goihw }
    fileprivate var strides: [Int64] { [Int64(strideY), Int64(strideX)] }
    // oneDNN counts dilation from 0 (0 = dense kernel)
    fileprivate var dilates: [Int64] { [Int64(dilationY - 1), Int64(dilationX - 1)] }
    fileprivate var paddingLeft: [Int64] { [Int64(padTop), Int64(padLeft)] }
    fileprivate var paddingRight: [Int64] { [Int64(padBottom), Int64(padRight)] }
  }

  /// Forward convolution: `output = conv(input, weights) + bias`.
  ///
  /// - Parameters:
  ///   - shape: geometry.
  ///   - input: `(N, Cin, H, W)`, NCHW.
  ///   - weights: `(Cout, Cin / groups, kH, kW)`, OIHW.
  ///   - bias: `(Cout)`, or nil for none.
  ///   - output: `(N, Cout, OH, OW)`, NCHW, overwritten.
  /// - Throws: `DNNLError` when oneDNN rejects the shape or fails.
  /// - Complexity: `2 * N * Cout * OH * OW * (Cin / groups) * kH * kW` flops.
  static func conv2dForward(
    _ shape: Conv2DShape, input: UnsafePointer<Float>, weights: UnsafePointer<Float>,
    bias: UnsafePointer<Float>?, output: UnsafeMutablePointer<Float>
  ) throws(DNNLError) {
    let hasBias = bias != nil
    var buffers: [(Int32, UnsafeMutableRawPointer)] = [
      (DNNL_ARG_SRC, UnsafeMutableRawPointer(mutating: input)),
      (DNNL_ARG_WEIGHTS, UnsafeMutableRawPointer(mutating: weights)),
      (DNNL_ARG_DST, UnsafeMutableRawPointer(output)),
    ]
    if let bias { buffers.append((DNNL_ARG_BIAS, UnsafeMutableRawPointer(mutating: bias))) }
    let key = PlanKey(operation: "conv2dForward", values: shape.keyValues + [hasBias ? 1 : 0])
    try run(key, buffers: buffers) { context throws(DNNLError) in
      let descriptor = try convForwardDescriptor(shape, hasBias: hasBias, context)
      var specs = [
        ArgumentSpec(
          id: DNNL_ARG_SRC, isOutput: false, userDesc: try memoryDesc(shape.sourceDims, dnnl_nchw)),
        ArgumentSpec(
          id: DNNL_ARG_WEIGHTS, isOutput: false,
          userDesc: try memoryDesc(shape.weightDims, shape.weightTag)),
        ArgumentSpec(
          id: DNNL_ARG_DST, isOutput: true,
          userDesc: try memoryDesc(shape.destinationDims, dnnl_nchw)),
      ]
      if hasBias {
        specs.append(
          ArgumentSpec(
            id: DNNL_ARG_BIAS, isOutput: false,
            userDesc: try memoryDesc([shape.outputChannels], dnnl_x)))
      }
      return try makePlan(descriptor, arguments: specs, context, "conv2dForward")
    }
  }

  /// Gradient of the convolution with respect to its input.
  ///
  /// - Parameters:
  ///   - shape: geometry of the forward convolution.
  ///   - outputGradient: `(N, Cout, OH, OW)`, NCHW.
  ///   - weights: `(Cout, Cin / groups, kH, kW)`, OIHW.
  ///   - inputGradient: `(N, Cin, H, W)`, NCHW, overwritten.
  /// - Throws: `DNNLError` when oneDNN rejects the shape or fails.
  static func conv2dBackwardData(
    _ shape: Conv2DShape, outputGradient: UnsafePointer<Float>,
    weights: UnsafePointer<Float>, inputGradient: UnsafeMutablePointer<Float>
  ) throws(DNNLError) {
    let buffers: [(Int32, UnsafeMutableRawPointer)] = [
      (DNNL_ARG_DIFF_DST, UnsafeMutableRawPointer(mutating: outputGradient)),
      (DNNL_ARG_WEIGHTS, UnsafeMutableRawPointer(mutating: weights)),
      (DNNL_ARG_DIFF_SRC, UnsafeMutableRawPointer(inputGradient)),
    ]
    let key = PlanKey(operation: "conv2dBackwardData", values: shape.keyValues)
    try run(key, buffers: buffers) { context throws(DNNLError) in
      let hint = try convForwardDescriptor(shape, hasBias: false, context)
      defer { dnnl_primitive_desc_destroy(hint) }
      let any = dnnl_format_tag_any
      var diffSource = try memoryDesc(shape.sourceDims, any)
      var weightsDesc = try memoryDesc(shape.weightDims, any)
      var diffDestination = try memoryDesc(shape.destinationDims, any)
      var desc = dnnl_convolution_desc_t()
      try check(
        dnnl_dilated_convolution_backward_data_desc_init(
          &desc, dnnl_convolution_direct, &diffSource, &weightsDesc, &diffDestination,
          shape.strides, shape.dilates, shape.paddingLeft, shape.paddingRight),
        "conv2dBackwardData: dnnl_dilated_convolution_backward_data_desc_init")
      let descriptor = try primitiveDescriptor(desc, hint: hint, context, "conv2dBackwardData")
      let specs = [
        ArgumentSpec(
          id: DNNL_ARG_DIFF_DST, isOutput: false,
          userDesc: try memoryDesc(shape.destinationDims, dnnl_nchw)),
        ArgumentSpec(
          id: DNNL_ARG_WEIGHTS, isOutput: false,
          userDesc: try memoryDesc(shape.weightDims, shape.weightTag)),
        ArgumentSpec(
          id: DNNL_ARG_DIFF_SRC, isOutput: true,
          userDesc: try memoryDesc(shape.sourceDims, dnnl_nchw)),
      ]
      return try makePlan(descriptor, arguments: specs, context, "conv2dBackwardData")
    }
  }

  /// Gradients of the convolution with respect to its weights and bias.
  ///
  /// Depthwise convolutions with horizontal stride 1 go to the hand-written
  /// `depthwiseBackwardWeights` (oneDNN 2.6 has no fast kernel for them); everything else
  /// goes to oneDNN.
  /// - Parameters:
  ///   - shape: geometry of the forward convolution.
  ///   - input: `(N, Cin, H, W)`, NCHW (the forward input).
  ///   - outputGradient: `(N, Cout, OH, OW)`, NCHW.
  ///   - weightsGradient: `(Cout, Cin / groups, kH, kW)`, OIHW, overwritten.
  ///   - biasGradient: `(Cout)`, overwritten with the sum of `outputGradient` over N, OH,
  ///     OW; nil to skip.
  /// - Throws: `DNNLError` when oneDNN rejects the shape or fails.
  static func conv2dBackwardWeights(
    _ shape: Conv2DShape, input: UnsafePointer<Float>,
    outputGradient: UnsafePointer<Float>, weightsGradient: UnsafeMutablePointer<Float>,
    biasGradient: UnsafeMutablePointer<Float>?
  ) throws(DNNLError) {
    // oneDNN 2.6 has no fast kernel for this case (gemm on plain layouts: ~5× slower)
    if usesOwnDepthwiseWeights(shape) {
      depthwiseBackwardWeights(
        shape, input: input, outputGradient: outputGradient,
        weightsGradient: weightsGradient, biasGradient: biasGradient)
      return
    }
    let hasBias = biasGradient != nil
    var buffers: [(Int32, UnsafeMutableRawPointer)] = [
      (DNNL_ARG_SRC, UnsafeMutableRawPointer(mutating: input)),
      (DNNL_ARG_DIFF_DST, UnsafeMutableRawPointer(mutating: outputGradient)),
      (DNNL_ARG_DIFF_WEIGHTS, UnsafeMutableRawPointer(weightsGradient)),
    ]
    if let biasGradient {
      buffers.append((DNNL_ARG_DIFF_BIAS, UnsafeMutableRawPointer(biasGradient)))
    }
    let key = PlanKey(
      operation: "conv2dBackwardWeights", values: shape.keyValues + [hasBias ? 1 : 0])
    try run(key, buffers: buffers) { context throws(DNNLError) in
      let hint = try convForwardDescriptor(shape, hasBias: hasBias, context)
      defer { dnnl_primitive_desc_destroy(hint) }
      let any = dnnl_format_tag_any
      var source = try memoryDesc(shape.sourceDims, any)
      var diffWeights = try memoryDesc(shape.weightDims, any)
      var diffBias = try memoryDesc([shape.outputChannels], dnnl_x)
      var diffDestination = try memoryDesc(shape.destinationDims, any)
      var desc = dnnl_convolution_desc_t()
      let status = withUnsafePointer(to: &diffBias) { biasPointer in
        dnnl_dilated_convolution_backward_weights_desc_init(
          &desc, dnnl_convolution_direct, &source, &diffWeights,
          hasBias ? biasPointer : nil, &diffDestination,
          shape.strides, shape.dilates, shape.paddingLeft, shape.paddingRight)
      }
      try check(
        status, "conv2dBackwardWeights: dnnl_dilated_convolution_backward_weights_desc_init")
      let descriptor = try primitiveDescriptor(
        desc, hint: hint, context, "conv2dBackwardWeights")
      var specs = [
        ArgumentSpec(
          id: DNNL_ARG_SRC, isOutput: false, userDesc: try memoryDesc(shape.sourceDims, dnnl_nchw)),
        ArgumentSpec(
          id: DNNL_ARG_DIFF_DST, isOutput: false,
          userDesc: try memoryDesc(shape.destinationDims, dnnl_nchw)),
        ArgumentSpec(
          id: DNNL_ARG_DIFF_WEIGHTS, isOutput: true,
          userDesc: try memoryDesc(shape.weightDims, shape.weightTag)),
      ]
      if hasBias {
        specs.append(
          ArgumentSpec(
            id: DNNL_ARG_DIFF_BIAS, isOutput: true,
            userDesc: try memoryDesc([shape.outputChannels], dnnl_x)))
      }
      return try makePlan(descriptor, arguments: specs, context, "conv2dBackwardWeights")
    }
  }

  /// The forward (training) primitive descriptor with `any` layouts; also the hint that
  /// the backward primitives need. The caller owns the result.
  private static func convForwardDescriptor(
    _ shape: Conv2DShape, hasBias: Bool, _ context: Context
  ) throws(DNNLError) -> dnnl_primitive_desc_t {
    let any = dnnl_format_tag_any
    var source = try memoryDesc(shape.sourceDims, any)
    var weights = try memoryDesc(shape.weightDims, any)
    var bias = try memoryDesc([shape.outputChannels], dnnl_x)
    var destination = try memoryDesc(shape.destinationDims, any)
    var desc = dnnl_convolution_desc_t()
    let status = withUnsafePointer(to: &bias) { biasPointer in
      dnnl_dilated_convolution_forward_desc_init(
        &desc, dnnl_forward_training, dnnl_convolution_direct, &source, &weights,
        hasBias ? biasPointer : nil, &destination,
        shape.strides, shape.dilates, shape.paddingLeft, shape.paddingRight)
    }
    try check(status, "conv2d: dnnl_dilated_convolution_forward_desc_init")
    return try primitiveDescriptor(desc, hint: nil, context, "conv2d")
  }

  /// The layout oneDNN's convolutions want for activations of `dims` `(N, C, H, W)` on this
  /// CPU (nChw8c on AVX2, nChw16c on AVX-512, NCHW for very few channels).
  ///
  /// Found by asking a probe 3×3, C→C convolution with `any` layouts for its source, so no
  /// ISA-specific tag is named. Batch norm and pooling run in it: oneDNN 2.6's kernels for
  /// plain NCHW (`ncsp_bnorm`, `simple_nchw` pooling) are 10–30× slower at 64×512² than
  /// reorder + blocked kernel, and the blocked kernels beat channels-last by about 1.5×.
  /// Called only when a plan is created (a probe descriptor costs ~0.2 ms).
  static func activationLayout(_ dims: [Int], _ context: Context) throws(DNNLError)
    -> dnnl_memory_desc_t
  {
    let channels = dims[1]
    let probe = Conv2DShape(
      batch: dims[0], inputChannels: channels, height: dims[2], width: dims[3],
      outputChannels: channels, kernelHeight: 3, kernelWidth: 3, padTop: 1, padLeft: 1,
      padBottom: 1, padRight: 1)
    let descriptor = try convForwardDescriptor(probe, hasBias: false, context)
    defer { dnnl_primitive_desc_destroy(descriptor) }
    guard let source = dnnl_primitive_desc_query_md(descriptor, dnnl_query_src_md, 0) else {
      throw DNNLError.failed(
        operation: "activationLayout: query src md", status: dnnl_runtime_error.rawValue)
    }
    return source.pointee
  }
}
