#!/usr/bin/env python3
"""Peer read benchmark: how fast openslide-python and pyvips read a level 0.

What it measures
    The whole level 0 of SLIDE is read once per (reader, thread count) as a
    grid of REGION x REGION regions (default 4096; the last column / row is
    narrower, nothing is read outside the image). Regions are numbered in
    row-major order and region i goes to thread i % N (static round-robin
    over regions; `--split rows` instead deals out whole rows of regions
    round-robin, `--split queue` lets threads pull the next region from a
    shared queue). Each thread is one Python thread reading its regions one
    after another.

    Readers
      openslide   one shared OpenSlide handle; read_region((x, y), 0, (w, h)),
                  which returns a PIL RGBA image (includes openslide-python's
                  premultiplied-ARGB -> RGBA conversion).
      vips-fetch  each thread opens its own pyvips image (tiffload,
                  access=random) and pyvips.Region and calls fetch(x, y, w, h)
                  -> RGB bytes. (Sharing one image between threads was slower
                  and did not scale: its tile reads serialise.)
      vips-crop   one shared image; image.crop(x, y, w, h).write_to_memory()
                  -> RGB bytes; libvips itself may use up to VIPS_CONCURRENCY
                  workers per call.
    Every run is a fresh child process with VIPS_CONCURRENCY set to the
    thread count (libvips reads it once, at start-up) and the libvips
    operation cache off. The file is read once beforehand so it sits in the
    OS page cache; timings are wall clock from the first region to the last,
    excluding opening the file. Mpx/s = level-0 pixels / seconds / 1e6.
    The 1-minute load average before and after each run is recorded: the
    numbers are only meaningful on an otherwise idle machine.

Output
    A table (reader x threads -> seconds, Mpx/s) and one machine-readable
    line starting with `BENCH_JSON ` followed by a JSON object.

How to rerun (from the repository root)
    python3 scripts/bench/make_bench_slide.py          # once, ~20 s
    python3 scripts/bench/peer_read_bench.py bench-data/mosaic-40000x30000.tif
    python3 scripts/bench/peer_read_bench.py SLIDE --threads 1 2 4 \
        --readers openslide vips-fetch --split queue --region 2048

Python here is only a peer for comparing against the Swift reader.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import threading
import time

READERS = ["openslide", "vips-fetch", "vips-crop"]


def regions(width, height, size):
    out = []
    for y in range(0, height, size):
        for x in range(0, width, size):
            out.append((x, y, min(size, width - x), min(size, height - y)))
    return out


def assign(regs, width, size, n, split):
    """List of per-thread region lists (for 'queue', one shared list)."""
    if split == "index":
        return [regs[t::n] for t in range(n)]
    if split == "rows":
        cols = -(-width // size)
        return [[r for i, r in enumerate(regs) if (i // cols) % n == t] for t in range(n)]
    return None


def child(args):
    """Run one (reader, threads) measurement; print a JSON result line."""
    n = args.threads[0]
    reader = args.readers[0]
    t_open = time.perf_counter()
    if reader == "openslide":
        import openslide
        slide = openslide.OpenSlide(args.slide)
        width, height = slide.dimensions
        version = openslide.__library_version__

        def make_reader():
            def read(x, y, w, h):
                img = slide.read_region((x, y), 0, (w, h))
                assert img.size == (w, h)
                return w * h
            return read
    else:
        import pyvips
        pyvips.cache_set_max(0)
        image = pyvips.Image.new_from_file(args.slide, access="random")
        width, height = image.width, image.height
        version = f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}"

        def make_reader():
            if reader == "vips-fetch":
                own = pyvips.Image.new_from_file(args.slide, access="random")
                region = pyvips.Region.new(own)

                def read(x, y, w, h):
                    data = region.fetch(x, y, w, h)
                    assert len(data) == w * h * image.bands
                    return w * h
            else:
                def read(x, y, w, h):
                    data = image.crop(x, y, w, h).write_to_memory()
                    assert len(data) == w * h * image.bands
                    return w * h
            return read
    open_s = time.perf_counter() - t_open

    regs = regions(width, height, args.region)
    parts = assign(regs, width, args.region, n, args.split)
    queue = list(reversed(regs))
    lock = threading.Lock()
    done = [0] * n
    errors = []

    def work(t):
        try:
            read = make_reader()
            if parts is not None:
                for r in parts[t]:
                    done[t] += read(*r)
            else:
                while True:
                    with lock:
                        if not queue:
                            return
                        r = queue.pop()
                    done[t] += read(*r)
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(n)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    secs = time.perf_counter() - t0
    if errors:
        sys.exit(f"{reader} x{n}: {errors[0]}")
    assert sum(done) == width * height, "not every pixel was read"
    print(json.dumps({"reader": reader, "threads": n, "seconds": secs, "open_seconds": open_s,
                      "pixels": width * height, "mpx_per_s": width * height / secs / 1e6,
                      "regions": len(regs), "width": width, "height": height, "library": version,
                      "per_thread_pixels": done}))


def warm_page_cache(path):
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("slide")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--readers", nargs="+", choices=READERS, default=READERS)
    ap.add_argument("--region", type=int, default=4096, help="region edge in level-0 pixels")
    ap.add_argument("--split", choices=["index", "rows", "queue"], default="index")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return

    warm_page_cache(args.slide)
    if os.getloadavg()[0] > 0.5:
        print(f"warning: 1-min load average {os.getloadavg()[0]:.2f}; other work will skew the numbers",
              file=sys.stderr)
    results = []
    for reader in args.readers:
        for n in args.threads:
            env = dict(os.environ, VIPS_CONCURRENCY=str(n))
            load_before = os.getloadavg()[0]
            cmd = [sys.executable, __file__, args.slide, "--child", "--readers", reader,
                   "--threads", str(n), "--region", str(args.region), "--split", args.split]
            out = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if out.returncode != 0:
                sys.exit(f"{reader} x{n} failed:\n{out.stderr}")
            res = json.loads(out.stdout.strip().splitlines()[-1])
            res["load_before"], res["load_after"] = round(load_before, 2), round(os.getloadavg()[0], 2)
            results.append(res)
            print(f"  {reader:<11} threads {n}: {res['seconds']:7.2f} s  {res['mpx_per_s']:8.1f} Mpx/s  "
                  f"(load {res['load_before']} -> {res['load_after']})", file=sys.stderr, flush=True)

    first = results[0]
    print(f"\n{args.slide}: level 0 {first['width']}x{first['height']} "
          f"({first['pixels'] / 1e6:.0f} Mpx), {first['regions']} regions of {args.region}, split {args.split}")
    print(f"{'reader':<12}{'library':<10}{'threads':>8}{'seconds':>10}{'Mpx/s':>10}{'load':>12}")
    for r in results:
        print(f"{r['reader']:<12}{r['library']:<10}{r['threads']:>8}{r['seconds']:>10.2f}{r['mpx_per_s']:>10.1f}"
              f"{r['load_before']:>6.2f}/{r['load_after']:<5.2f}")
    summary = {
        "bench": "peer_read_level0", "slide": args.slide, "region": args.region, "split": args.split,
        "width": first["width"], "height": first["height"], "cpus": os.cpu_count(),
        "machine": platform.machine(), "python": platform.python_version(),
        "results": [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()
                     if k in ("reader", "library", "threads", "seconds", "mpx_per_s", "open_seconds",
                              "load_before", "load_after")}
                    for r in results],
    }
    print("BENCH_JSON " + json.dumps(summary))


if __name__ == "__main__":
    main()
