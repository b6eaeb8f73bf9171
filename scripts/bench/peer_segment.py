#!/usr/bin/env python3
"""Python peer of `holohisto segment`: whole-slide segmentation with
openslide-python (reading), PyTorch on the CPU (model) and tifffile (output),
written the way a careful Python user would, for the whole-slide benchmark
(wall-time ratio and peak RSS against `holohisto segment`).

    python3 scripts/bench/peer_segment.py SLIDE --model models/glomeruli/holohisto \
        --downsample 2 -o OUT.tif

Same job, same way as holohisto (Sources/Inference/SlideSegmenter.swift):

- Model: scripts/model_reference.py's `load_checkpoint` (STEM.json +
  STEM.safetensors), eval mode, `torch.inference_mode()`, 2 threads, batches
  of 2 tiles, softmax over classes.
- Tissue (simpler than holohisto's detector, on purpose: the benchmark is
  about the segmentation pipeline): Otsu threshold of HSV saturation at the
  lowest pyramid level (transparent pixels composited onto white); a tile is
  run when any tissue-mask pixel lies under it.
- Tiling: a model pixel is D level-0 pixels; model size ceil(W/D) x
  ceil(H/D); tiles T=512, overlap O=64, stride S=T-O; origins 0, S, 2S, ...
  while < length-T, then length-T (one origin 0 when length <= T). Each tile
  is read at the level `get_best_level_for_downsample(D)`, region
  round(T*D/level_downsample) pixels from level pixel floor(x*D/level_ds),
  composited onto white, and, when that is not T, resized to TxT bilinearly
  (half-pixel centres, edge clamped, rounded to 8 bits: torch `interpolate`,
  no antialias, which is holohisto's Resampler.bilinear). RGB in [0, 1].
- Blending: per-axis ramp w(i) = max(1e-3, min(1, (min(i, T-1-i)+0.5)/O));
  the weighted softmax probabilities and the weights are summed; label =
  argmax (first on ties); pixels no tile touched are 0.
- Memory: tile rows top to bottom; a ring band of (T+S) model rows x model
  width x (classes+1) float32 (np.zeros: calloc, so columns no tile touches
  are never backed by RAM), with the touched column range of each row
  remembered so finishing and clearing a row costs only that range. Rows
  above the next tile row are finished before it runs.
- Output: level-0 labels are nearest from model pixels (level-0 x takes
  model column floor((x+0.5)/D), same for rows). Level 0 is streamed into a
  tiled BigTIFF (256x256 tiles, deflate level 6, palette colours like
  holohisto's) through a generator of tiles, fed strip by strip (256 level-0
  rows) as model rows finish, so the whole level 0 is never in memory; tiles
  are zlib-compressed here (one cached stream for all-background tiles, as
  holohisto does) and handed to tifffile pre-encoded. Reduced levels halve
  (rounding up) until a level fits in one tile and follow level 0 as pages
  with SubfileType=1 (as holohisto's). Unlike holohisto, which reduces by
  2x2 mode, the peer reduces by 2x2 subsampling (top-left pixel of each
  block), which is acceptable for a peer: while level 0 is written, its
  [::2, ::2] subsample (level 1) is spooled to a sparse raw file beside the
  output (all-background rows are not written), and every reduced level k
  is level 1 read back row by row with a stride of 2^(k-1). Memory: one
  256-row strip per level being written (about 26 MB at level 0 for a
  100 000-pixel-wide slide); disk: the spool, at most W*H/4 bytes but sparse.
  The TIFF is written under a temporary name and renamed when complete.
- Threads: torch.set_num_threads(2); OMP_WAIT_POLICY=passive unless set
  (as the benchmark sets it for holohisto).
- No read-ahead thread: tiles are read, then the model runs (holohisto reads
  the next batch while the model runs; reading is a small share here).

Prints one JSON line: tiles, tissue tiles, model seconds (sum of model calls,
softmax included), read seconds (read + composite + resize), wall seconds
(from start, model load included, to the renamed output), level-0 pixel
count per class and of class 1, and peak RSS bytes (ru_maxrss).
"""
import argparse
import json
import math
import os
import resource
import sys
import tempfile
import time
import zlib

# The benchmark runs holohisto with OMP_WAIT_POLICY=passive (threads sleep
# rather than spin between parallel regions); give torch's OpenMP the same.
# It must be set before torch loads its OpenMP runtime. On a busy 2-core
# machine it made a 2x512x512 forward 2.4x faster (1.1 s against 2.7 s).
os.environ.setdefault("OMP_WAIT_POLICY", "passive")

