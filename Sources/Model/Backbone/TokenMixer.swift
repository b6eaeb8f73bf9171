import Tensor

/// The attention half of a transformer block: `[N, C, h, w]` → same.
protocol TokenMixer {
  func callAsFunction(_ x: Tensor, training: Bool) -> Tensor
}
