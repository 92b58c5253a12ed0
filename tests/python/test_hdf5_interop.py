"""The HDF5 plugin's promise, tested across processes with the standard
tools: what our plugin writes through h5py, h5py + hdf5plugin read without
any code of ours; what hdf5plugin (and plain c-blosc2) writes, our plugin
reads. Also per-dataset tuners, per-dataset options and the environment."""

import json

import pytest

from conftest import run_py

MAGIC = 0x4254554E

# Writes every corpus dataset (1-D as is, and 2-D/3-D views where the size
# allows) with our plugin; checks each chunk went through the filter.
WRITE_CORPUS_OURS = r"""
import sys, json, pathlib, numpy as np, h5py
assert "hdf5plugin" not in sys.modules
corpus, out = pathlib.Path(sys.argv[1]), sys.argv[2]
datasets = json.loads((corpus / "manifest.json").read_text())["datasets"]
report = {}
with h5py.File(out, "w") as f:
    for d in datasets:
        a = np.fromfile(corpus / d["file"], dtype=d["dtype"]).reshape(d["shape"])
        views = {"": a.reshape(-1)}
        if a.ndim >= 2:
            views["nd"] = a
        elif a.size % 64 == 0:
            views["nd"] = a.reshape(-1, 64)
        for tag, v in views.items():
            target = max(1, (1 << 20) // (v.itemsize * int(np.prod(v.shape[1:]) or 1)))
            chunks = (min(v.shape[0], target),) + v.shape[1:]
            name = d["name"] + ("_" + tag if tag else "")
            ds = f.create_dataset(name, data=v, chunks=chunks, compression=32026)
            masks = [ds.id.get_chunk_info(i).filter_mask for i in range(ds.id.get_num_chunks())]
            assert masks and all(m == 0 for m in masks), f"{name}: filter skipped on some chunk: {masks}"
            report[name] = [int(ds.id.get_storage_size()), int(v.nbytes)]
print(json.dumps(report))
"""

READ_CORPUS_STANDARD = r"""
import sys, json, pathlib, numpy as np, h5py, hdf5plugin
corpus, path = pathlib.Path(sys.argv[1]), sys.argv[2]
datasets = json.loads((corpus / "manifest.json").read_text())["datasets"]
n = 0
with h5py.File(path, "r") as f:
    for d in datasets:
        a = np.fromfile(corpus / d["file"], dtype=d["dtype"])
        for name in (d["name"], d["name"] + "_nd"):
            if name not in f:
                continue
            got = f[name][...]
            assert got.dtype == a.dtype and got.tobytes() == a.tobytes(), name
            n += 1
print(f"h5py {h5py.__version__} + hdf5plugin {hdf5plugin.version} read {n} datasets exactly")
"""


def test_standard_reader_reads_everything_our_plugin_writes(plugin_dir, corpus, tmp_path):
    corpus_dir, datasets = corpus
    path = tmp_path / "ours.h5"
    p = run_py(WRITE_CORPUS_OURS, corpus_dir, path, plugin_dir=plugin_dir)
    sizes = json.loads(p.stdout)
    assert len(sizes) >= len(datasets)
    # Really compressed: most of the corpus shrinks well (noise may not).
    shrunk = [n for n, (stored, raw) in sizes.items() if stored < 0.8 * raw]
    assert len(shrunk) >= len(sizes) * 2 // 3, sizes
    p = run_py(READ_CORPUS_STANDARD, corpus_dir, path)
    assert f"read {len(sizes)} datasets exactly" in p.stdout, p.stdout


