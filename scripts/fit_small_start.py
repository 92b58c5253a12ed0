"""Fits the tuner's start on data too small to explore: per tradeoff band and
typesize class, either one grid point for all data or a split on one chunk
feature with a grid point on each side (core/src/start.rs), whichever has
the lower mean regret once the features' own cost is added to the time of
the data that needs them (a split only where cross-validation over whole
source datasets prefers it). A band's rule is adopted only if the rule
fitted on either corpus beats the previous start (`current`) on the other;
it is then fitted on both corpora together.

The cuts, the features and the grid timings behind core/src/start.rs:

    python3 scripts/small_slices.py target/train-corpus/manifest.json target/small-train --sizes 16384 65536
    python3 scripts/small_slices.py target/train-corpus/manifest.json target/small-train-4k --sizes 4096 --whole-up-to 1
    python3 scripts/small_slices.py target/corpus-0.25/manifest.json target/small-bench --sizes 4096 65536 --whole-up-to 300000
    target/release/btune bench --manifest M --tradeoff 0.1 --tradeoff 0.3 --tradeoff 0.5 \\
        --tradeoff 0.7 --tradeoff 0.9 --grid-cache target/gc-small --json   (each M)
    target/release/examples/feature_cost M --json > F                       (each M)

    python3 scripts/fit_small_start.py \\
        --a target/small-train/manifest.json target/small-train-4k/manifest.json \\
        --a-features train.jsonl train4k.jsonl \\
        --b target/small-bench/manifest.json --b-features bench.jsonl \\
        --grid-cache target/gc-small

Inputs: manifests of one-chunk datasets (`scripts/small_slices.py`), their
grid timings kept by `btune bench --grid-cache` (1 MiB chunks, one thread)
and their features and feature times (`cargo run --release -p btune-core
--example feature_cost -- MANIFEST --json --chunk-bytes 1048576`). A dataset
counts in a band when the tuner would not explore it there (below
`min_explore_bytes` at the band's tradeoff). Regret is DESIGN §3's, COMP
mode, the ranges being the grid's extremes on the dataset, as in `btune
bench`. Prints, per band, both cross-corpus checks and, where they pass,
the rule fitted on both corpora with its regret beside the previous start's.

What-if runs: `--cost-us X` charges X microseconds for the features instead
of their measured time (would a cheaper feature pay for itself?) and
`--only NAME...` lets the fit split on those features or differences alone.
"""

import argparse
import json
import math
import statistics
from pathlib import Path

MIN_EXPLORE_BYTES = 256 * 1024
BANDS = [(0.0, 0.2, 0.1), (0.2, 0.4, 0.3), (0.4, 0.6, 0.5), (0.6, 0.8, 0.7), (0.8, 1.01, 0.9)]
MIN_LEAF = 6
# Differences of features a split may also use: what a filter gains.
DIFFERENCES = [("entropy_shuffle", "entropy_raw"), ("entropy_bitshuffle", "entropy_shuffle"),
               ("entropy_bytedelta", "entropy_shuffle"), ("lz_shuffle", "lz_raw")]


def min_explore(t):
    return MIN_EXPLORE_BYTES * (2 * (1 - t)) ** 2


def name(p):
    return f"{p['codec']}/{p['filter']}/{p['clevel']}/{p['split']}"


def load(manifest, features_file, cache, cost_us=None, only=None):
    feats = {}
    for line in Path(features_file).read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            feats[r["dataset"]] = r
    out = []
    for d in json.loads(Path(manifest).read_text())["datasets"]:
        f = Path(cache) / f"{d['name']}-1048576-1t.json"
        if not f.is_file() or d["name"] not in feats:
            continue
        grid = {}
        for p, outcomes in json.loads(f.read_text()):
            o = outcomes[0]
            grid[name(p)] = (o["nbytes"] / o["cbytes"], o["ctime"])
        fr = feats[d["name"]]
        for a, b in DIFFERENCES:
            if a in fr["features"] and b in fr["features"]:
                fr["features"][f"{a}-{b}"] = fr["features"][a] - fr["features"][b]
        if only:
            fr["features"] = {k: v for k, v in fr["features"].items() if k in only}
        out.append({"name": d["name"], "ts": d["typesize"], "nbytes": d["nbytes"], "grid": grid,
                    "features": fr["features"],
                    "feature_s": (fr["feature_us"] if cost_us is None else cost_us) * 1e-6})
    return out


