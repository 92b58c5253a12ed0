#!/usr/bin/env python3
"""Benchmark of the HDF5 plugin through h5py, against hdf5plugin's Blosc2
filter, measured side by side in one run.

For every corpus dataset (1 MiB chunks along the first axis) it writes:
- the same fixed parameters with hdf5plugin and with our plugin (hdf5plugin's
  default blosclz/5/shuffle, and zstd/5/shuffle), and compares write times;
- with our plugin tuning at the given tradeoff, and compares its utility
  (DESIGN.md section 3: the ranges are those of the oracle's grid on that
  dataset, read from a `btune bench --json` file) with hdf5plugin's default;
then reads each fixed pair with h5py + hdf5plugin only and compares read times.

Writers and readers run in separate processes (our plugin and hdf5plugin both
register filter 32026; the last one wins), repeated in alternation; the
minimum time of each is kept. Files go to /dev/shm to keep disks out of it.

Usage: scripts/bench_hdf5.py CORPUS_DIR --ranges BENCH.jsonl [--plugin-dir D]
       [--tradeoff 0.5] [--repeats 3] [--json OUT]
"""

import argparse
import json
import math
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile

from bench_common import load_ranges, utility

REPO = pathlib.Path(__file__).resolve().parents[1]
MAGIC = 0x4254554E

WRITER = r"""
import sys, json, pathlib, time, numpy as np, h5py
corpus, outdir, mode, tradeoff = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), sys.argv[3], float(sys.argv[4])
if mode.startswith("std"):
    import hdf5plugin
    B = hdf5plugin.Blosc2
    kw = {"std-default": B(), "std-zstd": B(cname="zstd", clevel=5, filters=B.SHUFFLE)}[mode]
else:
    assert "hdf5plugin" not in sys.modules
    opts = {"ours-default": (0, 0, 0, 0, 5, 1, 0), "ours-zstd": (0, 0, 0, 0, 5, 1, 5),
            "ours-tuned": (0x4254554E, round(tradeoff * 1e6), 0)}[mode]
    kw = {"compression": 32026, "compression_opts": opts}
# Warm up outside the timings: HDF5 loads a plugin (and each side sets up
# its library) on first use.
with h5py.File(outdir / f"{mode}-warmup.h5", "w") as f:
    f.create_dataset("x", data=np.arange(65536.0), chunks=(8192,), **kw)
for d in json.loads((corpus / "manifest.json").read_text())["datasets"]:
    a = np.fromfile(corpus / d["file"], dtype=d["dtype"]).reshape(d["shape"])
    row = a.itemsize * int(np.prod(a.shape[1:], dtype=np.int64))
    chunks = (max(1, min(a.shape[0], (1 << 20) // row)),) + a.shape[1:]
    path = outdir / f"{mode}-{d['name']}.h5"
    t0 = time.perf_counter()
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("x", data=a, chunks=chunks, **kw)
        f.flush()
        t1 = time.perf_counter()
        masks = [ds.id.get_chunk_info(i).filter_mask for i in range(ds.id.get_num_chunks())]
        stored = ds.id.get_storage_size()
    assert all(m == 0 for m in masks), f"{mode} {d['name']}: chunks stored unfiltered"
    print(json.dumps({"dataset": d["name"], "mode": mode, "nbytes": int(a.nbytes), "stored": int(stored), "write_s": t1 - t0}))
"""

READER = r"""
import sys, json, pathlib, time, h5py, hdf5plugin
for p in sys.argv[1:]:
    with h5py.File(p, "r") as f:
        t0 = time.perf_counter()
        x = f["x"][...]
        t = time.perf_counter() - t0
    print(json.dumps({"path": p, "read_s": t}))
"""

FIXED = [("std-default", "ours-default"), ("std-zstd", "ours-zstd")]
MODES = ["std-default", "ours-default", "std-zstd", "ours-zstd", "ours-tuned"]


