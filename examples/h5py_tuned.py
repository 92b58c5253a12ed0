#!/usr/bin/env python3
"""Write a tuned HDF5 dataset with h5py and the btune-rs plugin, then read it
back in a separate process that has only h5py + hdf5plugin (no code of ours).

Run from the repository after `bash scripts/setup.sh`:

    .venv/bin/python examples/h5py_tuned.py [OUT.h5]

Tuning options per dataset go in `compression_opts`:
`(0x4254554E, tradeoff in millionths, perf mode 0 COMP / 1 DECOMP / 2 BALANCED)`.
`compression=32026` alone tunes with the BTUNE_* environment (or defaults).
"""

import hashlib
import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]
# HDF5 reads the plugin path when it first needs a plugin: set it before h5py
# is imported. The directory must hold only our plugin.
os.environ.setdefault("HDF5_PLUGIN_PATH", str(REPO / "target" / "hdf5-plugin"))

import h5py  # noqa: E402
import numpy as np  # noqa: E402

BTUNE = 0x4254554E


def btune_opts(tradeoff=0.5, perf_mode="comp"):
    """compression_opts for a tuned dataset."""
    modes = {"comp": 0, "decomp": 1, "balanced": 2}
    return (BTUNE, round(tradeoff * 1e6), modes[perf_mode])


def main():
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "tuned.h5")
    # A smooth 2-D field with noise: what simulations write.
    y, x = np.mgrid[0:1024, 0:1024]
    field = np.sin(x / 90.0) * np.cos(y / 70.0) + np.random.default_rng(0).normal(0, 1e-3, x.shape)

    with h5py.File(out, "w") as f:
        ds = f.create_dataset("field", data=field, chunks=(128, 1024), compression=32026,
                              compression_opts=btune_opts(tradeoff=0.7))
        ratio = field.nbytes / ds.id.get_storage_size()
    print(f"wrote {out}: {field.nbytes} bytes stored in {field.nbytes / ratio:.0f} (ratio {ratio:.2f})")

    # A colleague without btune-rs: plain h5py + hdf5plugin, no plugin path.
    reader = (
        "import sys, hashlib, h5py, hdf5plugin\n"
        "with h5py.File(sys.argv[1], 'r') as f: a = f['field'][...]\n"
        "print(a.shape, a.dtype, hashlib.sha256(a.tobytes()).hexdigest())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "HDF5_PLUGIN_PATH"}
    got = subprocess.run([sys.executable, "-c", reader, str(out)], env=env, capture_output=True, text=True, check=True)
    want = f"{field.shape} {field.dtype} {hashlib.sha256(field.tobytes()).hexdigest()}"
    assert got.stdout.strip() == want, (got.stdout, want)
    print(f"read back exactly with h5py + hdf5plugin only: {want}")


if __name__ == "__main__":
    main()
