#!/usr/bin/env bash
# Checks label TIFFs written by the Exports tests and by `make demo` with
# independent readers (tifffile, openslide-python): CI runs it after both.
# Installs the Python readers with pip when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c "import tifffile, openslide, numpy, PIL" 2>/dev/null \
  || python3 -m pip install -q tifffile openslide-python openslide-bin numpy pillow
keep=$(mktemp -d)
trap 'rm -rf "$keep"' EXIT
HOLOHISTO_EXPORTS_KEEP="$keep" swift test --skip-build --filter LabelTIFFWriterTests \
  > "$keep/test.log" 2>&1 || { cat "$keep/test.log"; exit 1; }
python3 scripts/check_label_tiff.py "$keep/mosaic-palette.tif" \
  --reference "$keep/mosaic-palette.labels.png"
python3 scripts/check_label_tiff.py "$keep/odd.tif" \
  --reference "$keep/odd.labels.png" --reduction nearest

# The mask `make demo` wrote with `holohisto segment` (the shipped model on
# the demo mosaic): same checks, plus the slide's dimensions, the level
# count, and the class-1 pixel count against the summary.
demo=demo-output/kidney-mosaic
[ -f "$demo.tif" ] || { echo "missing $demo.tif: run 'make demo' first" >&2; exit 1; }
python3 scripts/check_label_tiff.py "$demo.tif"
python3 - "$demo.tif" demo/kidney-mosaic.tif "$demo.summary.json" <<'PY'
import json, sys
import numpy as np, openslide, tifffile
mask, slide, summary = sys.argv[1:4]
m, s = openslide.OpenSlide(mask), openslide.OpenSlide(slide)
assert m.dimensions == s.dimensions, (m.dimensions, s.dimensions)
assert m.level_count == 7, m.level_count
labels = tifffile.imread(mask, level=0)
counts = json.load(open(summary))["class_pixels"]
assert set(np.unique(labels)) <= {0, 1}, np.unique(labels)
assert int((labels == 1).sum()) == counts[1] > 0, ((labels == 1).sum(), counts)
print(f"segment output: {m.dimensions}, {m.level_count} levels, {counts[1]} px of class 1: ok")
PY
