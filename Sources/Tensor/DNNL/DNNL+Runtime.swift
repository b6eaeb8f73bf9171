// Engine, stream, the primitive cache and the one lock that serialises oneDNN calls.
import CDNNL

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

extension DNNL {
  /// Identifies a cached primitive: the operation and every number that shapes it.
  struct PlanKey: Hashable {
    var operation: String
    var values: [Int]
  }

  /// One execution argument of a cached primitive.
  ///
  /// `userDesc` is the layout of the caller's buffer; `primitiveDesc` is the one the
  /// primitive wants. When they differ, `reorder` converts user → primitive (inputs) or
  /// primitive → user (outputs) on every call.
  struct PlanArgument {
    var id: Int32
    var isOutput: Bool
    var userDesc: dnnl_memory_desc_t
    var primitiveDesc: dnnl_memory_desc_t
    var reorder: dnnl_primitive_t?
  }

  /// A created primitive with its argument layouts; owns its oneDNN handles.
  final class Plan {
    let descriptor: dnnl_primitive_desc_t
    let primitive: dnnl_primitive_t
    let arguments: [PlanArgument]

    init(
      descriptor: dnnl_primitive_desc_t, primitive: dnnl_primitive_t,
      arguments: [PlanArgument]
    ) {
      self.descriptor = descriptor
      self.primitive = primitive
      self.arguments = arguments
    }

    /// Bytes of the argument `id` in the primitive's own layout (0 when absent).
    func byteCount(of id: Int32) -> Int {
      guard let argument = arguments.first(where: { $0.id == id }) else { return 0 }
      var desc = argument.primitiveDesc
      return dnnl_memory_desc_get_size(&desc)
    }

    deinit {
      for argument in arguments {
        if let reorder = argument.reorder { dnnl_primitive_destroy(reorder) }
      }
      dnnl_primitive_destroy(primitive)
      dnnl_primitive_desc_destroy(descriptor)
    }
  }

  /// Reusable temporaries for layout conversions, one growing buffer per slot.
  ///
  /// Calls are serialised, so the i-th temporary of every call can share slot i: memory
  /// stays at the largest tensors seen (at most one per argument of one call) instead of
  /// being allocated and page-faulted afresh on every call.
  final class ScratchArena {
    private var slots: [(pointer: UnsafeMutableRawPointer, byteCount: Int)] = []

    /// A buffer of at least `byteCount` bytes, 64-byte aligned, valid until the next
    /// request for the same slot.
    func buffer(slot: Int, byteCount: Int) -> UnsafeMutableRawPointer {
      while slots.count <= slot {
        slots.append((UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 64), 64))
      }
      if slots[slot].byteCount < byteCount {
        slots[slot].pointer.deallocate()
        slots[slot] = (
          UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64),
          byteCount
        )
      }
      return slots[slot].pointer
    }

    /// Total bytes held.
    var byteCount: Int { slots.reduce(0) { $0 + $1.byteCount } }

    /// Returns every buffer.
    func release() {
      for slot in slots { slot.pointer.deallocate() }
      slots.removeAll()
    }

    deinit { release() }
  }

  /// Everything guarded by the lock.
  struct State {
    let scratch = ScratchArena()
    var engine: dnnl_engine_t?
    var stream: dnnl_stream_t?
    var threadCount: Int?
    var plans: [PlanKey: Plan] = [:]
    var timings = Timings()
  }

  /// Where execution time went since the last `takeTimings()`.
  struct Timings: Sendable {
    /// Time inside the main primitives.
    var primitive: Duration = .zero
    /// Time around them: wrapping buffers, temporaries and layout reorders.
    var overhead: Duration = .zero
    /// Executed calls.
    var calls = 0
  }

  /// Holder of the process-wide oneDNN state behind one mutex.
  ///
  /// A pthread mutex rather than `Synchronization.Mutex`: results derived from the guarded
  /// (non-Sendable) plans must leave the critical section, which `Mutex`'s `sending`
  /// contract forbids. `@unchecked Sendable` is sound because `state` is only touched
  /// inside `withLock`.
  final class Runtime: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var state = State()

    init() {
      mutex = .allocate(capacity: 1)
      mutex.initialize(to: pthread_mutex_t())
      pthread_mutex_init(mutex, nil)
    }

    deinit {
      pthread_mutex_destroy(mutex)
      mutex.deallocate()
    }

    /// Runs `body` on the state with the mutex held.
    func withLock<R, E: Error>(_ body: (inout State) throws(E) -> R) throws(E) -> R {
      pthread_mutex_lock(mutex)
      defer { pthread_mutex_unlock(mutex) }
      return try body(&state)
    }
  }

  static let runtime = Runtime()

  /// What a plan builder gets: the engine, inside the lock.
  struct Context {
    let engine: dnnl_engine_t
  }
}