def utilities(d, t, extra_s):
    """Per grid point, the utility with `extra_s` added to its time; and the best."""
    n = d["nbytes"]
    ratios = [r for r, _ in d["grid"].values()]
    speeds = [n / c for _, c in d["grid"].values()]
    lr = (math.log(min(ratios)), math.log(max(ratios)))
    ls = (math.log(min(speeds)), math.log(max(speeds)))

    def norm(x, r):
        return 0.0 if r[1] - r[0] < 1e-12 else (math.log(x) - r[0]) / (r[1] - r[0])

    u = {p: t * norm(r, lr) + (1 - t) * norm(n / (c + extra_s), ls) for p, (r, c) in d["grid"].items()}
    best = max(t * norm(r, lr) + (1 - t) * norm(n / c, ls) for r, c in d["grid"].values())
    return u, best


def regrets(data, t, with_features):
    """Per dataset, {point: regret}, the features' time charged if asked."""
    out = []
    for d in data:
        u, best = utilities(d, t, d["feature_s"] if with_features else 0.0)
        out.append({p: best - v for p, v in u.items()})
    return out


def best_point(rows, points):
    return min(points, key=lambda p: sum(r.get(p, 1.0) for r in rows) / max(len(rows), 1))


def mean(rows, p):
    return statistics.mean(r.get(p, 1.0) for r in rows) if rows else float("nan")


def fit_band(data, t, free=False):
    """(rule, mean regret on `data`): ('const', p) or ('split', feature, threshold, p_low, p_high).
    `free`: the features cost nothing (what a split could gain at best)."""
    points = sorted(set.intersection(*(set(d["grid"]) for d in data)))
    plain = regrets(data, t, False)
    charged = plain if free else regrets(data, t, True)
    p = best_point(plain, points)
    best = (("const", p), mean(plain, p))
    for feat in data[0]["features"]:
        values = sorted({d["features"][feat] for d in data})
        for lo, hi in zip(values, values[1:]):
            thr = (lo + hi) / 2
            low = [c for d, c in zip(data, charged) if d["features"][feat] < thr]
            high = [c for d, c in zip(data, charged) if d["features"][feat] >= thr]
            if len(low) < MIN_LEAF or len(high) < MIN_LEAF:
                continue
            pl, ph = best_point(low, points), best_point(high, points)
            if pl == ph:
                continue
            m = (sum(r[pl] for r in low) + sum(r[ph] for r in high)) / len(data)
            if m < best[1]:
                best = (("split", feat, thr, pl, ph), m)
    return best


def group(d):
    """Slices of one dataset fall in one fold."""
    return d["name"].split("@")[0]


def cross_validated(data, t, folds=5):
    """Mean held-out regret of fitting a split, and of fitting one point,
    over `folds` folds of whole source datasets."""
    groups = sorted({group(d) for d in data})
    split_r, const_r = [], []
    for k in range(folds):
        held = {g for i, g in enumerate(groups) if i % folds == k}
        train = [d for d in data if group(d) not in held]
        test = [d for d in data if group(d) in held]
        if not test or len(train) < 2 * MIN_LEAF:
            continue
        rule, _ = fit_band(train, t)
        points = sorted(set.intersection(*(set(d["grid"]) for d in train)))
        const = ("const", best_point(regrets(train, t, False), points))
        split_r += apply(rule, test, t)
        const_r += apply(const, test, t)
    if not split_r:
        return float("nan"), float("nan")
    return statistics.mean(split_r), statistics.mean(const_r)


def apply(rule, data, t):
    if rule[0] == "const":
        return [r.get(rule[1], 1.0) for r in regrets(data, t, False)]
    _, feat, thr, pl, ph = rule
    return [r.get(pl if d["features"][feat] < thr else ph, 1.0)
            for d, r in zip(data, regrets(data, t, True))]


