#!/usr/bin/env python3
"""Checks a HoloHisto label TIFF (Exports' LabelTIFFWriter) with independent readers.

Opens the file with tifffile (stored samples), openslide-python (what OpenSlide-based viewers
show) and, when installed, pyvips; asserts the pyramid (level count, sizes halved rounding up
until one 256x256 tile holds a level, SubfileType 0 then 1), the tags (tiled 256x256, deflate,
8-bit, one sample, palette or min-is-black, resolution in pixels per centimetre scaled by 2^n),
that level 0 equals a reference label image when given, that every reduced level equals the
documented reduction of the level above (mode of each 2x2 block, ties to the larger value; or
top-left), and that OpenSlide and pyvips return the same labels as tifffile (colours mapped back
through the colour map).

Whole levels are read into memory: meant for test-sized files, not gigapixel masks.

    pip install tifffile openslide-python openslide-bin numpy pillow [pyvips]
    python3 scripts/check_label_tiff.py mask.tif [--reference labels.png] \
        [--reduction mode|nearest] [--mpp 0.5] [--levels N]

Exit status 0 when every check passes; 1 with one line per failure otherwise.
"""

import argparse
import sys

import numpy as np
import tifffile

TILE = 256
FAILURES = []


def check(condition, message):
    if not condition:
        FAILURES.append(message)
    return condition


def expected_sizes(width, height):
    sizes = [(width, height)]
    while width > TILE or height > TILE:
        width, height = (width + 1) // 2, (height + 1) // 2
        sizes.append((width, height))
    return sizes


def reduce_level(labels, rule):
    """Next pyramid level of a 2-D uint8 array by the writer's documented rule."""
    if rule == "nearest":
        return labels[::2, ::2].copy()
    h, w = labels.shape
    # replicating the last row/column doubles every count of a partial block,
    # so the mode over the real pixels is unchanged
    padded = np.pad(labels, ((0, h % 2), (0, w % 2)), mode="edge")
    blocks = np.stack([padded[0::2, 0::2], padded[0::2, 1::2],
                       padded[1::2, 0::2], padded[1::2, 1::2]])
    counts = (blocks[:, None] == blocks[None, :]).sum(axis=1)
    key = counts.astype(np.int32) * 256 + blocks
    choice = key.argmax(axis=0)
    return np.take_along_axis(blocks, choice[None], axis=0)[0]


