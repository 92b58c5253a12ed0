//! The `btune` binary end to end: bench JSON shape, advise, demo, bad input.

use std::path::PathBuf;
use std::process::{Command, Output};

fn btune(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_btune"))
        .args(args)
        .output()
        .unwrap()
}

fn corpus_manifest() -> PathBuf {
    let dir = std::env::var_os("BTUNE_CORPUS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/corpus"),
        PathBuf::from,
    );
    let m = dir.join("manifest.json");
    assert!(
        m.is_file(),
        "no corpus at {} (run scripts/setup.sh)",
        dir.display()
    );
    m
}

#[test]
fn bench_json_has_the_documented_shape() {
    let m = corpus_manifest();
    let out = btune(&[
        "bench",
        "--manifest",
        m.to_str().unwrap(),
        "--only",
        "ecg_i32",
        "--only",
        "membrane_f32",
        "--tradeoff",
        "0.2",
        "--tradeoff",
        "0.8",
        "--chunk-bytes",
        "16384",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "two datasets x two tradeoffs:\n{stdout}");
    for r in &lines {
        for key in [
            "dataset",
            "tradeoff",
            "perf_mode",
            "nbytes",
            "nchunks",
            "ranges",
            "btune",
            "oracle",
            "presets",
            "regret",
            "first_chunk_regret",
        ] {
            assert!(r.get(key).is_some(), "missing {key} in {r}");
        }
        let (lo, hi) = (
            r["ranges"]["ratio"][0].as_f64().unwrap(),
            r["ranges"]["ratio"][1].as_f64().unwrap(),
        );
        assert!(lo > 0.0 && lo <= hi);
        for side in ["btune", "oracle"] {
            for key in [
                "cbytes", "cratio", "ctime_s", "dtime_s", "speed", "utility", "params",
            ] {
                assert!(r[side].get(key).is_some(), "missing {side}.{key}");
            }
        }
        assert_eq!(r["presets"].as_object().unwrap().len(), 4);
        let regret = r["regret"].as_f64().unwrap();
        let expected =
            r["oracle"]["utility"].as_f64().unwrap() - r["btune"]["utility"].as_f64().unwrap();
        assert!((regret - expected).abs() < 1e-9);
        // The oracle is the best grid point, and every preset is a grid
        // point measured by the same timings: none can beat it.
        let oracle_u = r["oracle"]["utility"].as_f64().unwrap();
        assert!(oracle_u > 0.0 && oracle_u <= 1.0 + 1e-9, "{oracle_u}");
        for (name, p) in r["presets"].as_object().unwrap() {
            assert!(
                p["utility"].as_f64().unwrap() <= oracle_u + 1e-12,
                "preset {name} beats the oracle"
            );
        }
    }
    let nchunks = |name: &str| {
        lines
            .iter()
            .find(|r| r["dataset"] == name)
            .and_then(|r| r["nchunks"].as_u64())
            .unwrap()
    };
    assert_eq!(nchunks("ecg_i32"), 1, "ecg_i32 is 4 KiB");
    assert!(
        nchunks("membrane_f32") >= 3,
        "membrane_f32 in 16 KiB chunks"
    );
}

#[test]
fn advise_prints_five_tradeoffs() {
    let m = corpus_manifest();
    let file = m.parent().unwrap().join("membrane_f32.bin");
    let out = btune(&[
        "advise",
        file.to_str().unwrap(),
        "--typesize",
        "4",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ts: Vec<f64> = rows
        .iter()
        .map(|r| r["tradeoff"].as_f64().unwrap())
        .collect();
    assert_eq!(ts, [0.0, 0.25, 0.5, 0.75, 1.0]);
    let first = rows[0]["cratio"].as_f64().unwrap();
    let last = rows[4]["cratio"].as_f64().unwrap();
    assert!(last >= first, "ratio at t=1 ({last}) below t=0 ({first})");
    assert!(rows.iter().all(|r| {
        r["params"]
            .as_str()
            .unwrap()
            .parse::<btune_core::Params>()
            .is_ok()
    }));
}

#[test]
fn demo_traces_on_stderr_and_summarises_on_stdout() {
    let out = btune(&["demo"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("BTune version") && stderr.contains("Codec |"),
        "trace header on stderr:\n{stderr}"
    );
    assert!(
        !stdout.contains("BTune version"),
        "trace must not mix into stdout"
    );
    for name in ["smooth_field_f64", "timestamps_i64", "regime_change_f32"] {
        assert!(stdout.contains(name), "{stdout}");
    }
    // Readapt column of each trace row: one HARD per dataset, plus one when
    // the third dataset turns into noise.
    let hards = stderr
        .lines()
        .filter_map(btune_core::trace::row_cells)
        .filter(|cells| cells.get(11) == Some(&"HARD"))
        .count();
    assert!(hards >= 4, "{hards} HARD readapts:\n{stderr}");
}

#[test]
fn bad_arguments_fail_clearly() {
    let out = btune(&["bench", "--manifest", "/nonexistent/manifest.json"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/manifest.json"));
    let out = btune(&["bench", "--manifest", "x", "--tradeoff", "1.5"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("1.5"));
    let out = btune(&["advise", "/nonexistent.bin", "--typesize", "4"]);
    assert!(!out.status.success());
    let out = btune(&["bench", "--manifest", "x", "--perf-mode", "fast"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("COMP"));
}
