"""Shared fixtures for the cross-language tests: where the built HDF5 plugin
and the test corpus are, and a runner for code in a separate Python process
(so that our plugin and hdf5plugin are never loaded together)."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def plugin_dir():
    d = pathlib.Path(os.environ.get("BTUNE_HDF5_PLUGIN_DIR", REPO / "target" / "hdf5-plugin"))
    so = d / "libbtune_hdf5.so"
    assert so.is_file(), f"{so} missing: run scripts/setup.sh (it builds and places the plugin)"
    assert [p.name for p in d.iterdir()] == ["libbtune_hdf5.so"], f"{d} must hold only the plugin"
    return d


@pytest.fixture(scope="session")
def corpus():
    d = pathlib.Path(os.environ.get("BTUNE_CORPUS", REPO / "target" / "corpus"))
    manifest = json.loads((d / "manifest.json").read_text())
    return d, manifest["datasets"]


def run_py(code, *args, plugin_dir=None, env_extra=None, check=True):
    """Runs `code` in a fresh interpreter. With `plugin_dir`, HDF5 finds our
    plugin there; without it, HDF5_PLUGIN_PATH is removed so only what the
    code imports (hdf5plugin) provides filters."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HDF5_PLUGIN_PATH", "BTUNE_"))}
    if plugin_dir is not None:
        env["HDF5_PLUGIN_PATH"] = str(plugin_dir)
    env.update(env_extra or {})
    p = subprocess.run([sys.executable, "-c", code, *map(str, args)], env=env, capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"subprocess failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p
