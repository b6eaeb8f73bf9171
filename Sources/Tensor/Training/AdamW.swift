import Foundation

/// Adam with decoupled weight decay (PyTorch's `optim.AdamW`):
/// `p ← p − lr·λ·p`, then the bias-corrected Adam step.
public final class AdamW {
  /// The tensors updated in place by `step()`.
  public let parameters: [Tensor]
  /// Learning rate.
  public var learningRate: Float
  public let beta1, beta2, eps, weightDecay: Float
  private var m: [[Float]]
  private var v: [[Float]]
  private var t = 0

  public init(
    parameters: [Tensor], learningRate: Float = 1e-3, beta1: Float = 0.9,
    beta2: Float = 0.999, eps: Float = 1e-8, weightDecay: Float = 1e-2
  ) {
    self.parameters = parameters
    self.learningRate = learningRate
    self.beta1 = beta1
    self.beta2 = beta2
    self.eps = eps
    self.weightDecay = weightDecay
    m = parameters.map { [Float](repeating: 0, count: $0.count) }
    v = m
  }

  /// Applies one update from the current gradients.
  public func step() {
    t += 1
    let c1 = 1 - Foundation.pow(beta1, Float(t))
    let c2 = 1 - Foundation.pow(beta2, Float(t))
    for (i, p) in parameters.enumerated() {
      guard let g = p.grad else { continue }
      let pp = p.storage.pointer, pg = g.storage.pointer
      let (b1, b2, lr, wd, e) = (beta1, beta2, learningRate, weightDecay, eps)
      m[i].withUnsafeMutableBufferPointer { mb in
        v[i].withUnsafeMutableBufferPointer { vb in
          for j in 0..<p.count {
            pp[j] -= lr * wd * pp[j]
            mb[j] = b1 * mb[j] + (1 - b1) * pg[j]
            vb[j] = b2 * vb[j] + (1 - b2) * pg[j] * pg[j]
            let denom = (vb[j] / c2).squareRoot() + e
            pp[j] -= lr * (mb[j] / c1) / denom
          }
        }
      }
    }
  }

  /// Everything `step()` carries between calls, for checkpoints: the step
  /// count and the first and second moments, one array per parameter in
  /// `parameters` order, each `parameters[i].count` long.
  public struct State: Equatable, Sendable {
    public var step: Int
    public var firstMoments: [[Float]]
    public var secondMoments: [[Float]]

    public init(step: Int, firstMoments: [[Float]], secondMoments: [[Float]]) {
      self.step = step
      self.firstMoments = firstMoments
      self.secondMoments = secondMoments
    }
  }

  /// The optimiser's state, to save beside the weights.
  public var state: State { State(step: t, firstMoments: m, secondMoments: v) }

  /// Restores a saved state, so training resumes exactly.
  /// - Throws: `TensorError.stateMismatch` when the moments do not fit the
  ///   parameters.
  public func restore(_ state: State) throws {
    let counts = parameters.map(\.count)
    guard state.firstMoments.map(\.count) == counts,
      state.secondMoments.map(\.count) == counts, state.step >= 0
    else {
      throw TensorError.stateMismatch(
        detail: "AdamW state for \(state.firstMoments.count) tensors, "
          + "\(parameters.count) parameters of sizes \(counts)")
    }
    t = state.step
    m = state.firstMoments
    v = state.secondMoments
  }

  /// Clears every parameter's gradient.
  public func zeroGrad() { parameters.forEach { $0.zeroGrad() } }
}
