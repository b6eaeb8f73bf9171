import Tensor

/// A HoloHisto segmentation network of any variant (`ModelConfig.variant`):
/// RGB image in, per-pixel class logits out.
///
/// Input: `[N, 3, H, W]` RGB in [0, 1], any H, W ≥ 1, N ≥ 1. The model
/// normalises with the config's mean/std, zero-pads bottom/right to a
/// multiple of `config.totalStride`, runs, and crops the logits back:
/// `[N, classes, H, W]`. Tensor names equal the `state_dict` keys of
/// `scripts/model_reference.py`.
public final class SegmentationModel {
  public let config: ModelConfig
  /// Every tensor of the model by checkpoint name.
  public let store: ParameterStore
  /// The codebook (tokenizer variants only).
  public let quantizer: VectorQuantizer?
  let encoder: TokenEncoder?
  let decoder: TokenDecoder?
  let patchEmbed: Conv?
  let backbone: Backbone?
  let head: SegmentationHead?
  let unet: UNet?
  let mean: Tensor  // [1, 3, 1, 1]
  let std: Tensor  // [1, 3, 1, 1]

  /// Builds a freshly initialised model (Kaiming-normal convolutions,
  /// BN γ = 1, β = 0, codebook uniform ±1/K) from a seeded generator.
  ///
  /// - Throws: `ModelError.invalidConfig`.
  public init(config: ModelConfig, seed: UInt64 = 0) throws {
    try config.validate()
    self.config = config
    store = ParameterStore(seed: seed)
    let root = ParameterScope(store: store, prefix: "")
    if config.hasTokenizer {
      encoder = TokenEncoder(root("encoder"), config: config)
      quantizer = VectorQuantizer(root("quantizer"), config: config)
      decoder = TokenDecoder(root("decoder"), config: config)
    } else {
      encoder = nil
      quantizer = nil
      decoder = nil
    }
    if config.variant == .patch {
      let f = config.patchSize
      patchEmbed = Conv(
        root("patch_embed"), in: 3, out: config.tokenDim, kernel: f,
        stride: f, padding: 0)
    } else {
      patchEmbed = nil
    }
    if config.variant == .unet {
      unet = UNet(root("unet"), config: config)
      backbone = nil
      head = nil
    } else {
      unet = nil
      backbone = Backbone(root("backbone"), config: config)
      head = SegmentationHead(root("head"), config: config)
    }
    mean = try Tensor(shape: [1, 3, 1, 1], values: config.mean)
    std = try Tensor(shape: [1, 3, 1, 1], values: config.std)
  }

  /// What one forward pass produced.
  public struct Output {
    /// `[N, classes, H, W]`.
    public let logits: Tensor
    /// Token grid (h, w) = (⌈H/f⌉, ⌈W/f⌉); nil for the U-Net.
    public let tokenGrid: (height: Int, width: Int)?
    /// The quantiser's result (tokenizer variants only).
    public let quantized: VectorQuantizer.Output?
    /// Backbone stage outputs `[N, C₁, h, w]` and `[N, C₂, ⌈h/2⌉, ⌈w/2⌉]`
    /// (nil for the U-Net).
    public let stages: (Tensor, Tensor)?
  }

  /// Parameters of the segmentation path: all trainable tensors except the
  /// tokenizer decoder's (which only reconstruction pre-training uses).
  public var segmentationParameters: [Tensor] {
    store.parameters(prefixes: ["decoder."], include: false)
  }

  /// Parameters of tokenizer pre-training: encoder E and decoder G (the
  /// codebook follows its EMA rule instead).
  public var tokenizerParameters: [Tensor] {
    store.parameters(prefixes: ["encoder.", "decoder."], include: true)
  }

  /// Number of parameters used for segmentation (codebook included,
  /// pre-training decoder and batch-norm statistics excluded).
  public var parameterCount: Int {
    store.parameterCount(excludingPrefix: "decoder.")
  }

