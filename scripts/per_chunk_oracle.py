#!/usr/bin/env python3
"""How much per-chunk adaptation could win at best on one dataset.

Reads the grid timings `btune bench --grid-cache DIR` keeps (one JSON file per
dataset, chunk size and thread count) and compares, per tradeoff, the
utility (DESIGN section 3, COMP mode, the grid's ranges) of the best single
grid point over the dataset (the oracle) with the best per-chunk choice of
grid points, found by coordinate ascent from each chunk's own best. Both
use the grid's measured timings and no tuning work, so the difference bounds
what any tuner can gain over the oracle by adapting per chunk.

usage: per_chunk_oracle.py GRID_CACHE_FILE [--tradeoff T]...
"""

import argparse
import json
import math


def utility(t, ratio, speed, ranges):
    (r0, r1), (s0, s1) = ranges
    a = math.log(ratio / r0) / math.log(r1 / r0) if r1 / r0 > 1.01 else 0.0
    b = math.log(speed / s0) / math.log(s1 / s0) if s1 / s0 > 1.01 else 0.0
    return t * a + (1 - t) * b


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("grid", help="a grid cache file, e.g. target/grid-cache-0.25/regime_change_f64-1048576-1t.json")
    ap.add_argument("--tradeoff", type=float, action="append", help="default: 0.1 0.5 0.9")
    args = ap.parse_args()
    grid = [(json.dumps(p, sort_keys=True), outs) for p, outs in json.load(open(args.grid))]
    nchunks = len(grid[0][1])
    nbytes = sum(o["nbytes"] for o in grid[0][1])

    def totals(choice):
        cbytes = sum(grid[choice[i]][1][i]["cbytes"] for i in range(nchunks))
        ctime = sum(grid[choice[i]][1][i]["ctime"] for i in range(nchunks))
        return nbytes / cbytes, nbytes / ctime

    points = [totals([k] * nchunks) for k in range(len(grid))]
    ranges = (
        (min(r for r, _ in points), max(r for r, _ in points)),
        (min(s for _, s in points), max(s for _, s in points)),
    )
    for t in args.tradeoff or [0.1, 0.5, 0.9]:
        def score(choice, t=t):
            return utility(t, *totals(choice), ranges)

        oracle = max(range(len(grid)), key=lambda k: score([k] * nchunks))
        choice = [
            max(range(len(grid)), key=lambda k: utility(t, *totals_one(grid, k, i), ranges))
            for i in range(nchunks)
        ]
        for _ in range(3):
            for i in range(nchunks):
                choice[i] = max(range(len(grid)), key=lambda k: score(choice[:i] + [k] + choice[i + 1:]))
        best = score([oracle] * nchunks)
        adaptive = score(choice)
        print(
            f"t={t}: oracle {json.loads(grid[oracle][0])} utility {best:.4f}; "
            f"best per-chunk choice {adaptive:.4f} ({adaptive - best:+.4f})"
        )


def totals_one(grid, k, i):
    o = grid[k][1][i]
    return o["nbytes"] / o["cbytes"], o["nbytes"] / o["ctime"]


if __name__ == "__main__":
    main()