// MARK: - Running plans

extension DNNL {
  /// Looks up (or builds) the plan for `key` and passes it to `body`, all inside the lock.
  ///
  /// - Parameters:
  ///   - key: shape of the primitive; the thread count is appended automatically.
  ///   - make: builds the plan on a cache miss.
  ///   - body: runs with the plan, the engine, the stream and the scratch buffers.
  static func withPlan<R>(
    _ key: PlanKey,
    make: (Context) throws(DNNLError) -> Plan,
    _ body: (Plan, dnnl_engine_t, dnnl_stream_t, ScratchArena) throws(DNNLError) -> R
  ) throws(DNNLError) -> R {
    try runtime.withLock { (state: inout State) throws(DNNLError) -> R in
      // OpenMP's thread count is a per-thread setting: apply it on whichever thread we are.
      let threads = state.threadCount ?? Int(omp_get_max_threads())
      if state.threadCount != nil { omp_set_num_threads(Int32(threads)) }

      // create the engine and stream once
      if state.engine == nil {
        var engine: dnnl_engine_t?
        try check(dnnl_engine_create(&engine, dnnl_cpu, 0), "dnnl_engine_create")
        var stream: dnnl_stream_t?
        try check(
          dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue),
          "dnnl_stream_create")
        state.engine = engine
        state.stream = stream
      }
      guard let engine = state.engine, let stream = state.stream else {
        throw DNNLError.failed(operation: "engine setup", status: dnnl_runtime_error.rawValue)
      }

      var fullKey = key
      fullKey.values.append(threads)
      let plan: Plan
      if let cached = state.plans[fullKey] {
        plan = cached
      } else {
        plan = try make(Context(engine: engine))
        state.plans[fullKey] = plan
      }
      return try body(plan, engine, stream, state.scratch)
    }
  }

  /// Runs the plan for `key` on caller buffers given as (argument id, pointer) pairs.
  ///
  /// Every argument of the plan must be present. Buffers in a layout the primitive does not
  /// want go through temporary buffers and reorders.
  static func run(
    _ key: PlanKey,
    buffers: [(Int32, UnsafeMutableRawPointer)],
    make: (Context) throws(DNNLError) -> Plan
  ) throws(DNNLError) {
    let timings = try withPlan(key, make: make) {
      (plan, engine, stream, scratch) throws(DNNLError) in
      try execute(
        plan, buffers: buffers, engine: engine, stream: stream, scratch: scratch,
        op: key.operation)
    }
    runtime.withLock { state in
      state.timings.primitive += timings.primitive
      state.timings.overhead += timings.overhead
      state.timings.calls += 1
    }
  }

  /// Returns the execution timings accumulated since the last call, and resets them.
  static func takeTimings() -> Timings {
    runtime.withLock { state in
      defer { state.timings = Timings() }
      return state.timings
    }
  }

  private static func execute(
    _ plan: Plan, buffers: [(Int32, UnsafeMutableRawPointer)],
    engine: dnnl_engine_t, stream: dnnl_stream_t, scratch: ScratchArena, op: String
  ) throws(DNNLError) -> Timings {
    let clock = ContinuousClock()
    let start = clock.now
    var memories: [dnnl_memory_t] = []
    var slot = 0
    defer {
      for memory in memories { dnnl_memory_destroy(memory) }
    }

    // wrap user buffers; add a temporary in the primitive's layout where one is needed
    var execArguments: [dnnl_exec_arg_t] = []
    var outputReorders: [(dnnl_primitive_t, dnnl_memory_t, dnnl_memory_t)] = []
    for argument in plan.arguments {
      guard let pointer = buffers.first(where: { $0.0 == argument.id })?.1 else {
        preconditionFailure("\(op): missing buffer for oneDNN argument \(argument.id)")
      }
      let user = try makeMemory(argument.userDesc, pointer, engine, op)
      memories.append(user)
      guard let reorder = argument.reorder else {
        execArguments.append(dnnl_exec_arg_t(arg: argument.id, memory: user))
        continue
      }
      var desc = argument.primitiveDesc
      let temporary = scratch.buffer(slot: slot, byteCount: dnnl_memory_desc_get_size(&desc))
      slot += 1
      let inner = try makeMemory(argument.primitiveDesc, temporary, engine, op)
      memories.append(inner)
      execArguments.append(dnnl_exec_arg_t(arg: argument.id, memory: inner))
      if argument.isOutput {
        outputReorders.append((reorder, inner, user))
      } else {
        try executeReorder(reorder, from: user, to: inner, stream, op)
      }
    }

    // CPU streams run synchronously, so the clock brackets the work itself
    let primitiveStart = clock.now
    try check(
      dnnl_primitive_execute(
        plan.primitive, stream, Int32(execArguments.count), execArguments),
      "\(op): dnnl_primitive_execute")
    try check(dnnl_stream_wait(stream), "\(op): dnnl_stream_wait")
    let primitiveEnd = clock.now
    for (reorder, inner, user) in outputReorders {
      try executeReorder(reorder, from: inner, to: user, stream, op)
    }
    try check(dnnl_stream_wait(stream), "\(op): dnnl_stream_wait")
    let primitive = primitiveEnd - primitiveStart
    return Timings(primitive: primitive, overhead: clock.now - start - primitive, calls: 1)
  }

  private static func makeMemory(
    _ desc: dnnl_memory_desc_t, _ pointer: UnsafeMutableRawPointer,
    _ engine: dnnl_engine_t, _ op: String
  ) throws(DNNLError) -> dnnl_memory_t {
    var desc = desc
    var memory: dnnl_memory_t?
    try check(dnnl_memory_create(&memory, &desc, engine, pointer), "\(op): dnnl_memory_create")
    guard let memory else {
      throw DNNLError.failed(
        operation: "\(op): dnnl_memory_create", status: dnnl_runtime_error.rawValue)
    }
    return memory
  }

  private static func executeReorder(
    _ reorder: dnnl_primitive_t, from source: dnnl_memory_t, to destination: dnnl_memory_t,
    _ stream: dnnl_stream_t, _ op: String
  ) throws(DNNLError) {
    let arguments = [
      dnnl_exec_arg_t(arg: DNNL_ARG_FROM, memory: source),
      dnnl_exec_arg_t(arg: DNNL_ARG_TO, memory: destination),
    ]
    try check(
      dnnl_primitive_execute(reorder, stream, 2, arguments), "\(op): reorder execute")
  }
}

