"""Fits how much faster (or slower) each grid point compresses a whole chunk
than a tuner's trial of it on a sample, per doubling of its block size from
the trial's (the chunk's block cut to half the sample) to the chunk's.

Input: JSON lines of the `trial_speed` example of btune-train (one per
dataset, grid point and repeat).
The model per point (codec, clevel, split) is

    log(chunk speed / trial speed) = doublings * log(factor)

with `factor` the median over trials of the per-doubling log ratio; points
whose trials are never cut (doublings 0) keep 1. It prints the residual
spread within each dataset (what ranking candidates by speed sees) without
and with the correction, on the fitting files and, with --test, on others,
then the table (`SPEED_PER_DOUBLING` in
`bench-results/trial-speed-ab/correction.patch`).

    cargo run --release -p btune-train --example trial_speed -- \\
        target/train-corpus/manifest.json target/gc-train 0.5 > train-0.5.jsonl
    python3 scripts/fit_trial_speed.py train-0.1.jsonl train-0.5.jsonl \\
        --test bench-0.1.jsonl bench-0.5.jsonl
"""

import argparse
import collections
import json
import math
import statistics

CODECS = ["blosclz", "lz4", "lz4hc", "zlib", "zstd"]
CLEVELS = [1, 3, 5, 7, 9]


def load(paths):
    rows = []
    for path in paths:
        with open(path) as fh:
            for line in fh:
                d = json.loads(line)
                if d["sample_cspeed"] <= 0 or d["chunk_cspeed"] <= 0:
                    continue
                d["y"] = math.log(d["chunk_cspeed"] / d["sample_cspeed"])
                d["doublings"] = math.log2(d["chunk_blocksize"] / d["sample_blocksize"])
                rows.append(d)
    return rows


def point(d):
    return (d["codec"], d["clevel"], d["split"])


def fit(rows):
    per = collections.defaultdict(list)
    for d in rows:
        if d["doublings"] > 0:
            per[point(d)].append(d["y"] / d["doublings"])
    return {k: statistics.median(v) for k, v in per.items()}


def spread(rows, predict):
    """Residuals about each dataset's (and sample size's) median: a shift
    common to all points of a dataset changes no ranking."""
    by = collections.defaultdict(list)
    for d in rows:
        by[(d["dataset"], d["tradeoff"])].append(d["y"] - predict(d))
    res = []
    for v in by.values():
        m = statistics.median(v)
        res.extend(abs(x - m) for x in v)
    res.sort()
    return statistics.median(res), res[int(0.9 * len(res))]


def report(name, rows, table):
    none = spread(rows, lambda d: 0.0)
    corr = spread(rows, lambda d: table.get(point(d), 0.0) * d["doublings"])
    print(
        f"{name}: {len(rows)} trials; |log residual| median/p90 "
        f"{none[0]:.3f}/{none[1]:.3f} uncorrected, {corr[0]:.3f}/{corr[1]:.3f} corrected"
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("fit", nargs="+", help="trial_speed output to fit on")
    ap.add_argument("--test", nargs="*", default=[], help="trial_speed output to test on")
    args = ap.parse_args()
    rows = load(args.fit)
    table = fit(rows)
    report("fit", rows, table)
    if args.test:
        report("test", load(args.test), table)
    print("\nper doubling, clevel {1,3,5,7,9} x split {always, never}:")
    for codec in CODECS:
        cells = []
        for c in CLEVELS:
            pair = [math.exp(table.get((codec, c, s), 0.0)) for s in ("always", "never")]
            cells.append(f"[{pair[0]:.3f}, {pair[1]:.3f}]")
        print(f"    ({codec}, [{', '.join(cells)}]),")


if __name__ == "__main__":
    main()
