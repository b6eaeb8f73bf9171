// Batch normalisation over (N, H, W) per channel: training forward, inference forward,
// backward.
import CDNNL

extension DNNL {

  /// The flags for batch normalisation with a scale (gamma) and a shift (beta).
  private static var scaleShiftFlags: UInt32 { dnnl_use_scale.rawValue | dnnl_use_shift.rawValue }

  /// Training-mode batch normalisation: normalises with the batch statistics.
  ///
  /// `output = gamma * (input - mean) / sqrt(variance + epsilon) + beta`, per channel.
  /// - Parameters:
  ///   - input: `(N, C, H, W)`, NCHW.
  ///   - gamma, beta: `(C)`.
  ///   - output: `(N, C, H, W)`, NCHW, overwritten.
  ///   - mean: `(C)`, overwritten with the batch mean.
  ///   - variance: `(C)`, overwritten with the *biased* batch variance (divided by
  ///     `N * H * W`). PyTorch's running variance uses the unbiased one: scale by
  ///     `m / (m - 1)`, `m = N * H * W`.
  ///   - epsilon: added to the variance.
  /// - Throws: `DNNLError` when oneDNN fails.
  static func batchNormForwardTraining(
    batch: Int, channels: Int, height: Int, width: Int,
    input: UnsafePointer<Float>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
    output: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
    variance: UnsafeMutablePointer<Float>, epsilon: Float
  ) throws(DNNLError) {
    let dims = [batch, channels, height, width]
    let key = PlanKey(
      operation: "batchNormForwardTraining", values: dims + [Int(epsilon.bitPattern)])
    let buffers: [(Int32, UnsafeMutableRawPointer)] = [
      (DNNL_ARG_SRC, UnsafeMutableRawPointer(mutating: input)),
      (DNNL_ARG_SCALE, UnsafeMutableRawPointer(mutating: gamma)),
      (DNNL_ARG_SHIFT, UnsafeMutableRawPointer(mutating: beta)),
      (DNNL_ARG_DST, UnsafeMutableRawPointer(output)),
      (DNNL_ARG_MEAN, UnsafeMutableRawPointer(mean)),
      (DNNL_ARG_VARIANCE, UnsafeMutableRawPointer(variance)),
    ]
    try run(key, buffers: buffers) { context throws(DNNLError) in
      let descriptor = try batchNormForwardDescriptor(
        dims, epsilon: epsilon, training: true, context)
      let data = try memoryDesc(dims, dnnl_nchw)
      let vector = try memoryDesc([channels], dnnl_x)
      return try makePlan(
        descriptor,
        arguments: [
          ArgumentSpec(id: DNNL_ARG_SRC, isOutput: false, userDesc: data),
          ArgumentSpec(id: DNNL_ARG_SCALE, isOutput: false, userDesc: vector),
          ArgumentSpec(id: DNNL_ARG_SHIFT, isOutput: false, userDesc: vector),
          ArgumentSpec(id: DNNL_ARG_DST, isOutput: true, userDesc: data),
          ArgumentSpec(id: DNNL_ARG_MEAN, isOutput: true, userDesc: vector),
          ArgumentSpec(id: DNNL_ARG_VARIANCE, isOutput: true, userDesc: vector),
        ], context, "batchNormForwardTraining")
    }
  }

  /// Inference-mode batch normalisation with given (running) statistics.
  ///
  /// - Parameters:
  ///   - input: `(N, C, H, W)`, NCHW.
  ///   - gamma, beta, mean, variance: `(C)`.
  ///   - output: `(N, C, H, W)`, NCHW, overwritten; may equal `input`.
  ///   - epsilon: added to the variance.
  /// - Throws: `DNNLError` when oneDNN fails.
  static func batchNormForwardInference(
    batch: Int, channels: Int, height: Int, width: Int,
    input: UnsafePointer<Float>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
    mean: UnsafePointer<Float>, variance: UnsafePointer<Float>,
    output: UnsafeMutablePointer<Float>, epsilon: Float
  ) throws(DNNLError) {
    let dims = [batch, channels, height, width]
    let key = PlanKey(
      operation: "batchNormForwardInference", values: dims + [Int(epsilon.bitPattern)])
    let buffers: [(Int32, UnsafeMutableRawPointer)] = [
      (DNNL_ARG_SRC, UnsafeMutableRawPointer(mutating: input)),
      (DNNL_ARG_SCALE, UnsafeMutableRawPointer(mutating: gamma)),
      (DNNL_ARG_SHIFT, UnsafeMutableRawPointer(mutating: beta)),
      (DNNL_ARG_MEAN, UnsafeMutableRawPointer(mutating: mean)),
      (DNNL_ARG_VARIANCE, UnsafeMutableRawPointer(mutating: variance)),
      (DNNL_ARG_DST, UnsafeMutableRawPointer(output)),
    ]
    try run(key, buffers: buffers) { context throws(DNNLError) in
      let descriptor = try batchNormForwardDescriptor(
        dims, epsilon: epsilon, training: false, context)
      let data = try memoryDesc(dims, dnnl_nchw)
      let vector = try memoryDesc([channels], dnnl_x)
      return try makePlan(
        descriptor,
        arguments: [
          ArgumentSpec(id: DNNL_ARG_SRC, isOutput: false, userDesc: data),
          ArgumentSpec(id: DNNL_ARG_SCALE, isOutput: false, userDesc: vector),
          ArgumentSpec(id: DNNL_ARG_SHIFT, isOutput: false, userDesc: vector),
          ArgumentSpec(id: DNNL_ARG_MEAN, isOutput: false, userDesc: vector),
          ArgumentSpec(id: DNNL_ARG_VARIANCE, isOutput: false, userDesc: vector),
          ArgumentSpec(id: DNNL_ARG_DST, isOutput: true, userDesc: data),
        ], context, "batchNormForwardInference")
    }
  }

