import COpenSlide
import CTIFF
import Foundation

/// Chooses a reader for a file from its first bytes and from OpenSlide's
/// vendor detection; see ``Slide`` for which reader handles what.
enum SlideOpener {
  struct Opened {
    var properties: SlideProperties
    var backend: any SlideBackend
  }

  /// Vendors whose files the direct libtiff reader decodes, provided its
  /// pyramid matches the levels OpenSlide reports.
  static let directTIFFVendors: Set<String> = ["aperio", "generic-tiff"]

  /// - Parameter direct: use the direct TIFF reader where it applies;
  ///   `false` leaves every file OpenSlide opens to OpenSlide.
  static func open(
    path: String, threads: Int, maxBytes: Int, direct: Bool = true
  ) throws -> Opened {
    _ = silenceLibtiff
    let head = try checkFile(path)

    if head.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
      return raster(path: path, vendor: "png", image: try RasterReader.decodePNG(
        path: path, maxBytes: maxBytes))
    }
    if head.starts(with: [0xFF, 0xD8, 0xFF]) {
      let data = try readAll(path)
      return raster(path: path, vendor: "jpeg", image: try RasterReader.decodeJPEG(
        path: path, data: data, maxBytes: maxBytes))
    }

    let vendor = openslide_detect_vendor(path).map { String(cString: $0) }
    let isTIFF = [[0x49, 0x49, 0x2A, 0x00], [0x4D, 0x4D, 0x00, 0x2A],
      [0x49, 0x49, 0x2B, 0x00], [0x4D, 0x4D, 0x00, 0x2B]].contains { head.starts(with: $0) }

    // OpenSlide calls any tiled TIFF `generic-tiff`, but knows neither
    // OME-XML resolution nor SubIFD pyramids: OME-TIFF is read here.
    if let vendor, !(isTIFF && vendor == "generic-tiff" && describesOME(path)) {
      let openSlide = try OpenSlideReader(path: path)
      let properties = openSlide.properties()
      if direct, isTIFF, directTIFFVendors.contains(vendor),
        let direct = try? directReader(path: path, matching: properties, threads: threads)
      {
        direct.associated = openSlide
        return Opened(properties: properties, backend: direct)
      }
      return Opened(properties: properties, backend: openSlide)
    }
    guard isTIFF else {
      throw SlideError.unsupportedFormat(
        path: path, detail: "not a TIFF, PNG or JPEG file, nor a format OpenSlide recognises")
    }
    return try plainTIFF(path: path, threads: threads)
  }

  /// OpenSlide opens TIFFs through libtiff's process-wide handlers, which
  /// print to stderr by default; the library must not print, and OpenSlide
  /// reports its failures through `openslide_get_error` anyway. Our own
  /// handles capture libtiff's messages per handle (``TIFFHandle``).
  private static let silenceLibtiff: Void = {
    TIFFSetErrorHandler(nil)
    TIFFSetWarningHandler(nil)
  }()

  // MARK: Steps

  /// Checks the path names a readable, non-empty regular file and returns
  /// its first 16 bytes. FIFOs and devices are refused before any read,
  /// since reading one could block forever.
  static func checkFile(_ path: String) throws -> [UInt8] {
    var info = stat()
    guard stat(path, &info) == 0 else {
      if errno == EACCES {
        throw SlideError.unreadable(path: path, detail: "permission denied")
      }
      throw SlideError.fileNotFound(path: path)
    }
    switch info.st_mode & S_IFMT {
    case S_IFREG: break
    case S_IFDIR: throw SlideError.isDirectory(path: path)
    default:
      throw SlideError.unsupportedFormat(
        path: path, detail: "not a regular file (a device, FIFO or socket)")
    }
    guard let file = FileHandle(forReadingAtPath: path) else {
      throw SlideError.unreadable(path: path, detail: "permission denied")
    }
    defer { try? file.close() }
    let head = [UInt8]((try? file.read(upToCount: 16)) ?? Data())
    guard !head.isEmpty else { throw SlideError.emptyFile(path: path) }
    return head
  }

  /// Whether the first directory's ImageDescription is OME-XML.
  private static func describesOME(_ path: String) -> Bool {
    guard let handle = try? TIFFHandle(path: path) else { return false }
    return handle.string(TIFFTAG_IMAGEDESCRIPTION)?.contains("<OME") ?? false
  }

  private static func readAll(_ path: String) throws -> Data {
    do {
      return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
    } catch {
      throw SlideError.unreadable(path: path, detail: error.localizedDescription)
    }
  }

  private static func raster(path: String, vendor: String, image: RGBImage) -> Opened {
    let level = SlideLevel(size: image.size, downsample: 1)
    let properties = SlideProperties(
      vendor: vendor, levels: [level], mppX: nil, mppY: nil, objectivePower: nil,
      associatedImages: [], raw: [:])
    return Opened(properties: properties, backend: RasterReader(path: path, image: image))
  }

  /// The direct reader for a file OpenSlide also opens, or `nil` when its
  /// pyramid differs from OpenSlide's levels (then OpenSlide reads pixels).
  private static func directReader(
    path: String, matching properties: SlideProperties, threads: Int
  ) throws -> TIFFReader? {
    let scan = try TIFFReader.scan(path: path)
    let pyramid = TIFFReader.pyramid(layouts: scan.layouts, handle: scan.handle, path: path)
    let sizes = pyramid.map { PixelSize(width: $0.width, height: $0.height) }
    guard sizes == properties.levels.map(\.size) else { return nil }
    return TIFFReader(path: path, levels: pyramid, threads: threads)
  }

  /// A TIFF OpenSlide does not recognise: OME-TIFF or plain TIFF.
  private static func plainTIFF(path: String, threads: Int) throws -> Opened {
    let scan = try TIFFReader.scan(path: path)
    let pyramid = TIFFReader.pyramid(layouts: scan.layouts, handle: scan.handle, path: path)
    guard let base = pyramid.first else {
      throw scan.failures.first
        ?? SlideError.corrupt(path: path, detail: "no image directory")
    }
    let levels = pyramid.map { layout in
      let ratio =
        (Double(base.width) / Double(layout.width) + Double(base.height) / Double(layout.height))
        / 2
      return SlideLevel(size: PixelSize(width: layout.width, height: layout.height),
        downsample: ratio)
    }
    _ = scan.handle.setDirectory(offset: base.offset)
    let metadata = TIFFMetadata(handle: scan.handle)
    if metadata.isOME, metadata.planesPerImage > 1,
      case .chunky8(let samples, _, _, _, _) = base.pixelFormat, samples == 1
    {
      throw SlideError.unsupportedFormat(
        path: path,
        detail: "OME-TIFF with \(metadata.planesPerImage) channels stored as separate "
          + "greyscale planes (fluorescence); only brightfield RGB is read")
    }
    let properties = SlideProperties(
      vendor: metadata.isOME ? "ome-tiff" : "tiff", levels: levels,
      mppX: metadata.mppX, mppY: metadata.mppY, objectivePower: nil,
      associatedImages: [], raw: metadata.raw)
    return Opened(
      properties: properties, backend: TIFFReader(path: path, levels: pyramid, threads: threads))
  }
}
