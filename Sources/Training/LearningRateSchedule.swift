import Foundation

/// Linear warm-up then cosine decay to a floor.
///
/// For step `s` (0-based) of `total`: during the first `warmup` steps the
/// rate rises linearly from `peak / warmup` to `peak`; afterwards it follows
/// `floor + (peak − floor)·(1 + cos(π·p))/2` with `p` the fraction of the
/// remaining steps done, reaching `floor` at the last step.
public struct LearningRateSchedule: Sendable, Equatable {
  public var peak: Double
  public var warmup: Int
  public var total: Int
  public var floor: Double

  public init(peak: Double, warmup: Int, total: Int, floor: Double = 0) {
    precondition(peak > 0 && warmup >= 0 && total > 0, "schedule \(peak) \(warmup) \(total)")
    self.peak = peak
    self.warmup = warmup
    self.total = total
    self.floor = floor
  }

  public func rate(step: Int) -> Double {
    if step < warmup { return peak * Double(step + 1) / Double(warmup) }
    let span = max(1, total - warmup - 1)
    let progress = min(1, Double(step - warmup) / Double(span))
    return floor + (peak - floor) * (1 + cos(Double.pi * progress)) / 2
  }
}