# hdf5plugin writes every codec x shuffle it offers, 1-D and 3-D (its b2nd
# frames with sub-cube blocks); plain c-blosc2 chunks are written raw.
WRITE_STANDARD = r"""
import sys, numpy as np, h5py, hdf5plugin, blosc2
out = sys.argv[1]
rng = np.random.default_rng(3)
one = np.cumsum(rng.normal(size=120_000)).astype("f8")
three = (np.cumsum(rng.integers(-2, 3, size=30 * 40 * 50)).reshape(30, 40, 50)).astype("i4")
B = hdf5plugin.Blosc2
with h5py.File(out, "w") as f:
    f["expect_one"], f["expect_three"] = one, three
    for cname in ["blosclz", "lz4", "lz4hc", "zlib", "zstd"]:
        for filt in [B.NOFILTER, B.SHUFFLE, B.BITSHUFFLE, B.DELTA]:
            f.create_dataset(f"one_{cname}_{filt}", data=one, chunks=(25_000,), **B(cname=cname, clevel=5, filters=filt))
            f.create_dataset(f"three_{cname}_{filt}", data=three, chunks=(16, 20, 50), **B(cname=cname, clevel=5, filters=filt))
    ds = f.create_dataset("plain_chunks", shape=one.shape, dtype="f8", chunks=(30_000,), compression=32026,
                          compression_opts=(1, 0, 8, 240_000, 5, 1, 5))
    for i in range(4):
        ds.id.write_direct_chunk((i * 30_000,), blosc2.compress2(one[i * 30_000:(i + 1) * 30_000], typesize=8))
    print(len(f) - 2)
"""

READ_OURS = r"""
import sys, h5py
assert "hdf5plugin" not in sys.modules
n = 0
with h5py.File(sys.argv[1], "r") as f:
    one, three = f["expect_one"][...], f["expect_three"][...]
    for name in f:
        if name.startswith("expect"):
            continue
        want = three if name.startswith("three") else one
        got = f[name][...]
        assert got.tobytes() == want.tobytes(), name
        n += 1
print(f"our plugin read {n} datasets exactly")
"""


def test_our_plugin_reads_what_hdf5plugin_and_c_blosc2_write(plugin_dir, tmp_path):
    path = tmp_path / "standard.h5"
    n = int(run_py(WRITE_STANDARD, path).stdout)
    assert n == 41
    p = run_py(READ_OURS, path, plugin_dir=plugin_dir)
    assert f"read {n} datasets exactly" in p.stdout


INTERLEAVE_AND_REOPEN = r"""
import sys, numpy as np, h5py
out = sys.argv[1]
rng = np.random.default_rng(5)
x = np.cumsum(rng.normal(size=8 * 65_536))
y = np.cumsum(rng.integers(-1, 2, size=8 * 65_536)).astype("f8")
with h5py.File(out, "w") as f:
    a = f.create_dataset("a", shape=(4 * 65_536,), maxshape=(None,), dtype="f8", chunks=(65_536,), compression=32026)
    b = f.create_dataset("b", shape=(4 * 65_536,), maxshape=(None,), dtype="f8", chunks=(65_536,), compression=32026)
    for i in range(4):
        s = slice(i * 65_536, (i + 1) * 65_536)
        a[s], b[s] = x[s], y[s]
print("REOPEN", file=sys.stderr, flush=True)
with h5py.File(out, "a") as f:
    for name, data in (("a", x), ("b", y)):
        d = f[name]
        d.resize((8 * 65_536,))
        d[4 * 65_536:] = data[4 * 65_536:]
        assert d[...].tobytes() == data.tobytes()
    ids = [f[n].id.get_create_plist().get_filter_by_id(32026)[1] for n in "ab"]
    assert ids[0][:10] == ids[1][:10] and ids[0] != ids[1], ids
"""


def test_each_dataset_has_its_own_tuner_which_survives_reopening(plugin_dir, tmp_path):
    p = run_py(INTERLEAVE_AND_REOPEN, tmp_path / "two.h5", plugin_dir=plugin_dir, env_extra={"BTUNE_TRACE": "1"})
    before, after = p.stderr.split("REOPEN")
    # The trace prints a header when a tuner is made: two datasets, two
    # tuners; appending after reopening continues with them.
    assert before.count("BTune version:") == 2, p.stderr
    assert after.count("BTune version:") == 0, p.stderr
    rows = [l for l in after.splitlines() if l.startswith("|") and "Codec" not in l]
    assert len(rows) == 8, after


