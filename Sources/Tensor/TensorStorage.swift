import Synchronization

/// A contiguous, uninitialised-on-allocation buffer of `Float` (float32).
///
/// Tensors share a storage when one is a reshape of another. The class
/// counts live instances so tests can prove that training loops release
/// every intermediate buffer.
final class TensorStorage: @unchecked Sendable {
  /// Number of storages currently alive in the process.
  static let live = Atomic<Int>(0)

  /// First element; valid for `count` elements (at least one is allocated).
  let pointer: UnsafeMutablePointer<Float>
  /// Number of `Float` elements.
  let count: Int

  /// Allocates `count` elements whose contents are undefined.
  init(uninitializedCount count: Int) {
    pointer = .allocate(capacity: Swift.max(count, 1))
    self.count = count
    Self.live.add(1, ordering: .relaxed)
  }

  /// Allocates `count` elements set to `value`.
  convenience init(count: Int, repeating value: Float) {
    self.init(uninitializedCount: count)
    pointer.initialize(repeating: value, count: count)
  }

  deinit {
    pointer.deallocate()
    Self.live.subtract(1, ordering: .relaxed)
  }
}