def run(code, args, plugin_dir=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HDF5_PLUGIN_PATH", "BTUNE_"))}
    if plugin_dir:
        env["HDF5_PLUGIN_PATH"] = str(plugin_dir)
    p = subprocess.run([sys.executable, "-c", code, *map(str, args)], env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"worker failed:\n{p.stderr}")
    return [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=pathlib.Path)
    ap.add_argument("--ranges", type=pathlib.Path, required=True, help="btune bench --json output (COMP)")
    ap.add_argument("--plugin-dir", type=pathlib.Path, default=REPO / "target" / "hdf5-plugin")
    ap.add_argument("--tradeoff", type=float, default=0.5)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", type=pathlib.Path)
    a = ap.parse_args()

    ranges = load_ranges(a.ranges, a.tradeoff)

    shm = pathlib.Path("/dev/shm") if pathlib.Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(dir=shm) as tmp:
        writes, reads = {}, {}
        for rep in range(a.repeats):
            order = MODES if rep % 2 == 0 else MODES[::-1]
            for mode in order:
                plugin = None if mode.startswith("std") else a.plugin_dir
                for r in run(WRITER, [a.corpus, tmp, mode, a.tradeoff], plugin):
                    key = (r["dataset"], mode)
                    if key not in writes or r["write_s"] < writes[key]["write_s"]:
                        writes[key] = r
            # Read each fixed pair with hdf5plugin only, both in one process.
            paths = [pathlib.Path(tmp) / f"{m}-{d}.h5" for (d, m) in writes if m != "ours-tuned"]
            for r in run(READER, paths):
                key = pathlib.Path(r["path"]).stem
                reads[key] = min(reads.get(key, math.inf), r["read_s"])

    datasets = sorted({d for d, _ in writes})
    rows = []
    for d in datasets:
        row = {"dataset": d, "nbytes": writes[(d, "std-default")]["nbytes"]}
        for std, ours in FIXED:
            w_std, w_ours = writes[(d, std)], writes[(d, ours)]
            row[f"{ours}_write_vs_std"] = w_ours["write_s"] / w_std["write_s"]
            row[f"{ours}_read_vs_std"] = reads[f"{ours}-{d}"] / reads[f"{std}-{d}"]
            row[f"{ours}_stored_vs_std"] = w_ours["stored"] / w_std["stored"]
        if d in ranges:
            for mode in ("std-default", "ours-tuned"):
                w = writes[(d, mode)]
                row[f"{mode}_ratio"] = w["nbytes"] / w["stored"]
                row[f"{mode}_speed"] = w["nbytes"] / w["write_s"]
                row[f"{mode}_utility"] = utility(a.tradeoff, row[f"{mode}_ratio"], row[f"{mode}_speed"], ranges[d])
        rows.append(row)

    print(f"{'dataset':22} {'write ours/std':>15} {'read ours/std':>14} {'u(std default)':>15} {'u(ours tuned)':>14} {'ratio std':>9} {'ratio ours':>10}")
    for r in rows:
        w = "/".join(f"{r[f'{o}_write_vs_std']:.2f}" for _, o in FIXED)
        rd = "/".join(f"{r[f'{o}_read_vs_std']:.2f}" for _, o in FIXED)
        u = (f"{r['std-default_utility']:15.3f} {r['ours-tuned_utility']:14.3f} {r['std-default_ratio']:9.2f} {r['ours-tuned_ratio']:10.2f}"
             if "ours-tuned_utility" in r else "")
        print(f"{r['dataset']:22} {w:>15} {rd:>14} {u}")
    med = lambda k: statistics.median(r[k] for r in rows)
    print(f"\nmedian write time ours/std at equal parameters: default {med('ours-default_write_vs_std'):.3f}, zstd-5 {med('ours-zstd_write_vs_std'):.3f}")
    print(f"median read time (hdf5plugin reading) ours/std: default {med('ours-default_read_vs_std'):.3f}, zstd-5 {med('ours-zstd_read_vs_std'):.3f}")
    scored = [r for r in rows if "ours-tuned_utility" in r]
    wins = sum(r["ours-tuned_utility"] > r["std-default_utility"] for r in scored)
    print(f"tuned (t={a.tradeoff}) utility above hdf5plugin default on {wins} of {len(scored)} datasets; "
          f"median utility {statistics.median(r['ours-tuned_utility'] for r in scored):.3f} vs "
          f"{statistics.median(r['std-default_utility'] for r in scored):.3f}")
    if a.json:
        a.json.write_text("".join(json.dumps(r) + "\n" for r in rows))


if __name__ == "__main__":
    main()
