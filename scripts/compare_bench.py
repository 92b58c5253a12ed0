"""Side-by-side summary of `btune bench --json` runs of two or more builds.

    python3 scripts/compare_bench.py old-1.jsonl old-2.jsonl new-1.jsonl ...

Files are grouped by the name before the first '-' (old, new). Per file:
median, mean and max regret, median first-chunk regret and tuning time as a
share of compression time (summed over datasets) per tradeoff, over the
datasets every file has. Then, per tradeoff, each dataset's mean regret per
group, and which datasets moved by more than --moved between the first two
groups.
"""

import argparse
import collections
import json
import statistics
from pathlib import Path


def load(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def tuning_share(rows):
    tuning = sum(r["btune"].get("tuning_s") or 0.0 for r in rows)
    work = sum(r["btune"]["ctime_s"] - (r["btune"].get("tuning_s") or 0.0) for r in rows)
    return tuning / work if work > 0 else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="+")
    ap.add_argument("--moved", type=float, default=0.01)
    args = ap.parse_args()
    runs = {f: load(f) for f in args.files}
    common = set.intersection(*({r["dataset"] for r in rows} for rows in runs.values()))
    tradeoffs = sorted({r["tradeoff"] for rows in runs.values() for r in rows})
    for f, rows in runs.items():
        parts = []
        for t in tradeoffs:
            rs = [r for r in rows if r["tradeoff"] == t and r["dataset"] in common]
            reg = [r["regret"] for r in rs]
            fc = [r["first_chunk_regret"] for r in rs]
            parts.append(
                f"t={t}: med {statistics.median(reg):.3f} mean {statistics.mean(reg):.3f} "
                f"max {max(reg):.3f} fc {statistics.median(fc):.3f} "
                f"tun {100 * tuning_share(rs):.1f}% n={len(rs)}"
            )
        print(Path(f).name, " | ".join(parts))
    groups = collections.defaultdict(list)
    for f, rows in runs.items():
        groups[Path(f).name.split("-")[0]].append(rows)
    names = list(groups)
    for t in tradeoffs:
        print(f"t {t}")
        for d in sorted(common):
            means = {
                g: statistics.mean(
                    r["regret"] for rows in groups[g] for r in rows
                    if r["dataset"] == d and r["tradeoff"] == t
                )
                for g in names
            }
            moved = len(names) > 1 and abs(means[names[1]] - means[names[0]]) > args.moved
            line = " ".join(f"{g} {m:.3f}" for g, m in means.items())
            print(f"  {d:<22} {line}{'  *' if moved else ''}")


if __name__ == "__main__":
    main()
