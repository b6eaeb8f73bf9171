/// Sizes of one 2-D convolution over NCHW input with an
/// `[out, in/groups, kh, kw]` weight; square stride, padding and dilation.
struct ConvGeometry: Equatable, Hashable {
  var batch, inChannels, height, width: Int
  var outChannels, kernelH, kernelW: Int
  var stride, padding, dilation, groups: Int

  /// Output height in pixels.
  var outH: Int { (height + 2 * padding - dilation * (kernelH - 1) - 1) / stride + 1 }
  /// Output width in pixels.
  var outW: Int { (width + 2 * padding - dilation * (kernelW - 1) - 1) / stride + 1 }
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
