/// An n-dimensional array of float32 values in contiguous row-major
/// storage, with optional reverse-mode gradient tracking.
///
/// Images use NCHW layout: `[batch, channels, height, width]`, the last
/// dimension varying fastest. A tensor is a final class, not a struct: the
/// autodiff graph needs identity (a gradient belongs to one tensor), results
/// hold their inputs, and parameters are updated in place by optimisers.
/// The values of a tensor never change after creation except through
/// optimisers and batch-norm running statistics.
///
/// Operations trap, with both shapes in the message, when operand shapes do
/// not fit; `TensorError` covers failures that depend on data.
public final class Tensor {
  /// Size of each dimension, outermost first.
  public let shape: [Int]
  /// The elements, `shape.reduce(1, *)` of them.
  let storage: TensorStorage
  /// Whether gradients flow to this tensor. Set it on leaves (parameters)
  /// before using them; results inherit it from their inputs.
  public var requiresGrad: Bool
  /// The accumulated gradient of the last `backward()` calls, same shape as
  /// `self`; only leaves (tensors without a producing operation) keep one.
  public internal(set) var grad: Tensor?
  /// The operation that produced this tensor, while the graph is alive.
  var node: GradNode?

  init(shape: [Int], storage: TensorStorage, requiresGrad: Bool = false) {
    self.shape = shape
    self.storage = storage
    self.requiresGrad = requiresGrad
  }

  /// Creates a tensor from row-major `values`.
  ///
  /// - Throws: `TensorError.countMismatch` when `values.count` is not the
  ///   product of `shape`, `.invalidShape` for a negative dimension.
  public convenience init(
    shape: [Int], values: [Float], requiresGrad: Bool = false
  ) throws {
    guard shape.allSatisfy({ $0 >= 0 }) else {
      throw TensorError.invalidShape(shape: shape)
    }
    guard shape.reduce(1, *) == values.count else {
      throw TensorError.countMismatch(shape: shape, count: values.count)
    }
    let storage = TensorStorage(uninitializedCount: values.count)
    values.withUnsafeBufferPointer { buffer in
      if let base = buffer.baseAddress {
        storage.pointer.update(from: base, count: values.count)
      }
    }
    self.init(shape: shape, storage: storage, requiresGrad: requiresGrad)
  }

  /// A tensor of `shape` filled with `value`.
  public convenience init(
    shape: [Int], repeating value: Float, requiresGrad: Bool = false
  ) {
    precondition(
      shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
    let storage = TensorStorage(
      count: shape.reduce(1, *), repeating: value)
    self.init(shape: shape, storage: storage, requiresGrad: requiresGrad)
  }

  /// A rank-0 tensor holding `value`.
  public convenience init(_ value: Float) {
    self.init(shape: [], repeating: value)
  }

  /// A tensor of zeros.
  public static func zeros(_ shape: [Int]) -> Tensor {
    Tensor(shape: shape, repeating: 0)
  }

  /// A tensor of ones.
  public static func ones(_ shape: [Int]) -> Tensor {
    Tensor(shape: shape, repeating: 1)
  }

  /// Number of elements.
  public var count: Int { storage.count }

  /// Number of dimensions.
  public var rank: Int { shape.count }

  /// A copy of the elements in row-major order.
  public var scalars: [Float] {
    Array(UnsafeBufferPointer(start: storage.pointer, count: count))
  }

  /// The single element of a one-element tensor.
  public var item: Float {
    precondition(count == 1, "item: tensor of shape \(shape) is not scalar")
    return storage.pointer[0]
  }

  /// The same values with no gradient history; gradients stop here.
  public func detached() -> Tensor {
    Tensor(shape: shape, storage: storage)
  }

  /// Whether this tensor still holds the operation that produced it.
  public var hasGradNode: Bool { node != nil }

  /// Forgets the accumulated gradient.
  public func zeroGrad() { grad = nil }

  /// Replaces the accumulated gradient (used by tests and optimisers).
  public func setGrad(_ value: Tensor?) {
    if let value {
      precondition(
        value.shape == shape,
        "setGrad: gradient shape \(value.shape) differs from \(shape)")
    }
    grad = value
  }

  /// Read-only access to the elements.
  public func withUnsafeBufferPointer<R>(
    _ body: (UnsafeBufferPointer<Float>) throws -> R
  ) rethrows -> R {
    try body(UnsafeBufferPointer(start: storage.pointer, count: count))
  }

  /// Writes to the elements in place, bypassing autodiff (for optimisers,
  /// initialisers and loading weights).
  public func withUnsafeMutableBufferPointer<R>(
    _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
  ) rethrows -> R {
    try body(UnsafeMutableBufferPointer(start: storage.pointer, count: count))
  }

  /// Builds an operation's result: records `backward` when recording is on
  /// and any parent requires a gradient.
  static func result(
    shape: [Int], storage: TensorStorage, parents: [Tensor],
    backward: @escaping (_ grad: Tensor, _ result: Tensor) -> [Tensor?]
  ) -> Tensor {
    let out = Tensor(shape: shape, storage: storage)
    if GradMode.isEnabled && parents.contains(where: { $0.requiresGrad }) {
      out.requiresGrad = true
      out.node = GradNode(parents: parents, backward: backward)
    }
    return out
  }

  /// A rank-1 tensor of `values` rounded to float32.
  static func vector(_ values: [Double]) -> Tensor {
    let t = Tensor.empty([values.count])
    for (i, v) in values.enumerated() { t.storage.pointer[i] = Float(v) }
    return t
  }

  /// A new uninitialised tensor for an operation's output.
  static func empty(_ shape: [Int]) -> Tensor {
    Tensor(
      shape: shape,
      storage: TensorStorage(uninitializedCount: shape.reduce(1, *)))
  }
}
