extension Tensor {
  /// Reverse-mode autodiff: accumulates d(self)/d(leaf) into `grad` of every
  /// leaf that requires a gradient.
  ///
  /// The graph is walked once in reverse topological order. Each node is
  /// dropped right after its gradients are passed on, so the buffers it
  /// captured are freed during the walk and a second `backward()` through
  /// the same graph finds nothing to do. Gradient arithmetic runs with
  /// recording off.
  ///
  /// - Parameter seed: the gradient of the final objective with respect to
  ///   `self`, same shape; defaults to ones, which requires a one-element
  ///   tensor.
  public func backward(seed: Tensor? = nil) {
    if seed == nil {
      precondition(
        count == 1,
        "backward: implicit seed needs one element, shape is \(shape)")
    }
    guard requiresGrad else { return }
    let start = seed ?? Tensor(shape: shape, repeating: 1)
    precondition(
      start.shape == shape,
      "backward: seed shape \(start.shape) differs from \(shape)")
    let order = topologicalOrder()
    var grads: [ObjectIdentifier: Tensor] = [ObjectIdentifier(self): start]
    withNoGrad {
      for t in order.reversed() {
        guard let g = grads.removeValue(forKey: ObjectIdentifier(t)) else {
          continue
        }
        guard let node = t.node else {
          t.grad = t.grad.map { $0 + g } ?? g
          continue
        }
        let parentGrads = node.backward(g, t)
        t.node = nil
        for (p, pg) in zip(node.parents, parentGrads) {
          guard p.requiresGrad, let pg else { continue }
          precondition(
            pg.shape == p.shape,
            "backward: gradient shape \(pg.shape) for input \(p.shape)")
          let key = ObjectIdentifier(p)
          grads[key] = grads[key].map { $0 + pg } ?? pg
        }
      }
    }
  }

  /// Tensors reachable from `self` through gradient nodes, each after all
  /// of its inputs (iterative depth-first search, so deep graphs cannot
  /// overflow the stack).
  private func topologicalOrder() -> [Tensor] {
    var order: [Tensor] = []
    var visited = Set<ObjectIdentifier>()
    var stack: [(Tensor, Bool)] = [(self, false)]
    while let (t, finished) = stack.popLast() {
      if finished {
        order.append(t)
        continue
      }
      guard visited.insert(ObjectIdentifier(t)).inserted else { continue }
      stack.append((t, true))
      for p in t.node?.parents ?? [] where p.requiresGrad {
        if !visited.contains(ObjectIdentifier(p)) { stack.append((p, false)) }
      }
    }
    return order
  }
}
