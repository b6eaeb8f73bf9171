import Foundation
import SlideIO

/// What lets an interrupted `segment` continue from the tiles already done:
/// a folder holding
/// - `rows.log`: every finished model row, as its labels over the columns
///   tiles covered (append-only; records are
///   `[first row: Int64][row count: Int32]` then per row
///   `[lo: Int32][hi: Int32][hi − lo label bytes]`, little-endian);
/// - `carry-<k>.bin`: the blending sums still open when tile row `k` was
///   about to run (rows a previous tile row reached into), as
///   `[row: Int32][lo: Int32][hi: Int32][(hi − lo)·(classes + 1) floats]`;
/// - `state.json`: the last consistent point: the next tile row, the
///   accumulator's top row, the byte lengths of `rows.log` and the carry
///   file that belong to it, the time spent so far, and `identity`, a
///   string naming everything the result depends on (slide, model, scale,
///   tiling). A journal whose identity differs is not used.
///
/// `state.json` is replaced atomically and only after the files it names
/// are complete, so a kill at any moment leaves a usable journal: bytes of
/// `rows.log` past the recorded length are cut off on resume.
///
/// Memory layout of labels and sums follows ``BandAccumulator``.
public final class SegmentationJournal {
  /// The saved point to continue from.
  struct State: Codable, Equatable {
    var identity: String
    var tileRow: Int
    var top: Int
    var logBytes: UInt64
    var carryFile: String
    var carryBytes: UInt64
    var readSeconds: Double
    var modelSeconds: Double
    var wallSeconds: Double
  }

  /// One open row of blending sums: `sums` covers `columns`, `classes + 1`
  /// floats per column.
  struct CarriedRow: Equatable {
    var row: Int
    var columns: Range<Int>
    var sums: [Float]
  }

  public let folder: String
  public let identity: String
  /// The saved point, if the folder held one for this identity.
  private(set) var state: State?
  private var log: FileHandle?
  private var logBytes: UInt64 = 0

