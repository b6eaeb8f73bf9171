/// Stochastic gradient descent with momentum and L2 weight decay
/// (PyTorch's `optim.SGD`): `v ← μ·v + (g + λ·p)`, `p ← p − lr·v`.
public final class SGD {
  /// The tensors updated in place by `step()`.
  public let parameters: [Tensor]
  /// Learning rate.
  public var learningRate: Float
  /// Momentum μ; 0 disables it.
  public let momentum: Float
  /// L2 coefficient λ added to the gradient.
  public let weightDecay: Float
  private var velocity: [[Float]]

  public init(
    parameters: [Tensor], learningRate: Float, momentum: Float = 0.9,
    weightDecay: Float = 0
  ) {
    self.parameters = parameters
    self.learningRate = learningRate
    self.momentum = momentum
    self.weightDecay = weightDecay
    velocity = parameters.map { [Float](repeating: 0, count: $0.count) }
  }

  /// Applies one update from the current gradients (parameters without a
  /// gradient are skipped).
  public func step() {
    for (i, p) in parameters.enumerated() {
      guard let g = p.grad else { continue }
      let pp = p.storage.pointer, pg = g.storage.pointer
      velocity[i].withUnsafeMutableBufferPointer { v in
        for j in 0..<p.count {
          let d = pg[j] + weightDecay * pp[j]
          v[j] = momentum * v[j] + d
          pp[j] -= learningRate * v[j]
        }
      }
    }
  }

  /// Clears every parameter's gradient.
  public func zeroGrad() { parameters.forEach { $0.zeroGrad() } }
}
