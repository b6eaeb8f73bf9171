// Layer normalisation over the last axis of a (rows, features) matrix: forward, backward.
import CDNNL

extension DNNL {
  /// Layer normalisation of each row: `y = gamma * (x - mean) / sqrt(variance + eps) + beta`.
  ///
  /// - Parameters:
  ///   - rows, features: the matrix shape; statistics run over `features`.
  ///   - input: `(rows, features)`, row-major.
  ///   - gamma, beta: `(features)`.
  ///   - output: `(rows, features)`, overwritten.
  ///   - mean, variance: `(rows)`, overwritten (biased variance, divided by `features`).
  ///   - epsilon: added to the variance.
  /// - Throws: `DNNLError` when oneDNN fails.
  static func layerNormForward(
    rows: Int, features: Int, input: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
    beta: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
    mean: UnsafeMutablePointer<Float>, variance: UnsafeMutablePointer<Float>, epsilon: Float
  ) throws(DNNLError) {
    let key = PlanKey(
      operation: "layerNormForward", values: [rows, features, Int(epsilon.bitPattern)])
    let buffers: [(Int32, UnsafeMutableRawPointer)] = [
      (DNNL_ARG_SRC, UnsafeMutableRawPointer(mutating: input)),
      (DNNL_ARG_SCALE, UnsafeMutableRawPointer(mutating: gamma)),
      (DNNL_ARG_SHIFT, UnsafeMutableRawPointer(mutating: beta)),
      (DNNL_ARG_DST, UnsafeMutableRawPointer(output)),
      (DNNL_ARG_MEAN, UnsafeMutableRawPointer(mean)),
      (DNNL_ARG_VARIANCE, UnsafeMutableRawPointer(variance)),
    ]
    try run(key, buffers: buffers) { context throws(DNNLError) in
      let descriptor = try layerNormForwardDescriptor(rows, features, epsilon, context)
      let data = try memoryDesc([rows, features], dnnl_ab)
      let statistics = try memoryDesc([rows], dnnl_a)
      let vector = try memoryDesc([features], dnnl_a)
      return try makePlan(
        descriptor,
        arguments: [
          ArgumentSpec(id: DNNL_ARG_SRC, isOutput: false, userDesc: data),
          ArgumentSpec(id: DNNL_ARG_SCALE, isOutput: false, userDesc: vector),
          ArgumentSpec(id: DNNL_ARG_SHIFT, isOutput: false, userDesc: vector),
          ArgumentSpec(id: DNNL_ARG_DST, isOutput: true, userDesc: data),
          ArgumentSpec(id: DNNL_ARG_MEAN, isOutput: true, userDesc: statistics),
          ArgumentSpec(id: DNNL_ARG_VARIANCE, isOutput: true, userDesc: statistics),
        ], context, "layerNormForward")
    }
  }

  /// Gradients of layer normalisation.
  ///
  /// - Parameters:
  ///   - rows, features: the matrix shape.
  ///   - input: `(rows, features)`, the forward input.
  ///   - outputGradient: `(rows, features)`.
  ///   - gamma: `(features)`.
  ///   - mean, variance: `(rows)`, as returned by `layerNormForward`.
  ///   - inputGradient: `(rows, features)`, overwritten.
  ///   - gammaGradient, betaGradient: `(features)`, overwritten.
  ///   - epsilon: the forward epsilon.
  /// - Throws: `DNNLError` when oneDNN fails.
  static func layerNormBackward(
    rows: Int, features: Int, input: UnsafePointer<Float>,
    outputGradient: UnsafePointer<Float>, gamma: UnsafePointer<Float>,
    mean: UnsafePointer<Float>, variance: UnsafePointer<Float>,
    inputGradient: UnsafeMutablePointer<Float>, gammaGradient: UnsafeMutablePointer<Float>,
    betaGradient: UnsafeMutablePointer<Float>, epsilon: Float
  ) throws(DNNLError) {
    let key = PlanKey(
      operation: "layerNormBackward", values: [rows, features, Int(epsilon.bitPattern)])
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
      let hint = try layerNormForwardDescriptor(rows, features, epsilon, context)
      defer { dnnl_primitive_desc_destroy(hint) }
      var data = try memoryDesc([rows, features], dnnl_ab)
      var statistics = try memoryDesc([rows], dnnl_a)
      let vector = try memoryDesc([features], dnnl_a)
      var desc = dnnl_layer_normalization_desc_t()
      try check(
        dnnl_layer_normalization_backward_desc_init(
          &desc, dnnl_backward, &data, &data, &statistics, epsilon,
          dnnl_use_scale.rawValue | dnnl_use_shift.rawValue),
        "layerNormBackward: dnnl_layer_normalization_backward_desc_init")
      let descriptor = try primitiveDescriptor(desc, hint: hint, context, "layerNormBackward")
      return try makePlan(
        descriptor,
        arguments: [
          ArgumentSpec(id: DNNL_ARG_SRC, isOutput: false, userDesc: data),
          ArgumentSpec(id: DNNL_ARG_DIFF_DST, isOutput: false, userDesc: data),
          ArgumentSpec(id: DNNL_ARG_SCALE, isOutput: false, userDesc: vector),
          ArgumentSpec(id: DNNL_ARG_SHIFT, isOutput: false, userDesc: vector),
          ArgumentSpec(id: DNNL_ARG_MEAN, isOutput: false, userDesc: statistics),
          ArgumentSpec(id: DNNL_ARG_VARIANCE, isOutput: false, userDesc: statistics),
          ArgumentSpec(id: DNNL_ARG_DIFF_SRC, isOutput: true, userDesc: data),
          ArgumentSpec(id: DNNL_ARG_DIFF_SCALE, isOutput: true, userDesc: vector),
          ArgumentSpec(id: DNNL_ARG_DIFF_SHIFT, isOutput: true, userDesc: vector),
        ], context, "layerNormBackward")
    }
  }

  /// Forward (training) layer-norm descriptor; the caller owns it.
  private static func layerNormForwardDescriptor(
    _ rows: Int, _ features: Int, _ epsilon: Float, _ context: Context
  ) throws(DNNLError) -> dnnl_primitive_desc_t {
    var data = try memoryDesc([rows, features], dnnl_ab)
    var statistics = try memoryDesc([rows], dnnl_a)
    var desc = dnnl_layer_normalization_desc_t()
    try check(
      dnnl_layer_normalization_forward_desc_init(
        &desc, dnnl_forward_training, &data, &statistics, epsilon,
        dnnl_use_scale.rawValue | dnnl_use_shift.rawValue),
      "layerNorm: dnnl_layer_normalization_forward_desc_init")
    return try primitiveDescriptor(desc, hint: nil, context, "layerNorm")
  }
}
