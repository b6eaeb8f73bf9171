#!/usr/bin/env python3
"""Builds the demo kidney slide: the 10 HuBMAP PAS test tiles laid out on a
white background as one pyramidal tiled TIFF, plus its ground-truth mask.

    python3 scripts/make_demo_slide.py [DATA_DIR] [OUT_DIR]

DATA_DIR defaults to ../shared/data/labeled/hubmap-glomeruli-cnsiu and
OUT_DIR to demo/. Writes:
  kidney-mosaic.tif        RGB, JPEG (quality 85, 4:2:0) 256×256 tiles, pyramid
                           of 2× reductions down to < 512 px
  kidney-mosaic-truth.tif  uint8 labels (0 background, 1 glomerulus),
                           deflate 256×256 tiles, same pyramid
  kidney-mosaic.csv        where each tile sits (level-0 pixels)

Layout: 5 columns × 2 rows of 1600×1200 tiles in file-name order (by
number), 256-pixel white gaps and margins, so the slide is 9536×3168. The
tiles' µm/px is not recorded by the source, so the slide carries none and
segment needs --downsample. Needs pyvips (PyPI); only for regenerating the
committed files.
"""
import os
import sys

import pyvips

COLUMNS, ROWS, GAP = 5, 2, 256
TILE_W, TILE_H = 1600, 1200


def main() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    data = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        here, "..", "..", "shared", "data", "labeled", "hubmap-glomeruli-cnsiu")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(here, "..", "demo")
    names = sorted(
        (f[:-4] for f in os.listdir(os.path.join(data, "images", "test"))
         if f.endswith(".jpg")), key=int)
    assert len(names) == COLUMNS * ROWS, names

    width = COLUMNS * TILE_W + (COLUMNS + 1) * GAP
    height = ROWS * TILE_H + (ROWS + 1) * GAP
    slide = pyvips.Image.black(width, height, bands=3).invert().cast("uchar")
    truth = pyvips.Image.black(width, height).cast("uchar")
    rows = ["tile,x,y,width,height"]
    for i, name in enumerate(names):
        x = GAP + (i % COLUMNS) * (TILE_W + GAP)
        y = GAP + (i // COLUMNS) * (TILE_H + GAP)
        image = pyvips.Image.new_from_file(
            os.path.join(data, "images", "test", name + ".jpg"))
        mask = pyvips.Image.new_from_file(
            os.path.join(data, "masks", "test", name + ".png"))
        assert (image.width, image.height) == (TILE_W, TILE_H), name
        assert (mask.width, mask.height) == (TILE_W, TILE_H), name
        if mask.bands > 1:
            mask = mask[0]
        slide = slide.insert(image[:3], x, y)
        truth = truth.insert((mask > 127).ifthenelse(1, 0).cast("uchar"), x, y)
        rows.append(f"{name},{x},{y},{TILE_W},{TILE_H}")

    slide.tiffsave(
        os.path.join(out, "kidney-mosaic.tif"), tile=True, tile_width=256,
        tile_height=256, pyramid=True, compression="jpeg", Q=85, bigtiff=False)
    truth.tiffsave(
        os.path.join(out, "kidney-mosaic-truth.tif"), tile=True, tile_width=256,
        tile_height=256, pyramid=True, compression="deflate",
        region_shrink="mode")
    with open(os.path.join(out, "kidney-mosaic.csv"), "w") as f:
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
