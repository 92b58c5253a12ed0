"""A training corpus for `btune train`, disjoint from the benchmark corpus
(../shared/corpus/build.py): other arrays shipped in the same PyPI packages,
other types derived from them, and seeded generators with other shapes and
parameters. Models trained on it can be evaluated on every benchmark dataset.

usage: .venv/bin/python scripts/training_corpus.py OUT_DIR

Writes raw little-endian arrays and a manifest.json in the benchmark
corpus's format. Deterministic given the package versions; an array a package
cannot provide offline is left out (and named on stderr).
"""

import json
import os
import sys

import numpy as np

MIB = 1 << 20


def real_arrays():
    import matplotlib
    import matplotlib.image
    import pywt
    import skimage.data as sd

    out = []

    def add(name, make, source, note):
        try:
            arr = make()
        except Exception as e:  # an image the package must download
            print(f"skipping {name}: {e}", file=sys.stderr)
            return
        out.append((name, np.ascontiguousarray(arr), source, note))

    for img in ["astronaut", "camera", "coins", "page", "text", "clock", "coffee", "chelsea", "rocket",
                "immunohistochemistry", "grass", "gravel", "brick", "colorwheel", "logo", "cell",
                "human_mitosis"]:
        add(f"sk_{img}_u8", lambda img=img: getattr(sd, img)().astype(np.uint8),
            f"scikit-image data {img}", "image")
    add("sk_horse_u8", lambda: sd.horse().astype(np.uint8), "scikit-image data horse", "binary mask")
    add("sk_phantom_f64", lambda: sd.shepp_logan_phantom().astype("<f8"),
        "scikit-image data shepp_logan_phantom", "phantom, float64")
    add("sk_camera_u16", lambda: (sd.camera().astype("<u2") * 257), "scikit-image camera x 257", "image as u16")
    add("sk_camera_grad_f32", lambda: np.stack(np.gradient(sd.camera().astype("<f4"))),
        "scikit-image camera gradient", "image gradient, float32")
    add("sk_astronaut_f32", lambda: sd.astronaut().astype("<f4") / 255, "scikit-image astronaut / 255",
        "RGB image as float32")
    add("sk_blobs_u8", lambda: sd.binary_blobs(length=1024, rng=7).astype(np.uint8),
        "scikit-image binary_blobs(rng=7)", "binary blobs")

    add("pw_aero_f64", lambda: np.asarray(pywt.data.aero(), dtype="<f8"), "PyWavelets data aero", "image")
    add("pw_ascent_i16", lambda: np.asarray(pywt.data.ascent()).astype("<i2"), "PyWavelets data ascent", "image")
    for sig in ["Blocks", "Bumps", "HeaviSine", "Doppler", "Piece-Regular", "MishMash", "LinChirp",
                "TwoChirp"]:
        tag = sig.lower().replace("-", "_")
        add(f"pw_{tag}_f64", lambda sig=sig: np.asarray(pywt.data.demo_signal(sig, 131072), dtype="<f8"),
            f"PyWavelets demo_signal {sig}", "1-D signal, float64")
        add(f"pw_{tag}_i16", lambda sig=sig: np.round(
            np.asarray(pywt.data.demo_signal(sig, 262144)) * 1000).astype("<i2"),
            f"PyWavelets demo_signal {sig} x 1000", "1-D signal, int16")

    md = os.path.join(matplotlib.get_data_path(), "sample_data")
    add("mpl_eeg_i16", lambda: np.fromfile(os.path.join(md, "eeg.dat"), dtype="<i2"),
        "matplotlib sample_data eeg.dat", "EEG channels")
    add("mpl_topobathy_i16", lambda: np.load(os.path.join(md, "topobathy.npz"))["topo"].astype("<i2"),
        "matplotlib sample_data topobathy.npz", "topography and bathymetry")
    add("mpl_goog_f64", lambda: np.stack([np.load(os.path.join(md, "goog.npz"))["price_data"][c].astype("<f8")
                                          for c in ["open", "high", "low", "close"]]),
        "matplotlib sample_data goog.npz", "stock prices")
    add("mpl_hopper_u8", lambda: matplotlib.image.imread(os.path.join(md, "grace_hopper.jpg")).astype(np.uint8),
        "matplotlib sample_data grace_hopper.jpg", "RGB photograph")
    return out


