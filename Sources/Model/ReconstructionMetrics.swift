import Foundation
import Tensor

/// Quality measures of the tokenizer's reconstruction.
public enum ReconstructionMetrics {
  /// Peak signal-to-noise ratio in dB, `10·log10(peak² / MSE)`, between two
  /// tensors of the same shape (RGB in [0, 1]: peak 1); values are clamped
  /// to [0, peak] first. +∞ when they are equal.
  public static func psnr(_ a: Tensor, _ b: Tensor, peak: Float = 1) -> Double {
    precondition(a.shape == b.shape, "psnr: shapes \(a.shape) vs \(b.shape)")
    let x = a.scalars, y = b.scalars
    var sum = 0.0
    for i in x.indices {
      let u = Double(Swift.min(Swift.max(x[i], 0), peak))
      let v = Double(Swift.min(Swift.max(y[i], 0), peak))
      sum += (u - v) * (u - v)
    }
    let mse = sum / Double(Swift.max(x.count, 1))
    return mse == 0 ? .infinity : 10 * log10(Double(peak * peak) / mse)
  }
}