OPTIONS = r"""
import sys, numpy as np, h5py
with h5py.File(sys.argv[1], "w") as f:
    d = f.create_dataset("d", data=np.arange(200_000, dtype="i4"), chunks=(50_000,), compression=32026,
                         compression_opts=(0x4254554E, 100_000, 1))
    v = d.id.get_create_plist().get_filter_by_id(32026)[1]
    print(list(v))
"""


def test_tradeoff_and_perf_mode_are_set_per_dataset_from_h5py(plugin_dir, tmp_path):
    p = run_py(OPTIONS, tmp_path / "o.h5", plugin_dir=plugin_dir, env_extra={"BTUNE_TRACE": "1"})
    values = json.loads(p.stdout)
    tail = values[8 + values[7]:]
    assert tail[0] == MAGIC and tail[5:7] == [100_000, 1], values
    assert "Performance Mode: DECOMP, Compression tradeoff: 0.1" in p.stderr, p.stderr


CODECS = r"""
import os, sys, numpy as np, h5py
x = np.cumsum(np.random.default_rng(2).normal(size=400_000))
with h5py.File(sys.argv[1], "w") as f:
    d = f.create_dataset("d", data=x, chunks=(50_000,), compression=32026, compression_opts=(0, 0, 0, 0, 5, 1, 0))
    # python-blosc2 itself reacts to BTUNE_TRADEOFF (it looks for its own
    # tuner plugin); our plugin reads it on the first chunk it compresses.
    f.flush()
    os.environ.pop("BTUNE_TRADEOFF", None)
    import blosc2
    codecs = set()
    for i in range(d.id.get_num_chunks()):
        raw = d.id.read_direct_chunk(d.id.get_chunk_info(i).chunk_offset)[1]
        chunk = blosc2.schunk_from_cframe(raw).get_chunk(0)
        codecs.add(chunk[2] >> 5)  # codec format in the header's flags
    print(sorted(codecs))
"""


def test_fixed_parameters_unless_btune_tradeoff_is_set(plugin_dir, tmp_path):
    fixed = json.loads(run_py(CODECS, tmp_path / "f.h5", plugin_dir=plugin_dir).stdout)
    assert fixed == [0], "hdf5plugin-style values mean blosclz as given"
    tuned = json.loads(
        run_py(CODECS, tmp_path / "t.h5", plugin_dir=plugin_dir, env_extra={"BTUNE_TRADEOFF": "1.0"}).stdout
    )
    assert tuned != [0], "BTUNE_TRADEOFF tunes every dataset"


CORRUPT = r"""
import sys, numpy as np, h5py
with h5py.File(sys.argv[1], "w") as f:
    d = f.create_dataset("d", data=np.arange(100_000, dtype="f8"), chunks=(25_000,), compression=32026)
    d.id.write_direct_chunk((0,), b"\x02\x01" + b"garbage" * 40)
    try:
        d[...]
    except OSError as e:
        print("OSError:", e)
    assert d[25_000:].tobytes() == np.arange(25_000, 100_000, dtype="f8").tobytes()
"""


def test_a_corrupt_chunk_is_an_error_not_a_crash(plugin_dir, tmp_path):
    p = run_py(CORRUPT, tmp_path / "c.h5", plugin_dir=plugin_dir)
    assert "OSError:" in p.stdout and "filter" in p.stdout, p.stdout


def test_the_h5py_example_runs(plugin_dir, tmp_path):
    import pathlib
    import subprocess
    import sys

    example = pathlib.Path(__file__).resolve().parents[2] / "examples" / "h5py_tuned.py"
    env = {"HDF5_PLUGIN_PATH": str(plugin_dir), "PATH": "/usr/bin:/bin"}
    p = subprocess.run([sys.executable, str(example), str(tmp_path / "ex.h5")], env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert "read back exactly with h5py + hdf5plugin only" in p.stdout
