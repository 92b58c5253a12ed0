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

# 6. The blosc2_btune package (blosc2-plugin/python): libblosc2_btune.so,
#    c-blosc2's tuner 32, as a pure-Python package. One wheel, installed into
#    the main venv (python-blosc2 4.x: c-blosc2 3.x, context layout B) and into
#    a second venv with python-blosc2 3.6.1 (c-blosc2 2.19, layout A).
venv36=${BTUNE_VENV_BLOSC2_36:-$repo/.venv-blosc2-3.6}
reqs36="blosc2==3.6.1 numpy pytest"
if [ ! -x "$venv36/bin/python" ]; then
    log "creating venv $venv36"
    python3 -m venv "$venv36"
fi
# Keep the venv out of git (newer Pythons write this file themselves).
[ -f "$venv36/.gitignore" ] || echo '*' > "$venv36/.gitignore"
if [ "$(cat "$venv36/.requirements.stamp" 2>/dev/null)" != "$reqs36" ]; then
    log "installing $reqs36 into $venv36"
    # shellcheck disable=SC2086
    "$venv36/bin/pip" install -q $reqs36
    echo "$reqs36" > "$venv36/.requirements.stamp"
fi
if [ "${1:-}" != "--no-build" ]; then
    pkg=blosc2-plugin/python
    cmp -s target/release/libblosc2_btune.so "$pkg/blosc2_btune/libblosc2_btune.so" 2>/dev/null ||
        install -m 755 target/release/libblosc2_btune.so "$pkg/blosc2_btune/libblosc2_btune.so"
    digest=$(cd "$pkg" && cat pyproject.toml README.md blosc2_btune/* | sha256sum | cut -d' ' -f1)
    wheel_dir=target/wheels/blosc2_btune
    for v in "$venv" "$venv36"; do
        stamp="$v/.blosc2-btune.stamp"
        if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ] || ! "$v/bin/python" -c "import blosc2_btune" 2>/dev/null; then
            if [ "$(cat "$wheel_dir/.stamp" 2>/dev/null)" != "$digest" ]; then
                log "building the blosc2_btune wheel"
                rm -rf "$wheel_dir" "$pkg/build"
                "$venv/bin/pip" wheel -q --no-deps -w "$wheel_dir" "./$pkg"
                rm -rf "$pkg/build" "$pkg"/*.egg-info
                echo "$digest" > "$wheel_dir/.stamp"
            fi
            log "installing blosc2_btune into $v"
            "$v/bin/pip" install -q --force-reinstall --no-deps "$wheel_dir"/blosc2_btune-*.whl
            echo "$digest" > "$stamp"
        fi
    done
fi

# 7. A shared c-blosc2 (the source bundled in blosc2-rs-sys, 2.21: context
#    layout A) in target/c-blosc2, for the C example of the blosc2_btune C API
#    (examples/blosc2_btune.c, run by tests/python/test_blosc2_btune_c.py).
cblosc2=$repo/target/c-blosc2
if [ ! -f "$cblosc2/lib/libblosc2.so" ] || [ ! -f "$cblosc2/include/blosc2/tuners-registry.h" ]; then
    src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/blosc2-rs-sys-0.1.6/third-party/c-blosc2 2>/dev/null | head -n 1)
    if [ -z "$src" ]; then
        cargo fetch -q
        src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/blosc2-rs-sys-0.1.6/third-party/c-blosc2 | head -n 1)
    fi
    log "building a shared c-blosc2 from $src into $cblosc2"
    cmake -S "$src" -B "$cblosc2/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$cblosc2" \
        -DBUILD_SHARED=ON -DBUILD_STATIC=OFF -DBUILD_TESTS=OFF -DBUILD_FUZZERS=OFF \
        -DBUILD_BENCHMARKS=OFF -DBUILD_EXAMPLES=OFF >"$cblosc2.log" 2>&1
    cmake --build "$cblosc2/build" -j 2 >>"$cblosc2.log" 2>&1
    cmake --install "$cblosc2/build" >>"$cblosc2.log" 2>&1
fi
