#!/usr/bin/env bash
# Figures for models on data they were not trained on. The benchmark
# corpus's datasets are benchmarked three ways side by side with the same grid
# timings: tuning alone, inference on every chunk (-1), and inference on the
# first 3 chunks followed by tuning (3). Summary: scripts/summarise_models.py.
#
# usage: scripts/bench_models.sh CORPUS_DIR OUT_DIR [GRID_CACHE_DIR] [TRAIN_CORPUS_DIR]
#
# Without TRAIN_CORPUS_DIR: three-fold cross-validation, the 18 datasets in
# folds of six, models for each fold trained on the other twelve.
# With it (scripts/training_corpus.py makes one): models trained on that
# corpus alone, every benchmark dataset evaluated.
# The grid cache (shared with `btune bench --grid-cache`) is filled on the
# first run: ~30-40 min for --scale 0.25, seconds afterwards.
set -euo pipefail
corpus=${1:?corpus dir}
out=${2:?output dir}
cache=${3:-$out/grid-cache}
train_corpus=${4:-}
btune=${BTUNE:-target/release/btune}
mkdir -p "$out"

# bench_fold K MODELS DATASETS...: the three runs on the datasets.
bench_fold() {
  local k=$1 models=$2
  shift 2
  local only=()
  for d in "$@"; do only+=(--only "$d"); done
  "$btune" bench --manifest "$corpus/manifest.json" --grid-cache "$cache" "${only[@]}" --json \
    > "$out/bench-fold$k-tuning.jsonl"
  for n in -1 3; do
    "$btune" bench --manifest "$corpus/manifest.json" --grid-cache "$cache" "${only[@]}" --json \
      --models "$models" --use-inference "$n" > "$out/bench-fold$k-infer$n.jsonl"
  done
}

if [ -n "$train_corpus" ]; then
  # Dataset names differ between the corpora: one grid cache serves both.
  "$btune" train --manifest "$train_corpus/manifest.json" -o "$out/models-fold0" \
    --eval-manifest "$corpus/manifest.json" --grid-cache "$cache" | tee "$out/train-fold0.txt"
  mapfile -t all < <(python3 -c "import json,sys; [print(d['name']) for d in json.load(open(sys.argv[1]))['datasets']]" \
    "$corpus/manifest.json")
  bench_fold 0 "$out/models-fold0" "${all[@]}"
  exit 0
fi

folds=(
  "sst_nino3_f64 hubble_u8 noisy_field_f32 timestamps_i64 python_source_text mri_u16"
  "dem_i16 membrane_f32 retina_u8 smooth_field_f64 labels_u8 random_u8"
  "ecg_i32 moon_u8 lfw_f64 sparse_hits_f32 image_stack_u16 regime_change_f64"
)
for k in 0 1 2; do
  read -r -a held <<< "${folds[$k]}"
  holdout=()
  for d in "${held[@]}"; do holdout+=(--holdout "$d"); done
  "$btune" train --manifest "$corpus/manifest.json" -o "$out/models-fold$k" \
    --grid-cache "$cache" "${holdout[@]}" | tee "$out/train-fold$k.txt"
  bench_fold "$k" "$out/models-fold$k" "${held[@]}"
done