  /// Runs the network; `training` selects batch statistics in batch norm
  /// (and updates the running ones).
  ///
  /// - Throws: `ModelError.invalidInput` unless `rgb` is `[N, 3, H, W]`
  ///   with N, H, W ≥ 1.
  public func forward(_ rgb: Tensor, training: Bool = false) throws -> Output {
    let x = try normalisedPadded(rgb, multiple: config.totalStride)
    let h = rgb.shape[2], w = rgb.shape[3]
    let logits: Tensor
    var grid: (Int, Int)? = nil
    var quantized: VectorQuantizer.Output? = nil
    var stages: (Tensor, Tensor)? = nil
    if let unet {
      logits = unet(x, training: training)
    } else {
      let tokens: Tensor
      if let patchEmbed {
        tokens = patchEmbed(x)
      } else {
        let q = quantizer!.quantize(encoder!(x, training: training))
        quantized = q
        tokens = q.quantized
      }
      grid = (tokens.shape[2], tokens.shape[3])
      let (s1, s2) = backbone!(tokens, training: training)
      stages = (s1, s2)
      logits = head!(image: x, s1: s1, s2: s2, training: training)
    }
    let cropped =
      logits.shape[2] == h && logits.shape[3] == w
      ? logits : logits.cropped(top: 0, left: 0, height: h, width: w)
    return Output(
      logits: cropped, tokenGrid: grid.map { (height: $0.0, width: $0.1) },
      quantized: quantized, stages: stages)
  }

  /// Evaluation-mode logits `[N, classes, H, W]`.
  public func callAsFunction(_ rgb: Tensor) throws -> Tensor {
    try forward(rgb).logits
  }

  /// What the tokenizer's pre-training path produced.
  public struct Reconstruction {
    /// x̂ = G(z_q), `[N, 3, H', W']` (H', W' = H, W padded to f), in the
    /// normalised colour space.
    public let output: Tensor
    /// The normalised, padded input the output should match.
    public let target: Tensor
    public let quantized: VectorQuantizer.Output
  }

  /// Tokenizer pre-training forward: E, quantise, G.
  ///
  /// - Throws: `ModelError.invalidConfig` for variants without tokenizer,
  ///   `.invalidInput` as `forward`.
  public func reconstruct(_ rgb: Tensor, training: Bool = false) throws
    -> Reconstruction
  {
    guard let encoder, let quantizer, let decoder else {
      throw ModelError.invalidConfig(
        field: "variant", value: config.variant.rawValue,
        reason: "has no tokenizer to reconstruct with")
    }
    let x = try normalisedPadded(rgb, multiple: config.patchSize)
    let q = quantizer.quantize(encoder(x, training: training))
    return Reconstruction(
      output: decoder(q.quantized, training: training), target: x,
      quantized: q)
  }

  /// The sequential tokenizer alone: E and the quantiser on the
  /// normalised image padded to f; the token grid is ⌈H/f⌉×⌈W/f⌉.
  ///
  /// - Throws: `ModelError.invalidConfig` for variants without tokenizer,
  ///   `.invalidInput` as `forward`.
  public func tokenize(_ rgb: Tensor) throws -> VectorQuantizer.Output {
    guard let encoder, let quantizer else {
      throw ModelError.invalidConfig(
        field: "variant", value: config.variant.rawValue,
        reason: "has no tokenizer")
    }
    let x = try normalisedPadded(rgb, multiple: config.patchSize)
    return quantizer.quantize(encoder(x, training: false))
  }

  /// Maps normalised values back to RGB in [0, 1] (not clamped).
  public func denormalised(_ x: Tensor) -> Tensor { x * std + mean }

  /// `(rgb − mean)/std`, zero-padded bottom/right to a multiple.
  func normalisedPadded(_ rgb: Tensor, multiple m: Int) throws -> Tensor {
    guard rgb.rank == 4, rgb.shape[1] == 3, rgb.shape[0] >= 1,
      rgb.shape[2] >= 1, rgb.shape[3] >= 1
    else {
      throw ModelError.invalidInput(
        shape: rgb.shape, reason: "expected [N ≥ 1, 3, H ≥ 1, W ≥ 1] RGB")
    }
    let x = (rgb - mean) / std
    let ph = (m - rgb.shape[2] % m) % m, pw = (m - rgb.shape[3] % m) % m
    if ph == 0 && pw == 0 { return x }
    return x.padded(top: 0, bottom: ph, left: 0, right: pw)
  }
}
