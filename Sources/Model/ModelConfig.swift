import Foundation

/// Everything needed to rebuild a model, stored as JSON beside its
/// safetensors weights. Keys are snake_case, as in
/// `scripts/model_reference.py`; missing keys take the defaults below.
///
/// Sizes are channels; `patchSize` and strides are in input pixels;
/// `inputMpp` is micrometres per pixel of the slide level the model was
/// trained on; `mean`/`std` normalise RGB in [0, 1].
public struct ModelConfig: Codable, Equatable, Sendable {
  public var variant: ModelVariant = .holohisto
  /// Tokenizer (and patch) downsampling factor f, a power of two ≥ 2.
  public var patchSize = 16
  /// Output channels of the log2(f) stride-2 encoder convolutions.
  public var encoderWidths = [32, 64, 128, 128]
  /// Residual depthwise blocks after the last encoder convolution.
  public var encoderBlocks = 2
  /// Token (codebook vector) dimension d.
  public var tokenDim = 64
  /// Codebook size K.
  public var codebookSize = 1024
  /// Channels of backbone stage 1 (at f) and stage 2 (at 2f).
  public var stageDims = [128, 192]
  /// Transformer blocks per stage.
  public var stageDepths = [2, 2]
  /// Channels per attention head.
  public var headDim = 16
  /// MBConv expansion ratio.
  public var expandRatio = 4
  /// Kernel sizes of the extra depthwise scales of linear attention.
  public var scales = [5]
  /// Window side in tokens for softmax attention; 0 = global. Grids that
  /// fit in one window are attended globally.
  public var attentionWindow = 16
  /// Width of the head's fused token features.
  public var decoderDim = 64
  /// Channels of the head's full-resolution image branch.
  public var skipChannels = 16
  /// Number of classes C (2 = background / glomerulus).
  public var classes = 2
  /// U-Net channels per level, finest first.
  public var unetWidths = [16, 32, 64, 128, 256]
  /// Commitment loss weight β.
  public var commitmentWeight: Float = 0.25
  /// EMA decay γ of codebook statistics.
  public var emaDecay: Float = 0.99
  /// Codes whose EMA count falls below this are restarted.
  public var deadCodeThreshold: Float = 0.1
  /// µm per pixel of the input the model expects.
  public var inputMpp = 0.5
  /// Slide level the training tiles came from.
  public var inputLevel = 0
  /// Per-channel RGB mean and std (RGB in [0, 1]).
  public var mean: [Float] = [0.485, 0.456, 0.406]
  public var std: [Float] = [0.229, 0.224, 0.225]

  /// The default configuration of `variant`.
  public init(variant: ModelVariant = .holohisto) {
    self.variant = variant
  }

