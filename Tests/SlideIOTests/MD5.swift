/// MD5 digest (RFC 1321) of a byte array, as lowercase hex. Test-only: the
/// Python fixture scripts record md5 of RGB bytes, and Foundation on Linux
/// has no digest API. Not for anything security-related.
func md5Hex(_ message: [UInt8]) -> String {
  let shifts: [UInt32] = [
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
    5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9, 14, 20,
    4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
    6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
  ]
  // K[i] = floor(|sin(i + 1)| · 2^32)
  let k: [UInt32] = (0..<64).map { UInt32(UInt64(abs(sin(Double($0 + 1))) * 4_294_967_296.0)) }

  var bytes = message
  let bitLength = UInt64(message.count) &* 8
  bytes.append(0x80)
  while bytes.count % 64 != 56 { bytes.append(0) }
  for i in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: bitLength >> (8 * UInt64(i)))) }

  var a0: UInt32 = 0x6745_2301
  var b0: UInt32 = 0xefcd_ab89
  var c0: UInt32 = 0x98ba_dcfe
  var d0: UInt32 = 0x1032_5476
  var words = [UInt32](repeating: 0, count: 16)
  for chunk in stride(from: 0, to: bytes.count, by: 64) {
    for i in 0..<16 {
      let j = chunk + i * 4
      words[i] = UInt32(bytes[j]) | UInt32(bytes[j + 1]) << 8
        | UInt32(bytes[j + 2]) << 16 | UInt32(bytes[j + 3]) << 24
    }
    var a = a0, b = b0, c = c0, d = d0
    for i in 0..<64 {
      var f: UInt32
      let g: Int
      switch i {
      case 0..<16: f = (b & c) | (~b & d); g = i
      case 16..<32: f = (d & b) | (~d & c); g = (5 * i + 1) % 16
      case 32..<48: f = b ^ c ^ d; g = (3 * i + 5) % 16
      default: f = c ^ (b | ~d); g = (7 * i) % 16
      }
      f = f &+ a &+ k[i] &+ words[g]
      a = d
      d = c
      c = b
      b = b &+ ((f << shifts[i]) | (f >> (32 - shifts[i])))
    }
    a0 = a0 &+ a
    b0 = b0 &+ b
    c0 = c0 &+ c
    d0 = d0 &+ d
  }
  return [a0, b0, c0, d0].flatMap { word in
    (0..<4).map { String(format2(UInt8(truncatingIfNeeded: word >> (8 * UInt32($0))))) }
  }.joined()
}

private func format2(_ byte: UInt8) -> String {
  let digits = Array("0123456789abcdef")
  return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
}

#if canImport(Glibc)
  import Glibc
#endif
