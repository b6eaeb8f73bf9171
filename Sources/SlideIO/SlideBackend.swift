/// What a concrete reader (libtiff, OpenSlide, PNG, JPEG) provides to
/// ``Slide``. Arguments are already validated by ``Slide``: the level exists,
/// the size is positive and fits the memory limit.
protocol SlideBackend: Sendable {
  /// Fills `output` (row-major interleaved RGB, `size.width * 3` bytes per
  /// row, `size.height` rows) with the pixels of `level` whose top-left
  /// corner is `origin`, in **that level's pixels**. Pixels outside the level
  /// are white.
  func read(
    level: Int, origin: LevelPoint, size: PixelSize,
    into output: UnsafeMutableBufferPointer<UInt8>
  ) throws

  /// As ``read(level:origin:size:into:)``, but for images with one 8-bit
  /// sample per pixel (grey or palette label masks) each pixel is
  /// `(v, v, v)` with `v` the stored sample: no palette lookup, no
  /// min-is-white inversion. Other images read as rendered.
  func readStored(
    level: Int, origin: LevelPoint, size: PixelSize,
    into output: UnsafeMutableBufferPointer<UInt8>
  ) throws

  /// Whole associated image (label, macro, thumbnail) by name.
  func readAssociatedImage(_ name: String) throws -> RGBImage
}

extension SlideBackend {
  func readStored(
    level: Int, origin: LevelPoint, size: PixelSize,
    into output: UnsafeMutableBufferPointer<UInt8>
  ) throws {
    try read(level: level, origin: origin, size: size, into: output)
  }

  func readAssociatedImage(_ name: String) throws -> RGBImage {
    throw SlideError.noSuchAssociatedImage(path: "", name: name, available: [])
  }
}