  enum CodingKeys: String, CodingKey {
    case variant
    case patchSize = "patch_size"
    case encoderWidths = "encoder_widths"
    case encoderBlocks = "encoder_blocks"
    case tokenDim = "token_dim"
    case codebookSize = "codebook_size"
    case stageDims = "stage_dims"
    case stageDepths = "stage_depths"
    case headDim = "head_dim"
    case expandRatio = "expand_ratio"
    case scales
    case attentionWindow = "attention_window"
    case decoderDim = "decoder_dim"
    case skipChannels = "skip_channels"
    case classes
    case unetWidths = "unet_widths"
    case commitmentWeight = "commitment_weight"
    case emaDecay = "ema_decay"
    case deadCodeThreshold = "dead_code_threshold"
    case inputMpp = "input_mpp"
    case inputLevel = "input_level"
    case mean, std
  }

  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    func get<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws {
      if let v = try c.decodeIfPresent(T.self, forKey: key) { value = v }
    }
    try get(.variant, &variant)
    try get(.patchSize, &patchSize)
    try get(.encoderWidths, &encoderWidths)
    try get(.encoderBlocks, &encoderBlocks)
    try get(.tokenDim, &tokenDim)
    try get(.codebookSize, &codebookSize)
    try get(.stageDims, &stageDims)
    try get(.stageDepths, &stageDepths)
    try get(.headDim, &headDim)
    try get(.expandRatio, &expandRatio)
    try get(.scales, &scales)
    try get(.attentionWindow, &attentionWindow)
    try get(.decoderDim, &decoderDim)
    try get(.skipChannels, &skipChannels)
    try get(.classes, &classes)
    try get(.unetWidths, &unetWidths)
    try get(.commitmentWeight, &commitmentWeight)
    try get(.emaDecay, &emaDecay)
    try get(.deadCodeThreshold, &deadCodeThreshold)
    try get(.inputMpp, &inputMpp)
    try get(.inputLevel, &inputLevel)
    try get(.mean, &mean)
    try get(.std, &std)
  }

  /// Inputs are zero-padded (bottom/right, after normalisation) to a
  /// multiple of this: f for the token variants (the token grid is then
  /// ⌈H/f⌉×⌈W/f⌉; stage 2 takes ⌈h/2⌉×⌈w/2⌉ through its padded stride-2
  /// convolution), 2^(levels−1) for the U-Net.
  public var totalStride: Int {
    variant == .unet ? 1 << (unetWidths.count - 1) : patchSize
  }

  /// Whether the variant has the VQ tokenizer.
  public var hasTokenizer: Bool { variant == .holohisto || variant == .softmax }

  /// Checks every field the network shape depends on.
  ///
  /// - Throws: `ModelError.invalidConfig` naming the first bad field.
  public func validate() throws {
    func fail(_ field: String, _ value: Any, _ reason: String) -> ModelError {
      .invalidConfig(field: field, value: "\(value)", reason: reason)
    }
    guard classes >= 1 else { throw fail("classes", classes, "need ≥ 1") }
    guard mean.count == 3, std.count == 3, std.allSatisfy({ $0 > 0 }) else {
      throw fail("mean/std", "\(mean)/\(std)", "need 3 values, std > 0")
    }
    if variant == .unet {
      guard unetWidths.count >= 2, unetWidths.allSatisfy({ $0 > 0 }) else {
        throw fail("unet_widths", unetWidths, "need ≥ 2 positive widths")
      }
      return
    }
    let f = patchSize
    guard f >= 2, f & (f - 1) == 0 else {
      throw fail("patch_size", f, "must be a power of two ≥ 2")
    }
    let levels = f.trailingZeroBitCount
    if hasTokenizer {
      guard encoderWidths.count == levels,
        encoderWidths.allSatisfy({ $0 > 0 })
      else {
        throw fail(
          "encoder_widths", encoderWidths,
          "need log2(patch_size) = \(levels) positive widths")
      }
      guard codebookSize >= 1 else {
        throw fail("codebook_size", codebookSize, "need ≥ 1")
      }
      guard emaDecay >= 0, emaDecay < 1 else {
        throw fail("ema_decay", emaDecay, "need 0 ≤ γ < 1")
      }
    }
    guard tokenDim > 0 else { throw fail("token_dim", tokenDim, "need > 0") }
    guard stageDims.count == 2, stageDepths.count == 2,
      stageDepths.allSatisfy({ $0 >= 0 })
    else {
      throw fail(
        "stage_dims/stage_depths", "\(stageDims)/\(stageDepths)",
        "need two stages with depths ≥ 0")
    }
    guard headDim > 0, stageDims.allSatisfy({ $0 > 0 && $0 % headDim == 0 })
    else {
      throw fail(
        "stage_dims", stageDims, "each must be a multiple of head_dim \(headDim)")
    }
    guard scales.allSatisfy({ $0 > 0 && $0 % 2 == 1 }) else {
      throw fail("scales", scales, "kernel sizes must be odd and positive")
    }
    guard expandRatio >= 1, decoderDim > 0, skipChannels > 0,
      attentionWindow >= 0
    else {
      throw fail(
        "expand_ratio/decoder_dim/skip_channels/attention_window",
        "\(expandRatio)/\(decoderDim)/\(skipChannels)/\(attentionWindow)",
        "need ≥ 1, > 0, > 0, ≥ 0")
    }
  }

  /// Reads a JSON config (missing keys take defaults) and validates it.
  public static func load(path: String) throws -> ModelConfig {
    guard FileManager.default.fileExists(atPath: path) else {
      throw ModelError.unreadableConfig(
        path: path, detail: "no such file; a model is STEM.json beside STEM.safetensors")
    }
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw ModelError.unreadableConfig(
        path: path, detail: error.localizedDescription)
    }
    let config: ModelConfig
    do {
      config = try JSONDecoder().decode(ModelConfig.self, from: data)
    } catch let DecodingError.dataCorrupted(context) where context.codingPath.isEmpty {
      throw ModelError.unreadableConfig(path: path, detail: "the file is not JSON")
    } catch let DecodingError.typeMismatch(type, context) {
      throw ModelError.unreadableConfig(
        path: path, detail: "\(Self.keyPath(context)) has the wrong type (expected \(type))")
    } catch let DecodingError.valueNotFound(_, context) {
      throw ModelError.unreadableConfig(path: path, detail: "\(Self.keyPath(context)) is null")
    } catch let DecodingError.dataCorrupted(context) {
      throw ModelError.unreadableConfig(
        path: path, detail: "\(Self.keyPath(context)): \(context.debugDescription)")
    } catch {
      throw ModelError.unreadableConfig(path: path, detail: "\(error)")
    }
    try config.validate()
    return config
  }

  /// `a.b[2]` for a decoding error's place in the JSON (`the top level`
  /// when it has none).
  private static func keyPath(_ context: DecodingError.Context) -> String {
    let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
    return path.isEmpty ? "the top level" : "'" + path.joined(separator: ".") + "'"
  }

  /// Writes the config as JSON (sorted keys, pretty-printed).
  public func save(path: String) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    do {
      try encoder.encode(self).write(to: URL(fileURLWithPath: path))
    } catch {
      throw ModelError.io(path: path, detail: error.localizedDescription)
    }
  }
}
