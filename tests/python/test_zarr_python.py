"""The "btune" codec in zarr-python 3: exact round trips for every data type
and rank (partial edge chunks included), the metadata it writes, fixed
parameters, corrupt chunks, chunks read back by python-blosc2 alone in a
separate process, Dask writing from worker processes, and the example."""

import hashlib
import json
import os
import pathlib
import pickle
import subprocess
import sys

import numpy as np
import pytest
import zarr

import btune
from btune.zarr import BtuneCodec

REPO = pathlib.Path(__file__).resolve().parents[2]
DTYPES = ["u1", "i2", "u2", "i4", "f4", "f8", "i8"]
# (shape, chunks): every shape leaves partial chunks at the edges.
SHAPES = {
    1: ((300_001,), (65_536,)),
    2: ((700, 333), (128, 100)),
    3: ((37, 61, 90), (16, 32, 40)),
}


def run(code, *args, timeout=120, env_extra=None):
    """Runs `code` in a fresh interpreter without BTUNE_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BTUNE_")}
    env.update(env_extra or {})
    p = subprocess.run(
        [sys.executable, "-c", code, *map(str, args)], env=env, capture_output=True, text=True, timeout=timeout
    )
    assert p.returncode == 0, f"subprocess failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
    return p


def sample(dtype, shape, seed=0):
    """Smooth-ish data with no chunk equal to the fill value (so every chunk
    is written)."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    dt = np.dtype(dtype)
    if dt.kind == "f":
        a = np.cumsum(rng.normal(size=n)) + 0.5
    else:
        top = min(np.iinfo(dt).max, 1 << 20) - 1
        a = np.cumsum(rng.integers(0, 3, size=n)) % top + 1
    return a.astype(dt).reshape(shape)


