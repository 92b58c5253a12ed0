"""Small datasets cut from a corpus, for fitting and checking what the tuner
does on data too small to explore (`MIN_EXPLORE_BYTES`).

    python3 scripts/small_slices.py MANIFEST OUT_DIR [--sizes 16384 65536 ...]

For every dataset of MANIFEST and every size below the dataset's own, the
middle slice of that many bytes (whole elements) becomes a dataset of its own;
datasets already that small (or --whole-up-to) are copied whole. Writes the raw files and a
manifest.json in the corpus's format.
"""

import argparse
import json
from pathlib import Path


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("manifest", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--sizes", type=int, nargs="+", default=[16384, 65536, 262144])
    ap.add_argument("--whole-up-to", type=int, default=None,
                    help="copy datasets up to this size whole (default: the largest size)")
    args = ap.parse_args()
    src = json.loads(args.manifest.read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    out = []
    largest = args.whole_up_to or max(args.sizes)
    for d in src["datasets"]:
        data = (args.manifest.parent / d["file"]).read_bytes()
        ts = d["typesize"]
        cuts = [(f"{d['name']}", data)] if len(data) <= largest else []
        for size in args.sizes:
            n = size // ts * ts
            if 0 < n < len(data):
                start = (len(data) // ts // 2 - n // ts // 2) * ts
                cuts.append((f"{d['name']}@{size // 1024}k", data[start:start + n]))
        for name, piece in cuts:
            file = name.replace("@", "_at_") + ".bin"
            (args.out / file).write_bytes(piece)
            out.append({**d, "name": name, "file": file, "nbytes": len(piece), "shape": [len(piece) // ts]})
    (args.out / "manifest.json").write_text(json.dumps({"version": 1, "datasets": out}, indent=1))
    print(f"{len(out)} datasets in {args.out}")


if __name__ == "__main__":
    main()
