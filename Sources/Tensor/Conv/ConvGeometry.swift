/// Sizes of one 2-D convolution over NCHW input with an
/// `[out, in/groups, kh, kw]` weight; square stride, padding and dilation.
struct ConvGeometry: Equatable, Hashable {
  var batch, inChannels, height, width: Int
  var outChannels, kernelH, kernelW: Int
  var stride, padding, dilation, groups: Int

  /// Output height in pixels; 0 when the kernel does not fit.
  var outH: Int {
    Self.outputSize(height + 2 * padding - dilation * (kernelH - 1) - 1, stride)
  }
  /// Output width in pixels; 0 when the kernel does not fit.
  var outW: Int {
    Self.outputSize(width + 2 * padding - dilation * (kernelW - 1) - 1, stride)
  }

  /// Positions of a window along one axis: `span / stride + 1`, where
  /// `span` is the padded input length less the window's extent, or 0 when
  /// `span` is negative (the window does not fit once). Integer division
  /// rounds toward zero, so without the guard a span between −(stride − 1)
  /// and −1 would give one position and kernels would read past the input.
  static func outputSize(_ span: Int, _ stride: Int) -> Int {
    span < 0 ? 0 : span / stride + 1
  }
  /// Input channels per group.
  var groupIn: Int { inChannels / groups }
  /// Output channels per group.
  var groupOut: Int { outChannels / groups }
  /// Rows of the im2col matrix of one group: groupIn · kh · kw.
  var patch: Int { groupIn * kernelH * kernelW }
  /// Whether each channel is convolved with its own single filter.
  var isDepthwise: Bool { groups == inChannels && outChannels == inChannels && groups > 1 }
  /// Whether the im2col matrix is the input itself.
  var isPointwise: Bool {
    kernelH == 1 && kernelW == 1 && stride == 1 && padding == 0
  }
  var inputShape: [Int] { [batch, inChannels, height, width] }
  var outputShape: [Int] { [batch, outChannels, outH, outW] }
  var weightShape: [Int] { [outChannels, groupIn, kernelH, kernelW] }
}
