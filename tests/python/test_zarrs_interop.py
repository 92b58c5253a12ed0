"""zarrs and zarr-python read each other's "btune" arrays: zarrs is the
`btune zarr` command (zarrs + our zarrs codec), zarr-python uses our Python
package's codec. Data are compared byte for byte."""

import json
import pathlib
import subprocess

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BTUNE = REPO / "target" / "release" / "btune"

zarr = pytest.importorskip("zarr", reason="zarr-python is installed by scripts/setup.sh")


@pytest.fixture(scope="module")
def btune_cli():
    assert BTUNE.is_file(), f"{BTUNE} missing: run scripts/setup.sh"
    return BTUNE


def sample(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    return np.cumsum(rng.integers(-3, 4, size=int(np.prod(shape)))).reshape(shape).astype(dtype)


CASES = [((100_000,), (16_384,), "f8"), ((300, 500), (64, 128), "i4"), ((20, 30, 40), (8, 30, 16), "u2")]


def run(cli, *args):
    p = subprocess.run([str(cli), *map(str, args)], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return p.stdout


@pytest.mark.parametrize("shape,chunks,dtype", CASES)
def test_zarr_python_reads_what_zarrs_writes(btune_cli, tmp_path, shape, chunks, dtype):
    data = sample(shape, dtype, 1)
    src = zarr.create_array(tmp_path / "in", shape=shape, chunks=chunks, dtype=dtype, compressors=None)
    src[...] = data
    run(btune_cli, "zarr", "recompress", tmp_path / "in", tmp_path / "out", "--tradeoff", "0.5")
    meta = json.loads((tmp_path / "out" / "zarr.json").read_text())
    assert any(c["name"] == "btune" for c in meta["codecs"]), meta["codecs"]
    got = zarr.open_array(tmp_path / "out", mode="r")[...]
    assert got.dtype == data.dtype and got.tobytes() == data.tobytes()


@pytest.mark.parametrize("shape,chunks,dtype", CASES)
def test_zarrs_reads_what_zarr_python_writes(btune_cli, tmp_path, shape, chunks, dtype):
    from btune.zarr import BtuneCodec

    data = sample(shape, dtype, 2)
    src = zarr.create_array(tmp_path / "in", shape=shape, chunks=chunks, dtype=dtype, compressors=BtuneCodec(tradeoff=0.9))
    src[...] = data
    # zarrs decodes every chunk zarr-python wrote (through our zarrs codec),
    # then writes them again with fixed parameters; the values must survive.
    run(btune_cli, "zarr", "recompress", tmp_path / "in", tmp_path / "out", "--params", "lz4/shuffle/1")
    got = zarr.open_array(tmp_path / "out", mode="r")[...]
    assert got.tobytes() == data.tobytes()
    report = run(btune_cli, "zarr", "inspect", tmp_path / "in")
    assert "btune" in report