def expected_chunks(a, chunks, fill=0):
    """Chunk key -> the bytes zarr-python hands the codec: the chunk padded
    with the fill value to the full chunk shape, little-endian, C order."""
    grid = [-(-s // c) for s, c in zip(a.shape, chunks)]
    out = {}
    for idx in np.ndindex(*grid):
        src = tuple(slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(idx, chunks, a.shape))
        block = np.full(chunks, fill, dtype=a.dtype.newbyteorder("<"))
        block[tuple(slice(0, sl.stop - sl.start) for sl in src)] = a[src]
        out["c/" + "/".join(map(str, idx))] = block.tobytes()
    return out


def chunk_files(path):
    root = pathlib.Path(path)
    return {str(p.relative_to(root)): p for p in sorted((root / "c").rglob("*")) if p.is_file()}


def btune_config(path):
    meta = json.loads((pathlib.Path(path) / "zarr.json").read_text())
    found = [c for c in meta["codecs"] if c["name"] == "btune"]
    assert len(found) == 1, meta["codecs"]
    return found[0]["configuration"]


@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("how", ["entry_point", "instance"])
def test_round_trip_every_dtype_and_rank(tmp_path, dtype, ndim, how):
    shape, chunks = SHAPES[ndim]
    a = sample(dtype, shape)
    compressor = {"name": "btune", "configuration": {}} if how == "entry_point" else BtuneCodec(tradeoff=0.5)
    path = tmp_path / "a.zarr"
    z = zarr.create_array(str(path), shape=shape, chunks=chunks, dtype=dtype, compressors=[compressor])
    z[...] = a
    got = zarr.open_array(str(path), mode="r")[...]
    assert got.dtype == a.dtype and got.shape == a.shape
    assert got.tobytes() == a.tobytes()
    cfg = btune_config(path)
    assert cfg["typesize"] == np.dtype(dtype).itemsize
    assert cfg.get("tune", True) is True
    files = chunk_files(path)
    want = expected_chunks(a, chunks)
    assert set(files) == set(want)
    for key, f in files.items():
        chunk = f.read_bytes()
        assert chunk[3] == np.dtype(dtype).itemsize, key  # typesize in the header
        assert btune.decompress(chunk) == want[key], key


def test_metadata_round_trips_and_ignores_unknown_keys():
    c = BtuneCodec.from_dict(
        {"name": "btune", "configuration": {"perf_mode": "DECOMP", "tradeoff": 1, "future_key": [1, 2]}}
    )
    assert c.perf_mode == "decomp" and c.tradeoff == 1.0 and c.tune is True and c.typesize is None
    assert c.to_dict() == {"name": "btune", "configuration": {"tradeoff": 1.0, "perf_mode": "decomp", "tune": True}}
    assert BtuneCodec.from_dict({"name": "btune", "configuration": {}}) == BtuneCodec()
    assert BtuneCodec.from_dict({"name": "btune"}) == BtuneCodec()
    fixed = BtuneCodec(typesize=8, tune=False, params="zstd/shuffle/5/never")
    assert BtuneCodec.from_dict(fixed.to_dict()) == fixed
    assert fixed.to_dict()["configuration"] == {"typesize": 8, "tune": False, "params": "zstd/shuffle/5/never"}


@pytest.mark.parametrize(
    "config",
    [
        {"typesize": 0},
        {"typesize": 256},
        {"typesize": 2.0},
        {"tradeoff": 1.5},
        {"tradeoff": -0.1},
        {"tradeoff": "0.5"},
        {"perf_mode": "fast"},
        {"tune": "yes"},
        {"tune": False},
        {"params": "brotli/none/5"},
        {"params": "zstd/none/0"},
    ],
)
def test_invalid_configuration_is_a_value_error(config):
    with pytest.raises(ValueError, match="btune"):
        BtuneCodec.from_dict({"name": "btune", "configuration": config})


def test_fixed_parameters_are_honoured(tmp_path):
    a = sample("f8", (200_000,))
    path = tmp_path / "fixed.zarr"
    codec = {"name": "btune", "configuration": {"tune": False, "params": "zstd/bitshuffle/5/never"}}
    z = zarr.create_array(str(path), shape=a.shape, chunks=(50_000,), dtype="f8", compressors=[codec])
    z[...] = a
    assert zarr.open_array(str(path), mode="r")[...].tobytes() == a.tobytes()
    cfg = btune_config(path)
    assert cfg == {"typesize": 8, "tune": False, "params": "zstd/bitshuffle/5/never"}
    files = chunk_files(path)
    assert len(files) == 4
    for f in files.values():
        chunk = f.read_bytes()
        assert chunk[2] >> 5 == 4, "codec format in the header is not zstd"
        assert chunk[2] & 0x10, "split mode is not 'never'"
        info = btune.inspect(chunk)
        assert (info["codec"], info["filter"], info["split"]) == ("zstd", "bitshuffle", "never")


def test_tuning_options_reach_the_tuner(tmp_path):
    a = sample("f4", (400, 1000))
    z = zarr.create_array(
        str(tmp_path / "o.zarr"),
        shape=a.shape,
        chunks=(100, 1000),
        dtype="f4",
        compressors=BtuneCodec(tradeoff=0.9, perf_mode="Balanced"),
    )
    z[...] = a
    codec = [c for c in z.metadata.codecs if isinstance(c, BtuneCodec)][0]
    tuner = codec.tuner()
    assert (tuner.tradeoff, tuner.perf_mode, tuner.typesize) == (0.9, "balanced", 4)
    stats = tuner.stats()
    assert stats["chunks"] == 4 and stats["nbytes"] == a.nbytes  # one tuner for the whole array
    assert btune_config(tmp_path / "o.zarr") == {"typesize": 4, "tradeoff": 0.9, "perf_mode": "balanced", "tune": True}


def test_sharded_array_round_trips(tmp_path):
    a = sample("i4", (500, 300))
    path = tmp_path / "s.zarr"
    z = zarr.create_array(
        str(path),
        shape=a.shape,
        shards=(256, 300),
        chunks=(64, 100),
        dtype="i4",
        compressors=[{"name": "btune", "configuration": {"tradeoff": 0.2}}],
    )
    z[...] = a
    assert zarr.open_array(str(path), mode="r")[...].tobytes() == a.tobytes()
    assert '"btune"' in (path / "zarr.json").read_text()


def test_codec_pickles_without_its_tuner():
    c = BtuneCodec(typesize=4, tradeoff=0.3)
    chunk = c.tuner().compress(np.arange(10_000, dtype="i4"))
    assert c._tuner is not None
    d = pickle.loads(pickle.dumps(c))
    assert d == c and d._tuner is None and d.to_dict() == c.to_dict()
    assert btune.decompress(chunk) == np.arange(10_000, dtype="i4").tobytes()
    assert d.tuner() is not c.tuner()


# Reads chunk files with python-blosc2 only: prints key -> sha256 of the
# decompressed bytes.
READ_WITH_BLOSC2 = r"""
import sys, json, hashlib, pathlib
import blosc2
root = pathlib.Path(sys.argv[1])
out = {}
for p in sorted((root / "c").rglob("*")):
    if p.is_file():
        out[str(p.relative_to(root))] = hashlib.sha256(blosc2.decompress2(p.read_bytes())).hexdigest()
assert not [m for m in sys.modules if m.startswith(("btune", "zarr"))], "only python-blosc2 may read"
print(json.dumps(out))
"""


def test_python_blosc2_alone_reads_every_chunk(tmp_path):
    arrays = []
    for i, dtype in enumerate(DTYPES):
        ndim = 1 + i % 3
        shape, chunks = SHAPES[ndim]
        a = sample(dtype, shape, seed=i)
        path = tmp_path / f"{dtype}_{ndim}d.zarr"
        compressor = (
            {"name": "btune", "configuration": {"tune": False, "params": "lz4/shuffle-bytedelta/5/always"}}
            if dtype == "f4"
            else {"name": "btune", "configuration": {"tradeoff": [0.0, 0.5, 1.0][i % 3]}}
        )
        zarr.create_array(str(path), shape=shape, chunks=chunks, dtype=dtype, compressors=[compressor])[...] = a
        arrays.append((path, a, chunks))
    n = 0
    for path, a, chunks in arrays:
        got = json.loads(run(READ_WITH_BLOSC2, path).stdout)
        want = {k: hashlib.sha256(v).hexdigest() for k, v in expected_chunks(a, chunks).items()}
        assert got == want, path
        n += len(got)
    assert n > 50


# Corrupts chunk files in several ways and reads: each must raise, not
# crash the interpreter. A flipped payload byte may go unnoticed (Blosc2
# chunks carry no checksum) but must not crash either.
CORRUPT = r"""
import sys, pathlib, numpy as np, zarr
path = pathlib.Path(sys.argv[1])
a = np.cumsum(np.random.default_rng(1).normal(size=(64, 1000)), axis=1).astype("f8")
zarr.create_array(str(path), shape=a.shape, chunks=(16, 1000), dtype="f8",
                  compressors=[{"name": "btune", "configuration": {}}])[...] = a
c = path / "c"
ok = (c / "0" / "0").read_bytes()
(c / "0" / "0").write_bytes(ok[: len(ok) // 2])                        # truncated
(c / "1" / "0").write_bytes(b"\x02\x01" + bytes(range(200)))           # garbage header
(c / "2" / "0").write_bytes(b"")                                       # empty
bad = bytearray((c / "3" / "0").read_bytes()); bad[len(bad) // 2] ^= 0xFF
(c / "3" / "0").write_bytes(bytes(bad))                                # flipped payload byte
z = zarr.open_array(str(path), mode="r")
for i in range(3):
    try:
        z[16 * i : 16 * (i + 1)]
    except Exception as e:
        print(f"chunk {i}: {type(e).__name__}: {e}")
    else:
        raise SystemExit(f"chunk {i}: corrupt chunk read without an error")
try:
    z[48:64]
    print("chunk 3: read (no checksum)")
except Exception as e:
    print(f"chunk 3: {type(e).__name__}: {e}")
"""


def test_a_corrupt_chunk_is_an_exception_not_a_crash(tmp_path):
    p = run(CORRUPT, tmp_path / "c.zarr")
    lines = p.stdout.splitlines()
    assert len(lines) == 4, p.stdout
    assert all("btune" in line for line in lines[:3]), p.stdout


# A Dask LocalCluster with two worker processes writes one array through
# zarr-python and our codec (the zarr.Array, its codec included, is pickled
# to the workers), then the array is read back here.
DASK = r"""
import sys, os, json, numpy as np, zarr, dask.array as da
from dask.distributed import Client, LocalCluster
path = sys.argv[1]
a = np.cumsum(np.random.default_rng(7).normal(size=(1200, 700)), axis=1).astype("f4")
z = zarr.create_array(path, shape=a.shape, chunks=(200, 700), dtype="f4",
                      compressors=[{"name": "btune", "configuration": {"tradeoff": 0.5}}])
with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster, \
        Client(cluster) as client:
    assert len(client.scheduler_info()["workers"]) == 2
    x = da.from_array(a, chunks=(200, 700))
    da.to_zarr(x, z)
    pids = client.run(os.getpid)
got = zarr.open_array(path, mode="r")[...]
assert got.tobytes() == a.tobytes()
print(json.dumps({"workers": sorted(pids.values()), "me": os.getpid()}))
"""


def test_dask_distributed_workers_write_through_the_codec(tmp_path):
    p = run(DASK, tmp_path / "d.zarr", timeout=180)
    info = json.loads(p.stdout.strip().splitlines()[-1])
    assert len(set(info["workers"])) == 2 and info["me"] not in info["workers"]
    files = chunk_files(tmp_path / "d.zarr")
    assert len(files) == 6
    for f in files.values():
        assert btune.inspect(f.read_bytes())["nbytes"] == 200 * 700 * 4


def test_a_process_without_our_import_finds_the_codec_by_its_entry_point(tmp_path):
    a = sample("i2", (1000, 100))
    zarr.create_array(
        str(tmp_path / "e.zarr"), shape=a.shape, chunks=(300, 100), dtype="i2", compressors=BtuneCodec()
    )[...] = a
    code = (
        "import sys, hashlib, zarr\n"
        "assert 'btune' not in sys.modules\n"
        "z = zarr.open_array(sys.argv[1], mode='r')\n"
        "print(hashlib.sha256(z[...].tobytes()).hexdigest(), type(z.metadata.codecs[-1]).__module__)\n"
    )
    out = run(code, tmp_path / "e.zarr").stdout.split()
    assert out == [hashlib.sha256(a.tobytes()).hexdigest(), "btune.zarr"]


def test_the_zarr_python_example_runs(tmp_path):
    example = REPO / "examples" / "zarr_python_tuned.py"
    p = subprocess.run(
        [sys.executable, str(example), str(tmp_path / "ex.zarr")], capture_output=True, text=True, timeout=120
    )
    assert p.returncode == 0, p.stdout + p.stderr
    assert "read back exactly" in p.stdout
    assert "read back exactly with python-blosc2 alone" in p.stdout
