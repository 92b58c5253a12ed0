#!/usr/bin/env bash
# Cross-validated figures for models (issue: inference): the corpus's 18
# datasets in three folds of six; for each fold, models are trained on the
# other twelve (`btune train --holdout ...`) and the fold's datasets are
# benchmarked three ways, side by side with the same grid timings: tuning
# alone, inference on every chunk (-1), and inference on the first 3 chunks
# followed by tuning (3). Summary: scripts/summarise_models.py.
#
# usage: scripts/bench_models.sh CORPUS_DIR OUT_DIR [GRID_CACHE_DIR]
# The grid cache (shared with `btune bench --grid-cache`) is filled on the
# first run: ~30-40 min for --scale 0.25, seconds afterwards.
set -euo pipefail
corpus=${1:?corpus dir}
out=${2:?output dir}
cache=${3:-$out/grid-cache}
btune=${BTUNE:-target/release/btune}
mkdir -p "$out"
folds=(
  "sst_nino3_f64 hubble_u8 noisy_field_f32 timestamps_i64 python_source_text mri_u16"
  "dem_i16 membrane_f32 retina_u8 smooth_field_f64 labels_u8 random_u8"
  "ecg_i32 moon_u8 lfw_f64 sparse_hits_f32 image_stack_u16 regime_change_f64"
)
for k in 0 1 2; do
  read -r -a held <<< "${folds[$k]}"
  holdout=(); only=()
  for d in "${held[@]}"; do holdout+=(--holdout "$d"); only+=(--only "$d"); done
  "$btune" train --manifest "$corpus/manifest.json" -o "$out/models-fold$k" \
    --grid-cache "$cache" "${holdout[@]}" | tee "$out/train-fold$k.txt"
  "$btune" bench --manifest "$corpus/manifest.json" --grid-cache "$cache" "${only[@]}" --json \
    > "$out/bench-fold$k-tuning.jsonl"
  for n in -1 3; do
    "$btune" bench --manifest "$corpus/manifest.json" --grid-cache "$cache" "${only[@]}" --json \
      --models "$out/models-fold$k" --use-inference "$n" > "$out/bench-fold$k-infer$n.jsonl"
  done
done
