"""What the benchmark scripts share: the utility of DESIGN.md section 3 (as
core/src/objective.rs computes it) and the oracle's ranges from a
`btune bench --json` file."""

import json
import math


def normalised_log(x, lo, hi):
    """log(x / lo) / log(hi / lo); a range below 1% scores 0, as in the core."""
    if not (lo > 0 and hi / lo >= 1.01 and x > 0):
        return 0.0
    return math.log(x / lo) / math.log(hi / lo)


def utility(tradeoff, ratio, speed, ranges):
    """u(t) for COMP: t * norm(log ratio) + (1 - t) * norm(log speed)."""
    return tradeoff * normalised_log(ratio, *ranges["ratio"]) + (1 - tradeoff) * normalised_log(speed, *ranges["speed"])


def load_ranges(path, tradeoff):
    """{dataset: {"ratio": [lo, hi], "speed": [lo, hi]}} of the oracle's grid."""
    out = {}
    for line in path.read_text().splitlines():
        r = json.loads(line)
        if abs(r["tradeoff"] - tradeoff) < 1e-9:
            out[r["dataset"]] = r["ranges"]
    return out