def colour_lookup(colormap):
    """Maps an RGB triple to the first palette index that has it."""
    table = {}
    if colormap is None:
        return None
    rgb = (np.asarray(colormap)[:3] // 257).astype(np.uint8).T  # 256 x 3, 8-bit
    for index in range(255, -1, -1):
        table[tuple(int(c) for c in rgb[index])] = index
    return table


def labels_from_rgb(rgb, lookup):
    """Labels from an RGB(A) array: grey level, or palette index by colour."""
    rgb = rgb[..., :3]
    if lookup is None:
        return rgb[..., 0].copy()
    packed = (rgb[..., 0].astype(np.uint32) << 16) | (rgb[..., 1].astype(np.uint32) << 8) \
        | rgb[..., 2]
    out = np.full(packed.shape, -1, dtype=np.int32)
    for colour, index in lookup.items():
        out[packed == ((colour[0] << 16) | (colour[1] << 8) | colour[2])] = index
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("tiff")
    parser.add_argument("--reference", help="level-0 labels as an 8-bit grey PNG")
    parser.add_argument("--reduction", choices=["mode", "nearest"], default="mode")
    parser.add_argument("--mpp", type=float, help="expected level-0 micrometres per pixel")
    parser.add_argument("--levels", type=int, help="expected level count")
    args = parser.parse_args()

    # tifffile: the stored samples and tags of every IFD in the main chain
    with tifffile.TiffFile(args.tiff) as tif:
        pages = list(tif.pages)
        levels = [page.asarray() for page in pages]
        series_levels = len(tif.series[0].levels)
        width, height = pages[0].imagewidth, pages[0].imagelength
        sizes = expected_sizes(width, height)
        check(len(pages) == len(sizes), f"{len(pages)} IFDs, expected {len(sizes)}")
        check(series_levels == len(sizes),
              f"tifffile sees {series_levels} pyramid levels, expected {len(sizes)}")
        if args.levels is not None:
            check(len(pages) == args.levels, f"{len(pages)} levels, expected {args.levels}")
        colormap = pages[0].colormap
        for n, page in enumerate(pages):
            where = f"level {n}"
            if n < len(sizes):
                check((page.imagewidth, page.imagelength) == sizes[n],
                      f"{where}: size {page.imagewidth}x{page.imagelength}, expected {sizes[n]}")
            check(page.subfiletype == (1 if n else 0), f"{where}: SubfileType {page.subfiletype}")
            check(page.is_tiled and page.tilewidth == TILE and page.tilelength == TILE,
                  f"{where}: not tiled {TILE}x{TILE}")
            check(page.compression in (8, 32946), f"{where}: compression {page.compression}")
            check(page.dtype == np.uint8 and page.samplesperpixel == 1,
                  f"{where}: {page.dtype} x {page.samplesperpixel} samples")
            check(page.photometric in (1, 3), f"{where}: photometric {page.photometric}")
            if args.mpp is not None:
                ppcm = 10_000 / (args.mpp * 2 ** n)
                unit = page.tags.get("ResolutionUnit")
                check(unit is not None and int(unit.value) == 3, f"{where}: unit not centimetre")
                for name in ("XResolution", "YResolution"):
                    tag = page.tags.get(name)
                    value = tag.value[0] / tag.value[1] if tag else None
                    check(value is not None and abs(value - ppcm) <= 1e-3 * ppcm,
                          f"{where}: {name} {value}, expected {ppcm} px/cm")

    # stored labels: reference at level 0, documented reduction below it
    if args.reference:
        from PIL import Image
        reference = np.asarray(Image.open(args.reference).convert("L"))
        check(reference.shape == levels[0].shape and np.array_equal(reference, levels[0]),
              "level 0 differs from the reference labels")
    for n in range(1, len(levels)):
        expected = reduce_level(levels[n - 1], args.reduction)
        check(np.array_equal(expected, levels[n]),
              f"level {n}: {int((expected != levels[n]).sum())} labels differ from the "
              f"{args.reduction} reduction of level {n - 1}")

    lookup = colour_lookup(colormap)

    # OpenSlide (generic-tiff): same pyramid, same labels once colours map back
    import openslide
    slide = openslide.OpenSlide(args.tiff)
    check(slide.level_count == len(levels),
          f"OpenSlide sees {slide.level_count} levels, expected {len(levels)}")
    for n in range(min(slide.level_count, len(levels))):
        size = slide.level_dimensions[n]
        check(size == (levels[n].shape[1], levels[n].shape[0]),
              f"OpenSlide level {n} is {size}")
        region = np.asarray(slide.read_region((0, 0), n, size))
        check(np.array_equal(labels_from_rgb(region, lookup), levels[n]),
              f"OpenSlide level {n}: labels differ from the stored samples")
    slide.close()

    # pyvips, when installed: every page decodes to the same labels
    try:
        import pyvips
    except ImportError:
        pyvips = None
        print("pyvips not installed: skipped")
    if pyvips is not None:
        for n in range(len(levels)):
            image = pyvips.Image.tiffload(args.tiff, page=n)
            array = image.numpy()
            if array.ndim == 2:
                labels = array
            else:
                labels = labels_from_rgb(array, lookup)
            check(np.array_equal(labels, levels[n]),
                  f"pyvips page {n}: labels differ from the stored samples")

    if FAILURES:
        for failure in FAILURES:
            print(f"{args.tiff}: {failure}", file=sys.stderr)
        return 1
    print(f"{args.tiff}: OK, {len(levels)} levels "
          + ", ".join(f"{a.shape[1]}x{a.shape[0]}" for a in levels))
    return 0


if __name__ == "__main__":
    sys.exit(main())