// MARK: - Building plans

extension DNNL {
  /// How a plan argument maps to the caller: `userDesc == nil` means "use the primitive's
  /// own layout" (opaque buffers such as the pooling workspace).
  struct ArgumentSpec {
    var id: Int32
    var isOutput: Bool
    var userDesc: dnnl_memory_desc_t?
  }

  /// A plain, dense f32 memory descriptor.
  ///
  /// - Parameters:
  ///   - dims: logical dimensions, outermost first.
  ///   - tag: the layout (`dnnl_nchw`, `dnnl_oihw`, `dnnl_goihw`, `dnnl_x`, ... or
  ///     `dnnl_format_tag_any` to let the primitive choose).
  static func memoryDesc(_ dims: [Int], _ tag: dnnl_format_tag_t) throws(DNNLError)
    -> dnnl_memory_desc_t
  {
    var desc = dnnl_memory_desc_t()
    let dims64 = dims.map { Int64($0) }
    try check(
      dnnl_memory_desc_init_by_tag(&desc, Int32(dims.count), dims64, dnnl_f32, tag),
      "dnnl_memory_desc_init_by_tag \(dims)")
    return desc
  }

  /// Creates a primitive descriptor from a 2.x operation descriptor (`*_desc_init`).
  static func primitiveDescriptor<Op>(
    _ opDesc: Op, hint: dnnl_primitive_desc_t?, _ context: Context, _ op: String
  ) throws(DNNLError) -> dnnl_primitive_desc_t {
    var opDesc = opDesc
    var descriptor: dnnl_primitive_desc_t?
    let status = withUnsafePointer(to: &opDesc) { pointer in
      dnnl_primitive_desc_create(&descriptor, pointer, nil, context.engine, hint)
    }
    try check(status, "\(op): dnnl_primitive_desc_create")
    guard let descriptor else {
      throw DNNLError.failed(
        operation: "\(op): dnnl_primitive_desc_create", status: dnnl_runtime_error.rawValue)
    }
    return descriptor
  }

