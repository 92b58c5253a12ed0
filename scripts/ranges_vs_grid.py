#!/usr/bin/env python3
"""The tuner's objective ranges after its first HARD readapt, against the grid's.

For every dataset of a corpus and each tradeoff, runs `btune bench --only
DATASET` with the tuner's debug log, takes the first "HARD ranges" line and
sets it beside the ranges `btune bench` reports for the whole grid. Printed
per dataset: both ratio and speed ranges, each log width as a multiple of
the grid's, and `w-ratio`, the ratio multiple over the speed multiple (above
1 the tuner weighs ratio less than the benchmark does, below 1 more), with
the dataset's regret.

    python3 scripts/ranges_vs_grid.py target/release/btune \\
        target/corpus-0.25/manifest.json target/gc 0.5 0.9
"""

import json
import math
import os
import re
import subprocess
import sys

HARD = re.compile(r"HARD ranges: ratio ([\d.]+)-([\d.]+), speed (\d+)-(\d+) MB/s")


def log_width(lo, hi):
    return max(math.log(hi / lo), 1e-3)


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    btune, manifest, cache, *tradeoffs = sys.argv[1:]
    with open(manifest) as f:
        names = [d["name"] for d in json.load(f)["datasets"]]
    env = dict(os.environ, RUST_LOG="btune_core=debug")
    for t in tradeoffs:
        print("== t", t)
        for name in names:
            p = subprocess.run(
                [btune, "bench", "--manifest", manifest, "--tradeoff", t, "--grid-cache", cache,
                 "--json", "--only", name],
                capture_output=True, text=True, env=env, check=True)
            row = json.loads(p.stdout.splitlines()[0])
            m = HARD.search(p.stderr)
            if not m:
                print(f"{name:20s} no HARD readapt; regret {row['regret']:.3f}")
                continue
            r0, r1, s0, s1 = map(float, m.groups())
            gr = row["ranges"]["ratio"]
            gs = [x / 1e6 for x in row["ranges"]["speed"]]
            wr = log_width(r0, r1) / log_width(*gr)
            ws = log_width(s0, s1) / log_width(*gs)
            print(f"{name:20s} ratio {r0:.2f}-{r1:.2f} grid {gr[0]:.2f}-{gr[1]:.2f} x{wr:.2f} | "
                  f"speed {s0:.0f}-{s1:.0f} grid {gs[0]:.0f}-{gs[1]:.0f} MB/s x{ws:.2f} | "
                  f"w-ratio {wr / ws:.2f} regret {row['regret']:.3f}")


if __name__ == "__main__":
    main()