  /// Opens (creating if needed) the journal folder. A saved point whose
  /// identity differs from `identity`, or whose files are missing or short,
  /// is discarded: the run starts from the first tile.
  /// - Throws: ``InferenceError/journalFailed(path:detail:)`` when the
  ///   folder cannot be created or written.
  public init(folder: String, identity: String) throws {
    self.folder = folder
    self.identity = identity
    var isFolder: ObjCBool = false
    if !FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) {
      guard mkdir(folder, 0o755) == 0 else {
        let reason = String(cString: strerror(errno))
        let parent = (folder as NSString).deletingLastPathComponent
        throw InferenceError.journalFailed(
          path: folder,
          detail: "cannot be created in \(parent.isEmpty ? "." : parent) (\(reason))")
      }
    } else if !isFolder.boolValue {
      throw InferenceError.journalFailed(path: folder, detail: "exists and is not a folder")
    }
    if let data = FileManager.default.contents(atPath: path("state.json")),
      let saved = try? JSONDecoder().decode(State.self, from: data),
      saved.identity == identity,
      Self.size(path("rows.log")) >= saved.logBytes,
      Self.size(path(saved.carryFile)) == saved.carryBytes
    {
      state = saved
    }
  }

  /// Whether a saved point will be continued from.
  public var canResume: Bool { state != nil }
  /// The tile row the saved point continues at (0 without one).
  public var resumeTileRow: Int { state?.tileRow ?? 0 }

  private func path(_ name: String) -> String {
    (folder as NSString).appendingPathComponent(name)
  }

  private static func size(_ path: String) -> UInt64 {
    let attributes = try? FileManager.default.attributesOfItem(atPath: path)
    return (attributes?[.size] as? NSNumber)?.uint64Value ?? .max
  }

  // MARK: Replay

  /// Reads back the saved model rows, in order, as `(labels, first row,
  /// touched columns)` with the layout ``BandAccumulator/finish(below:_:)``
  /// hands out, and the carried sums.
  func replay(
    width: Int, classes: Int,
    _ body: (_ labels: [UInt8], _ first: Int, _ touched: [Range<Int>]) throws -> Void
  ) throws -> [CarriedRow] {
    guard let state else { return [] }
    let logPath = path("rows.log")
    guard let handle = FileHandle(forReadingAtPath: logPath) else {
      throw InferenceError.journalFailed(path: logPath, detail: "cannot be opened")
    }
    defer { try? handle.close() }
    var reader = ByteReader(handle: handle, limit: state.logBytes, path: logPath)
    while reader.remaining > 0 {
      let first = Int(try reader.int64())
      let count = Int(try reader.int32())
      var labels = [UInt8](repeating: 0, count: count * width)
      var touched: [Range<Int>] = []
      for i in 0..<count {
        let lo = Int(try reader.int32()), hi = Int(try reader.int32())
        guard 0 <= lo, lo <= hi, hi <= width else {
          throw InferenceError.journalFailed(path: logPath, detail: "holds columns \(lo)..<\(hi)")
        }
        try reader.bytes(hi - lo) { bytes in
          labels.withUnsafeMutableBufferPointer {
            ($0.baseAddress! + i * width + lo).update(
              from: bytes.baseAddress!, count: hi - lo)
          }
        }
        touched.append(lo..<hi)
      }
      try body(labels, first, touched)
    }

    let carryPath = path(state.carryFile)
    guard let carry = FileHandle(forReadingAtPath: carryPath) else {
      throw InferenceError.journalFailed(path: carryPath, detail: "cannot be opened")
    }
    defer { try? carry.close() }
    var rows: [CarriedRow] = []
    var carried = ByteReader(handle: carry, limit: state.carryBytes, path: carryPath)
    while carried.remaining > 0 {
      let row = Int(try carried.int32())
      let lo = Int(try carried.int32()), hi = Int(try carried.int32())
      guard 0 <= lo, lo <= hi, hi <= width else {
        throw InferenceError.journalFailed(path: carryPath, detail: "holds columns \(lo)..<\(hi)")
      }
      var sums = [Float](repeating: 0, count: (hi - lo) * (classes + 1))
      try carried.bytes(sums.count * 4) { bytes in
        sums.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(bytes)) }
      }
      rows.append(CarriedRow(row: row, columns: lo..<hi, sums: sums))
    }
    return rows
  }

  // MARK: Recording

  /// Opens `rows.log` for appending, cut back to the saved length.
  func startRecording() throws {
    let logPath = path("rows.log")
    let keep = state?.logBytes ?? 0
    if keep == 0 {
      guard FileManager.default.createFile(atPath: logPath, contents: nil) else {
        throw InferenceError.journalFailed(path: logPath, detail: "cannot be created")
      }
    }
    guard let handle = FileHandle(forWritingAtPath: logPath) else {
      throw InferenceError.journalFailed(path: logPath, detail: "cannot be opened for writing")
    }
    do {
      try handle.truncate(atOffset: keep)
      try handle.seekToEnd()
    } catch {
      throw InferenceError.journalFailed(path: logPath, detail: "cannot be cut back: \(error)")
    }
    log = handle
    logBytes = keep
  }

  /// Appends finished model rows (only the touched columns of each).
  func record(labels: [UInt8], first: Int, touched: [Range<Int>], width: Int) throws {
    guard let log else { return }
    var data = Data()
    data.append(littleEndian: Int64(first))
    data.append(littleEndian: Int32(touched.count))
    labels.withUnsafeBufferPointer { p in
      for (i, columns) in touched.enumerated() {
        data.append(littleEndian: Int32(columns.lowerBound))
        data.append(littleEndian: Int32(columns.upperBound))
        let row = i * width
        data.append(
          UnsafeBufferPointer(
            rebasing: p[(row + columns.lowerBound)..<(row + columns.upperBound)]))
      }
    }
    do {
      try log.write(contentsOf: data)
    } catch {
      throw InferenceError.journalFailed(path: path("rows.log"), detail: "\(error)")
    }
    logBytes += UInt64(data.count)
  }

  /// Saves a consistent point: `rows.log` as recorded so far, the open
  /// sums, and where to continue.
  func save(
    tileRow: Int, top: Int, carried: [CarriedRow], classes: Int, readSeconds: Double,
    modelSeconds: Double, wallSeconds: Double
  ) throws {
    guard let log else { return }
    do { try log.synchronize() } catch {
      throw InferenceError.journalFailed(path: path("rows.log"), detail: "\(error)")
    }
    var data = Data()
    for row in carried {
      data.append(littleEndian: Int32(row.row))
      data.append(littleEndian: Int32(row.columns.lowerBound))
      data.append(littleEndian: Int32(row.columns.upperBound))
      row.sums.withUnsafeBytes { data.append(contentsOf: $0) }
    }
    let carryFile = "carry-\(tileRow).bin"
    try write(data, to: carryFile)
    let saved = State(
      identity: identity, tileRow: tileRow, top: top, logBytes: logBytes,
      carryFile: carryFile, carryBytes: UInt64(data.count), readSeconds: readSeconds,
      modelSeconds: modelSeconds, wallSeconds: wallSeconds)
    let encoded: Data
    do { encoded = try JSONEncoder().encode(saved) } catch {
      throw InferenceError.journalFailed(path: path("state.json"), detail: "\(error)")
    }
    try write(encoded, to: "state.json")
    if let old = state?.carryFile, old != carryFile { unlink(path(old)) }
    state = saved
  }

  /// Writes `data` to `name` in the folder through a temporary file, synced
  /// and renamed.
  private func write(_ data: Data, to name: String) throws {
    let target = path(name)
    let temporary = path("." + name + ".tmp")
    guard FileManager.default.createFile(atPath: temporary, contents: data),
      let handle = FileHandle(forWritingAtPath: temporary)
    else {
      throw InferenceError.journalFailed(path: target, detail: "cannot be written")
    }
    try? handle.synchronize()
    try? handle.close()
    guard rename(temporary, target) == 0 else {
      unlink(temporary)
      throw InferenceError.journalFailed(path: target, detail: "cannot be renamed into place")
    }
  }

  /// Deletes the journal folder (after the outputs are complete).
  public func remove() {
    try? log?.close()
    log = nil
    try? FileManager.default.removeItem(atPath: folder)
  }

  /// Closes the log, keeping the folder for a later resume if a point was
  /// saved; a journal with nothing to resume from is removed.
  public func close() {
    try? log?.close()
    log = nil
    if state == nil { try? FileManager.default.removeItem(atPath: folder) }
  }
}