def synthetic_arrays():
    rng = np.random.default_rng(4242)
    out = []

    def smooth(n, passes):
        x = rng.standard_normal(n)
        for _ in range(passes):
            x = np.cumsum(x)
            x -= x.mean()
        return x / (np.abs(x).max() + 1e-12)

    n = MIB // 8
    for noise in [0.0, 1e-4, 1e-2]:
        tag = {0.0: "clean", 1e-4: "lownoise", 1e-2: "noisy"}[noise]
        out.append((f"syn_field_{tag}_f64", (smooth(n, 2) + noise * rng.standard_normal(n)).astype("<f8"),
                    "synthetic twice-integrated noise", f"smooth field, noise {noise}"))
        out.append((f"syn_field_{tag}_f32", (smooth(2 * n, 2) + noise * rng.standard_normal(2 * n)).astype("<f4"),
                    "synthetic twice-integrated noise", f"smooth field, noise {noise}"))
    out.append(("syn_field_f16", smooth(4 * n, 2).astype("<f2"), "synthetic", "smooth field, float16"))
    out.append(("syn_rounded_f32", np.round(smooth(2 * n, 1) * 100, 2).astype("<f4"), "synthetic",
                "random walk rounded to 2 decimals"))
    out.append(("syn_walk_i32", np.cumsum(rng.integers(-50, 51, 2 * n)).astype("<i4"), "synthetic",
                "random walk, int32"))
    out.append(("syn_walk_i64", np.cumsum(rng.integers(0, 1000, n)).astype("<i8"), "synthetic",
                "increasing counter with jitter, int64"))
    out.append(("syn_ids_u64", np.sort(rng.choice(1 << 40, n, replace=False)).astype("<u8"), "synthetic",
                "sorted sparse ids"))
    for density in [0.001, 0.05]:
        x = np.zeros(n)
        idx = rng.choice(n, int(n * density), replace=False)
        x[idx] = rng.standard_normal(idx.size)
        out.append((f"syn_sparse{int(density * 1000)}_f64", x.astype("<f8"), "synthetic",
                    f"sparse, density {density}"))
    out.append(("syn_labels_u16", np.repeat(rng.integers(0, 300, MIB // 64), 32).astype("<u2"), "synthetic",
                "categorical labels in runs of 32"))
    out.append(("syn_labels_u8", rng.choice(4, MIB, p=[0.7, 0.2, 0.07, 0.03]).astype(np.uint8), "synthetic",
                "skewed categorical bytes"))
    t = np.arange(MIB // 2)
    out.append(("syn_audio_i16", (8000 * np.sin(t * 0.01) * np.sin(t * 0.0003) + rng.normal(0, 200, t.size))
                .astype("<i2"), "synthetic", "modulated tone with noise"))
    chirp = np.exp(1j * (t[: MIB // 16] * 1e-3) ** 2)
    out.append(("syn_chirp_c128", chirp.astype("<c16"), "synthetic", "complex chirp, 16-byte elements"))
    words = np.array([w.encode() for w in
                      "the of and to in data array chunk value time field grid model error mean".split()])
    text = b" ".join(rng.choice(words, MIB // 5))[: MIB]
    out.append(("syn_words_u8", np.frombuffer(text, dtype=np.uint8), "synthetic", "random words"))
    out.append(("syn_uniform_f32", rng.uniform(0, 1, MIB // 4).astype("<f4"), "synthetic",
                "uniform random float32 (mantissas incompressible)"))
    return out


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    entries = []
    for name, arr, source, note in real_arrays() + synthetic_arrays():
        dtype = arr.dtype.newbyteorder("<") if arr.dtype.itemsize > 1 else arr.dtype
        arr = np.ascontiguousarray(arr.astype(dtype, copy=False))
        fname = name + ".bin"
        arr.tofile(os.path.join(out_dir, fname))
        entries.append({
            "name": name, "file": fname, "dtype": arr.dtype.str, "typesize": arr.dtype.itemsize,
            "shape": list(arr.shape), "nbytes": int(arr.nbytes),
            "kind": "synthetic" if source.startswith("synthetic") else "real",
            "source": source, "note": note,
        })
    with open(os.path.join(out_dir, "manifest.json"), "w") as fh:
        json.dump({"version": 1, "datasets": entries}, fh, indent=1)
    total = sum(e["nbytes"] for e in entries)
    print(f"{len(entries)} datasets, {total / MIB:.1f} MiB in {out_dir}", file=sys.stderr)


if __name__ == "__main__":
    main()
