"""The blosc2_btune C API: examples/blosc2_btune.c (tuner_id = BLOSC_BTUNE,
tuner_params = a btune_config) built against the shared c-blosc2 that
scripts/setup.sh builds in target/c-blosc2, with the plugin found by dlopen
in target/release."""

import os
import pathlib
import shutil
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
CBLOSC2 = REPO / "target" / "c-blosc2"
PLUGIN_DIR = REPO / "target" / "release"
FORMATS = {"blosclz": 0, "lz4": 1, "lz4hc": 1, "zlib": 3, "zstd": 4}


def compile_c(source, out):
    cc = shutil.which("cc") or shutil.which("gcc")
    assert cc, "no C compiler"
    assert (CBLOSC2 / "lib" / "libblosc2.so").is_file(), "run scripts/setup.sh (builds target/c-blosc2)"
    subprocess.run(
        [cc, "-O2", "-Wall", "-Werror", str(source), f"-I{CBLOSC2 / 'include'}",
         f"-I{REPO / 'blosc2-plugin' / 'include'}", f"-L{CBLOSC2 / 'lib'}", "-lblosc2", "-lm", "-o", str(out)],
        check=True,
    )


def run_c(exe, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BTUNE_", "BLOSC_"))}
    env["LD_LIBRARY_PATH"] = f"{CBLOSC2 / 'lib'}:{PLUGIN_DIR}"
    env.update(env_extra or {})
    return subprocess.run([str(exe)], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    exe = tmp_path_factory.mktemp("c") / "blosc2_btune_example"
    compile_c(REPO / "examples" / "blosc2_btune.c", exe)
    return exe


def rows(stderr):
    return [[c.strip() for c in l.strip("|").split("|")] for l in stderr.splitlines()
            if l.startswith("| ") and "Codec |" not in l]


def test_c_example_writes_tuned_chunks_configured_by_btune_config(example):
    p = run_c(example, {"BTUNE_TRACE": "1"})
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().endswith("ok")
    assert "BTune version: btune-rs" in p.stderr
    # The tradeoff comes from the btune_config the program passed.
    assert "Compression tradeoff: 0.75" in p.stderr, p.stderr
    formats = [int(l.split("codec format ")[1].split(",")[0]) for l in p.stdout.splitlines() if l.startswith("chunk ")]
    trace = rows(p.stderr)
    assert len(formats) == len(trace) == 12
    assert formats == [FORMATS[r[0]] for r in trace]


def test_environment_overrides_the_btune_config(example):
    p = run_c(example, {"BTUNE_TRACE": "1", "BTUNE_TRADEOFF": "0.25", "BTUNE_PERF_MODE": "BALANCED"})
    assert p.returncode == 0, p.stderr
    assert "Performance Mode: BALANCED, Compression tradeoff: 0.25" in p.stderr, p.stderr


def test_tuner_params_that_are_not_a_btune_config_are_refused(tmp_path):
    src = tmp_path / "bad.c"
    src.write_text(r"""
#include <stdio.h>
#include <blosc2.h>
#include <blosc2/tuners-registry.h>
int main(void) {
  blosc2_init();
  double not_a_config[8] = {0.5};
  blosc2_cparams cparams = BLOSC2_CPARAMS_DEFAULTS;
  cparams.typesize = 8;
  cparams.tuner_id = BLOSC_BTUNE;
  cparams.tuner_params = not_a_config;
  blosc2_storage storage = {.contiguous = true, .cparams = &cparams};
  blosc2_schunk *s = blosc2_schunk_new(&storage);
  printf("%s\n", s == NULL ? "refused" : "accepted");
  blosc2_destroy();
  return 0;
}
""")
    exe = tmp_path / "bad"
    compile_c(src, exe)
    p = run_c(exe)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "refused"
    lines = [l for l in p.stderr.splitlines() if l.startswith("blosc2_btune:")]
    assert len(lines) == 1 and "btune_config" in lines[0], p.stderr
