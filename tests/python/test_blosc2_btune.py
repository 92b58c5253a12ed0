"""The blosc2_btune plugin inside unmodified python-blosc2 programs.

Each program runs in a fresh interpreter of the venv running pytest, with
that venv's bin/ first on PATH: c-blosc2 finds the plugin by running
`python -c "import blosc2_btune; blosc2_btune.print_libpath()"`. scripts/test.sh
runs this file with python-blosc2 4.x (c-blosc2 3.x, context layout B) and
with python-blosc2 3.6.1 (c-blosc2 2.19, layout A).
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

pytest.importorskip("blosc2")
pytest.importorskip("blosc2_btune")

# Chunk headers store the codec *format* in flags bits 5-7 (lz4 and lz4hc
# share the LZ4 format).
CODEC_FORMATS = {"blosclz": 0, "lz4": 1, "lz4hc": 1, "zlib": 3, "zstd": 4}
FILTER_SLOTS = {
    "none": [0, 0, 0, 0, 0, 0],
    "shuffle": [0, 0, 0, 0, 0, 1],
    "bitshuffle": [0, 0, 0, 0, 0, 2],
    "shuffle-bytedelta": [0, 0, 0, 0, 1, 35],
    "delta-shuffle": [0, 0, 0, 0, 3, 1],
}


def run(code, env_extra=None, check=True, timeout=300):
    """Runs `code` in a fresh interpreter with no BTUNE_* or BLOSC_* variables
    but `env_extra`, this venv's bin/ first on PATH and no LD_LIBRARY_PATH."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BTUNE_", "BLOSC_")) and k not in ("LD_LIBRARY_PATH", "PYTHONPATH")
    }
    bindir = str(pathlib.Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    env.update(env_extra or {})
    p = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout
    )
    if check and p.returncode != 0:
        raise AssertionError(f"subprocess failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def trace_rows(stderr):
    """The cells of each trace row (the format of btune_core::trace)."""
    rows = []
    for line in stderr.splitlines():
        if line.startswith("| ") and "Codec |" not in line:
            rows.append([c.strip() for c in line.strip("|").split("|")])
    return rows


# Writes an SChunk of smooth floats then noise (so the data changes), prints
# each chunk's header fields as JSON, and checks every chunk decompresses
# exactly.
SCHUNK_PROGRAM = r"""
import json, sys
import numpy as np
import blosc2
use_tuner = sys.argv[1] == "tuner" if len(sys.argv) > 1 else True
rng = np.random.default_rng(7)
n = (1 << 20) // 8
parts = [np.linspace(0, 1000, 8 * n), np.cumsum(rng.normal(size=4 * n)), rng.random(4 * n)]
data = np.concatenate(parts)
kw = {"typesize": 8}
if use_tuner:
    kw["tuner"] = blosc2.Tuner.BTUNE
s = blosc2.SChunk(chunksize=n * 8, cparams=blosc2.CParams(**kw))
for i in range(0, data.size, n):
    s.append_data(data[i:i + n])
headers = []
for i in range(s.nchunks):
    c = bytes(s.get_chunk(i))
    back = np.frombuffer(s.decompress_chunk(i), dtype=np.float64)
    assert np.array_equal(back, data[i * n:(i + 1) * n]), i
    headers.append({
        "codec": c[2] >> 5,
        "split": (c[2] & 0x10) == 0,
        "typesize": c[3],
        "blocksize": int.from_bytes(c[8:12], "little"),
        "filters": list(c[16:22]),
        "filters_meta": list(c[24:30]),
    })
print(json.dumps(headers))
"""


def check_chunks_follow_trace(p, tradeoff):
    headers = json.loads(p.stdout)
    assert "BTune version: btune-rs" in p.stderr, p.stderr
    assert f"Compression tradeoff: {tradeoff}" in p.stderr, p.stderr
    rows = trace_rows(p.stderr)
    assert len(rows) == len(headers) == 16, (len(rows), len(headers))
    seen = set()
    for i, (h, row) in enumerate(zip(headers, rows)):
        codec, filt, split = row[0], row[1], row[2]
        assert h["codec"] == CODEC_FORMATS[codec], (i, h, row)
        assert h["filters"] == FILTER_SLOTS[filt], (i, h, row)
        if filt == "shuffle-bytedelta":
            assert h["filters_meta"][5] == 8, (i, h)
        assert h["split"] == (split == "always"), (i, h, row)
        assert h["typesize"] == 8 and h["blocksize"] > 0
        seen.add((codec, filt, split))
    return seen


def test_print_libpath_prints_the_library_without_newline():
    p = run("import blosc2_btune; blosc2_btune.print_libpath()")
    assert not p.stdout.endswith("\n")
    path = pathlib.Path(p.stdout)
    assert path.is_absolute() and path.name == "libblosc2_btune.so" and path.is_file()


def test_tuner_btune_cparams_write_the_chunks_our_tuner_chose():
    p = run(SCHUNK_PROGRAM, {"BTUNE_TRACE": "1"})
    check_chunks_follow_trace(p, 0.5)


def test_btune_tradeoff_alone_switches_a_schunk_to_our_tuner():
    p = run(SCHUNK_PROGRAM + "", {"BTUNE_TRACE": "1", "BTUNE_TRADEOFF": "0.9"})
    # The program asked for no tuner: the variable alone brings ours in.
    p2 = run(SCHUNK_PROGRAM.replace('sys.argv[1] == "tuner" if len(sys.argv) > 1 else True', "False"),
             {"BTUNE_TRACE": "1", "BTUNE_TRADEOFF": "0.9"})
    check_chunks_follow_trace(p, 0.9)
    check_chunks_follow_trace(p2, 0.9)


def test_without_btune_no_trace_appears():
    p = run(SCHUNK_PROGRAM.replace('sys.argv[1] == "tuner" if len(sys.argv) > 1 else True', "False"),
            {"BTUNE_TRACE": "1"})
    assert "btune-rs" not in p.stderr


def test_special_chunks_do_not_crash_and_read_back():
    code = r"""
import numpy as np
import blosc2
cp = blosc2.CParams(tuner=blosc2.Tuner.BTUNE, typesize=4)
s = blosc2.SChunk(chunksize=1 << 18, cparams=cp)
s.fill_special(1 << 18, blosc2.SpecialValue.ZERO)
s.append_data(np.arange(1 << 16, dtype=np.int32))
assert s.nchunks == 5, s.nchunks
assert not np.frombuffer(s.decompress_chunk(0), dtype=np.int32).any()
assert np.array_equal(np.frombuffer(s.decompress_chunk(4), dtype=np.int32), np.arange(1 << 16, dtype=np.int32))
z = blosc2.zeros((300, 400), dtype=np.float32, cparams=cp)
assert not z[...].any()
f = blosc2.full((300, 400), 2.5, dtype=np.float64, cparams=blosc2.CParams(tuner=blosc2.Tuner.BTUNE))
assert (f[...] == 2.5).all()
print("ok")
"""
    p = run(code, {"BTUNE_TRACE": "1"})
    assert p.stdout.strip() == "ok"


def test_ndarray_round_trips_with_its_blocksize():
    code = r"""
import numpy as np
import blosc2
x = np.linspace(0, 1, 600 * 500).reshape(600, 500)
a = blosc2.asarray(x, chunks=(200, 250), blocks=(50, 125), cparams=blosc2.CParams(tuner=blosc2.Tuner.BTUNE))
assert np.array_equal(a[...], x)
c = bytes(a.schunk.get_chunk(0))
bs = int.from_bytes(c[8:12], "little")
assert bs == 50 * 125 * 8, bs
print("ok")
"""
    p = run(code, {"BTUNE_TRACE": "1"})
    assert p.stdout.strip() == "ok"
    assert "btune-rs" in p.stderr


def test_threads_writing_different_schunks():
    code = r"""
import concurrent.futures as cf
import numpy as np
import blosc2

def write(seed):
    rng = np.random.default_rng(seed)
    n = (1 << 19) // 8
    data = np.cumsum(rng.normal(size=6 * n)) if seed % 2 else np.repeat(rng.random(6 * n // 64), 64)
    s = blosc2.SChunk(chunksize=n * 8, cparams=blosc2.CParams(tuner=blosc2.Tuner.BTUNE, typesize=8))
    for i in range(0, data.size, n):
        s.append_data(data[i:i + n])
    back = np.concatenate([np.frombuffer(s.decompress_chunk(i), dtype=np.float64) for i in range(s.nchunks)])
    return np.array_equal(back, data)

with cf.ThreadPoolExecutor(4) as ex:
    assert all(ex.map(write, range(8)))
print("ok")
"""
    p = run(code)
    assert p.stdout.strip() == "ok"


def test_set_params_defaults_reaches_the_tuner():
    code = r"""
import numpy as np
import blosc2, blosc2_btune
blosc2_btune.set_params_defaults(tradeoff=0.25, perf_mode=blosc2_btune.PerformanceMode.BALANCED, trace=True)
with blosc2_btune.ReuseModels():
    a = blosc2.asarray(np.arange(1 << 18, dtype=np.int64), cparams=blosc2.CParams(tuner=blosc2.Tuner.BTUNE))
assert np.array_equal(a[...], np.arange(1 << 18))
try:
    blosc2_btune.set_params_defaults(nonsense=1)
except TypeError:
    print("ok")
"""
    p = run(code)
    assert p.stdout.strip() == "ok"
    assert "Performance Mode: BALANCED, Compression tradeoff: 0.25" in p.stderr, p.stderr


def test_python_example_runs():
    example = pathlib.Path(__file__).resolve().parents[2] / "examples" / "blosc2_btune_python.py"
    p = run(example.read_text())
    assert "chunks, ratio" in p.stdout and "NDArray" in p.stdout, p.stdout