import numpy as np
import openslide
import torch
import torch.nn.functional as F
import tifffile
from skimage.color import rgb2hsv
from skimage.filters import threshold_otsu

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from model_reference import load_checkpoint  # noqa: E402

OUT_TILE = 256
DEFLATE_LEVEL = 6


def origins(length, tile, stride):
    if length <= tile:
        return [0]
    return list(range(0, length - tile, stride)) + [length - tile]


def ramp(tile, overlap):
    if overlap <= 0:
        return np.ones(tile, np.float32)
    i = np.arange(tile, dtype=np.float32)
    edge = np.minimum(i, tile - 1 - i) + 0.5
    return np.maximum(np.float32(1e-3), np.minimum(np.float32(1), edge / np.float32(overlap)))


def on_white(region):
    """PIL RGBA (openslide-python, not premultiplied) -> uint8 RGB on white."""
    a = np.asarray(region)
    rgb, alpha = a[..., :3], a[..., 3]
    if alpha.min() == 255:
        return np.ascontiguousarray(rgb)
    al = alpha[..., None].astype(np.float32) / 255
    return (rgb * al + 255 * (1 - al) + 0.5).astype(np.uint8)


def tissue_mask(slide):
    """Otsu on HSV saturation at the lowest level; (mask, level downsample)."""
    level = slide.level_count - 1
    rgb = on_white(slide.read_region((0, 0), level, slide.level_dimensions[level]))
    saturation = rgb2hsv(rgb)[..., 1]
    if saturation.min() == saturation.max():
        return np.zeros(saturation.shape, bool), slide.level_downsamples[level]
    return saturation > threshold_otsu(saturation), slide.level_downsamples[level]


def has_tissue(mask, mask_ds, x, y, tile, d):
    scale = d / mask_ds
    h, w = mask.shape
    x0, y0 = max(0, int(x * scale)), max(0, int(y * scale))
    x1 = min(w, math.ceil((x + tile) * scale))
    y1 = min(h, math.ceil((y + tile) * scale))
    return x0 < x1 and y0 < y1 and bool(mask[y0:y1, x0:x1].any())


def read_tiles(slide, xs, y, tile, d, level, level_ds):
    r = d / level_ds
    size = max(1, round(tile * r))
    out = torch.empty(len(xs), 3, tile, tile)
    for b, x in enumerate(xs):
        lx, ly = math.floor(x * r), math.floor(y * r)
        region = slide.read_region(
            (round(lx * level_ds), round(ly * level_ds)), level, (size, size))
        t = torch.from_numpy(on_white(region)).permute(2, 0, 1).float()
        if size != tile:
            t = F.interpolate(t[None], size=(tile, tile), mode="bilinear",
                              align_corners=False)[0]
            t = torch.floor(t + 0.5)
        out[b] = t / 255
    return out


class TileEncoder:
    """Pre-encoded deflate tiles (tifffile writes bytes as given)."""

    def __init__(self):
        self.empty = zlib.compress(bytes(OUT_TILE * OUT_TILE), DEFLATE_LEVEL)
        self.pad = np.zeros((OUT_TILE, OUT_TILE), np.uint8)

    def strip_tiles(self, strip, rows, nonzero):
        """Encoded tiles of the first `rows` rows of `strip`, left to right."""
        width = strip.shape[1]
        for x0 in range(0, width, OUT_TILE):
            if not nonzero:
                yield self.empty
                continue
            t = strip[:rows, x0:x0 + OUT_TILE]
            if not t.any():
                yield self.empty
                continue
            if t.shape != (OUT_TILE, OUT_TILE):
                self.pad[:] = 0
                self.pad[:t.shape[0], :t.shape[1]] = t
                t = self.pad
            yield zlib.compress(np.ascontiguousarray(t).tobytes(), DEFLATE_LEVEL)


