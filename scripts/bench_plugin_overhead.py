#!/usr/bin/env python3
"""Overhead of the blosc2_btune plugin path against the core called directly,
in one process and one run: every corpus dataset of at least 4 MiB is cut
into 1 MiB chunks and compressed (one thread, tuning at the given tradeoff)
(a) by python-blosc2 into a super-chunk with `tuner=blosc2.Tuner.BTUNE`,
which loads our plugin, and (b) by the core through our Python package
(`btune.Tuner.compress`), alternating, minimum of the repeats. Both tune with
the same core; the ratio of times is the cost of the plugin path (c-blosc2's
chunk handling, the plugin's context writes, python-blosc2's calls).

Run with the venv's python first on PATH (c-blosc2 finds the plugin with
`python -c "import blosc2_btune; ..."`):

    PATH=$PWD/.venv/bin:$PATH python scripts/bench_plugin_overhead.py target/corpus-0.25
"""

import argparse
import json
import os
import pathlib
import statistics
import time

import blosc2
import numpy as np

import btune


def plugin(data, typesize, tradeoff):
    os.environ["BTUNE_TRADEOFF"] = str(tradeoff)
    chunk = (1 << 20) // typesize * typesize
    cparams = blosc2.CParams(tuner=blosc2.Tuner.BTUNE, typesize=typesize, nthreads=1)
    t0 = time.perf_counter()
    s = blosc2.SChunk(chunksize=chunk, cparams=cparams)
    for i in range(0, data.size, chunk):
        s.append_data(data[i : i + chunk])
    return time.perf_counter() - t0, s.cbytes


def core(data, typesize, tradeoff):
    chunk = (1 << 20) // typesize * typesize
    t0 = time.perf_counter()
    tuner = btune.Tuner(typesize, tradeoff=tradeoff)
    cbytes = sum(len(tuner.compress(data[i : i + chunk])) for i in range(0, data.size, chunk))
    return time.perf_counter() - t0, cbytes


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=pathlib.Path)
    ap.add_argument("--tradeoff", type=float, default=0.5)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    ratios = []
    for d in json.loads((a.corpus / "manifest.json").read_text())["datasets"]:
        if d["nbytes"] < 4 << 20:
            continue
        data = np.fromfile(a.corpus / d["file"], dtype=np.uint8)
        best = {"plugin": (float("inf"), 0), "core": (float("inf"), 0)}
        for rep in range(a.repeats):
            for name, f in (("plugin", plugin), ("core", core))[:: 1 if rep % 2 == 0 else -1]:
                t, cbytes = f(data, d["typesize"], a.tradeoff)
                if t < best[name][0]:
                    best[name] = (t, cbytes)
        r = best["plugin"][0] / best["core"][0]
        ratios.append(r)
        print(f"{d['name']:22} plugin {best['plugin'][0] * 1e3:8.1f} ms  core {best['core'][0] * 1e3:8.1f} ms  "
              f"plugin/core {r:.3f}   ratio {d['nbytes'] / best['plugin'][1]:.2f} / {d['nbytes'] / best['core'][1]:.2f}")
    print(f"\nmedian plugin/core time at tradeoff {a.tradeoff}: {statistics.median(ratios):.3f} over {len(ratios)} datasets")


if __name__ == "__main__":
    main()
