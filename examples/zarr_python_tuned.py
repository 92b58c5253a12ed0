#!/usr/bin/env python3
"""Write a tuned Zarr v3 array with zarr-python and the "btune" codec, read
it back, show what parameters the chunks got, and read the chunks again with
python-blosc2 alone in a separate process (no code of ours).

Run from the repository after `bash scripts/setup.sh` (which installs the
`btune` package into .venv):

    .venv/bin/python examples/zarr_python_tuned.py [OUT.zarr]

The codec is found by name (`{"name": "btune", "configuration": {...}}`)
through the `zarr.codecs` entry point; `btune.zarr.BtuneCodec(...)` works
too. Configuration: `tradeoff` 0 (speed) ... 1 (ratio), `perf_mode`
comp/decomp/balanced, `tune` (default true), `params` (fixed parameters when
`tune` is false, e.g. "zstd/shuffle/5/never"); `typesize` is filled from the
data type.
"""

import collections
import hashlib
import json
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import zarr

import btune


def main():
    out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "tuned.zarr")
    shutil.rmtree(out, ignore_errors=True)
    # A smooth 2-D field with noise, kept to 3 decimals as measurements often
    # are, then pure noise in the last rows: the tuner adapts to both.
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:2048, 0:1024]
    field = np.round(np.sin(x / 90.0) * np.cos(y / 70.0) + rng.normal(0, 1e-3, x.shape), 3)
    field[1792:] = rng.normal(size=(256, 1024))

    z = zarr.create_array(
        str(out),
        shape=field.shape,
        chunks=(128, 1024),
        dtype="f8",
        compressors=[{"name": "btune", "configuration": {"tradeoff": 0.7}}],
    )
    z[...] = field
    meta = json.loads((out / "zarr.json").read_text())
    print("codecs in zarr.json:", json.dumps(meta["codecs"]))

    back = zarr.open_array(str(out), mode="r")[...]
    assert back.tobytes() == field.tobytes()
    chunks = sorted(p for p in (out / "c").rglob("*") if p.is_file())
    stored = sum(p.stat().st_size for p in chunks)
    print(f"wrote {out}: {field.nbytes} bytes in {len(chunks)} chunks, stored {stored} (ratio {field.nbytes / stored:.2f})")
    print("read back exactly")

    # What the chunk headers record (lz4 and lz4hc share a format; the
    # header does not record the clevel).
    kinds = collections.Counter()
    for p in chunks:
        info = btune.inspect(p.read_bytes())
        kinds[(info["codec"], info["filter"], info["split"], info["blocksize"])] += 1
    for (codec, filt, split, blocksize), n in sorted(kinds.items(), key=lambda kv: -kv[1]):
        print(f"  {n:3d} chunks: {codec}/{filt}/{split}, blocks of {blocksize} bytes")

    # A colleague with only python-blosc2 reads every chunk file.
    reader = (
        "import sys, hashlib, pathlib, blosc2\n"
        "h = hashlib.sha256()\n"
        "for p in sorted(q for q in (pathlib.Path(sys.argv[1]) / 'c').rglob('*') if q.is_file()):\n"
        "    h.update(blosc2.decompress2(p.read_bytes()))\n"
        "print(h.hexdigest())\n"
    )
    got = subprocess.run([sys.executable, "-c", reader, str(out)], capture_output=True, text=True, check=True)
    # Chunks in key order c/0/0, c/1/0, ... c/15/0 sorted as text.
    want = hashlib.sha256()
    for p in chunks:
        i = int(p.relative_to(out / "c").parts[0])
        want.update(field[i * 128 : (i + 1) * 128].tobytes())
    assert got.stdout.strip() == want.hexdigest(), "python-blosc2 read other bytes"
    print("read back exactly with python-blosc2 alone")


if __name__ == "__main__":
    main()