def current(ts, t):
    """The start before this fit (`default_start` of core/src/tuner.rs at
    4365620), the baseline a fitted rule must beat."""
    if t < 0.2:
        return "blosclz/none/1/never"
    if ts == 1 and t < 0.4:
        return "lz4/bitshuffle/7/never"
    if ts == 1 and t < 0.6:
        return "zstd/bitshuffle/1/never"
    if t < 0.6:
        return "lz4/bitshuffle/7/never"
    if t < 0.8:
        return "zstd/none/3/never"
    return "zstd/none/9/never"


def summary(v):
    return f"median {statistics.median(v):.3f} mean {statistics.mean(v):.3f} max {max(v):.3f} n={len(v)}" if v else "n=0"


def fit_rule(data, t):
    """The band's rule fitted on `data`: a split if grouped cross-validation
    prefers it to one point, else the best point."""
    rule, _ = fit_band(data, t)
    cv_split, cv_const = cross_validated(data, t)
    if rule[0] == "split" and not cv_split < cv_const:
        points = sorted(set.intersection(*(set(d["grid"]) for d in data)))
        rule = ("const", best_point(regrets(data, t, False), points))
    return rule, cv_split, cv_const


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--a", required=True, nargs="+", help="corpus A: manifests")
    ap.add_argument("--a-features", required=True, nargs="+", help="one per manifest")
    ap.add_argument("--b", required=True, nargs="+", help="corpus B: manifests")
    ap.add_argument("--b-features", required=True, nargs="+", help="one per manifest")
    ap.add_argument("--grid-cache", required=True)
    ap.add_argument("--show", action="store_true", help="every dataset's regret")
    ap.add_argument("--cost-us", type=float,
                    help="charge this many microseconds for the features instead of their measured time")
    ap.add_argument("--only", nargs="+", help="split on these features (or differences) only")
    args = ap.parse_args()
    def corpus(manifests, features):
        return [d for m, f in zip(manifests, features)
                for d in load(m, f, args.grid_cache, args.cost_us, args.only)]

    corpus_a = corpus(args.a, args.a_features)
    corpus_b = corpus(args.b, args.b_features)
    print(f"corpus A: {len(corpus_a)} datasets, corpus B: {len(corpus_b)}")
    for lo, hi, t in BANDS:
        for cls, ts in (("bytes", 1), ("wider", 2)):
            def small(ds):
                return [d for d in ds if (d["ts"] == 1) == (ts == 1) and d["nbytes"] < min_explore(t)]
            a, b = small(corpus_a), small(corpus_b)
            cur = ("const", current(ts, t))
            head = f"t {lo}-{min(hi, 1.0)} {cls}"
            if len(a) < 2 * MIN_LEAF or len(b) < 2 * MIN_LEAF:
                print(f"{head}: keep {cur[1]} ({len(a)} + {len(b)} datasets, too few)")
                continue
            checks = []
            for name_fit, fit, name_ev, ev in (("A", a, "B", b), ("B", b, "A", a)):
                rule, _, _ = fit_rule(fit, t)
                new, old = statistics.mean(apply(rule, ev, t)), statistics.mean(apply(cur, ev, t))
                checks.append(new < old)
                print(f"{head}: fitted on {name_fit} {rule}: on {name_ev} mean {new:.3f}, current {old:.3f}")
            if all(checks):
                union = a + b
                rule, cv_split, cv_const = fit_rule(union, t)
                r_new, r_old = apply(rule, union, t), apply(cur, union, t)
                print(f"  ADOPT (fitted on A+B; cross-validated: split {cv_split:.3f}, one point {cv_const:.3f})")
                print(f"  {rule}")
                print(f"  on A+B: new {summary(r_new)} | current {summary(r_old)}")
                if args.show:
                    for d, x, y in zip(union, r_new, r_old):
                        print(f"      {d['name']:<28} new {x:.3f} current {y:.3f}")
            else:
                print(f"  keep {cur[1]}: no rule fitted on one corpus beats it on the other")


if __name__ == "__main__":
    main()
