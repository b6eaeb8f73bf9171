#!/usr/bin/env bash
# The training experiments of docs/EXPERIMENTS.md, in order, on the HuBMAP
# PAS glomerulus tiles: the U-Net baseline (trained like the shipped model),
# the table-3 ablations, and tokenizer pre-training; then each model's Dice
# on the 10 test tiles and the signed-rank comparisons.
#
#   bash scripts/run_experiments.sh        (after `swift build -c release`)
#
# Every run checkpoints into runs/ (gitignored) and resumes where it
# stopped, so the script can be interrupted and started again; finished
# runs return at once. Per-tile scores go to docs/experiments/*.csv.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_WAIT_POLICY=passive
bin=.build/release/holohisto
tiles=../shared/data/labeled/hubmap-glomeruli-cnsiu
mkdir -p runs/ablations docs/experiments

# U-Net baseline: the schedule of the shipped model's first 2000 steps
# (configs/glomeruli-holohisto.json with steps 2000, whose run is
# runs/glomeruli-holohisto-2000), best on validation.
"$bin" train --config configs/glomeruli-unet.json -o runs/glomeruli-unet

# Ablations: 600 steps each, same seed, data and schedule.
for name in holohisto patch softmax holohisto-grid; do
  "$bin" train --config "configs/ablations/$name.json" -o "runs/ablations/$name"
done

# Tokenizer pre-training by reconstruction on unlabelled slides and tiles.
"$bin" train --config configs/tokenizer-pretrain.json -o runs/tokenizer

# Test Dice per tile, then the comparisons.
score() { "$bin" evaluate --model "$1" --tiles "$tiles" --csv "docs/experiments/$2.csv"; }
score models/glomeruli/holohisto holohisto-shipped
score runs/glomeruli-holohisto-2000/best holohisto-2000
score runs/glomeruli-unet/best unet
for name in holohisto patch softmax holohisto-grid; do
  score "runs/ablations/$name/best" "ablation-$name"
done
e=docs/experiments
"$bin" compare "$e/holohisto-2000.csv" "$e/unet.csv"
"$bin" compare "$e/holohisto-shipped.csv" "$e/unet.csv"
"$bin" compare "$e/ablation-holohisto.csv" "$e/ablation-patch.csv"
"$bin" compare "$e/ablation-holohisto.csv" "$e/ablation-softmax.csv"
"$bin" compare "$e/ablation-holohisto.csv" "$e/ablation-holohisto-grid.csv"
