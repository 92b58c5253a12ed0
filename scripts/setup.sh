#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: Debian build packages, a Python venv with
# what tests and the corpus need, the test corpus, and a release build.
# Usage: scripts/setup.sh [--no-build]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

shared=${BTUNE_SHARED:-$repo/../shared}
venv=${BTUNE_VENV:-$repo/.venv}
corpus_dir=${BTUNE_CORPUS:-$repo/target/corpus}
# Small corpus for tests; benchmarks build their own with a larger --scale.
corpus_scale=${BTUNE_CORPUS_SCALE:-0.0625}

log() { printf '[setup] %s\n' "$*" >&2; }

# 1. Debian packages the build needs (cmake for c-blosc2, libclang for bindgen,
#    libhdf5-dev for the HDF5 tests).
need_apt=()
for pkg in cmake libclang-dev pkg-config libhdf5-dev; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
    log "installing Debian packages: ${need_apt[*]}"
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# 2. Python venv for the corpus and the interop tests.
if [ ! -x "$venv/bin/python" ]; then
    log "creating venv $venv"
    python3 -m venv "$venv"
fi
stamp="$venv/.requirements.stamp"
reqs="$repo/scripts/requirements.txt"
if [ ! -f "$stamp" ] || ! cmp -s "$reqs" "$stamp"; then
    log "installing Python packages"
    "$venv/bin/pip" install -q --upgrade pip
    "$venv/bin/pip" install -q -r "$reqs"
    cp "$reqs" "$stamp"
fi

# 3. Test corpus (deterministic, built once).
if [ ! -f "$corpus_dir/manifest.json" ]; then
    log "building corpus (scale $corpus_scale) in $corpus_dir"
    mkdir -p "$corpus_dir"
    "$venv/bin/python" "$shared/corpus/build.py" "$corpus_dir" --scale "$corpus_scale"
fi

# 4. Build, and place the HDF5 plugin alone in its directory (HDF5 tries to
#    load every file in a plugin directory): HDF5_PLUGIN_PATH=target/hdf5-plugin.
if [ "${1:-}" != "--no-build" ]; then
    log "building the workspace (release)"
    cargo build --release --workspace --all-targets
    install -D -m 755 target/release/libbtune_hdf5.so target/hdf5-plugin/libbtune_hdf5.so
fi

# 5. The Python package `btune` (python/, maturin + PyO3): a wheel in
#    target/wheels holding the extension and a copy of the standalone HDF5
#    plugin, installed into the venv. Cargo makes the rebuild a no-op when
#    nothing changed; the wheel is reinstalled only when its contents changed.
if [ "${1:-}" != "--no-build" ]; then
    plugin_copy=python/python/btune/hdf5_plugin/libbtune_hdf5.so
    cmp -s target/release/libbtune_hdf5.so "$plugin_copy" 2>/dev/null ||
        install -D -m 755 target/release/libbtune_hdf5.so "$plugin_copy"
    log "building the btune wheel (maturin)"
    CARGO_TARGET_DIR="$repo/target" "$venv/bin/maturin" build --release --quiet \
        -m python/Cargo.toml -i "$venv/bin/python" --out target/wheels
    wheel=$(ls -t target/wheels/btune-*.whl | head -n 1)
    # The wheel's bytes change with every build (its SBOM carries a time):
    # compare what it installs instead.
    digest=$("$venv/bin/python" - "$wheel" <<'PY'
import hashlib, sys, zipfile
h = hashlib.sha256()
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in sorted(z.namelist()):
        if "/sboms/" not in name and not name.endswith("/RECORD"):
            h.update(name.encode() + b"\0" + z.read(name))
print(h.hexdigest())
PY
)
    wheel_stamp="$venv/.btune-wheel.stamp"
    if [ "$(cat "$wheel_stamp" 2>/dev/null)" != "$digest" ] || ! "$venv/bin/python" -c "import btune._btune" 2>/dev/null; then
        log "installing $wheel into $venv"
        "$venv/bin/pip" install -q --force-reinstall --no-deps "$wheel"
        echo "$digest" > "$wheel_stamp"
    fi
fi
