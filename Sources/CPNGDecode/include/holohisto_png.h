// PNG decoding through libpng's full API, for SlideIO's PNG reader.
//
// Why C: libpng reports errors by longjmp out of its error callback, which
// Swift cannot catch; this file holds the setjmp so errors come back as a
// status and a message. Why not libpng's simplified API: it converts
// samples (16-bit files as linear light, gAMA honoured, alpha blended in
// linear light), while a slide reader must return the stored values.
#ifndef HOLOHISTO_PNG_H
#define HOLOHISTO_PNG_H

#include <stddef.h>
#include <stdint.h>

/// A decoded PNG: `width * height` pixels of 8-bit R, G, B, A (straight,
/// not premultiplied alpha), row-major, no row padding. `rgba` is owned by
/// the caller and released with `holohisto_png_free`.
typedef struct {
  uint32_t width;
  uint32_t height;
  uint8_t *rgba;
} holohisto_png_image;

/// Decodes the PNG at `path`. Palette, grey and low-bit-depth images are
/// expanded, tRNS becomes alpha, 16-bit samples keep their high byte, and
/// no gamma or colour-space conversion is applied.
///
/// Returns 0 on success; otherwise -1 with a NUL-terminated reason in
/// `message` (at most `message_size` bytes), and `out->rgba` NULL. Images of
/// more than `max_pixels` pixels are refused before any pixel memory is
/// allocated (return -2).
int holohisto_png_read(const char *path, uint64_t max_pixels, holohisto_png_image *out,
                       char *message, size_t message_size);

void holohisto_png_free(holohisto_png_image *image);

#endif
