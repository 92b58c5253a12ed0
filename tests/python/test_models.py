"""Models written by `btune train`: they load in the reference TFLite
interpreter (ai-edge-litert, used only here) and compute what tract computes;
their metadata records how they were made; `btune bench --models` reports
what inference did."""

import json
import pathlib
import subprocess

import numpy as np
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BTUNE = REPO / "target" / "release" / "btune"

litert = pytest.importorskip(
    "ai_edge_litert.interpreter", reason="ai-edge-litert is installed by scripts/setup.sh"
)

# Small datasets of the test corpus in 256 KiB chunks (7 chunks): a sweep of
# seconds, kept in a grid cache that the bench test reuses.
TRAIN = ["dem_i16", "moon_u8", "sst_nino3_f64", "membrane_f32"]
HELD_OUT = "mri_u16"
CHUNK = 262144


def btune(*args, stdin=None):
    p = subprocess.run([str(BTUNE), *map(str, args)], input=stdin, capture_output=True, text=True)
    assert p.returncode == 0, f"btune {args}: {p.stderr}"
    return p.stdout


@pytest.fixture(scope="module")
def models(corpus, tmp_path_factory):
    assert BTUNE.is_file(), f"{BTUNE} missing: run scripts/setup.sh"
    d, _ = corpus
    out = tmp_path_factory.mktemp("models")
    cache = tmp_path_factory.mktemp("grid-cache")
    only = [a for name in TRAIN for a in ("--only", name)]
    report = btune(
        "train", "--manifest", d / "manifest.json", "-o", out, "--chunk-bytes", CHUNK,
        "--epochs", 150, "--perf-mode", "COMP", "--perf-mode", "DECOMP", *only,
        "--holdout", HELD_OUT, "--grid-cache", cache,
    )
    return out, report, cache


def test_train_writes_a_model_directory_with_its_provenance(models):
    out, report, _ = models
    assert sorted(p.name for p in out.iterdir()) == [
        "model_comp.json", "model_comp.tflite", "model_decomp.json", "model_decomp.tflite",
    ]
    meta = json.loads((out / "model_comp.json").read_text())
    assert meta["feature_set"].startswith("btune-rs-features")
    assert meta["perf_mode"] == "COMP"
    assert all(f["std"] > 0 for f in meta["features"])
    assert all(len(c) == 4 for c in meta["categories"])
    training = meta["training"]
    assert "btune train" in training["command"] or "train --manifest" in training["command"]
    assert sorted(training["trained_on"]) == sorted(TRAIN)
    assert training["held_out"] == [HELD_OUT]
    assert [a["tradeoff"] for a in training["accuracy_held_out"]] == [0.1, 0.5, 0.9]
    # The printed report has train and held-out rows for both modes.
    assert report.count("held-out") == 6 and report.count("train ") >= 6


@pytest.mark.parametrize("runtime", [["--tract"], []], ids=["tract", "as-the-tuner-runs-it"])
@pytest.mark.parametrize("mode", ["COMP", "DECOMP"])
def test_litert_and_tract_agree(models, mode, runtime):
    out, _, _ = models
    meta = json.loads((out / f"model_{mode.lower()}.json").read_text())
    width = len(meta["features"]) + 1
    rng = np.random.default_rng(7)
    rows = rng.normal(size=(64, width)).astype(np.float32)
    rows[:, -1] = rng.uniform(0, 1, size=64)  # the tradeoff

    interp = litert.Interpreter(model_path=str(out / f"model_{mode.lower()}.tflite"))
    interp.allocate_tensors()
    (inp,) = interp.get_input_details()
    (outp,) = interp.get_output_details()
    assert list(inp["shape"]) == [1, width]
    assert list(outp["shape"]) == [1, len(meta["categories"])]
    reference = []
    for row in rows:
        interp.set_tensor(inp["index"], row[None, :])
        interp.invoke()
        reference.append(interp.get_tensor(outp["index"])[0].copy())
    reference = np.array(reference)

    text = btune("model", "run", out, "--perf-mode", mode, *runtime,
                 stdin="\n".join(json.dumps(r.tolist()) for r in rows))
    tract = np.array([json.loads(line) for line in text.splitlines()])
    assert tract.shape == reference.shape
    np.testing.assert_allclose(tract, reference, atol=1e-5, rtol=0)
    # Each row is a probability distribution.
    np.testing.assert_allclose(reference.sum(axis=1), 1.0, atol=1e-5)


def test_foreign_models_are_refused(models, tmp_path):
    out, _, _ = models
    (tmp_path / "model_comp.tflite").write_bytes((out / "model_comp.tflite").read_bytes())
    (tmp_path / "model_comp.json").write_text(json.dumps(
        {"cratio": {"mean": 1.0, "std": 0.5}, "speed": {"mean": 1.0, "std": 0.5}, "categories": [[1, 1, 1, 1]]}))
    p = subprocess.run([str(BTUNE), "model", "show", str(tmp_path)], capture_output=True, text=True)
    assert p.returncode != 0 and "BTune's features" in p.stderr, p.stderr


def test_bench_reports_inference(models, corpus):
    out, _, cache = models
    d, _ = corpus
    lines = btune("bench", "--manifest", d / "manifest.json", "--only", HELD_OUT, "--chunk-bytes", CHUNK,
                  "--tradeoff", 0.5, "--models", out, "--use-inference", 1, "--json",
                  "--grid-cache", cache).splitlines()
    (rec,) = [json.loads(line) for line in lines]
    inf = rec["btune"]["inference"]
    assert inf["chunks"] == 1
    assert inf["feature_us"] > 0 and inf["inference_us"] > 0
    assert inf["first_predicted"].count("/") >= 3
    assert isinstance(inf["first_is_oracle"], bool)
    # The prediction is a grid point: the oracle is at least as good.
    assert inf["first_predicted_regret"] >= -1e-12


def test_train_refuses_bad_selections(corpus, tmp_path):
    d, _ = corpus
    m = d / "manifest.json"
    for args, message in [
        (["--eval-manifest", m], "is in both manifests"),
        (["--holdout", "no_such_dataset"], "no such dataset"),
        (["--only", "mri_u16", "--holdout", "mri_u16"], "no datasets left to train on"),
    ]:
        p = subprocess.run([str(BTUNE), "train", "--manifest", str(m), "-o", str(tmp_path / "m"), *map(str, args)],
                           capture_output=True, text=True)
        assert p.returncode != 0 and message in p.stderr, (args, p.stderr)
        assert not (tmp_path / "m").exists(), "nothing is written when the selection is refused"
