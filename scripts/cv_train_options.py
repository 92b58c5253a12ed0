#!/usr/bin/env python3
"""Choose `btune train` options by cross-validation on the training corpus.

For each set of options: three folds of the training corpus's datasets
(every third dataset held out in turn, `--holdout`), COMP mode, and the
mean regret of the held-out chunks' predicted parameters summed over the
folds (weighted by chunks); then one model on the whole training corpus,
evaluated on the benchmark corpus (`--eval-manifest`), whose held-out
median / mean regret is printed beside it. Choose by the first figure: the
second is the benchmark the models are reported on.

    python3 scripts/cv_train_options.py --cache target/gc-train --cache target/gc \
        "" "--members 8" "--hidden 32"

Each argument is one set of options ("" for the defaults). The grid caches
(`--cache`, repeatable, passed on as `--grid-cache`) must hold both
corpora's timings (`btune train`/`btune bench --grid-cache`), or every run
sweeps the grid again.
"""

import argparse
import json
import shlex
import subprocess
import tempfile

TRADEOFFS = (0.1, 0.5, 0.9)


def held_out_rows(output):
    """{tradeoff: (chunks, median, mean)} from `btune train`'s held-out rows."""
    rows = {}
    for line in output.splitlines():
        f = line.split()
        if len(f) == 7 and f[0] == "COMP" and f[1] == "held-out":
            rows[float(f[2])] = (int(f[3]), float(f[5]), float(f[6]))
    return rows


def train(args, options, extra):
    with tempfile.TemporaryDirectory() as out:
        cmd = [args.btune, "train", "--manifest", args.manifest, "-o", out,
               *(a for c in args.cache for a in ("--grid-cache", c)),
               "--perf-mode", "COMP", *options, *extra]
        done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return held_out_rows(done.stdout)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("options", nargs="+", help="one quoted set of `btune train` options each")
    p.add_argument("--btune", default="target/release/btune")
    p.add_argument("--manifest", default="target/train-corpus/manifest.json")
    p.add_argument("--eval-manifest", default="target/corpus-0.25/manifest.json")
    p.add_argument("--cache", required=True, action="append")
    args = p.parse_args()
    with open(args.manifest) as f:
        names = [d["name"] for d in json.load(f)["datasets"]]
    folds = [names[i::3] for i in range(3)]
    for text in args.options:
        options = shlex.split(text)
        chunks = {t: 0 for t in TRADEOFFS}
        regret = {t: 0.0 for t in TRADEOFFS}
        for fold in folds:
            rows = train(args, options, [a for d in fold for a in ("--holdout", d)])
            for t in TRADEOFFS:
                n, _, mean = rows[t]
                chunks[t] += n
                regret[t] += n * mean
        bench = train(args, options, ["--eval-manifest", args.eval_manifest])
        cv = " ".join(f"{t}: {regret[t] / chunks[t]:.4f}" for t in TRADEOFFS)
        held = " ".join(f"{t}: {bench[t][1]:.3f}/{bench[t][2]:.3f}" for t in TRADEOFFS)
        print(f"{text or '(defaults)':<32} CV mean regret {cv} | benchmark median/mean {held}",
              flush=True)


if __name__ == "__main__":
    main()
