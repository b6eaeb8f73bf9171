/// The record an operation leaves on its result so that reverse-mode
/// autodiff can walk back to the inputs.
///
/// `backward` receives the gradient of the loss with respect to the result
/// (same shape as the result) and the result itself, and returns one
/// gradient per parent, in order, each with that parent's shape (or `nil`
/// where a parent needs none). Passing the result in, rather than capturing
/// it, keeps the node from forming a reference cycle with its owner.
final class GradNode {
  /// The operation's tensor inputs.
  let parents: [Tensor]
  /// Maps the result's gradient to the parents' gradients.
  let backward: (_ grad: Tensor, _ result: Tensor) -> [Tensor?]

  init(
    parents: [Tensor],
    backward: @escaping (_ grad: Tensor, _ result: Tensor) -> [Tensor?]
  ) {
    self.parents = parents
    self.backward = backward
  }
}
