#!/usr/bin/env bash
# Runs every test: set-up (idempotent), formatting, lints, unit, integration
# and interop tests (python-blosc2, h5py + hdf5plugin in separate processes),
# examples and docs.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
bash scripts/setup.sh

export BTUNE_CORPUS=${BTUNE_CORPUS:-$repo/target/corpus}
export BTUNE_PYTHON=${BTUNE_PYTHON:-$repo/.venv/bin/python}

echo "== cargo fmt --check" >&2
cargo fmt --all -- --check
echo "== cargo clippy" >&2
cargo clippy --release --workspace --all-targets -- -D warnings
echo "== cargo test (unit, integration, interop, doc tests)" >&2
cargo test --release --workspace
echo "== pytest (h5py + hdf5plugin interop, separate processes)" >&2
export BTUNE_HDF5_PLUGIN_DIR=$repo/target/hdf5-plugin
"$BTUNE_PYTHON" -m pytest -q tests/python
echo "== pytest: blosc2_btune plugin with python-blosc2 3.6.1 (c-blosc2 2.19, layout A)" >&2
"${BTUNE_VENV_BLOSC2_36:-$repo/.venv-blosc2-3.6}/bin/python" -m pytest -q tests/python/test_blosc2_btune.py
