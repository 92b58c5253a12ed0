"""The `btune` Python package apart from zarr: the HDF5 filter registered in
h5py by `import btune.hdf5` (no plugin path), files it writes read by plain
h5py + hdf5plugin in another process, the standalone plugin shipped in the
wheel, and the extension's errors as Python exceptions."""

import json
import os
import pathlib
import subprocess
import sys
import threading

import numpy as np
import pytest

import btune
import btune._btune as _btune

MAGIC = 0x4254554E


def run(code, *args, env_extra=None, timeout=120):
    """Runs `code` in a fresh interpreter with neither HDF5_PLUGIN_PATH nor
    BTUNE_* variables (unless given in `env_extra`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HDF5_PLUGIN_PATH", "BTUNE_"))}
    env.update(env_extra or {})
    p = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert p.returncode == 0, f"subprocess failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
    return p


# Writes with btune.hdf5.Btune(...) as **kwargs, no plugin path; checks every
# chunk went through the filter and reads back in-process.
WRITE_TUNED = r"""
import sys, os, json, numpy as np, h5py
import btune.hdf5
assert "HDF5_PLUGIN_PATH" not in os.environ and "hdf5plugin" not in sys.modules
rng = np.random.default_rng(5)
y, x = np.mgrid[0:1024, 0:512]
data = {
    "field": np.round(np.sin(x / 50.0) * np.cos(y / 30.0) + rng.normal(0, 1e-4, x.shape), 4),
    "counts": np.cumsum(rng.integers(0, 4, size=600_000)).astype("i4"),
    "cube": np.round(np.cumsum(rng.normal(size=(40, 50, 60)), axis=2), 1).astype("f4"),
}
options = {"field": btune.hdf5.Btune(tradeoff=0.7, perf_mode="comp"),
           "counts": btune.hdf5.Btune(tradeoff=0.2, perf_mode="DECOMP"),
           "cube": btune.hdf5.Btune()}
chunks = {"field": (128, 512), "counts": (100_000,), "cube": (16, 25, 60)}
report = {}
with h5py.File(sys.argv[1], "w") as f:
    for name, a in data.items():
        ds = f.create_dataset(name, data=a, chunks=chunks[name], **options[name])
        masks = [ds.id.get_chunk_info(i).filter_mask for i in range(ds.id.get_num_chunks())]
        report[name] = {"masks": masks, "stored": int(ds.id.get_storage_size()), "raw": int(a.nbytes),
                        "filter": [int(v) for v in ds.id.get_create_plist().get_filter(0)[:1]],
                        "opts": [int(v) for v in ds.id.get_create_plist().get_filter(0)[2]]}
with h5py.File(sys.argv[1], "r") as f:
    for name, a in data.items():
        assert f[name][...].tobytes() == a.tobytes(), name
np.savez(sys.argv[2], **data)
print(json.dumps(report))
"""

READ_STANDARD = r"""
import sys, numpy as np, h5py, hdf5plugin
assert "HDF5_PLUGIN_PATH" not in __import__("os").environ
data = np.load(sys.argv[2])
with h5py.File(sys.argv[1], "r") as f:
    for name in data.files:
        assert f[name][...].tobytes() == data[name].tobytes(), name
assert not [m for m in sys.modules if m.startswith("btune")]
print(f"h5py + hdf5plugin {hdf5plugin.version} read {len(data.files)} datasets exactly")
"""


def test_btune_hdf5_writes_tuned_datasets_that_hdf5plugin_reads(tmp_path):
    h5, npz = tmp_path / "t.h5", tmp_path / "t.npz"
    report = json.loads(run(WRITE_TUNED, h5, npz).stdout)
    for name, r in report.items():
        assert r["masks"] and all(m == 0 for m in r["masks"]), f"{name}: filter skipped on a chunk"
        assert r["stored"] < r["raw"] * 0.8, (name, r)
        assert r["filter"] == [32026]
    # Our per-dataset options are stored in our tail after the dims.
    tails = {name: r["opts"][r["opts"].index(MAGIC) :] for name, r in report.items()}
    assert tails["field"][5:7] == [700_000, 0]
    assert tails["counts"][5:7] == [200_000, 1]
    assert tails["cube"][5:7] == [0xFFFFFFFF, 0xFFFFFFFF]
    p = run(READ_STANDARD, h5, npz)
    assert "read 3 datasets exactly" in p.stdout


def test_import_registers_the_filter_in_h5py():
    code = (
        "import h5py\n"
        "before = h5py.h5z.filter_avail(32026)\n"
        "import btune.hdf5\n"
        "print(before, h5py.h5z.filter_avail(32026), btune.hdf5.FILTER_ID)\n"
    )
    assert run(code).stdout.split() == ["False", "True", "32026"]


def test_btune_options_follow_the_documented_layout():
    from btune.hdf5 import Btune

    assert dict(Btune(tradeoff=0.5, perf_mode="comp")) == {
        "compression": 32026,
        "compression_opts": (MAGIC, 500_000, 0),
    }
    assert Btune(tradeoff=1, perf_mode="Balanced").filter_options == (MAGIC, 1_000_000, 2)
    assert Btune(perf_mode="decomp").filter_options == (MAGIC, 0xFFFFFFFF, 1)
    assert Btune().filter_options == (MAGIC, 0xFFFFFFFF, 0xFFFFFFFF)
    assert Btune(tradeoff=0.123456789).filter_options[1] == 123_457
    for bad in [dict(tradeoff=1.5), dict(tradeoff=-1), dict(tradeoff="0.5"), dict(perf_mode="fast")]:
        with pytest.raises(ValueError, match="btune"):
            Btune(**bad)


# The standalone plugin shipped in the wheel, used through HDF5_PLUGIN_PATH
# by a process that never imports btune.
PLUGIN_PATH_USER = r"""
import sys, os, numpy as np, h5py
a = np.cumsum(np.random.default_rng(2).normal(size=300_000)).astype("f8")
with h5py.File(sys.argv[1], "w") as f:
    ds = f.create_dataset("a", data=a, chunks=(50_000,), compression=32026, compression_opts=(0x4254554E, 500_000, 0))
    assert all(ds.id.get_chunk_info(i).filter_mask == 0 for i in range(ds.id.get_num_chunks()))
    assert ds.id.get_storage_size() < a.nbytes