def segment_level0(slide, model, d, tile, overlap, batch, encoder, spool, stats):
    """Generator of level 0's encoded 256x256 tiles (row-major), running the
    segmentation as tifffile asks for tiles. Spools level 1 ([::2, ::2]) into
    `spool` (a file opened for writing) and records its non-empty rows."""
    W, H = slide.dimensions
    mw, mh = math.ceil(W / d), math.ceil(H / d)
    stride = tile - overlap
    xs, ys = origins(mw, tile, stride), origins(mh, tile, stride)
    level = slide.get_best_level_for_downsample(d)
    level_ds = slide.level_downsamples[level]
    classes = model.cfg["classes"]

    t = time.perf_counter()
    mask, mask_ds = tissue_mask(slide)
    stats["tissue_seconds"] = time.perf_counter() - t
    plan = [[x for x in xs if has_tissue(mask, mask_ds, x, y, tile, d)] for y in ys]
    stats["tiles"] = len(xs) * len(ys)
    stats["tissue_tiles"] = sum(len(p) for p in plan)

    cap = tile + stride
    band = np.zeros((cap, mw, classes + 1), np.float32)   # calloc: lazily backed
    touched = [None] * cap                                 # (lo, hi) per slot
    top = 0
    w1 = ramp(tile, overlap)
    w2 = np.outer(w1, w1)

    # level-0 output state
    col = np.minimum(mw - 1, ((np.arange(W) + 0.5) / d).astype(np.int64))
    strip = np.zeros((OUT_TILE, W), np.uint8)
    state = {"next": 0, "fill": 0, "nonzero": False}
    w_l1 = (W + 1) // 2
    spooled = np.zeros((H + 1) // 2, bool)
    counts = np.zeros(max(classes, 2), np.int64)
    # tifffile stops pulling after the last tile, so nothing after the final
    # yield would run: hand the results over before the first one.
    stats["class_pixels"], stats["spooled"] = counts, spooled

    def flush_strip():
        rows = state["fill"]
        r0 = state["next"] - rows
        if state["nonzero"]:
            part = strip[:rows]
            counts[:] += np.bincount(part.ravel(), minlength=len(counts))[:len(counts)]
            sub = part[::2, ::2]                 # level 1 = level 0 subsampled
            first = r0 // 2                      # r0 is a multiple of 256
            for i in range(sub.shape[0]):
                if sub[i].any():
                    spool.seek((first + i) * w_l1)
                    spool.write(sub[i].tobytes())
                    spooled[first + i] = True
        else:
            counts[0] += rows * W
        yield from encoder.strip_tiles(strip, rows, state["nonzero"])
        state["fill"] = 0
        state["nonzero"] = False

    def emit(labels, first):
        """Model rows [first, first+len) finished -> level-0 rows."""
        count = labels.shape[0]
        while state["next"] < H:
            r = state["next"]
            m = int((r + 0.5) / d)
            if m >= first + count:
                break
            row = labels[m - first]
            i = state["fill"]
            if row.any():
                strip[i] = row[col]
                state["nonzero"] = True
            else:
                strip[i] = 0
            state["fill"] += 1
            state["next"] += 1
            if state["fill"] == OUT_TILE or state["next"] == H:
                yield from flush_strip()

    def finish(below):
        nonlocal top
        if below <= top:
            return
        count = below - top
        labels = np.zeros((count, mw), np.uint8)
        for i in range(count):
            slot = (top + i) % cap
            rng = touched[slot]
            if rng is None:
                continue
            lo, hi = rng
            s = band[slot, lo:hi]
            lab = s[:, :classes].argmax(1).astype(np.uint8)
            lab[s[:, classes] <= 0] = 0
            labels[i, lo:hi] = lab
            s[:] = 0
            touched[slot] = None
        yield from emit(labels, top)
        top = below

    for row, y in enumerate(ys):
        yield from finish(y)
        todo = plan[row]
        for start in range(0, len(todo), batch):
            bx = todo[start:start + batch]
            t0 = time.perf_counter()
            inp = read_tiles(slide, bx, y, tile, d, level, level_ds)
            t1 = time.perf_counter()
            with torch.inference_mode():
                prob = model(inp).softmax(1)
            t2 = time.perf_counter()
            stats["read_seconds"] += t1 - t0
            stats["model_seconds"] += t2 - t1
            prob = prob.numpy()
            th = min(tile, mh - y)
            slots = (y + np.arange(th)) % cap
            for b, x in enumerate(bx):
                tw = min(tile, mw - x)
                add = np.empty((th, tw, classes + 1), np.float32)
                wt = w2[:th, :tw]
                add[..., :classes] = prob[b, :, :th, :tw].transpose(1, 2, 0) * wt[..., None]
                add[..., classes] = wt
                band[slots, x:x + tw] += add
                for s in slots:
                    old = touched[s]
                    touched[s] = (x, x + tw) if old is None else (
                        min(old[0], x), max(old[1], x + tw))
            stats["done"] += len(bx)
            if stats["progress"]:
                print(f"tiles {stats['done']}/{stats['tissue_tiles']}", file=sys.stderr)
    yield from finish(mh)


def reduced_tiles(spool_path, spooled, w1, h1, k, encoder):
    """Encoded tiles of reduced level k >= 1 (level 1 subsampled by 2^(k-1))."""
    step = 1 << (k - 1)
    wk, hk = math.ceil(w1 / step), math.ceil(h1 / step)
    strip = np.zeros((OUT_TILE, wk), np.uint8)
    row = bytearray(w1)
    with open(spool_path, "rb") as f:
        for r0 in range(0, hk, OUT_TILE):
            rows = min(OUT_TILE, hk - r0)
            nonzero = False
            for i in range(rows):
                src = (r0 + i) * step
                if spooled[src]:
                    f.seek(src * w1)
                    n = f.readinto(row)
                    line = np.frombuffer(row, np.uint8)
                    if n < w1:
                        line = line.copy()
                        line[n:] = 0
                    strip[i] = line[::step]
                    nonzero = True
                else:
                    strip[i] = 0
            yield from encoder.strip_tiles(strip, rows, nonzero)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("slide")
    p.add_argument("--model", required=True, help="checkpoint stem (STEM.json + .safetensors)")
    p.add_argument("--downsample", type=float, default=2.0)
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--tile", type=int, default=512)
    p.add_argument("--overlap", type=int, default=64)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--progress", action="store_true", help="print tiles done to stderr")
    a = p.parse_args()

    started = time.perf_counter()
    torch.set_num_threads(2)
    model = load_checkpoint(a.model + ".json", a.model + ".safetensors")
    slide = openslide.OpenSlide(a.slide)
    W, H = slide.dimensions
    d = a.downsample
    stats = {"read_seconds": 0.0, "model_seconds": 0.0, "done": 0,
             "progress": a.progress}
    encoder = TileEncoder()

    # pyramid sizes: halve (rounding up) until a level fits in one tile
    sizes = [(H, W)]
    while sizes[-1][0] > OUT_TILE or sizes[-1][1] > OUT_TILE:
        sizes.append(((sizes[-1][0] + 1) // 2, (sizes[-1][1] + 1) // 2))

    colormap = np.zeros((3, 256), np.uint16)
    colormap[:, 1] = np.array([0, 200, 0]) * 257     # class 1: Glomerulus, green
    for v in range(2, 256):
        colormap[:, v] = v * 257

    out_dir = os.path.dirname(os.path.abspath(a.output))
    partial = a.output + ".partial"
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".peer-spool-") as tmp:
        spool_path = os.path.join(tmp, "level1.raw")
        h1, w1 = sizes[1] if len(sizes) > 1 else ((H + 1) // 2, (W + 1) // 2)
        write_seconds = 0.0
        with open(spool_path, "wb") as spool, \
                tifffile.TiffWriter(partial, bigtiff=True) as tif:
            common = dict(dtype=np.uint8, tile=(OUT_TILE, OUT_TILE),
                          compression="zlib", photometric="palette",
                          colormap=colormap, metadata=None)
            tif.write(segment_level0(slide, model, d, a.tile, a.overlap, a.batch,
                                     encoder, spool, stats),
                      shape=(H, W), **common)
            spool.truncate(h1 * w1)   # sparse: unwritten rows are holes
            spool.flush()
            t = time.perf_counter()
            for k in range(1, len(sizes)):
                tif.write(reduced_tiles(spool_path, stats["spooled"], w1, h1, k, encoder),
                          shape=sizes[k], subfiletype=1, **common)
            write_seconds = time.perf_counter() - t
        os.replace(partial, a.output)
    wall = time.perf_counter() - started
    counts = stats["class_pixels"].tolist()
    if sum(counts) != W * H or stats["done"] != stats["tissue_tiles"]:
        raise RuntimeError(f"incomplete: {sum(counts)} of {W * H} pixels, "
                           f"{stats['done']} of {stats['tissue_tiles']} tiles")
    print(json.dumps({
        "slide": a.slide, "output": a.output, "downsample": d,
        "tiles": stats["tiles"], "tissue_tiles": stats["tissue_tiles"],
        "model_seconds": round(stats["model_seconds"], 3),
        "read_seconds": round(stats["read_seconds"], 3),
        "tissue_seconds": round(stats["tissue_seconds"], 3),
        "reduced_levels_seconds": round(write_seconds, 3),
        "wall_seconds": round(wall, 3),
        "class_pixels": counts, "class1_pixels": counts[1],
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }))


if __name__ == "__main__":
    main()
