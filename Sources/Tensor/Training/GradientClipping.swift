/// Gradient clipping.
public enum GradientClipping {
  /// Scales all gradients by one factor so their joint L2 norm is at most
  /// `maxNorm` (PyTorch's `clip_grad_norm_`).
  ///
  /// - Returns: the norm before clipping.
  @discardableResult
  public static func clipByGlobalNorm(_ parameters: [Tensor], maxNorm: Float)
    -> Float
  {
    var total: Double = 0
    for p in parameters {
      guard let g = p.grad else { continue }
      let pg = g.storage.pointer
      for j in 0..<g.count { total += Double(pg[j]) * Double(pg[j]) }
    }
    let norm = Float(total.squareRoot())
    let scale = maxNorm / (norm + 1e-6)
    guard scale < 1 else { return norm }
    for p in parameters {
      guard let g = p.grad else { continue }
      // Gradients may share storage with graph values; write a copy.
      let clipped = Tensor.empty(g.shape)
      let src = g.storage.pointer, dst = clipped.storage.pointer
      for j in 0..<g.count { dst[j] = src[j] * scale }
      p.grad = clipped
    }
    return norm
  }
}
