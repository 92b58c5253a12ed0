"""Summary of scripts/bench_models.sh: per tradeoff, over the held-out
datasets of all folds, the tuner alone vs with models.

usage: python scripts/summarise_models.py OUT_DIR
"""

import json
import pathlib
import statistics
import sys

out = pathlib.Path(sys.argv[1])
runs = {"tuning alone": "tuning", "infer every chunk (-1)": "infer-1", "infer 3, then tune": "infer3"}


def records(tag):
    rs = []
    for f in sorted(out.glob(f"bench-fold*-{tag}.jsonl")):
        rs += [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    return rs


def tuning_share(rs):
    tuning = sum(r["btune"]["tuning_s"] for r in rs)
    ctime = sum(r["btune"]["ctime_s"] for r in rs) - tuning
    return 100 * tuning / ctime


print("Held-out datasets, per chunk (btune train's evaluation, all folds):")
print(f"{'mode':<8} {'t':>4} {'chunks':>7} {'top-1':>7} {'median regret':>14} {'mean regret':>12} {'best-of-top-3 mean':>19}")
for mode in ["comp", "decomp", "balanced"]:
    acc = {}
    for f in sorted(out.glob(f"models-fold*/model_{mode}.json")):
        for a in json.loads(f.read_text())["training"]["accuracy_held_out"]:
            acc.setdefault(a["tradeoff"], []).append(a)
    for t, rows in sorted(acc.items()):
        n = sum(a["chunks"] for a in rows)
        top1 = sum(a["top1"] * a["chunks"] for a in rows) / n
        mean = sum(a["mean_regret"] * a["chunks"] for a in rows) / n
        med = statistics.median(a["median_regret"] for a in rows)
        top3 = sum(a["top3_mean_regret"] * a["chunks"] for a in rows) / n
        print(f"{mode:<8} {t:>4} {n:>7} {100 * top1:>6.0f}% {med:>14.3f} {mean:>12.3f} {top3:>19.3f}")
print("(median regret: median of the folds' medians)")

print()
print("btune bench on held-out datasets (COMP, 1 MiB chunks, one thread):")
print(f"{'run':<24} {'t':>4} {'n':>3} {'median regret':>14} {'max regret':>11} {'median first-chunk':>19} {'tuning/ctime':>13}")
def bench_rows(min_chunks):
    for label, tag in runs.items():
        rs = [r for r in records(tag) if r["nchunks"] >= min_chunks]
        for t in sorted({r["tradeoff"] for r in rs}):
            sel = [r for r in rs if r["tradeoff"] == t]
            print(
                f"{label:<24} {t:>4} {len(sel):>3} {statistics.median(r['regret'] for r in sel):>14.3f}"
                f" {max(r['regret'] for r in sel):>11.3f}"
                f" {statistics.median(r['first_chunk_regret'] for r in sel):>19.3f}"
                f" {tuning_share(sel):>12.1f}%"
            )


bench_rows(1)
print()
print("The same on the datasets of 4 or more chunks (where tuning follows 3 inferred chunks):")
bench_rows(4)
print()
print("First prediction per dataset (inference runs), and cost per inferred chunk:")
print(f"{'t':>4} {'top-1 (first == oracle)':>24} {'median predicted regret':>24} {'features us':>12} {'inference us':>13}")
rs = records("infer-1")
for t in sorted({r["tradeoff"] for r in rs}):
    sel = [r["btune"]["inference"] for r in rs if r["tradeoff"] == t]
    print(
        f"{t:>4} {sum(i['first_is_oracle'] for i in sel):>13}/{len(sel):<10}"
        f" {statistics.median(i['first_predicted_regret'] for i in sel):>24.3f}"
        f" {statistics.median(i['feature_us'] for i in sel):>12.1f}"
        f" {statistics.median(i['inference_us'] for i in sel):>13.1f}"
    )
