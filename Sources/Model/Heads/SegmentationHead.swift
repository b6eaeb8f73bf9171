import Tensor

/// Fuses the two backbone stages and brings them back to the input
/// resolution, sharpened by a light full-resolution branch from the image.
///
/// - Lateral 1×1 conv-BN of each stage to D channels; stage 2 bilinearly
///   upsampled to the stage-1 grid and added; 3×3 conv-BN-hardswish.
/// - Bilinear upsampling (align_corners = false) to the padded input size.
/// - Image branch: one 3×3 conv-BN-ReLU on the normalised image (3 → S
///   channels) at full resolution. Tokens are f = 16 pixels wide, so
///   without it every boundary would be a bilinear blend of 16-pixel
///   cells; this branch costs 27·S MACs per pixel.
/// - Concatenate (D + S), 1×1 conv-BN-hardswish to S, 1×1 conv to C.
///   Computed as `BN(up(W_D·fused) + W_S·skip)`: a 1×1 convolution commutes
///   with bilinear upsampling, so the D-channel features are never
///   materialised at full resolution (same function as the reference,
///   which concatenates; results differ by float rounding only).
///
/// (image `[N, 3, H, W]`, s1 `[N, C₁, h, w]`, s2 `[N, C₂, h', w']`) →
/// logits `[N, classes, H, W]`.
struct SegmentationHead {
  let lateral1, lateral2, fuse, skip, mix: ConvNorm
  let classifier: Conv

  init(_ scope: ParameterScope, config: ModelConfig) {
    let d1 = config.stageDims[0], d2 = config.stageDims[1]
    let dd = config.decoderDim, sk = config.skipChannels
    lateral1 = ConvNorm(scope("lateral1"), in: d1, out: dd, kernel: 1)
    lateral2 = ConvNorm(scope("lateral2"), in: d2, out: dd, kernel: 1)
    fuse = ConvNorm(
      scope("fuse"), in: dd, out: dd, kernel: 3, activation: .hardswish)
    skip = ConvNorm(scope("skip"), in: 3, out: sk, kernel: 3, activation: .relu)
    mix = ConvNorm(
      scope("mix"), in: dd + sk, out: sk, kernel: 1, activation: .hardswish)
    classifier = Conv(
      scope("classifier"), in: sk, out: config.classes, kernel: 1)
  }

  func callAsFunction(
    image: Tensor, s1: Tensor, s2: Tensor, training: Bool
  ) -> Tensor {
    let h = s1.shape[2], w = s1.shape[3]
    let up2 = lateral2(s2, training: training).resizeBilinear(
      height: h, width: w)
    let fused = fuse(lateral1(s1, training: training) + up2, training: training)
    // mix(concat(up(fused), skip)) with its 1×1 weight split in two: the
    // part on the token features runs before the (linear, per-channel)
    // upsampling, so full resolution only ever holds S channels.
    let weights = mix.conv.weight.split(
      sizes: [fused.shape[1], skip.conv.weight.shape[0]], dim: 1)
    let low = CountedOps.conv(fused, weights[0])
    let full = low.resizeBilinear(height: image.shape[2], width: image.shape[3])
    let fine = CountedOps.conv(skip(image, training: training), weights[1])
    return classifier(mix.normalised(full + fine, training: training))
  }
}
