/// A small, fast, seedable pseudo-random generator: Steele, Lea and Flood's
/// SplitMix64 ("Fast splittable pseudorandom number generators", OOPSLA
/// 2014), whose constants are the golden-ratio increment 0x9E3779B97F4A7C15
/// and the two multipliers of its 64-bit finaliser.
///
/// Its whole state is one `UInt64`, so it is `Codable` and a generator can
/// be saved and resumed exactly. Not for cryptography.
public struct SplitMix64: RandomNumberGenerator, Codable, Hashable, Sendable {
  /// The full state: the next output is a function of this alone.
  public var state: UInt64

  public init(seed: UInt64) {
    self.state = seed
  }

  /// A generator for stream `index` of `seed`, independent in practice of
  /// every other (seed, index, stream): the three are hashed together with
  /// the SplitMix64 finaliser. Samplers use it so that item `index` draws the
  /// same numbers whatever order items are produced in.
  public init(seed: UInt64, index: Int, stream: UInt64 = 0) {
    var h = Self.mix(seed &+ 0x9E37_79B9_7F4A_7C15)
    h = Self.mix((h ^ UInt64(bitPattern: Int64(index))) &+ 0x6A09_E667_F3BC_C909)
    h = Self.mix((h ^ stream) &+ 0xBB67_AE85_84CA_A73B)
    self.state = h
  }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    return Self.mix(state)
  }

  /// The SplitMix64 output finaliser (a bijection of `UInt64`).
  static func mix(_ value: UInt64) -> UInt64 {
    var z = value
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A uniform `Double` in [0, 1) from the top 53 bits of one output.
  public mutating func nextUnit() -> Double {
    Double(next() >> 11) * 0x1.0p-53
  }

  /// A uniform `Double` in `range` (a closed range; the upper end has
  /// probability zero).
  public mutating func nextDouble(in range: ClosedRange<Double>) -> Double {
    range.lowerBound + (range.upperBound - range.lowerBound) * nextUnit()
  }

  /// A uniform integer in `0..<bound` (`bound` > 0), by Lemire's
  /// multiply-and-reject method ("Fast random integer generation in an
  /// interval", ACM TOMACS 2019). Written out rather than taken from the
  /// standard library so that saved seeds keep their meaning across Swift
  /// versions.
  public mutating func nextInt(below bound: Int) -> Int {
    precondition(bound > 0, "nextInt(below:) needs a positive bound, got \(bound)")
    let range = UInt64(bound)
    var product = next().multipliedFullWidth(by: range)
    if product.low < range {
      let threshold = (0 &- range) % range
      while product.low < threshold {
        product = next().multipliedFullWidth(by: range)
      }
    }
    return Int(product.high)
  }
}
