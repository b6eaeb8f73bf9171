import Tensor

/// Every tensor of a model by its checkpoint name (PyTorch `state_dict`
/// keys of `scripts/model_reference.py`), with the seeded generator that
/// initialises them.
///
/// Three kinds: trainable parameters (`requiresGrad`, given to the
/// optimiser), state updated by rules other than gradients (the EMA
/// codebook and its statistics; counted as parameters when
/// `countsAsParameter`), and buffers (batch-norm running statistics).
/// Layers keep references to these tensors; loading a checkpoint writes
/// into them in place.
public final class ParameterStore {
  /// All tensors by name.
  public private(set) var tensors: [String: Tensor] = [:]
  private var trainableNames: [String] = []
  private var countedNames: Set<String> = []
  /// The generator that initialises new tensors.
  var rng: Xoshiro256

  init(seed: UInt64) {
    rng = Xoshiro256(seed: seed)
  }

  /// Trainable parameters, in creation order.
  public var parameters: [Tensor] { trainableNames.map { tensors[$0]! } }

  /// Trainable parameters whose names start with one of `prefixes`
  /// (`include`) or with none of them (`!include`), in creation order.
  public func parameters(prefixes: [String], include: Bool) -> [Tensor] {
    trainableNames.filter { name in
      prefixes.contains { name.hasPrefix($0) } == include
    }.map { tensors[$0]! }
  }

  /// Number of scalars in parameters (trainable and codebook), excluding
  /// batch-norm statistics and EMA accumulators.
  public func parameterCount(excludingPrefix prefix: String? = nil) -> Int {
    countedNames.filter { name in prefix.map { !name.hasPrefix($0) } ?? true }
      .reduce(0) { $0 + tensors[$1]!.count }
  }

  /// Registers `t` under `name`; trainable ones get `requiresGrad`.
  func register(
    _ name: String, _ t: Tensor, trainable: Bool, countsAsParameter: Bool
  ) -> Tensor {
    precondition(tensors[name] == nil, "ParameterStore: '\(name)' twice")
    tensors[name] = t
    if trainable {
      t.requiresGrad = true
      trainableNames.append(name)
    }
    if countsAsParameter { countedNames.insert(name) }
    return t
  }

  /// Copies `weights` into the registered tensors. Every registered tensor
  /// must be present with its shape, and nothing else; names are checked
  /// in sorted order, so the error names the first offender.
  ///
  /// - Throws: `ModelError.missingWeight`, `.weightShape`,
  ///   `.unexpectedWeights`; `path` only names the source in messages.
  public func load(_ weights: [String: Tensor], path: String) throws {
    for (name, t) in tensors.sorted(by: { $0.key < $1.key }) {
      guard let w = weights[name] else {
        throw ModelError.missingWeight(name: name, path: path)
      }
      guard w.shape == t.shape else {
        throw ModelError.weightShape(
          name: name, expected: t.shape, found: w.shape)
      }
    }
    let extra = weights.keys.filter { tensors[$0] == nil }
    guard extra.isEmpty else {
      throw ModelError.unexpectedWeights(names: extra, path: path)
    }
    for (name, t) in tensors {
      let w = weights[name]!
      w.withUnsafeBufferPointer { src in
        t.withUnsafeMutableBufferPointer { dst in
          _ = dst.update(fromContentsOf: src)
        }
      }
    }
  }
}
