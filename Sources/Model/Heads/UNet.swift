import Tensor

/// The U-Net baseline (Ronneberger et al. 2015, with batch norm and
/// bilinear upsampling): L levels of widths w₀ … w_{L−1}; each level two
/// 3×3 conv-BN-ReLU; 2×2 max pooling down; up: bilinear resize to the skip
/// size, concatenate (w_{i+1} + w_i), two 3×3 conv-BN-ReLU; 1×1 conv to C.
/// Widths [16, 32, 64, 128, 256] give 1.96 M parameters.
///
/// `[N, 3, H, W]` (multiples of 2^(L−1)) → `[N, classes, H, W]`.
struct UNet {
  let enc: [DoubleConv]
  let dec: [DoubleConv]
  let classifier: Conv

  init(_ scope: ParameterScope, config: ModelConfig) {
    let w = config.unetWidths
    let chans = [3] + w
    enc = w.indices.map {
      DoubleConv(scope("enc")($0), in: chans[$0], out: chans[$0 + 1])
    }
    dec = (0..<(w.count - 1)).reversed().enumerated().map { j, i in
      DoubleConv(scope("dec")(j), in: w[i + 1] + w[i], out: w[i])
    }
    classifier = Conv(scope("classifier"), in: w[0], out: config.classes, kernel: 1)
  }

  func callAsFunction(_ image: Tensor, training: Bool) -> Tensor {
    var skips: [Tensor] = []
    var x = image
    for (i, level) in enc.enumerated() {
      if i > 0 { x = x.maxPool2d(kernel: 2) }
      x = level(x, training: training)
      skips.append(x)
    }
    skips.removeLast()
    for level in dec {
      // Joined in a helper so the upsampled map and the skip are released
      // as soon as they are concatenated: at 4K each full-resolution copy
      // is half a gigabyte, and holding them through the convolutions
      // pushed the peak past 8 GiB.
      let joined = Self.join(x, skips.removeLast())
      x = level(joined, training: training)
    }
    return classifier(x)
  }

  /// `x` upsampled to `skip`'s size, then concatenated with it on channels.
  private static func join(_ x: Tensor, _ skip: Tensor) -> Tensor {
    Tensor.concat(
      [x.resizeBilinear(height: skip.shape[2], width: skip.shape[3]), skip], dim: 1)
  }
}
