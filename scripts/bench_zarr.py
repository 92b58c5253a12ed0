#!/usr/bin/env python3
"""Benchmark of the zarr-python codec: every corpus dataset written with
zarr-python's default codec chain (bytes + zstd level 0) and with our "btune"
codec tuning at the given tradeoff, side by side in one run (alternating,
minimum of the repeats), into in-memory stores. The utility is DESIGN.md
section 3's, with the ranges of the oracle's grid on that dataset (from a
`btune bench --json` file), for two speeds: the array's bytes over the whole
write through zarr-python (end to end), and over the time spent inside each
codec's encode (the codec alone, the unit the oracle's ranges are in).

Usage: scripts/bench_zarr.py CORPUS_DIR --ranges BENCH.jsonl [--tradeoff 0.5]
       [--repeats 3] [--json OUT]
"""

import argparse
import json
import pathlib
import statistics
import time

import numpy as np
import zarr

from bench_common import load_ranges, utility
from zarr.codecs import ZstdCodec

from btune.zarr import BtuneCodec

ENCODE_TIME = [0.0]


def timed(cls):
    """cls with its synchronous encode timed into ENCODE_TIME."""

    class Timed(cls):
        def _encode_sync(self, chunk_bytes, chunk_spec):
            t0 = time.perf_counter()
            out = super()._encode_sync(chunk_bytes, chunk_spec)
            ENCODE_TIME[0] += time.perf_counter() - t0
            return out

    return Timed


def chunks_for(a):
    row = a.itemsize * int(np.prod(a.shape[1:], dtype=np.int64))
    return (max(1, min(a.shape[0], (1 << 20) // row)),) + a.shape[1:]


def write(a, compressors):
    store = zarr.storage.MemoryStore()
    ENCODE_TIME[0] = 0.0
    t0 = time.perf_counter()
    z = zarr.create_array(store, shape=a.shape, chunks=chunks_for(a), dtype=a.dtype, compressors=compressors)
    z[...] = a
    t = time.perf_counter() - t0
    stored = sum(len(v.to_bytes()) for k, v in store._store_dict.items() if not k.endswith("zarr.json"))
    encode = ENCODE_TIME[0]
    assert z[...].tobytes() == a.tobytes()
    return t, encode, stored


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=pathlib.Path)
    ap.add_argument("--ranges", type=pathlib.Path, required=True)
    ap.add_argument("--tradeoff", type=float, default=0.5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=pathlib.Path)
    a = ap.parse_args()
    ranges = load_ranges(a.ranges, a.tradeoff)
    zarr.config.set({"async.concurrency": 1, "threading.max_workers": 1})
    # zarr-python's default chain is bytes + ZstdCodec(level=0, checksum=False).
    modes = {
        "zarr-default": lambda: timed(ZstdCodec)(level=0, checksum=False),
        "btune": lambda: timed(BtuneCodec)(tradeoff=a.tradeoff),
    }
    rows = []
    for d in json.loads((a.corpus / "manifest.json").read_text())["datasets"]:
        arr = np.fromfile(a.corpus / d["file"], dtype=d["dtype"]).reshape(d["shape"])
        best = {}
        for rep in range(a.repeats):
            for name in (list(modes) if rep % 2 == 0 else list(modes)[::-1]):
                t, encode, stored = write(arr, modes[name]())
                prev = best.get(name, (t, encode, stored))
                best[name] = (min(t, prev[0]), min(encode, prev[1]), stored)
        row = {"dataset": d["name"], "nbytes": int(arr.nbytes)}
        for name, (t, encode, stored) in best.items():
            row[f"{name}_ratio"] = arr.nbytes / stored
            row[f"{name}_speed"] = arr.nbytes / t
            row[f"{name}_codec_speed"] = arr.nbytes / max(encode, 1e-9)
            if d["name"] in ranges:
                r = ranges[d["name"]]
                row[f"{name}_utility"] = utility(a.tradeoff, row[f"{name}_ratio"], row[f"{name}_speed"], r)
                row[f"{name}_codec_utility"] = utility(a.tradeoff, row[f"{name}_ratio"], row[f"{name}_codec_speed"], r)
        rows.append(row)
        print(f"{d['name']:22} ratio {row['zarr-default_ratio']:7.2f} -> {row['btune_ratio']:7.2f}   "
              f"MB/s {row['zarr-default_speed'] / 1e6:8.1f} -> {row['btune_speed'] / 1e6:8.1f}   "
              + (f"u end-to-end {row['zarr-default_utility']:.3f} -> {row['btune_utility']:.3f}   "
                 f"codec {row['zarr-default_codec_utility']:.3f} -> {row['btune_codec_utility']:.3f}"
                 if "btune_utility" in row else ""))
    scored = [r for r in rows if "btune_utility" in r]
    for kind, suffix in (("end to end", "_utility"), ("codec alone", "_codec_utility")):
        wins = sum(r["btune" + suffix] > r["zarr-default" + suffix] for r in scored)
        print(f"{kind}: btune (t={a.tradeoff}) utility above zarr-python's default on {wins} of {len(scored)} datasets; "
              f"median {statistics.median(r['btune' + suffix] for r in scored):.3f} vs "
              f"{statistics.median(r['zarr-default' + suffix] for r in scored):.3f}")
    if a.json:
        a.json.write_text("".join(json.dumps(r) + "\n" for r in rows))


if __name__ == "__main__":
    main()
