import CTIFF
import Foundation

/// One open libtiff handle. libtiff handles are not thread-safe, so a handle
/// is used by one thread at a time (``TIFFHandlePool`` hands them out).
///
/// libtiff's messages are captured per handle instead of going to stderr, so
/// the library never prints and errors can quote libtiff's reason.
final class TIFFHandle {
  let tif: OpaquePointer
  private let messages: MessageBox

  /// Where libtiff's error and warning text lands; the last error is kept.
  final class MessageBox {
    var lastError: String?
  }

  /// Opens `path` read-only, memory-mapped (libtiff's default).
  init(path: String) throws {
    let box = MessageBox()
    guard let options = TIFFOpenOptionsAlloc() else {
      throw SlideError.unreadable(path: path, detail: "libtiff could not allocate its options")
    }
    defer { TIFFOpenOptionsFree(options) }
    let user = Unmanaged.passUnretained(box).toOpaque()
    TIFFOpenOptionsSetErrorHandlerExtR(options, tiffErrorHandler, user)
    TIFFOpenOptionsSetWarningHandlerExtR(options, tiffWarningHandler, user)
    guard let tif = TIFFOpenExt(path, "r", options) else {
      let reason = box.lastError ?? "libtiff could not open it"
      throw SlideError.corrupt(path: path, detail: reason)
    }
    self.tif = tif
    self.messages = box
  }

  deinit { TIFFClose(tif) }

  /// The most recent libtiff error text for this handle, if any.
  var lastError: String? { messages.lastError }

  func clearError() { messages.lastError = nil }

  // MARK: Fields

  /// Reads a tag with one output value (`uint16`, `uint32`, `float`, or a
  /// C string pointer), honouring libtiff's defaults when `defaulted`.
  func field<T>(_ tag: Int32, as: T.Type, initial: T, defaulted: Bool = false) -> T? {
    var value = initial
    let ok = withUnsafeMutablePointer(to: &value) { p in
      withVaList([p]) { args in
        defaulted
          ? TIFFVGetFieldDefaulted(tif, UInt32(tag), args)
          : TIFFVGetField(tif, UInt32(tag), args)
      }
    }
    return ok == 1 ? value : nil
  }

  func uint16(_ tag: Int32, defaulted: Bool = true) -> UInt16? {
    field(tag, as: UInt16.self, initial: 0, defaulted: defaulted)
  }

  func uint32(_ tag: Int32, defaulted: Bool = true) -> UInt32? {
    field(tag, as: UInt32.self, initial: 0, defaulted: defaulted)
  }

  func float(_ tag: Int32) -> Float? {
    field(tag, as: Float.self, initial: 0, defaulted: false)
  }

  func string(_ tag: Int32) -> String? {
    let p = field(
      tag, as: UnsafeMutablePointer<CChar>?.self, initial: nil, defaulted: false)
    guard let p, let p else { return nil }
    return String(cString: p)
  }

  /// A tag with a count and an array: (`uint16` count, `T*` values).
  func array<T>(_ tag: Int32, of: T.Type, defaulted: Bool = false) -> [T] {
    var count: UInt16 = 0
    var values: UnsafeMutablePointer<T>? = nil
    let ok = withUnsafeMutablePointer(to: &count) { c in
      withUnsafeMutablePointer(to: &values) { v in
        withVaList([c, v]) { args in
          defaulted
            ? TIFFVGetFieldDefaulted(tif, UInt32(tag), args)
            : TIFFVGetField(tif, UInt32(tag), args)
        }
      }
    }
    guard ok == 1, let values else { return [] }
    return Array(UnsafeBufferPointer(start: values, count: Int(count)))
  }

  /// Sets a 32-bit-int-valued pseudo tag such as `TIFFTAG_JPEGCOLORMODE`.
  func set(_ tag: Int32, _ value: Int32) {
    _ = withVaList([value]) { TIFFVSetField(tif, UInt32(tag), $0) }
  }

  /// Moves to the IFD at byte `offset`.
  func setDirectory(offset: UInt64) -> Bool {
    TIFFSetSubDirectory(tif, offset) == 1
  }
}

private func formatMessage(
  _ module: UnsafePointer<CChar>?, _ fmt: UnsafePointer<CChar>?, _ args: CVaListPointer
) -> String {
  guard let fmt else { return "unknown libtiff error" }
  var buffer = [CChar](repeating: 0, count: 512)
  _ = vsnprintf(&buffer, buffer.count, fmt, args)
  let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
  return String(decoding: bytes, as: UTF8.self)
}

private let tiffErrorHandler: TIFFErrorHandlerExtR = { _, user, module, fmt, args in
  guard let user, let args else { return 1 }
  let box = Unmanaged<TIFFHandle.MessageBox>.fromOpaque(user).takeUnretainedValue()
  box.lastError = formatMessage(module, fmt, args)
  return 1
}

private let tiffWarningHandler: TIFFErrorHandlerExtR = { _, _, _, _, _ in
  // Warnings (unknown private tags, odd but readable fields) are common in
  // scanner files and say nothing about whether the pixels decode.
  1
}
