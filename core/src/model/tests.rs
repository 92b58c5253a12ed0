use super::*;
use crate::features::{FEATURE_NAMES, FEATURE_SET};

/// Deterministic pseudo-random values in [-1, 1).
fn values(seed: &mut u64, n: usize) -> Vec<f32> {
    (0..n)
        .map(|_| {
            *seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            #[allow(clippy::cast_precision_loss)]
            let v = (*seed >> 40) as f32 / (1u64 << 24) as f32;
            2.0 * v - 1.0
        })
        .collect()
}

/// A network of these layer widths with deterministic pseudo-random
/// weights (also used by `tflite`'s tests).
pub(super) fn network(widths: &[usize]) -> Network {
    let mut seed = 42;
    Network {
        layers: widths
            .windows(2)
            .map(|w| Dense {
                inputs: w[0],
                outputs: w[1],
                weights: values(&mut seed, w[0] * w[1]),
                bias: values(&mut seed, w[1]),
            })
            .collect(),
    }
}

fn meta(ncat: usize, mode: PerfMode) -> ModelMeta {
    let all = crate::grid::oracle_grid(4);
    ModelMeta {
        feature_set: FEATURE_SET.to_owned(),
        features: FEATURE_NAMES
            .iter()
            .map(|n| FeatureNorm {
                name: (*n).to_owned(),
                mean: 0.5,
                std: 2.0,
            })
            .collect(),
        categories: all.iter().take(ncat).map(Category::of).collect(),
        perf_mode: mode,
        training: None,
    }
}

/// A directory holding a random `widths` network for `ncat` categories.
fn written(widths: &[usize], mode: PerfMode) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let ncat = *widths.last().unwrap();
    write(dir.path(), &network(widths), &meta(ncat, mode)).unwrap();
    dir
}

#[test]
fn written_networks_run_in_tract_as_they_compute_in_rust() {
    let dir = tempfile::tempdir().unwrap();
    let net = network(&[NFEATURES + 1, 16, 8, 7]);
    write(dir.path(), &net, &meta(7, PerfMode::Comp)).unwrap();
    let model = Model::load(dir.path(), PerfMode::Comp).unwrap();
    assert!(model.runs_plain());
    let mut seed = 7;
    for _ in 0..20 {
        let x = values(&mut seed, NFEATURES + 1);
        let ours = net.forward(&x);
        let tract = model.run_in_tract(&x).unwrap();
        assert_eq!(
            model.run(&x).unwrap(),
            ours,
            "the tuner runs the plain pass"
        );
        assert_eq!(ours.len(), tract.len());
        for (a, b) in ours.iter().zip(&tract) {
            assert!((a - b).abs() < 1e-5, "{ours:?} vs {tract:?}");
        }
    }
}

#[test]
fn predictions_name_the_most_probable_category() {
    let dir = tempfile::tempdir().unwrap();
    let net = network(&[NFEATURES + 1, 5]);
    let m = meta(5, PerfMode::Decomp);
    write(dir.path(), &net, &m).unwrap();
    let model = Model::load(dir.path(), PerfMode::Decomp).unwrap();
    let f = Features::of(&[3u8; 10_000], 2);
    let p = model.predict(&f, 0.3, 2).unwrap();
    let probs = net.forward(&m.input(&f.0, 0.3));
    let best = probs
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .unwrap()
        .0;
    assert_eq!(p.category, best);
    assert_eq!(p.params, m.categories[best].params().unwrap());
}

#[test]
fn balanced_falls_back_to_the_decomp_model() {
    let dir = written(&[NFEATURES + 1, 3], PerfMode::Decomp);
    assert_eq!(
        Model::load(dir.path(), PerfMode::Balanced)
            .unwrap()
            .meta()
            .perf_mode,
        PerfMode::Decomp
    );
    let err = Model::load(dir.path(), PerfMode::Comp).unwrap_err();
    assert!(err.path.ends_with("model_comp.json"), "{err}");
}

/// Writes a valid model, lets `spoil` change its JSON text, and returns the
/// load error's text.
fn load_error(spoil: impl Fn(&mut serde_json::Value)) -> String {
    let dir = written(&[NFEATURES + 1, 4], PerfMode::Comp);
    let (_, json) = files(dir.path(), PerfMode::Comp);
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    spoil(&mut v);
    std::fs::write(&json, v.to_string()).unwrap();
    Model::load(dir.path(), PerfMode::Comp)
        .unwrap_err()
        .to_string()
}

#[test]
fn unusable_metadata_is_refused_with_the_reason() {
    // BTune's own layout: normalisation of its probe's cratio and speed.
    let e = load_error(|v| {
        *v = serde_json::json!({
            "cratio": {"mean": 2.0, "std": 1.0},
            "speed": {"mean": 3.0, "std": 1.0},
            "categories": [[1, 1, 1, 1]],
        });
    });
    assert!(e.contains("BTune's features"), "{e}");
    let e = load_error(|v| v["feature_set"] = "other-features-9".into());
    assert!(
        e.contains("other-features-9") && e.contains(FEATURE_SET),
        "{e}"
    );
    let e = load_error(|v| v["features"][2]["std"] = 0.0.into());
    assert!(e.contains("std must be positive"), "{e}");
    let e = load_error(|v| v["features"][0]["name"] = "cratio".into());
    assert!(e.contains("differ"), "{e}");
    // One category fewer than the network's outputs.
    let e = load_error(|v| {
        v["categories"].as_array_mut().unwrap().pop();
    });
    assert!(e.contains("4 outputs") && e.contains("3 categories"), "{e}");
    let e = load_error(|v| v["categories"][0][2] = 12.into());
    assert!(e.contains("clevel"), "{e}");
    let e = load_error(|v| v["categories"] = serde_json::json!([]));
    assert!(e.contains("no categories"), "{e}");
}

#[test]
fn broken_networks_are_refused() {
    let dir = written(&[NFEATURES + 1, 4], PerfMode::Comp);
    let (tfl, _) = files(dir.path(), PerfMode::Comp);
    let bytes = std::fs::read(&tfl).unwrap();
    std::fs::write(&tfl, &bytes[..bytes.len() / 2]).unwrap();
    let e = Model::load(dir.path(), PerfMode::Comp).unwrap_err();
    assert!(e.path == tfl && e.reason.contains("tract"), "{e}");
    // A network for other inputs.
    write(
        dir.path(),
        &network(&[NFEATURES + 1, 4]),
        &meta(4, PerfMode::Comp),
    )
    .unwrap();
    let other = tflite::write(&network(&[3, 4]), "three inputs");
    std::fs::write(&tfl, other).unwrap();
    let e = Model::load(dir.path(), PerfMode::Comp).unwrap_err();
    assert!(e.reason.contains("takes 3 inputs"), "{e}");
}

#[test]
fn write_refuses_a_network_that_does_not_fit_the_metadata() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        write(
            dir.path(),
            &network(&[NFEATURES + 1, 4]),
            &meta(5, PerfMode::Comp)
        )
        .is_err()
    );
}

#[test]
fn loaded_models_are_shared() {
    let dir = written(&[NFEATURES + 1, 4], PerfMode::Comp);
    let a = load_shared(dir.path(), PerfMode::Comp).unwrap();
    let b = load_shared(dir.path(), PerfMode::Comp).unwrap();
    assert!(Arc::ptr_eq(&a, &b));
}
