#!/usr/bin/env python3
"""Benchmark of the blosc2_btune plugin inside python-blosc2: every corpus
dataset written as a super-chunk of 1 MiB chunks (one thread) with
`tuner=blosc2.Tuner.BTUNE` at each tradeoff, scored with DESIGN.md section 3's
utility using the ranges of the oracle's grid (from a `btune bench --json`
file, which also holds the oracle's utility and the core's own, measured
directly). regret = u(oracle) - u(plugin); the speed is the dataset's bytes
over the whole write through python-blosc2 (tuning included), minimum over
the repeats. "core" columns are the core driven directly by `btune bench`
(same data, chunk size and thread count, another process): the difference is
the cost of the plugin path (python-blosc2's calls, c-blosc2's own chunk
handling, the host's context instead of the core's).

Run with the venv's python first on PATH (c-blosc2 finds the plugin with
`python -c "import blosc2_btune; ..."`):

    PATH=$PWD/.venv/bin:$PATH python scripts/bench_blosc2_btune.py \
        target/corpus-0.25 --ranges bench-results/corpus-0.25-comp-1MiB-1t-a145f16.jsonl
"""

import argparse
import json
import os
import pathlib
import statistics
import time

import numpy as np

import blosc2
from bench_common import utility


def write(arr, typesize, tradeoff):
    os.environ["BTUNE_TRADEOFF"] = str(tradeoff)
    data = arr.reshape(-1).view(np.uint8)
    chunk = (1 << 20) // typesize * typesize
    cparams = blosc2.CParams(tuner=blosc2.Tuner.BTUNE, typesize=typesize, nthreads=1)
    t0 = time.perf_counter()
    s = blosc2.SChunk(chunksize=chunk, cparams=cparams)
    for i in range(0, data.size, chunk):
        s.append_data(data[i : i + chunk])
    t = time.perf_counter() - t0
    back = b"".join(s.decompress_chunk(i) for i in range(s.nchunks))
    assert back == data.tobytes()
    return t, s.cbytes, s.nbytes


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=pathlib.Path)
    ap.add_argument("--ranges", type=pathlib.Path, required=True)
    ap.add_argument("--tradeoffs", default="0.1,0.5,0.9")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=pathlib.Path)
    a = ap.parse_args()
    ref = {}
    for line in a.ranges.read_text().splitlines():
        r = json.loads(line)
        ref[(r["dataset"], round(r["tradeoff"], 6))] = r
    print(f"python-blosc2 {blosc2.__version__}, c-blosc2 {blosc2.blosclib_version.split()[0]}")
    rows = []
    for t in [float(x) for x in a.tradeoffs.split(",")]:
        for d in json.loads((a.corpus / "manifest.json").read_text())["datasets"]:
            r = ref.get((d["name"], round(t, 6)))
            if r is None:
                continue
            arr = np.fromfile(a.corpus / d["file"], dtype=d["dtype"])
            best = None
            for _ in range(a.repeats):
                secs, cbytes, nbytes = write(arr, d["typesize"], t)
                best = secs if best is None else min(best, secs)
            # SChunk.cbytes: the chunks' bytes, headers included, as the
            # oracle counts them.
            ratio = nbytes / cbytes
            speed = nbytes / best
            u = utility(t, ratio, speed, r["ranges"])
            row = {
                "dataset": d["name"],
                "tradeoff": t,
                "nbytes": nbytes,
                "plugin": {"cratio": ratio, "speed": speed, "utility": u},
                "core": {k: r["btune"][k] for k in ("cratio", "speed", "utility")},
                "oracle_utility": r["oracle"]["utility"],
            }
            row["plugin_regret"] = row["oracle_utility"] - u
            row["core_regret"] = row["oracle_utility"] - row["core"]["utility"]
            rows.append(row)
            print(f"t={t} {d['name']:20} ratio {r['btune']['cratio']:7.2f} core / {ratio:7.2f} plugin   "
                  f"MB/s {r['btune']['speed'] / 1e6:8.1f} / {speed / 1e6:8.1f}   "
                  f"regret {row['core_regret']:.3f} / {row['plugin_regret']:.3f}")
    for t in sorted({r["tradeoff"] for r in rows}):
        sel = [r for r in rows if r["tradeoff"] == t]
        big = [r for r in sel if r["nbytes"] >= 4 << 20]
        print(f"t={t}: median regret core {statistics.median(r['core_regret'] for r in sel):.3f}, "
              f"plugin {statistics.median(r['plugin_regret'] for r in sel):.3f} ({len(sel)} datasets); "
              f"median plugin/core speed {statistics.median(r['plugin']['speed'] / r['core']['speed'] for r in sel):.2f}"
              + (f", on the {len(big)} datasets >= 4 MiB {statistics.median(r['plugin']['speed'] / r['core']['speed'] for r in big):.2f}" if big else ""))
    if a.json:
        a.json.write_text("".join(json.dumps(r) + "\n" for r in rows))


if __name__ == "__main__":
    main()
