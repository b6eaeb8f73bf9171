// The oneDNN (2.6) kernel layer of `Tensor`: namespace, errors and thread control.
import CDNNL

/// oneDNN kernels on dense, plain `Float` buffers.
///
/// Activations are NCHW `(batch, channels, height, width)`; convolution weights are OIHW
/// `(outputChannels, inputChannels / groups, kernelHeight, kernelWidth)`; per-channel
/// vectors are `(channels)`. Outputs are overwritten, never accumulated into.
///
/// All oneDNN calls of the project go through this enum (the 2.x `*_desc_init` API is gone
/// in 3.x, so it must stay in one place). Calls from any thread are serialised by one lock.
internal enum DNNL {}

/// A oneDNN call that did not return `dnnl_success`.
internal enum DNNLError: Error, Equatable, CustomStringConvertible {
  /// `operation` names the kernel and the C function; `status` is the raw `dnnl_status_t`.
  case failed(operation: String, status: UInt32)

  var description: String {
    switch self {
    case .failed(let operation, let status):
      let name = String(cString: dnnl_status2str(dnnl_status_t(rawValue: status)))
      return "oneDNN call failed in \(operation): \(name) (status \(status))"
    }
  }
}

extension DNNL {
  /// Throws `DNNLError.failed` unless `status` is `dnnl_success`.
  @inline(__always)
  static func check(_ status: dnnl_status_t, _ operation: @autoclosure () -> String)
    throws(DNNLError)
  {
    if status != dnnl_success {
      throw DNNLError.failed(operation: operation(), status: status.rawValue)
    }
  }

  /// Sets the number of OpenMP threads that later oneDNN calls use.
  ///
  /// The OpenMP setting is per calling thread, so it is re-applied (`omp_set_num_threads`)
  /// inside every serialised call. Primitives are cached per thread count, because oneDNN
  /// plans its work split when it creates a primitive.
  /// - Parameter count: threads, at least 1.
  static func setThreadCount(_ count: Int) {
    precondition(count >= 1, "DNNL.setThreadCount needs at least 1 thread, got \(count)")
    runtime.withLock { $0.threadCount = count }
  }

  /// The thread count set by `setThreadCount`, or OpenMP's default (`omp_get_max_threads`).
  static var threadCount: Int {
    runtime.withLock { state in
      state.threadCount ?? Int(omp_get_max_threads())
    }
  }

  /// Drops every cached primitive and the reorder scratch buffers (their memory is
  /// returned; later calls recreate them).
  static func clearCache() {
    runtime.withLock { state in
      state.plans.removeAll()
      state.scratch.release()
    }
  }

  /// Bytes held by the scratch buffers used for layout reorders.
  static var scratchByteCount: Int {
    runtime.withLock { $0.scratch.byteCount }
  }

  /// How many primitives are cached (for tests and diagnostics).
  static var cachedPlanCount: Int {
    runtime.withLock { $0.plans.count }
  }

  /// The keys of the cached primitives (for tests and diagnostics).
  static var cachedPlanKeys: [PlanKey] {
    runtime.withLock { Array($0.plans.keys) }
  }
}
