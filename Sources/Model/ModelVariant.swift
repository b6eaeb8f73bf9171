/// Which network a checkpoint holds.
public enum ModelVariant: String, Codable, Sendable, CaseIterable {
  /// VQ sequential tokenizer → two-stage ReLU-linear-attention ViT →
  /// segmentation head (the method).
  case holohisto
  /// Ablation: a strided f×f convolution instead of the tokenizer.
  case patch
  /// Ablation: softmax multi-head self-attention instead of linear
  /// attention (global, or windowed when `attentionWindow > 0`).
  case softmax
  /// Baseline: a U-Net.
  case unet
}
