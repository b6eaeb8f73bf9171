// Elementwise activations (ReLU, exact GELU, hard-swish, sigmoid): forward and backward.
import CDNNL

extension DNNL {
  /// An elementwise activation oneDNN computes.
  enum Activation: Int, Hashable, Sendable, CaseIterable {
    /// `max(x, 0)`.
    case relu
    /// `0.5 * x * (1 + erf(x / sqrt(2)))`.
    case geluErf
    /// `x * min(max(x + 3, 0), 6) / 6`.
    case hardswish
    /// `1 / (1 + exp(-x))`.
    case sigmoid

    fileprivate var algorithm: dnnl_alg_kind_t {
      switch self {
      case .relu: dnnl_eltwise_relu
      case .geluErf: dnnl_eltwise_gelu_erf
      case .hardswish: dnnl_eltwise_hardswish
      case .sigmoid: dnnl_eltwise_logistic
      }
    }
  }

  /// `output = f(input)` elementwise over `count` floats (any layout).
  ///
  /// - Parameters:
  ///   - kind: the activation.
  ///   - count: number of elements.
  ///   - input: `count` floats.
  ///   - output: `count` floats, overwritten; may equal `input` (in place).
  /// - Throws: `DNNLError` when oneDNN fails.
  static func activationForward(
    _ kind: Activation, count: Int, input: UnsafePointer<Float>,
    output: UnsafeMutablePointer<Float>
  ) throws(DNNLError) {
    let key = PlanKey(operation: "activationForward", values: [kind.rawValue, count])
    let buffers: [(Int32, UnsafeMutableRawPointer)] = [
      (DNNL_ARG_SRC, UnsafeMutableRawPointer(mutating: input)),
      (DNNL_ARG_DST, UnsafeMutableRawPointer(output)),
    ]
    try run(key, buffers: buffers) { context throws(DNNLError) in
      let descriptor = try activationForwardDescriptor(kind, count: count, context)
      let data = try memoryDesc([count], dnnl_x)
      return try makePlan(
        descriptor,
        arguments: [
          ArgumentSpec(id: DNNL_ARG_SRC, isOutput: false, userDesc: data),
          ArgumentSpec(id: DNNL_ARG_DST, isOutput: true, userDesc: data),
        ], context, "activationForward")
    }
  }

  /// `inputGradient = f'(input) * outputGradient` elementwise over `count` floats.
  ///
  /// - Parameters:
  ///   - kind: the activation.
  ///   - count: number of elements.
  ///   - input: the forward *input* `x` (not the output).
  ///   - outputGradient: `count` floats.
  ///   - inputGradient: `count` floats, overwritten; may equal `outputGradient`.
  /// - Throws: `DNNLError` when oneDNN fails.
  static func activationBackward(
    _ kind: Activation, count: Int, input: UnsafePointer<Float>,
    outputGradient: UnsafePointer<Float>, inputGradient: UnsafeMutablePointer<Float>
  ) throws(DNNLError) {
    let key = PlanKey(operation: "activationBackward", values: [kind.rawValue, count])
    let buffers: [(Int32, UnsafeMutableRawPointer)] = [
      (DNNL_ARG_SRC, UnsafeMutableRawPointer(mutating: input)),
      (DNNL_ARG_DIFF_DST, UnsafeMutableRawPointer(mutating: outputGradient)),
      (DNNL_ARG_DIFF_SRC, UnsafeMutableRawPointer(inputGradient)),
    ]
    try run(key, buffers: buffers) { context throws(DNNLError) in
      let hint = try activationForwardDescriptor(kind, count: count, context)
      defer { dnnl_primitive_desc_destroy(hint) }
      var data = try memoryDesc([count], dnnl_x)
      var desc = dnnl_eltwise_desc_t()
      try check(
        dnnl_eltwise_backward_desc_init(&desc, kind.algorithm, &data, &data, 0, 0),
        "activationBackward: dnnl_eltwise_backward_desc_init")
      let descriptor = try primitiveDescriptor(desc, hint: hint, context, "activationBackward")
      return try makePlan(
        descriptor,
        arguments: [
          ArgumentSpec(id: DNNL_ARG_SRC, isOutput: false, userDesc: data),
          ArgumentSpec(id: DNNL_ARG_DIFF_DST, isOutput: false, userDesc: data),
          ArgumentSpec(id: DNNL_ARG_DIFF_SRC, isOutput: true, userDesc: data),
        ], context, "activationBackward")
    }
  }

  /// Forward eltwise descriptor over a 1D buffer; the caller owns it.
  private static func activationForwardDescriptor(
    _ kind: Activation, count: Int, _ context: Context
  ) throws(DNNLError) -> dnnl_primitive_desc_t {
    var data = try memoryDesc([count], dnnl_x)
    var desc = dnnl_eltwise_desc_t()
    // alpha = 0: ReLU's negative slope; ignored by the other three
    try check(
      dnnl_eltwise_forward_desc_init(
        &desc, dnnl_forward_training, kind.algorithm, &data, 0, 0),
      "activation: dnnl_eltwise_forward_desc_init")
    return try primitiveDescriptor(desc, hint: nil, context, "activation")
  }
}