  /// Creates the primitive for `descriptor` (taking ownership of it) and a reorder for
  /// every argument whose user layout differs from the primitive's.
  static func makePlan(
    _ descriptor: dnnl_primitive_desc_t, arguments specs: [ArgumentSpec],
    _ context: Context, _ op: String
  ) throws(DNNLError) -> Plan {
    var arguments: [PlanArgument] = []
    var primitive: dnnl_primitive_t?
    do throws(DNNLError) {
      for spec in specs {
        // a zero-dimensional answer means the primitive does not take this argument
        guard
          let queried = dnnl_primitive_desc_query_md(
            descriptor, dnnl_query_exec_arg_md, spec.id),
          queried.pointee.ndims > 0
        else {
          throw DNNLError.failed(
            operation: "\(op): no memory desc for argument \(spec.id)",
            status: dnnl_invalid_arguments.rawValue)
        }
        var inner = queried.pointee
        var user = spec.userDesc ?? inner
        var reorder: dnnl_primitive_t?
        if dnnl_memory_desc_equal(&user, &inner) == 0 {
          reorder =
            try spec.isOutput
            ? makeReorder(from: inner, to: user, context, op)
            : makeReorder(from: user, to: inner, context, op)
        }
        arguments.append(
          PlanArgument(
            id: spec.id, isOutput: spec.isOutput, userDesc: user, primitiveDesc: inner,
            reorder: reorder))
      }
      try check(dnnl_primitive_create(&primitive, descriptor), "\(op): dnnl_primitive_create")
    } catch {
      for argument in arguments {
        if let reorder = argument.reorder { dnnl_primitive_destroy(reorder) }
      }
      dnnl_primitive_desc_destroy(descriptor)
      throw error
    }
    guard let primitive else {
      dnnl_primitive_desc_destroy(descriptor)
      throw DNNLError.failed(
        operation: "\(op): dnnl_primitive_create", status: dnnl_runtime_error.rawValue)
    }
    return Plan(descriptor: descriptor, primitive: primitive, arguments: arguments)
  }

  private static func makeReorder(
    from source: dnnl_memory_desc_t, to destination: dnnl_memory_desc_t,
    _ context: Context, _ op: String
  ) throws(DNNLError) -> dnnl_primitive_t {
    var source = source
    var destination = destination
    var descriptor: dnnl_primitive_desc_t?
    try check(
      dnnl_reorder_primitive_desc_create(
        &descriptor, &source, context.engine, &destination, context.engine, nil),
      "\(op): dnnl_reorder_primitive_desc_create")
    defer { dnnl_primitive_desc_destroy(descriptor) }
    var reorder: dnnl_primitive_t?
    try check(dnnl_primitive_create(&reorder, descriptor), "\(op): reorder create")
    guard let reorder else {
      throw DNNLError.failed(
        operation: "\(op): reorder create", status: dnnl_runtime_error.rawValue)
    }
    return reorder
  }
}