with h5py.File(sys.argv[1], "r") as f:
    assert f["a"][...].tobytes() == a.tobytes()
assert not [m for m in sys.modules if m.startswith("btune")]
print("ok")
"""


def test_plugin_path_holds_the_standalone_plugin(tmp_path):
    import btune.hdf5

    assert btune.hdf5.PLUGIN_PATH is not None, "the wheel was built without the plugin (see scripts/setup.sh)"
    d = pathlib.Path(btune.hdf5.PLUGIN_PATH)
    assert [p.name for p in d.iterdir()] == ["libbtune_hdf5.so"], "HDF5 tries every file in a plugin directory"
    p = run(PLUGIN_PATH_USER, tmp_path / "p.h5", env_extra={"HDF5_PLUGIN_PATH": str(d)})
    assert p.stdout.strip() == "ok"


def test_extension_errors_are_python_exceptions():
    with pytest.raises(ValueError, match="tradeoff"):
        _btune.Tuner(8, tradeoff=1.5)
    with pytest.raises(ValueError, match="typesize"):
        _btune.Tuner(0)
    with pytest.raises(ValueError, match="typesize"):
        _btune.Tuner(300, tune=False, params="lz4/shuffle/1")
    with pytest.raises(ValueError, match="perf_mode"):
        _btune.Tuner(8, perf_mode="fastest")
    with pytest.raises(ValueError, match="params"):
        _btune.Tuner(8, tune=False)
    with pytest.raises(ValueError, match="cannot parse parameters"):
        _btune.Tuner(8, params="zstd")
    with pytest.raises(ValueError, match="unknown codec"):
        _btune.parse_params("brotli/shuffle/5")
    with pytest.raises(OverflowError):
        _btune.Tuner(-1)
    with pytest.raises(TypeError, match="btune"):
        _btune.Tuner(4).compress(12345)
    with pytest.raises(TypeError, match="contiguous"):
        _btune.Tuner(4).compress(np.arange(100, dtype="i4")[::2])
    good = _btune.Tuner(4).compress(np.arange(10_000, dtype="i4"))
    for corrupt in [b"", b"xx", b"\x02\x01" + bytes(100), good[: len(good) // 2], b"\x00\x00b2frame" + bytes(50)]:
        with pytest.raises(ValueError, match="btune: "):
            _btune.decompress(corrupt)
        with pytest.raises(ValueError, match="btune: "):
            _btune.inspect(corrupt)
    with pytest.raises(ValueError, match="thread count"):
        _btune.decompress(good, nthreads=0)


def test_tuner_round_trips_tuned_and_fixed_and_shares_across_threads():
    rng = np.random.default_rng(9)
    chunks = [np.cumsum(rng.normal(size=65_536)).astype("f8") for _ in range(16)]
    tuner = btune.Tuner(8, tradeoff=0.5)
    out = [None] * len(chunks)

    def work(i):
        out[i] = tuner.compress(chunks[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(chunks))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c, a in zip(out, chunks):
        assert btune.decompress(c) == a.tobytes()
        assert btune.inspect(c)["typesize"] == 8 and not btune.inspect(c)["frame"]
    stats = tuner.stats()
    assert stats["chunks"] == 16 and stats["nbytes"] == 16 * 65_536 * 8
    assert sum(stats["usage"].values()) == 16
    fixed = btune.Tuner(8, tune=False, params="zlib/bitshuffle/3/always")
    c = fixed.compress(memoryview(chunks[0].tobytes()))
    info = btune.inspect(c)
    assert (info["codec"], info["filter"], info["split"]) == ("zlib", "bitshuffle", "always")
    assert fixed.decompress(c) == chunks[0].tobytes() and fixed.stats() == {}
    assert btune.parse_params("zstd/shuffle/5") == "zstd/shuffle/5/never/auto/1t"


def test_decompress_reads_python_blosc2_chunks_and_frames():
    import blosc2

    a = np.arange(200_000, dtype="i8")
    for codec in [blosc2.Codec.BLOSCLZ, blosc2.Codec.LZ4, blosc2.Codec.ZSTD, blosc2.Codec.ZLIB]:
        chunk = blosc2.compress2(a, typesize=8, codec=codec, filters=[blosc2.Filter.SHUFFLE])
        assert btune.decompress(chunk) == a.tobytes()
    frame = blosc2.SChunk(chunksize=a.nbytes, data=a, cparams={"typesize": 8}).to_cframe()
    assert btune.decompress(frame) == a.tobytes()
    assert btune.inspect(frame)["frame"] is True
