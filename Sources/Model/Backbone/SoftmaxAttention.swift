import Tensor

/// Softmax multi-head self-attention (the ablation of `LinearAttention`),
/// NCHW `[N, C, h, w]` → same, C = heads·headDim, the same `[q | k | v]`
/// per-head channel layout from one 1×1 convolution, then 1×1 conv-BN.
///
/// Global attention costs T² per head (T = h·w tokens): 32 400 tokens for
/// a 3840×2160 input at f = 16, a 4 GB score matrix per head. With
/// `window > 0` tokens attend within non-overlapping window×window
/// squares; the grid is zero-padded at the bottom/right to a multiple of
/// the window (padded positions take part as keys with zero key and
/// value, as in Swin) and cropped back. A grid that fits in one window is
/// attended globally.
struct SoftmaxAttention: TokenMixer {
  let qkv: Conv
  let proj: ConvNorm
  let headDim: Int
  let window: Int

  init(_ scope: ParameterScope, dim: Int, headDim: Int, window: Int) {
    self.headDim = headDim
    self.window = window
    qkv = Conv(scope("qkv"), in: dim, out: 3 * dim, kernel: 1, bias: false)
    proj = ConvNorm(scope("proj"), in: dim, out: dim, kernel: 1)
  }

  func callAsFunction(_ x: Tensor, training: Bool) -> Tensor {
    let n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3]
    let t = qkv(x)
    let s = window
    if s <= 0 || (h <= s && w <= s) {
      return proj(attend(t), training: training)
    }
    let ph = (s - h % s) % s, pw = (s - w % s) % s
    let padded = t.padded(top: 0, bottom: ph, left: 0, right: pw)
    let hh = (h + ph) / s, ww = (w + pw) / s
    let windows = padded.reshaped([n, 3 * c, hh, s, ww, s])
      .permuted([0, 2, 4, 1, 3, 5]).reshaped([n * hh * ww, 3 * c, s, s])
    let o = attend(windows).reshaped([n, hh, ww, c, s, s])
      .permuted([0, 3, 1, 4, 2, 5]).reshaped([n, c, hh * s, ww * s])
    let cropped = o.cropped(top: 0, left: 0, height: h, width: w)
    return proj(cropped, training: training)
  }

  /// Full softmax attention over all positions of `qkv` `[N, 3C, h, w]`
  /// → `[N, C, h, w]`, scores scaled by 1/√headDim.
  private func attend(_ qkv: Tensor) -> Tensor {
    let n = qkv.shape[0], c3 = qkv.shape[1], h = qkv.shape[2], w = qkv.shape[3]
    let hd = headDim
    let parts = qkv.reshaped([-1, 3 * hd, h * w]).split(
      sizes: [hd, hd, hd], dim: 1)
    let q = parts[0], k = parts[1], v = parts[2]
    let scores = CountedOps.matmul(q.permuted([0, 2, 1]), k)  // [B, T, T]
    let attn = (scores * (1 / Float(hd).squareRoot())).softmax(dim: 2)
    let out = CountedOps.matmul(v, attn.permuted([0, 2, 1]))  // [B, hd, T]
    return out.reshaped([n, c3 / 3, h, w])
  }
}
