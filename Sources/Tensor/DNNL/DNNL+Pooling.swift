// 2D max and average pooling: forward and backward.
import CDNNL

extension DNNL {
  /// How a pooling window reduces.
  enum PoolingKind: Int, Hashable, Sendable {
    /// Maximum over the window; backward needs the forward's workspace.
    case max
    /// Mean over the window, padding counted as zeros (divides by kH * kW).
    case averageIncludingPadding
    /// Mean over the in-image part of the window (PyTorch's `count_include_pad=False`).
    case averageExcludingPadding

    fileprivate var algorithm: dnnl_alg_kind_t {
      switch self {
      case .max: dnnl_pooling_max
      case .averageIncludingPadding: dnnl_pooling_avg_include_padding
      case .averageExcludingPadding: dnnl_pooling_avg_exclude_padding
      }
    }
  }

  /// Geometry of a 2D pooling; also the cache key of its primitives.
  ///
  /// Buffers: input `(batch, channels, height, width)`, output
  /// `(batch, channels, outputHeight, outputWidth)`, dense NCHW. Padding may be asymmetric
  /// (padded cells never win a max).
  struct Pool2DShape: Hashable, Sendable {
    var kind: PoolingKind
    var batch: Int
    var channels: Int
    var height: Int
    var width: Int
    var kernelHeight: Int
    var kernelWidth: Int
    var strideY: Int
    var strideX: Int
    var padTop: Int
    var padLeft: Int
    var padBottom: Int
    var padRight: Int

    init(
      kind: PoolingKind, batch: Int, channels: Int, height: Int, width: Int,
      kernelHeight: Int, kernelWidth: Int, strideY: Int, strideX: Int,
      padTop: Int = 0, padLeft: Int = 0, padBottom: Int = 0, padRight: Int = 0
    ) {
      self.kind = kind
      self.batch = batch
      self.channels = channels
      self.height = height
      self.width = width
      self.kernelHeight = kernelHeight
      self.kernelWidth = kernelWidth
      self.strideY = strideY
      self.strideX = strideX
      self.padTop = padTop
      self.padLeft = padLeft
      self.padBottom = padBottom
      self.padRight = padRight
      precondition(
        outputHeight >= 1 && outputWidth >= 1 && strideY >= 1 && strideX >= 1,
        "Pool2DShape: empty output \(outputHeight)×\(outputWidth) for input "
          + "\(height)×\(width), kernel \(kernelHeight)×\(kernelWidth), stride "
          + "(\(strideY), \(strideX))")
    }

    /// `(height + padTop + padBottom - kernelHeight) / strideY + 1`, or 0
    /// when the window does not fit.
    var outputHeight: Int {
      ConvGeometry.outputSize(height + padTop + padBottom - kernelHeight, strideY)
    }

    /// `(width + padLeft + padRight - kernelWidth) / strideX + 1`, or 0
    /// when the window does not fit.
    var outputWidth: Int {
      ConvGeometry.outputSize(width + padLeft + padRight - kernelWidth, strideX)
    }

    /// Elements of the input buffer.
    var inputCount: Int { batch * channels * height * width }

    /// Elements of the output buffer.
    var outputCount: Int { batch * channels * outputHeight * outputWidth }

    fileprivate var keyValues: [Int] {
      [
        kind.rawValue, batch, channels, height, width, kernelHeight, kernelWidth, strideY,
        strideX, padTop, padLeft, padBottom, padRight,
      ]
    }
    fileprivate var sourceDims: [Int] { [batch, channels, height, width] }
    fileprivate var destinationDims: [Int] { [batch, channels, outputHeight, outputWidth] }
  }

  /// Bytes of the opaque workspace that max pooling passes from forward to backward.
  ///
  /// - Returns: the byte count for `.max`, 0 for the average kinds.
  /// - Throws: `DNNLError` when oneDNN fails.
  static func poolingWorkspaceByteCount(_ shape: Pool2DShape) throws(DNNLError) -> Int {
    guard shape.kind == .max else { return 0 }
    return try withPlan(poolForwardKey(shape, training: true)) { context throws(DNNLError) in
      try poolForwardPlan(shape, training: true, context)
    } _: { plan, _, _, _ in
      plan.byteCount(of: DNNL_ARG_WORKSPACE)
    }
  }

  /// Forward pooling.
  ///
  /// - Parameters:
  ///   - shape: geometry and kind.
  ///   - input: `(N, C, H, W)`, NCHW.
  ///   - output: `(N, C, OH, OW)`, NCHW, overwritten.
  ///   - workspace: for `.max` when a backward pass follows, a buffer of
  ///     `poolingWorkspaceByteCount(shape)` bytes that is filled here and read by
  ///     `pool2dBackward`; nil otherwise (inference, or the average kinds).
  /// - Throws: `DNNLError` when oneDNN fails.
  static func pool2dForward(
    _ shape: Pool2DShape, input: UnsafePointer<Float>,
    output: UnsafeMutablePointer<Float>, workspace: UnsafeMutableRawPointer?
  ) throws(DNNLError) {
    let training = shape.kind == .max && workspace != nil
    var buffers: [(Int32, UnsafeMutableRawPointer)] = [
      (DNNL_ARG_SRC, UnsafeMutableRawPointer(mutating: input)),
      (DNNL_ARG_DST, UnsafeMutableRawPointer(output)),
    ]
    if training, let workspace { buffers.append((DNNL_ARG_WORKSPACE, workspace)) }
    try run(poolForwardKey(shape, training: training), buffers: buffers) {
      context throws(DNNLError) in
      try poolForwardPlan(shape, training: training, context)
    }
  }