  /// Gradients of training-mode batch normalisation.
  ///
  /// - Parameters:
  ///   - input: `(N, C, H, W)`, the forward input.
  ///   - outputGradient: `(N, C, H, W)`.
  ///   - gamma: `(C)`.
  ///   - mean, variance: `(C)`, as returned by `batchNormForwardTraining` (biased variance).
  ///   - inputGradient: `(N, C, H, W)`, overwritten.
  ///   - gammaGradient, betaGradient: `(C)`, overwritten.
  ///   - epsilon: the forward epsilon.
  /// - Throws: `DNNLError` when oneDNN fails.
  static func batchNormBackward(
    batch: Int, channels: Int, height: Int, width: Int,
    input: UnsafePointer<Float>, outputGradient: UnsafePointer<Float>,
    gamma: UnsafePointer<Float>, mean: UnsafePointer<Float>, variance: UnsafePointer<Float>,
    inputGradient: UnsafeMutablePointer<Float>, gammaGradient: UnsafeMutablePointer<Float>,
    betaGradient: UnsafeMutablePointer<Float>, epsilon: Float
  ) throws(DNNLError) {
    let dims = [batch, channels, height, width]
    let key = PlanKey(operation: "batchNormBackward", values: dims + [Int(epsilon.bitPattern)])
    let buffers: [(Int32, UnsafeMutableRawPointer)] = [
      (DNNL_ARG_SRC, UnsafeMutableRawPointer(mutating: input)),
      (DNNL_ARG_DIFF_DST, UnsafeMutableRawPointer(mutating: outputGradient)),
      (DNNL_ARG_SCALE, UnsafeMutableRawPointer(mutating: gamma)),
      // oneDNN 2.6 counts SHIFT among the backward inputs (execute fails with
      // invalid_arguments without it) but the gradients do not depend on beta; any (C)
      // buffer serves, so gamma stands in
      (DNNL_ARG_SHIFT, UnsafeMutableRawPointer(mutating: gamma)),
      (DNNL_ARG_MEAN, UnsafeMutableRawPointer(mutating: mean)),
      (DNNL_ARG_VARIANCE, UnsafeMutableRawPointer(mutating: variance)),
      (DNNL_ARG_DIFF_SRC, UnsafeMutableRawPointer(inputGradient)),
      (DNNL_ARG_DIFF_SCALE, UnsafeMutableRawPointer(gammaGradient)),
      (DNNL_ARG_DIFF_SHIFT, UnsafeMutableRawPointer(betaGradient)),
    ]
    try run(key, buffers: buffers) { context throws(DNNLError) in
      let hint = try batchNormForwardDescriptor(dims, epsilon: epsilon, training: true, context)
      defer { dnnl_primitive_desc_destroy(hint) }
      var inner = try activationLayout(dims, context)
      let data = try memoryDesc(dims, dnnl_nchw)
      var desc = dnnl_batch_normalization_desc_t()
      try check(
        dnnl_batch_normalization_backward_desc_init(
          &desc, dnnl_backward, &inner, &inner, epsilon, scaleShiftFlags),
        "batchNormBackward: dnnl_batch_normalization_backward_desc_init")
      let descriptor = try primitiveDescriptor(desc, hint: hint, context, "batchNormBackward")
      let vector = try memoryDesc([channels], dnnl_x)
      return try makePlan(
        descriptor,
        arguments: [
          ArgumentSpec(id: DNNL_ARG_SRC, isOutput: false, userDesc: data),
          ArgumentSpec(id: DNNL_ARG_DIFF_DST, isOutput: false, userDesc: data),
          ArgumentSpec(id: DNNL_ARG_SCALE, isOutput: false, userDesc: vector),
          ArgumentSpec(id: DNNL_ARG_SHIFT, isOutput: false, userDesc: vector),
          ArgumentSpec(id: DNNL_ARG_MEAN, isOutput: false, userDesc: vector),
          ArgumentSpec(id: DNNL_ARG_VARIANCE, isOutput: false, userDesc: vector),
          ArgumentSpec(id: DNNL_ARG_DIFF_SRC, isOutput: true, userDesc: data),
          ArgumentSpec(id: DNNL_ARG_DIFF_SCALE, isOutput: true, userDesc: vector),
          ArgumentSpec(id: DNNL_ARG_DIFF_SHIFT, isOutput: true, userDesc: vector),
        ], context, "batchNormBackward")
    }
  }

  /// Forward batch-norm primitive descriptor on `activationLayout`; the caller owns it.
  private static func batchNormForwardDescriptor(
    _ dims: [Int], epsilon: Float, training: Bool, _ context: Context
  ) throws(DNNLError) -> dnnl_primitive_desc_t {
    var data = try activationLayout(dims, context)
    var desc = dnnl_batch_normalization_desc_t()
    let flags = scaleShiftFlags | (training ? 0 : dnnl_use_global_stats.rawValue)
    try check(
      dnnl_batch_normalization_forward_desc_init(
        &desc, training ? dnnl_forward_training : dnnl_forward_inference, &data, epsilon,
        flags),
      "batchNorm: dnnl_batch_normalization_forward_desc_init")
    return try primitiveDescriptor(desc, hint: nil, context, "batchNorm")
  }
}
