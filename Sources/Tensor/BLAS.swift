import COpenBLAS

/// The one place the module calls OpenBLAS.
enum BLAS {
  /// C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C, all row-major
  /// with leading dimensions equal to the stored row lengths
  /// (`cblas_sgemm`).
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
    let lda = transA ? m : k
    let ldb = transB ? k : n
    cblas_sgemm(
      CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
      transB ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), Int32(k),
      alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(n))
  }
}
