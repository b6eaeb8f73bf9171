#!/usr/bin/env bash
# Reading benchmark: HoloHisto's reader against openslide-python and pyvips,
# in one run, on the same slide, grid and thread counts; prints one table
# with each reader's Mpx/s and its ratio to HoloHisto's direct reader.
#
#   make bench                     (builds, makes the slide if missing, runs)
#   SLIDE=path.tif bash scripts/bench/run_slide_bench.sh
#
# Needs python3 with openslide-python (+ openslide-bin) and pyvips
# (+ pyvips-binary) for the peers; the slide is built by
# scripts/bench/make_bench_slide.py (40000×30000 JPEG pyramid mosaicked from
# the real HuBMAP tiles, ~450 MB, into bench-data/).
set -euo pipefail
cd "$(dirname "$0")/../.."
slide="${SLIDE:-bench-data/mosaic-40000x30000.tif}"
[ -f "$slide" ] || python3 scripts/bench/make_bench_slide.py
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# Warm the page cache so neither side pays for the disk.
cat "$slide" > /dev/null
.build/release/slide-bench "$slide" | tee "$out/swift.txt"
python3 scripts/bench/peer_read_bench.py "$slide" --readers openslide vips-fetch \
  | tee "$out/peer.txt"

python3 - "$out/swift.txt" "$out/peer.txt" <<'PY'
import json, sys
def load(path):
    for line in open(path):
        if line.startswith("BENCH_JSON "):
            return json.loads(line[len("BENCH_JSON "):])
swift, peer = load(sys.argv[1]), load(sys.argv[2])
rows = [("holohisto " + r["reader"], r["threads"], r["mpx_per_s"]) for r in swift["results"]]
rows += [(r["reader"] + " (python)", r["threads"], r["mpx_per_s"]) for r in peer["results"]]
base = {r["threads"]: r["mpx_per_s"] for r in swift["results"] if r["reader"] == "direct-threads"}
print("\n| reader | threads | Mpx/s | holohisto direct ÷ this |")
print("|---|---|---|---|")
for name, threads, rate in rows:
    ratio = base.get(threads, float("nan")) / rate
    print(f"| {name} | {threads} | {rate:.0f} | {ratio:.2f} |")
PY
