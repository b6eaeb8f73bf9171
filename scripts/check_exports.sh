#!/usr/bin/env bash
# Checks label TIFFs written by the Exports tests with independent readers
# (tifffile, openslide-python): CI runs it after the Swift tests.
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
