#!/usr/bin/env python3
"""Build a large pyramidal tiled TIFF for read benchmarks, from real tiles.

What it produces
    bench-data/mosaic-<W>x<H>.tif (bench-data/ is git-ignored). By default a
    40000 x 30000 RGB image: the 100 HuBMAP kidney tiles (1600 x 1200 JPEGs)
    under ../shared/data/labeled/hubmap-glomeruli-cnsiu/images/{train,test}
    are laid out in a 25 x 25 grid (re-used in sorted order, cycling, since
    there are only 100 of them) and cropped to the requested size.

    The file is written by libvips (pyvips) `tiffsave` with 256 x 256 tiles,
    JPEG quality 89 and a pyramid (each level half the previous one, written
    as ordinary IFDs one after another). Below Q90 libvips stores JPEG tiles
    as YCbCr with 2 x 2 chroma subsampling (4:2:0), the common WSI layout.
    At Q >= 90 libvips 8.18 instead writes RGB JPEG tiles without
    subsampling (Adobe marker, component ids R,G,B), so Q89 is the default
    here; the script reads the first tile's JPEG header back and prints the
    layout it finds. No resolution is written: the tiles' true scale is
    unknown (see shared/data/README.md).

    After writing, the file is opened with openslide-python; the script
    fails unless OpenSlide reports vendor `generic-tiff` and the same level
    sizes that the TIFF pages have. `--compression deflate|none` and
    `--no-pyramid` write other generic tiled TIFFs that pass the same check.

How to rerun (from the repository root)
    python3 scripts/bench/make_bench_slide.py                 # 40000x30000
    python3 scripts/bench/make_bench_slide.py --size 8000x6000
    python3 scripts/bench/make_bench_slide.py --size 4096x4096 \
        --compression deflate --out bench-data/small-deflate.tif

Python is used here only to make benchmark input; the Swift product never
runs it.
"""

import argparse
import math
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TILES = REPO.parent / "shared" / "data" / "labeled" / "hubmap-glomeruli-cnsiu" / "images"
TILE_W, TILE_H = 1600, 1200


def parse_size(text):
    w, _, h = text.lower().partition("x")
    return int(w), int(h)


def source_tiles():
    files = sorted((TILES / "train").glob("*.jpg")) + sorted((TILES / "test").glob("*.jpg"))
    if not files:
        sys.exit(f"no HuBMAP tiles found under {TILES}")
    return files


def build(width, height, out, compression, quality, tile, pyramid):
    import pyvips

    files = source_tiles()
    across = math.ceil(width / TILE_W)
    down = math.ceil(height / TILE_H)
    images = []
    for i in range(across * down):
        img = pyvips.Image.new_from_file(str(files[i % len(files)]), access="sequential")
        if img.bands != 3 or img.width != TILE_W or img.height != TILE_H:
            sys.exit(f"unexpected tile {files[i % len(files)]}: {img.width}x{img.height}x{img.bands}")
        images.append(img)
    mosaic = pyvips.Image.arrayjoin(images, across=across)
    mosaic = mosaic.crop(0, 0, width, height)

    opts = dict(tile=True, tile_width=tile, tile_height=tile, pyramid=pyramid)
    if compression == "jpeg":
        opts.update(compression="jpeg", Q=quality)
    elif compression == "deflate":
        opts.update(compression="deflate", predictor="horizontal")
    else:
        opts.update(compression="none")
    # Classic TIFF offsets are 32-bit. JPEG at Q90 stays far below 4 GB even
    # at 40000x30000; deflate/none of large images may not, so use BigTIFF
    # when the uncompressed size (plus a third for the pyramid) passes 3 GB.
    raw = width * height * 3 * (4 / 3 if pyramid else 1)
    if (compression != "jpeg" and raw > 3e9) or raw > 30e9:
        opts["bigtiff"] = True

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    t0 = time.time()
    mosaic.tiffsave(str(tmp), **opts)
    os.replace(tmp, out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB) in {time.time() - t0:.1f} s "
          f"from {across}x{down} tiles, options {opts}")