/// Little-endian reads from a file, refusing to run past `limit` bytes.
private struct ByteReader {
  let handle: FileHandle
  let path: String
  private(set) var remaining: UInt64

  init(handle: FileHandle, limit: UInt64, path: String) {
    self.handle = handle
    self.path = path
    remaining = limit
  }

  mutating func bytes(_ count: Int, _ body: (UnsafeBufferPointer<UInt8>) throws -> Void) throws {
    guard count >= 0, UInt64(count) <= remaining else {
      throw InferenceError.journalFailed(path: path, detail: "ends inside a record")
    }
    let data = (try? handle.read(upToCount: count)) ?? Data()
    guard data.count == count else {
      throw InferenceError.journalFailed(path: path, detail: "is shorter than recorded")
    }
    remaining -= UInt64(count)
    try data.withUnsafeBytes { try body($0.bindMemory(to: UInt8.self)) }
  }

  mutating func int64() throws -> Int64 {
    var value: Int64 = 0
    try bytes(8) { b in
      withUnsafeMutableBytes(of: &value) { $0.copyMemory(from: UnsafeRawBufferPointer(b)) }
    }
    return Int64(littleEndian: value)
  }

  mutating func int32() throws -> Int32 {
    var value: Int32 = 0
    try bytes(4) { b in
      withUnsafeMutableBytes(of: &value) { $0.copyMemory(from: UnsafeRawBufferPointer(b)) }
    }
    return Int32(littleEndian: value)
  }
}

extension Data {
  fileprivate mutating func append<T: FixedWidthInteger>(littleEndian value: T) {
    Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
  }
}
