import COpenBLAS

/// The one place the module calls OpenBLAS.
///
/// OpenBLAS runs on one thread per call and the module splits large
/// products across `Parallel.threads` itself: OpenBLAS's own workers spin
/// in `sched_yield` for a long while after each threaded call, which took
/// CPU from the module's GCD loops on two cores (about a tenth of all
/// samples in the EfficientViT-B0 benchmark).
enum BLAS {
  /// Multiply-adds from which a product is split across threads.
  static let splitMinimumWork = 1 << 21

  /// Sets OpenBLAS to one thread once per process.
  private static let singleThreaded: Void = openblas_set_num_threads(1)

  /// C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C, all row-major
  /// with leading dimensions equal to the stored row lengths
  /// (`cblas_sgemm`). Large products run on two threads: as cache-sized
  /// column blocks when C is wide and the inner dimension short, else as
  /// two halves of C's columns (or rows, when C is narrow).
  static func gemm(
    transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
    alpha: Float = 1, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
    beta: Float = 0, c: UnsafeMutablePointer<Float>
  ) {
    guard m > 0 && n > 0 else { return }
    if k == 0 {
      for i in 0..<(m * n) { c[i] = beta == 0 ? 0 : beta * c[i] }
      return
    }
    _ = singleThreaded
    let lda = transA ? m : k
    let ldb = transB ? k : n
    /// Rows `r` and columns `cols` of C.
    func block(_ r: Range<Int>, _ cols: Range<Int>) {
      let pa = transA ? a + r.lowerBound : a + r.lowerBound * k
      let pb = transB ? b + cols.lowerBound * k : b + cols.lowerBound
      cblas_sgemm(
        CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
        transB ? CblasTrans : CblasNoTrans, Int32(r.count), Int32(cols.count),
        Int32(k), alpha, pa, Int32(lda), pb, Int32(ldb), beta,
        c + r.lowerBound * n + cols.lowerBound, Int32(n))
    }
    let work = m * n * k
    // Columns per call so that a block of C (about 512 KB) stays in cache
    // between OpenBLAS's β pass and its kernel, and its slice of B is
    // packed from cache: wide products with a short inner dimension (1×1
    // convolutions over many pixels) are memory-bound otherwise.
    let columns = Swift.max(256, (1 << 17) / m / 64 * 64)
    if work < splitMinimumWork || (n < 64 && m < 16) {
      block(0..<m, 0..<n)
    } else if n >= 4 * columns && k <= 512 {
      let chunks = (n + columns - 1) / columns
      Parallel.forEach(chunks, costPerItem: 1 << 20) { i in
        block(0..<m, (i * columns)..<Swift.min(n, (i + 1) * columns))
      }
    } else if n >= 64 {
      // Halves of C's columns, cut at a multiple of 16.
      let half = (n / 2 + 15) / 16 * 16
      Parallel.forEach(2, costPerItem: 1 << 20) { i in
        block(0..<m, i == 0 ? 0..<half : half..<n)
      }
    } else {
      let half = m / 2
      Parallel.forEach(2, costPerItem: 1 << 20) { i in
        block(i == 0 ? 0..<half : half..<m, 0..<n)
      }
    }
  }

  /// One `cblas_sgemm` on this thread over row-major slices with explicit
  /// row strides: C[m×n] (stride `ldc`) = A[m×k] (stride `lda`) ·
  /// op(B)[k×n] + beta · C, where op(B) is B[k×n] (stride `ldb`) or, with
  /// `transB`, the transpose of B[n×k] (stride `ldb`). For callers that
  /// cut a product into blocks themselves (to work on each block of C
  /// while it is in cache).
  static func gemmSlice(
    m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int, transB: Bool = false, beta: Float = 0,
    c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    guard m > 0 && n > 0 && k > 0 else { return }
    _ = singleThreaded
    cblas_sgemm(
      CblasRowMajor, CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
      Int32(m), Int32(n), Int32(k), 1, a, Int32(lda), b, Int32(ldb), beta, c,
      Int32(ldc))
  }
}
