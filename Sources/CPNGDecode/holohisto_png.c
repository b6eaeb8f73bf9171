#include "holohisto_png.h"

#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  char *message;
  size_t size;
} error_sink;

static void on_error(png_structp png, png_const_charp text) {
  error_sink *sink = (error_sink *)png_get_error_ptr(png);
  if (sink && sink->size > 0) {
    snprintf(sink->message, sink->size, "%s", text);
  }
  png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp text) {
  // Warnings (unknown chunks, odd but readable fields) do not stop a read.
  (void)png;
  (void)text;
}

int holohisto_png_read(const char *path, uint64_t max_pixels, holohisto_png_image *out,
                       char *message, size_t message_size) {
  out->width = 0;
  out->height = 0;
  out->rgba = NULL;
  if (message_size > 0) message[0] = '\0';

  FILE *file = fopen(path, "rb");
  if (!file) {
    snprintf(message, message_size, "cannot open the file");
    return -1;
  }
  error_sink sink = {message, message_size};
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &sink, on_error, on_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!png || !info) {
    png_destroy_read_struct(png ? &png : NULL, NULL, NULL);
    fclose(file);
    snprintf(message, message_size, "libpng could not start");
    return -1;
  }

  // Everything setjmp's return path touches is volatile or unchanged after.
  uint8_t *volatile pixels = NULL;
  png_bytep *volatile rows = NULL;
  volatile int status = -1;
  if (setjmp(png_jmpbuf(png))) {
    free(pixels);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(file);
    return status;
  }

  png_init_io(png, file);
  png_read_info(png, info);
  png_uint_32 width = png_get_image_width(png, info);
  png_uint_32 height = png_get_image_height(png, info);
  if ((uint64_t)width * (uint64_t)height > max_pixels) {
    snprintf(message, message_size, "image %ux%u exceeds the pixel limit", width, height);
    status = -2;
    png_longjmp(png, 1);
  }

  int colour = png_get_color_type(png, info);
  int depth = png_get_bit_depth(png, info);
  if (colour == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (colour == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  if (depth == 16) png_set_strip_16(png);
  if (colour == PNG_COLOR_TYPE_GRAY || colour == PNG_COLOR_TYPE_GRAY_ALPHA) {
    png_set_gray_to_rgb(png);
  }
  if (!(colour & PNG_COLOR_MASK_ALPHA) && !png_get_valid(png, info, PNG_INFO_tRNS)) {
    png_set_filler(png, 0xFF, PNG_FILLER_AFTER);
  }
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  if (png_get_rowbytes(png, info) != (size_t)width * 4) {
    snprintf(message, message_size, "unexpected row layout after expansion");
    png_longjmp(png, 1);
  }

  pixels = malloc((size_t)width * height * 4);
  rows = malloc(sizeof(png_bytep) * height);
  if (!pixels || !rows) {
    snprintf(message, message_size, "out of memory for %ux%u pixels", width, height);
    png_longjmp(png, 1);
  }
  for (png_uint_32 y = 0; y < height; y++) rows[y] = pixels + (size_t)y * width * 4;
  png_read_image(png, rows);
  png_read_end(png, NULL);

  free(rows);
  png_destroy_read_struct(&png, &info, NULL);
  fclose(file);
  out->width = width;
  out->height = height;
  out->rgba = pixels;
  return 0;
}

void holohisto_png_free(holohisto_png_image *image) {
  free(image->rgba);
  image->rgba = NULL;
}
