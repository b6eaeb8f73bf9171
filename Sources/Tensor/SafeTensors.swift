import Foundation

/// Reading and writing the safetensors format, so weights move to and from
/// PyTorch.
///
/// Layout: an 8-byte little-endian header length, a JSON header mapping
/// each name to `dtype`, `shape` and `data_offsets` (byte range within the
/// data section), then the data, little-endian and row-major.
public enum SafeTensors {
  /// Reads every tensor in the file; F32 as is, I64, I32 and U8 converted
  /// to float.
  ///
  /// - Throws: `TensorError.io`, `.corruptFile`, `.unsupportedDType`.
  public static func read(path: String) throws -> [String: Tensor] {
    let file = try load(path: path)
    var result: [String: Tensor] = [:]
    for name in file.entries.keys {
      result[name] = try file.tensor(name)
    }
    return result
  }

  /// Reads every tensor (as ``read(path:)``) and the header's string
  /// `__metadata__` (empty when absent).
  public static func readWithMetadata(path: String) throws -> (
    tensors: [String: Tensor], metadata: [String: String]
  ) {
    let file = try load(path: path)
    var result: [String: Tensor] = [:]
    for name in file.entries.keys {
      result[name] = try file.tensor(name)
    }
    return (result, file.metadata)
  }

  /// Reads one integer tensor (I64, I32 or U8) as `Int`s, row-major, with
  /// its shape.
  public static func readIntegers(path: String, name: String) throws -> (
    shape: [Int], values: [Int]
  ) {
    let file = try load(path: path)
    return try file.integers(name)
  }

  /// Writes `tensors` as F32, names sorted, with optional string metadata.
  public static func write(
    _ tensors: [String: Tensor], metadata: [String: String] = [:],
    path: String
  ) throws {
    var header: [String: Any] = [:]
    if !metadata.isEmpty { header["__metadata__"] = metadata }
    var offset = 0
    let sorted = tensors.sorted { $0.key < $1.key }
    for (name, t) in sorted {
      header[name] = [
        "dtype": "F32", "shape": t.shape,
        "data_offsets": [offset, offset + t.count * 4],
      ]
      offset += t.count * 4
    }
    var json = try JSONSerialization.data(
      withJSONObject: header, options: [.sortedKeys])
    // Pad the header with spaces to an 8-byte boundary, as PyTorch does.
    while json.count % 8 != 0 { json.append(0x20) }
    var data = Data()
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { data.append(contentsOf: $0) }
    data.append(json)
    for (_, t) in sorted {
      t.withUnsafeBufferPointer { b in
        data.append(UnsafeBufferPointer(start: b.baseAddress, count: b.count))
      }
    }
    do {
      try data.write(to: URL(fileURLWithPath: path))
    } catch {
      throw TensorError.io(path: path, detail: "cannot write: \(error)")
    }
  }

  /// One parsed file: entries and the raw data section.
  struct File {
    struct Entry {
      var dtype: String
      var shape: [Int]
      var begin: Int
      var end: Int
    }
    let path: String
    let entries: [String: Entry]
    let data: Data
    var metadata: [String: String] = [:]

    func entry(_ name: String) throws -> Entry {
      guard let e = entries[name] else {
        throw TensorError.missingTensor(
          name: name, available: Array(entries.keys))
      }
      return e
    }

    func tensor(_ name: String) throws -> Tensor {
      let e = try entry(name)
      let n = e.shape.reduce(1, *)
      var values = [Float](repeating: 0, count: n)
      try data.withUnsafeBytes { raw in
        let base = raw.baseAddress! + e.begin
        switch e.dtype {
        case "F32":
          for i in 0..<n {
            values[i] = Float(
              bitPattern: UInt32(
                littleEndian: base.loadUnaligned(
                  fromByteOffset: i * 4, as: UInt32.self)))
          }
        case "I64", "I32", "U8":
          let ints = integerValues(base, dtype: e.dtype, count: n)
          for i in 0..<n { values[i] = Float(ints[i]) }
        default:
          throw TensorError.unsupportedDType(name: name, dtype: e.dtype)
        }
      }
      return try Tensor(shape: e.shape, values: values)
    }

    func integers(_ name: String) throws -> (shape: [Int], values: [Int]) {
      let e = try entry(name)
      guard ["I64", "I32", "U8"].contains(e.dtype) else {
        throw TensorError.unsupportedDType(name: name, dtype: e.dtype)
      }
      let n = e.shape.reduce(1, *)
      let values = data.withUnsafeBytes { raw in
        integerValues(raw.baseAddress! + e.begin, dtype: e.dtype, count: n)
      }
      return (e.shape, values)
    }

    private func integerValues(
      _ base: UnsafeRawPointer, dtype: String, count n: Int
    ) -> [Int] {
      (0..<n).map { i in
        switch dtype {
        case "I64":
          return Int(
            Int64(littleEndian: base.loadUnaligned(
              fromByteOffset: i * 8, as: Int64.self)))
        case "I32":
          return Int(
            Int32(littleEndian: base.loadUnaligned(
              fromByteOffset: i * 4, as: Int32.self)))
        default:
          return Int(base.load(fromByteOffset: i, as: UInt8.self))
        }
      }
    }
  }

  static let itemSize = ["F32": 4, "I64": 8, "I32": 4, "U8": 1]

  static func load(path: String) throws -> File {
    let bytes: Data
    do {
      bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw TensorError.io(path: path, detail: "cannot read: \(error)")
    }
    guard bytes.count >= 8 else {
      throw TensorError.corruptFile(
        path: path, detail: "\(bytes.count) bytes, shorter than the header")
    }
    var length: UInt64 = 0
    for i in 0..<8 { length |= UInt64(bytes[bytes.startIndex + i]) << (8 * i) }
    guard length <= UInt64(bytes.count - 8) else {
      throw TensorError.corruptFile(
        path: path,
        detail: "header length \(length) exceeds file size \(bytes.count)")
    }
    let headerEnd = 8 + Int(length)
    let json = bytes.subdata(in: (bytes.startIndex + 8)..<(bytes.startIndex + headerEnd))
    let payload = bytes.subdata(in: (bytes.startIndex + headerEnd)..<bytes.endIndex)
    guard
      let header = try? JSONSerialization.jsonObject(with: json)
        as? [String: Any]
    else {
      throw TensorError.corruptFile(path: path, detail: "header is not a JSON object")
    }
    var entries: [String: File.Entry] = [:]
    for (name, value) in header where name != "__metadata__" {
      guard let info = value as? [String: Any],
        let dtype = info["dtype"] as? String,
        let shape = info["shape"] as? [Int],
        let offsets = info["data_offsets"] as? [Int], offsets.count == 2
      else {
        throw TensorError.corruptFile(path: path, detail: "bad entry '\(name)'")
      }
      let size = (itemSize[dtype] ?? 0) * shape.reduce(1, *)
      guard offsets[0] >= 0, offsets[1] <= payload.count,
        itemSize[dtype] == nil || offsets[1] - offsets[0] == size
      else {
        throw TensorError.corruptFile(
          path: path,
          detail: "'\(name)' has offsets \(offsets) for \(dtype) \(shape) "
            + "in \(payload.count) data bytes")
      }
      entries[name] = File.Entry(
        dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1])
    }
    let metadata = header["__metadata__"] as? [String: String] ?? [:]
    return File(path: path, entries: entries, data: payload, metadata: metadata)
  }
}
