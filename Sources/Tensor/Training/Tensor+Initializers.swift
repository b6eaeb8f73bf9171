/// Weight initialisers (PyTorch's `nn.init` conventions), all drawing from
/// a caller-owned seeded generator.
extension Tensor {
  /// Fan-in of a weight: `in` for `[out, in]`, `in·kh·kw` for
  /// `[out, in, kh, kw]`.
  static func fanIn(_ shape: [Int]) -> Int {
    precondition(shape.count >= 2, "fanIn: weight shape \(shape) has rank < 2")
    return shape[1...].reduce(1, *)
  }

  /// Normal with std `gain/√fanIn` (gain √2 suits ReLU), like
  /// `kaiming_normal_(mode="fan_in")`.
  public static func kaimingNormal(
    _ shape: [Int], gain: Float = 1.414_213_6, rng: inout Xoshiro256
  ) -> Tensor {
    let std = gain / Float(fanIn(shape)).squareRoot()
    return sampled(shape) { std * rng.nextNormal() }
  }

  /// Uniform on ±`gain·√(3/fanIn)`, like `kaiming_uniform_(mode="fan_in")`.
  public static func kaimingUniform(
    _ shape: [Int], gain: Float = 1.414_213_6, rng: inout Xoshiro256
  ) -> Tensor {
    let bound = gain * (3 / Float(fanIn(shape))).squareRoot()
    return sampled(shape) { (rng.nextUniform() * 2 - 1) * bound }
  }

  /// Normal(`mean`, `std`) redrawn until inside [`low`, `high`] (absolute
  /// bounds, like `trunc_normal_`).
  public static func truncatedNormal(
    _ shape: [Int], mean: Float = 0, std: Float = 1, low: Float = -2,
    high: Float = 2, rng: inout Xoshiro256
  ) -> Tensor {
    precondition(
      low < high && mean + 6 * std > low && mean - 6 * std < high,
      "truncatedNormal: [\(low), \(high)] far from mean \(mean), std \(std)")
    return sampled(shape) {
      var v: Float
      repeat { v = mean + std * rng.nextNormal() } while v < low || v > high
      return v
    }
  }

  /// Uniform on [`low`, `high`).
  public static func uniform(
    _ shape: [Int], low: Float = 0, high: Float = 1, rng: inout Xoshiro256
  ) -> Tensor {
    sampled(shape) { low + (high - low) * rng.nextUniform() }
  }

  /// Standard normal scaled by `std`.
  public static func normal(
    _ shape: [Int], std: Float = 1, rng: inout Xoshiro256
  ) -> Tensor {
    sampled(shape) { std * rng.nextNormal() }
  }

  private static func sampled(_ shape: [Int], _ draw: () -> Float) -> Tensor {
    let t = Tensor.empty(shape)
    let p = t.storage.pointer
    for i in 0..<t.count { p[i] = draw() }
    return t
  }
}