  /// Gradient of pooling with respect to its input.
  ///
  /// - Parameters:
  ///   - shape: geometry and kind of the forward pooling.
  ///   - outputGradient: `(N, C, OH, OW)`, NCHW.
  ///   - inputGradient: `(N, C, H, W)`, NCHW, overwritten.
  ///   - workspace: for `.max`, the buffer the training forward filled (required);
  ///     ignored for the average kinds.
  /// - Throws: `DNNLError` when oneDNN fails.
  static func pool2dBackward(
    _ shape: Pool2DShape, outputGradient: UnsafePointer<Float>,
    inputGradient: UnsafeMutablePointer<Float>, workspace: UnsafeRawPointer?
  ) throws(DNNLError) {
    var buffers: [(Int32, UnsafeMutableRawPointer)] = [
      (DNNL_ARG_DIFF_DST, UnsafeMutableRawPointer(mutating: outputGradient)),
      (DNNL_ARG_DIFF_SRC, UnsafeMutableRawPointer(inputGradient)),
    ]
    if shape.kind == .max {
      guard let workspace else {
        preconditionFailure("pool2dBackward: max pooling needs the forward's workspace")
      }
      buffers.append((DNNL_ARG_WORKSPACE, UnsafeMutableRawPointer(mutating: workspace)))
    }
    let key = PlanKey(operation: "pool2dBackward", values: shape.keyValues)
    try run(key, buffers: buffers) { context throws(DNNLError) in
      let hint = try poolForwardDescriptor(shape, training: true, context)
      defer { dnnl_primitive_desc_destroy(hint) }
      var diffSource = try activationLayout(shape.sourceDims, context)
      var diffDestination = try memoryDesc(shape.destinationDims, dnnl_format_tag_any)
      var desc = dnnl_pooling_v2_desc_t()
      try check(
        dnnl_pooling_v2_backward_desc_init(
          &desc, shape.kind.algorithm, &diffSource, &diffDestination,
          [Int64(shape.strideY), Int64(shape.strideX)],
          [Int64(shape.kernelHeight), Int64(shape.kernelWidth)], [0, 0],
          [Int64(shape.padTop), Int64(shape.padLeft)],
          [Int64(shape.padBottom), Int64(shape.padRight)]),
        "pool2dBackward: dnnl_pooling_v2_backward_desc_init")
      let descriptor = try primitiveDescriptor(desc, hint: hint, context, "pool2dBackward")
      var specs = [
        ArgumentSpec(
          id: DNNL_ARG_DIFF_DST, isOutput: false,
          userDesc: try memoryDesc(shape.destinationDims, dnnl_nchw)),
        ArgumentSpec(
          id: DNNL_ARG_DIFF_SRC, isOutput: true,
          userDesc: try memoryDesc(shape.sourceDims, dnnl_nchw)),
      ]
      if shape.kind == .max {
        specs.append(ArgumentSpec(id: DNNL_ARG_WORKSPACE, isOutput: false, userDesc: nil))
      }
      return try makePlan(descriptor, arguments: specs, context, "pool2dBackward")
    }
  }

  private static func poolForwardKey(_ shape: Pool2DShape, training: Bool) -> PlanKey {
    PlanKey(operation: "pool2dForward", values: shape.keyValues + [training ? 1 : 0])
  }

  private static func poolForwardPlan(
    _ shape: Pool2DShape, training: Bool, _ context: Context
  ) throws(DNNLError) -> Plan {
    let descriptor = try poolForwardDescriptor(shape, training: training, context)
    var specs = [
      ArgumentSpec(
        id: DNNL_ARG_SRC, isOutput: false, userDesc: try memoryDesc(shape.sourceDims, dnnl_nchw)),
      ArgumentSpec(
        id: DNNL_ARG_DST, isOutput: true,
        userDesc: try memoryDesc(shape.destinationDims, dnnl_nchw)),
    ]
    if training {
      specs.append(ArgumentSpec(id: DNNL_ARG_WORKSPACE, isOutput: true, userDesc: nil))
    }
    return try makePlan(descriptor, arguments: specs, context, "pool2dForward")
  }

  /// Forward pooling descriptor: source in `activationLayout`, destination chosen by
  /// oneDNN to match; the caller owns it.
  private static func poolForwardDescriptor(
    _ shape: Pool2DShape, training: Bool, _ context: Context
  ) throws(DNNLError) -> dnnl_primitive_desc_t {
    var source = try activationLayout(shape.sourceDims, context)
    var destination = try memoryDesc(shape.destinationDims, dnnl_format_tag_any)
    var desc = dnnl_pooling_v2_desc_t()
    try check(
      dnnl_pooling_v2_forward_desc_init(
        &desc, training ? dnnl_forward_training : dnnl_forward_inference,
        shape.kind.algorithm, &source, &destination,
        [Int64(shape.strideY), Int64(shape.strideX)],
        [Int64(shape.kernelHeight), Int64(shape.kernelWidth)], [0, 0],
        [Int64(shape.padTop), Int64(shape.padLeft)],
        [Int64(shape.padBottom), Int64(shape.padRight)]),
      "pool2dForward: dnnl_pooling_v2_forward_desc_init")
    return try primitiveDescriptor(desc, hint: nil, context, "pool2dForward")
  }
}
