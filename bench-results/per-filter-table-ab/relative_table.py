#!/usr/bin/env python3
"""Prints `RATIO_GAINS`, the table of core/src/search.rs that predicts the
grid's ratios from a few trials: per filter pipeline, codec, clevel {1, 3,
5, 7, 9} and split mode {always, never}, the ratio of that grid point
relative to lz4 at clevel 1 without split, with the same filter on the same
chunk.

Each figure is a median over datasets of the median over a dataset's
chunks, so a dataset of many chunks weighs as much as one of a single
chunk. Inputs are the grid timings `btune bench --grid-cache DIR` keeps
(1 MiB chunks, one thread). The committed table comes from the training
corpus only (`scripts/training_corpus.py`), so that the benchmark corpus
stays held out:

    .venv/bin/python scripts/training_corpus.py target/train-corpus
    target/release/btune bench --manifest target/train-corpus/manifest.json \\
        --tradeoff 0.9 --grid-cache target/gc-train --json > /dev/null
    python3 scripts/relative_table.py target/gc-train

usage: relative_table.py GRID_CACHE_DIR... [--check]

--check prints, per filter, how a filter's own gains from zstd clevel 1 to 9
compare with the pooled median's (what one table for every filter gets
wrong). --speeds prints the pooled compression speed factors (one row per
codec, clevel and split, for every filter) in the layout of
`SPEED_FACTORS`, for comparison: the committed ones are older.
"""

import argparse
import collections
import json
import statistics
from pathlib import Path

CODECS = [("blosclz", "BloscLz"), ("lz4", "Lz4"), ("lz4hc", "Lz4Hc"), ("zlib", "Zlib"), ("zstd", "Zstd")]
FILTERS = [("none", "None"), ("shuffle", "Shuffle"), ("bitshuffle", "Bitshuffle"),
           ("shuffle-bytedelta", "ShuffleBytedelta"), ("delta-shuffle", "DeltaShuffle")]
CLEVELS = [1, 3, 5, 7, 9]
SPLITS = ["always", "never"]


def per_dataset(files):
    """{(filter, codec, clevel, split): [(gain, speed factor) per dataset]}."""
    out = collections.defaultdict(list)
    for f in files:
        grid = {(p["filter"], p["codec"], p["clevel"], p["split"]): o for p, o in json.loads(f.read_text())}
        for (fl, codec, clevel, split), outcomes in grid.items():
            base = grid.get((fl, "lz4", 1, "never"))
            if base is None:
                continue
            gains = [(o["nbytes"] / o["cbytes"]) / (b["nbytes"] / b["cbytes"]) for o, b in zip(outcomes, base)]
            speeds = [b["ctime"] / o["ctime"] for o, b in zip(outcomes, base)]
            out[(fl, codec, clevel, split)].append((statistics.median(gains), statistics.median(speeds)))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dirs", nargs="+", type=Path)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--speeds", action="store_true")
    args = ap.parse_args()
    files = sorted(f for d in args.dirs for f in d.glob("*-1t.json"))
    table = per_dataset(files)
    datasets = len(files)

    def med(key, i):
        return statistics.median(v[i] for v in table[key])

    if args.check:
        pooled = collections.defaultdict(list)
        for (fl, codec, clevel, split), v in table.items():
            pooled[(codec, clevel, split)].extend(v)
        for fl, _ in FILTERS:
            own = med((fl, "zstd", 9, "never"), 0) / med((fl, "zstd", 1, "never"), 0)
            both = (statistics.median(g for g, _ in pooled[("zstd", 9, "never")])
                    / statistics.median(g for g, _ in pooled[("zstd", 1, "never")]))
            print(f"{fl:<18} zstd 9 / zstd 1: {own:.3f} (pooled {both:.3f}), "
                  f"zstd 1 / lz4 1: {med((fl, 'zstd', 1, 'never'), 0):.3f}, "
                  f"{len(table[(fl, 'zstd', 1, 'never')])} datasets")
        return

    if args.speeds:
        pooled = collections.defaultdict(list)
        for (fl, codec, clevel, split), v in table.items():
            pooled[(codec, clevel, split)].extend(s for _, s in v)
        for codec, codec_rust in CODECS:
            cells = [", ".join(f"{statistics.median(pooled[(codec, c, sp)]):.3f}" for sp in SPLITS)
                     for c in CLEVELS]
            print(f"    (Codec::{codec_rust}, [[{'], ['.join(cells)}]]),")
        return

    print(f"// `scripts/relative_table.py` over {datasets} datasets.")
    print("#[rustfmt::skip]")
    print("const RATIO_GAINS: [(Filter, [(Codec, [[f64; 2]; 5]); 5]); 5] = [")
    for fl, fl_rust in FILTERS:
        print(f"    (Filter::{fl_rust}, [")
        for codec, codec_rust in CODECS:
            cells = [", ".join(f"{med((fl, codec, c, sp), 0):.3f}" for sp in SPLITS) for c in CLEVELS]
            print(f"        (Codec::{codec_rust}, [[{'], ['.join(cells)}]]),")
        print("    ]),")
    print("];")


if __name__ == "__main__":
    main()
