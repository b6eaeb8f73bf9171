import Tensor

/// A name prefix inside a `ParameterStore`, handed down the layer tree
/// while a model is built ("backbone.stage1.0.attn" and so on).
struct ParameterScope {
  let store: ParameterStore
  let prefix: String

  /// The scope of child `name`.
  func callAsFunction(_ name: String) -> ParameterScope {
    ParameterScope(store: store, prefix: key(name))
  }

  /// The scope of child `index` (a list entry).
  func callAsFunction(_ index: Int) -> ParameterScope { self(String(index)) }

  /// Full name of leaf `name`.
  func key(_ name: String) -> String {
    prefix.isEmpty ? name : prefix + "." + name
  }

  /// A trainable conv weight `[out, in/groups, k, k]`, Kaiming-normal
  /// (fan-in, gain √2).
  func convWeight(_ name: String, _ shape: [Int]) -> Tensor {
    store.register(
      key(name), Tensor.kaimingNormal(shape, rng: &store.rng),
      trainable: true, countsAsParameter: true)
  }

  /// A trainable tensor of `shape` filled with `value`.
  func constant(_ name: String, _ shape: [Int], _ value: Float) -> Tensor {
    store.register(
      key(name), Tensor(shape: shape, repeating: value), trainable: true,
      countsAsParameter: true)
  }

  /// A buffer (not trained, not counted).
  func buffer(_ name: String, _ t: Tensor) -> Tensor {
    store.register(key(name), t, trainable: false, countsAsParameter: false)
  }

  /// Model state updated without gradients but counted as a parameter.
  func state(_ name: String, _ t: Tensor) -> Tensor {
    store.register(key(name), t, trainable: false, countsAsParameter: true)
  }
}