def jpeg_layout(tf, page):
    """Colour layout of a page's first JPEG tile, from its SOF and APP14."""
    fh = tf.filehandle
    fh.seek(page.dataoffsets[0])
    data = fh.read(page.databytecounts[0])
    i = data.find(b"\xff\xc0")
    if i < 0:
        return "no baseline SOF0"
    n = data[i + 9]
    comps = [(chr(data[i + 10 + 3 * k]) if data[i + 10 + 3 * k] > 32 else str(data[i + 10 + 3 * k]),
              f"{data[i + 11 + 3 * k] >> 4}x{data[i + 11 + 3 * k] & 15}") for k in range(n)]
    adobe = b"Adobe" in data[:i]
    return f"components {comps}{' with Adobe marker' if adobe else ''}"


def describe_and_check(path):
    """Print the TIFF layout and check OpenSlide opens it as generic-tiff."""
    import openslide
    import tifffile

    with tifffile.TiffFile(path) as tf:
        pages = []
        for p in tf.pages:
            sub = p.tags.get("YCbCrSubSampling")
            pages.append((p.imagewidth, p.imagelength))
            print(f"  page {p.index}: {p.imagewidth}x{p.imagelength} tile {p.tilewidth}x{p.tilelength} "
                  f"compression {p.compression.name} photometric {p.photometric.name} "
                  f"ycbcr-subsampling-tag {sub.value if sub else None} bigtiff {tf.is_bigtiff}")
            if p.index == 0 and p.compression.name == "JPEG":
                print(f"    first JPEG tile: {jpeg_layout(tf, p)}")
    slide = openslide.OpenSlide(str(path))
    vendor = slide.properties.get(openslide.PROPERTY_NAME_VENDOR)
    dims = [tuple(d) for d in slide.level_dimensions]
    print(f"  openslide {openslide.__library_version__}: vendor {vendor}, levels {dims}, "
          f"downsamples {[round(d, 4) for d in slide.level_downsamples]}")
    if vendor != "generic-tiff":
        sys.exit(f"OpenSlide reports vendor {vendor!r}, expected 'generic-tiff'")
    if dims != pages:
        sys.exit(f"OpenSlide levels {dims} differ from TIFF pages {pages}")
    # One pixel through both decoders, away from the origin, as a sanity check.
    x, y = dims[0][0] // 2 + 3, dims[0][1] // 2 + 5
    px = slide.read_region((x, y), 0, (1, 1)).getpixel((0, 0))
    print(f"  openslide pixel at ({x},{y}): {px}")
    slide.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="40000x30000", help="WIDTHxHEIGHT of level 0")
    ap.add_argument("--out", type=Path, help="output path (default bench-data/mosaic-WxH.tif)")
    ap.add_argument("--compression", choices=["jpeg", "deflate", "none"], default="jpeg")
    ap.add_argument("--quality", type=int, default=89,
                    help="JPEG quality (libvips uses YCbCr 4:2:0 below 90, RGB 4:4:4 from 90)")
    ap.add_argument("--tile", type=int, default=256, help="tile edge in pixels")
    ap.add_argument("--no-pyramid", action="store_true", help="write level 0 only")
    ap.add_argument("--check-only", action="store_true", help="only describe/check an existing file")
    args = ap.parse_args()

    width, height = parse_size(args.size)
    out = args.out
    if out is None:
        suffix = "" if args.compression == "jpeg" else f"-{args.compression}"
        out = REPO / "bench-data" / f"mosaic-{width}x{height}{suffix}.tif"
    if not args.check_only:
        build(width, height, out, args.compression, args.quality, args.tile, not args.no_pyramid)
    describe_and_check(out)


if __name__ == "__main__":
    main()
