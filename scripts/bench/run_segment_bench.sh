#!/usr/bin/env bash
# Whole-slide segmentation benchmark: `holohisto segment` on a synthetic
# 100000×100000 slide (white, with 90 real PAS kidney tiles pasted on it in
# 3 clusters), timed and with peak RSS; prints one markdown table.
#
#   bash scripts/bench/run_segment_bench.sh      (after `swift build -c release`)
#   SLIDE=path.tif DOWNSAMPLE=2 bash scripts/bench/run_segment_bench.sh
#
# The slide is built by scripts/bench/make_big_slide.py into bench-data/ if
# missing (pyvips; a couple of minutes). Outputs go to bench-data/:
# MASK.tif, MASK.summary.json, MASK.geojson, MASK.overlay.png, and the
# command's own output in MASK.log. Peak RSS comes from `/usr/bin/time -v`,
# or, where that is missing, from polling VmHWM in /proc/PID/status.
set -euo pipefail
cd "$(dirname "$0")/../.."

slide="${SLIDE:-bench-data/big-100k.tif}"
mask="${MASK:-${slide%.tif}-mask.tif}"
model="${MODEL:-models/glomeruli/holohisto}"
downsample="${DOWNSAMPLE:-2}"
bin="${HOLOHISTO:-.build/release/holohisto}"
summary="${mask%.tif}.summary.json"
log="${mask%.tif}.log"

[ -x "$bin" ] || { echo "missing $bin (swift build -c release)" >&2; exit 1; }
if [ ! -f "$slide" ]; then
  if [ "$slide" = bench-data/big-100k.tif ]; then
    python3 scripts/bench/make_big_slide.py --out "$slide"
  else
    echo "missing $slide" >&2; exit 1
  fi
fi
rm -f "$summary"
export OMP_WAIT_POLICY=passive

# Warm the page cache so the run does not pay for the disk.
cat "$slide" > /dev/null

cmd=("$bin" segment "$slide" --model "$model" --downsample "$downsample" -o "$mask")
echo "+ OMP_WAIT_POLICY=passive ${cmd[*]}"
timing=$(mktemp)
trap 'rm -f "$timing"' EXIT
start=$(date +%s.%N)
time_bin="${TIME_BIN:-/usr/bin/time}"   # TIME_BIN=none forces the /proc polling
if [ -x "$time_bin" ]; then
  set +e
  "$time_bin" -v -o "$timing" "${cmd[@]}" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  set -e
  peak_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$timing")
else
  "${cmd[@]}" > >(tee "$log") 2>&1 &
  pid=$!
  peak_kb=0
  while kill -0 "$pid" 2>/dev/null; do
    hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    [ -n "$hwm" ] && [ "$hwm" -gt "$peak_kb" ] && peak_kb=$hwm
    sleep 0.5
  done
  set +e
  wait "$pid"
  status=$?
  set -e
fi
end=$(date +%s.%N)
if [ "$status" -ne 0 ]; then
  echo "segment failed with status $status" >&2
  [ -s "$timing" ] && cat "$timing" >&2
  exit "$status"
fi
[ -s "$timing" ] && grep -E 'Elapsed|Maximum resident|User time|System time|Percent of CPU' "$timing"

# The peer a Python user would write (openslide-python, PyTorch, tifffile),
# same tiling, blending and output (scripts/bench/peer_segment.py); PEER=0
# skips it.
peer_json=""
peer_kb=0
if [ "${PEER:-1}" != 0 ]; then
  peer_out="${mask%.tif}-peer.tif"
  echo "+ python3 scripts/bench/peer_segment.py $slide --model $model --downsample $downsample -o $peer_out"
  peer_timing=$(mktemp)
  peer_json=$(/usr/bin/time -v -o "$peer_timing" python3 scripts/bench/peer_segment.py "$slide" \
    --model "$model" --downsample "$downsample" -o "$peer_out" | tail -1)
  peer_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$peer_timing")
  rm -f "$peer_timing"
fi

python3 - "$summary" "$peak_kb" "$start" "$end" "$peer_json" "$peer_kb" <<'PY'
import json, sys
summary_path, peak_kb, start, end, peer_json, peer_kb = sys.argv[1:]
s = json.load(open(summary_path))
wall, model = s["seconds"]["wall"], s["seconds"]["model"]
tissue = s["tissue_area_px"]
process = float(end) - float(start)
print()
print("| run | slide | tissue tiles | tissue Mpx | wall s | model s | model share "
      "| tissue Mpx/s | process s | peak RSS GiB | class-1 px |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
print(f"| holohisto | {s['width']}×{s['height']} | {s['tissue_tiles']} / {s['tiles']} "
      f"| {tissue / 1e6:.0f} | {wall:.1f} | {model:.1f} | {100 * model / wall:.0f}% "
      f"| {tissue / 1e6 / wall:.1f} | {process:.1f} | {int(peak_kb) / 2**20:.2f} "
      f"| {s['class_pixels'][1]} |")
if peer_json:
    p = json.loads(peer_json)
    pw, pm = p["wall_seconds"], p["model_seconds"]
    print(f"| python peer | {s['width']}×{s['height']} | {p['tissue_tiles']} / {p['tiles']} "
          f"| {tissue / 1e6:.0f} | {pw:.1f} | {pm:.1f} | {100 * pm / pw:.0f}% "
          f"| {tissue / 1e6 / pw:.1f} | – | {int(peer_kb) / 2**20:.2f} | {p['class1_pixels']} |")
    print()
    print(f"holohisto is {pw / wall:.2f}× the peer's speed (wall), with "
          f"{int(peer_kb) / max(1, int(peak_kb)):.2f}× less peak memory.")
PY
