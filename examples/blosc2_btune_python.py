#!/usr/bin/env python3
"""An unmodified-style python-blosc2 program tuned by btune-rs: the only
BTune-specific line is `tuner=blosc2.Tuner.BTUNE` (or, with no change at all,
`BTUNE_TRADEOFF=0.5` in the environment for super-chunks). c-blosc2 loads
`libblosc2_btune.so` from the installed `blosc2_btune` package.

Run from the repository after `bash scripts/setup.sh`, with the venv's
python first on PATH (c-blosc2 runs `python -c "import blosc2_btune ..."`):

    PATH=$PWD/.venv/bin:$PATH BTUNE_TRACE=1 python examples/blosc2_btune_python.py

Works the same in .venv-blosc2-3.6 (python-blosc2 3.6.1, c-blosc2 2.19).
"""

import collections

import numpy as np

import blosc2

CODEC_FORMATS = {0: "blosclz", 1: "lz4/lz4hc", 3: "zlib", 4: "zstd"}


def main():
    rng = np.random.default_rng(0)
    n = 256 * 1024  # 2 MiB chunks of float64
    data = np.concatenate([np.linspace(0, 1, 8 * n), np.cumsum(rng.normal(size=8 * n))])

    cparams = blosc2.CParams(tuner=blosc2.Tuner.BTUNE, typesize=8)
    schunk = blosc2.SChunk(chunksize=n * 8, cparams=cparams)
    for i in range(0, data.size, n):
        schunk.append_data(data[i : i + n])

    back = np.concatenate(
        [np.frombuffer(schunk.decompress_chunk(i), dtype=np.float64) for i in range(schunk.nchunks)]
    )
    assert np.array_equal(back, data)

    used = collections.Counter()
    for i in range(schunk.nchunks):
        header = bytes(schunk.get_chunk(i)[:32])
        filters = [f for f in header[16:22] if f]
        used[(CODEC_FORMATS.get(header[2] >> 5, "?"), tuple(filters))] += 1
    print(f"python-blosc2 {blosc2.__version__} (c-blosc2 {blosc2.blosclib_version.split()[0]})")
    print(f"{schunk.nchunks} chunks, ratio {schunk.cratio:.2f}")
    for (codec, filters), count in used.most_common():
        print(f"  {count:3d} chunks: codec {codec}, filters {list(filters)}")

    # An N-dimensional array: its blocks (blocksize) are kept, the rest tuned.
    a = blosc2.asarray(data.reshape(64, -1), chunks=(16, 8192), blocks=(4, 2048), cparams=cparams)
    assert np.array_equal(a[...], data.reshape(64, -1))
    print(f"NDArray {a.shape}: ratio {a.schunk.cratio:.2f}")


if __name__ == "__main__":
    main()
