#!/usr/bin/env python3
"""Build a 100000 x 100000 synthetic whole slide for `holohisto segment` benchmarks.

What it produces
    bench-data/big-100k.tif (bench-data/ is git-ignored): a 100000 x 100000
    RGB pyramidal tiled BigTIFF (256 x 256 JPEG tiles, quality 85, so libvips
    stores them as YCbCr 4:2:0; each pyramid level half the previous), white
    except for real PAS kidney tiles pasted onto it, and
    bench-data/big-100k.csv (tile,cluster,x,y,width,height in level-0 pixels).

    The tiles are the HuBMAP train tiles (1600 x 1200 JPEGs, 90 of them)
    under ../shared/data/labeled/hubmap-glomeruli-cnsiu/images/train, taken
    in numeric file-name order (cycling when --tiles exceeds 90). They are
    split into --clusters groups of consecutive tiles; each group is laid
    out as abutting tiles, --cluster-columns across (by default 3 clusters
    of 30 tiles, 6 x 5 each, i.e. 9600 x 6000 "tissue sections"), and the
    clusters sit at fixed fractions of the slide (see ANCHORS), so the
    layout depends only on the arguments.

    No resolution (µm/px) is written: the tiles' true scale is unknown, so
    `segment` needs --downsample.

    Everything is lazy in libvips: each cluster is one arrayjoin of the
    source JPEGs, inserted into a constant white image, and tiffsave streams
    the result, so memory stays at a few hundred MB whatever the slide size.

How to rerun (from the repository root)
    python3 scripts/bench/make_big_slide.py                  # all 90 tiles
    python3 scripts/bench/make_big_slide.py --tiles 30 --out bench-data/big-30.tif
    VIPS_CONCURRENCY=1 python3 scripts/bench/make_big_slide.py   # one thread

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
TILES = REPO.parent / "shared" / "data" / "labeled" / "hubmap-glomeruli-cnsiu" / "images" / "train"
TILE_W, TILE_H = 1600, 1200

# Top-left corners of the clusters as fractions of the slide width/height,
# used in order (cycled with a small shift if there are more clusters).
ANCHORS = [(0.08, 0.10), (0.55, 0.30), (0.20, 0.62), (0.70, 0.75), (0.40, 0.05), (0.05, 0.85)]


def source_tiles():
    files = sorted(TILES.glob("*.jpg"), key=lambda p: (len(p.stem), p.stem))
    if not files:
        sys.exit(f"no HuBMAP train tiles found under {TILES}")
    return files


def layout(n_tiles, n_clusters, columns, width, height):
    """[(cluster, tile index, x, y)] for n_tiles tiles in n_clusters clusters."""
    n_clusters = max(1, min(n_clusters, n_tiles))
    per = [n_tiles // n_clusters + (1 if c < n_tiles % n_clusters else 0) for c in range(n_clusters)]
    placed, first = [], 0
    for c, count in enumerate(per):
        cols = min(columns, count)
        rows = math.ceil(count / cols)
        fx, fy = ANCHORS[c % len(ANCHORS)]
        shift = 0.03 * (c // len(ANCHORS))
        x0 = int((fx + shift) * width)
        y0 = int((fy + shift) * height)
        # Keep the cluster on the slide.
        x0 = max(0, min(x0, width - cols * TILE_W))
        y0 = max(0, min(y0, height - rows * TILE_H))
        if x0 + cols * TILE_W > width or y0 + rows * TILE_H > height:
            sys.exit(f"cluster {c} ({cols}x{rows} tiles) does not fit on a {width}x{height} slide")
        for k in range(count):
            placed.append((c, first + k, x0 + (k % cols) * TILE_W, y0 + (k // cols) * TILE_H))
        first += count
    # Overlap check between cluster bounding boxes (abutting is fine).
    boxes = {}
    for c, _, x, y in placed:
        b = boxes.get(c, [x, y, x + TILE_W, y + TILE_H])
        boxes[c] = [min(b[0], x), min(b[1], y), max(b[2], x + TILE_W), max(b[3], y + TILE_H)]
    bl = list(boxes.items())
    for i in range(len(bl)):
        for j in range(i + 1, len(bl)):
            a, b = bl[i][1], bl[j][1]
            if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                sys.exit(f"clusters {bl[i][0]} and {bl[j][0]} overlap; use fewer tiles or clusters")
    return placed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tiles", type=int, default=90, help="number of tiles to paste (default 90)")
    ap.add_argument("--out", type=Path, default=REPO / "bench-data" / "big-100k.tif",
                    help="output TIFF (default bench-data/big-100k.tif); the CSV goes beside it")
    ap.add_argument("--size", type=int, default=100000, help="slide edge in pixels (square)")
    ap.add_argument("--clusters", type=int, default=3, help="number of tissue clusters (default 3)")
    ap.add_argument("--cluster-columns", type=int, default=6, help="tiles across per cluster (default 6)")
    ap.add_argument("--quality", type=int, default=85, help="JPEG quality (default 85)")
    args = ap.parse_args()
    if args.tiles < 1:
        sys.exit("--tiles must be at least 1")

    import pyvips

    files = source_tiles()
    width = height = args.size
    placed = layout(args.tiles, args.clusters, args.cluster_columns, width, height)

    t0 = time.time()
    slide = pyvips.Image.black(width, height, bands=3).invert().cast("uchar")
    rows = ["tile,cluster,x,y,width,height"]
    clusters = {}
    for c, i, x, y in placed:
        clusters.setdefault(c, []).append((i, x, y))
    for c, members in clusters.items():
        images = []
        for i, x, y in members:
            path = files[i % len(files)]
            img = pyvips.Image.new_from_file(str(path), access="sequential")
            if img.bands != 3 or img.width != TILE_W or img.height != TILE_H:
                sys.exit(f"unexpected tile {path}: {img.width}x{img.height}x{img.bands}")
            images.append(img)
            rows.append(f"{path.stem},{c},{x},{y},{TILE_W},{TILE_H}")
        cols = len({x for _, x, _ in members})
        block = pyvips.Image.arrayjoin(images, across=cols, background=[255, 255, 255])
        x0 = min(x for _, x, _ in members)
        y0 = min(y for _, _, y in members)
        slide = slide.insert(block, x0, y0)

    out = args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    slide.tiffsave(str(tmp), tile=True, tile_width=256, tile_height=256, pyramid=True,
                   compression="jpeg", Q=args.quality, bigtiff=True)
    os.replace(tmp, out)
    csv = out.with_suffix(".csv")
    csv.write_text("\n".join(rows) + "\n")
    elapsed = time.time() - t0
    tissue = len(placed) * TILE_W * TILE_H
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB, {width}x{height}, "
          f"{len(placed)} tiles in {len(clusters)} clusters, {tissue / 1e6:.0f} Mpx of tissue tiles) "
          f"and {csv} in {elapsed:.1f} s "
          f"(libvips {pyvips.version(0)}.{pyvips.version(1)}, concurrency {pyvips.vips_lib.vips_concurrency_get()})")


if __name__ == "__main__":
    main()
