//! The `btune` binary end to end: bench JSON shape, advise, demo, bad input,
//! and (feature `hdf5`) `btune h5 recompress` / `inspect`.

#[path = "../../core/tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

fn btune(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_btune"))
        .args(args)
        .output()
        .unwrap()
}

fn corpus_manifest() -> PathBuf {
    common::corpus_dir().join("manifest.json")
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

/// `btune h5`: files written by h5py + hdf5plugin, recompressed, then read
/// back by a separate Python process that has only h5py + hdf5plugin (no
/// `HDF5_PLUGIN_PATH`): the project's promise that tuned files need none of
/// our code.
#[cfg(feature = "hdf5")]
mod h5 {
    use std::path::{Path, PathBuf};
    use std::process::{Command, Output};

    fn run_python(python: &Path, script: &str, args: &[&Path]) -> String {
        let out = Command::new(python)
            .arg("-c")
            .arg(script)
            .args(args)
            .env_remove("HDF5_PLUGIN_PATH")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "python failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn btune(args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_btune"))
            .args(args)
            .env_remove("HDF5_PLUGIN_PATH")
            .env_remove("BTUNE_TRADEOFF")
            .env_remove("BTUNE_BALANCE")
            .env_remove("BTUNE_PERF_MODE")
            .output()
            .unwrap()
    }

    fn json_lines(out: &Output) -> Vec<serde_json::Value> {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("btune-h5-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    const WRITER: &str = r#"
import sys, numpy as np, h5py, hdf5plugin
with h5py.File(sys.argv[1], "w") as f:
    f.attrs["title"] = "btune h5 test"
    f.attrs["version"] = np.int64(3)
    g = f.create_group("grp")
    g.attrs["note"] = "nested group"
    s = g.create_group("sub")
    d = s.create_dataset("f64", data=np.sin(np.linspace(0, 50, 200_000)) * 1000.0, chunks=(16384,))
    d.attrs["units"] = "m"
    d.attrs["scale"] = np.array([1.5, 2.5])
    i2 = (np.arange(300 * 400, dtype=np.int32).reshape(300, 400) // 7) % 1000
    g.create_dataset("i32_gzip", data=i2, chunks=(64, 100), compression="gzip")
    a3 = (np.arange(20 * 30 * 40, dtype=np.float32).reshape(20, 30, 40) / 10).astype(np.float32)
    s.create_dataset("b2_3d", data=a3, chunks=(8, 16, 40),
                     **hdf5plugin.Blosc2(cname="zstd", clevel=5, filters=hdf5plugin.Blosc2.SHUFFLE))
    f.create_dataset("contig", data=np.repeat(np.arange(256.0), 512).reshape(256, 512))
    f.create_dataset("scalar", data=np.float64(3.25))
    f.create_dataset("vstr", data=np.array(["alpha", "beta", "gamma"] * 100, dtype=object),
                     dtype=h5py.string_dtype(), chunks=(64,))
    sp = f.create_dataset("sparse", shape=(1000,), dtype="i2", chunks=(100,), fillvalue=-1)
    sp[300:350] = 7
    f["link"] = h5py.SoftLink("/grp/sub/f64")
"#;

    /// Compares every object of IN and OUT; prints per dataset its filters,
    /// chunks and sizes in OUT as JSON.
    const CHECKER: &str = r#"
import sys, json, numpy as np, h5py, hdf5plugin
src, dst = sys.argv[1], sys.argv[2]

def same_attrs(a, b, where):
    assert sorted(a.keys()) == sorted(b.keys()), f"attribute names of {where}: {list(a)} vs {list(b)}"
    for k in a.keys():
        x, y = np.asarray(a[k]), np.asarray(b[k])
        assert x.dtype == y.dtype and x.shape == y.shape and np.array_equal(x, y), f"attribute {k} of {where}"

report = {}
with h5py.File(src, "r") as fi, h5py.File(dst, "r") as fo:
    same_attrs(fi.attrs, fo.attrs, "/")
    def visit(name, obj):
        o = fo["/" + name]
        same_attrs(obj.attrs, o.attrs, name)
        if not isinstance(obj, h5py.Dataset):
            return
        a, b = obj[()], o[()]
        assert a.dtype == b.dtype and np.shape(a) == np.shape(b), name
        if a.dtype.kind == "O":
            assert list(np.ravel(a)) == list(np.ravel(b)), name
        else:
            assert np.asarray(a).tobytes() == np.asarray(b).tobytes(), f"data of {name}"
        assert obj.fillvalue == o.fillvalue, f"fill value of {name}"
        pl = o.id.get_create_plist()
        report["/" + name] = {
            "filters": [pl.get_filter(i)[0] for i in range(pl.get_nfilters())],
            "chunks": o.chunks,
            "in_chunks": obj.chunks,
            "storage": o.id.get_storage_size(),
            "nbytes": int(o.nbytes),
        }
    fi.visititems(visit)
    report["link"] = fo.get("link", getlink=True).path
print(json.dumps(report))
"#;

    #[test]
    fn recompress_keeps_every_byte_and_plain_h5py_reads_it() {
        let Some(py) = super::common::python_or_skip() else {
            return;
        };
        let dir = temp_dir("recompress");
        let (input, output) = (dir.join("in.h5"), dir.join("out.h5"));
        run_python(&py, WRITER, &[&input]);
        let (i, o) = (input.to_str().unwrap(), output.to_str().unwrap());

        let rows = json_lines(&btune(&[
            "h5",
            "recompress",
            i,
            o,
            "--tradeoff",
            "0.5",
            "--json",
        ]));
        let action = |name: &str| {
            rows.iter()
                .find(|r| r["dataset"] == name)
                .unwrap_or_else(|| panic!("{name} missing from {rows:?}"))["action"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let tuned = [
            "/grp/sub/f64",
            "/grp/i32_gzip",
            "/grp/sub/b2_3d",
            "/contig",
            "/sparse",
        ];
        for name in tuned {
            assert_eq!(action(name), "tuned", "{name}");
        }
        // Too small to chunk; no filter applies to variable-length strings.
        assert_eq!(action("/scalar"), "copied");
        assert_eq!(action("/vstr"), "copied");
        assert_eq!(rows.len(), 7, "{rows:?}");

        // (a), (b), (d): a separate h5py + hdf5plugin process, no plugin path.
        let report: serde_json::Value =
            serde_json::from_str(&run_python(&py, CHECKER, &[&input, &output])).unwrap();
        for name in tuned {
            let r = &report[name];
            assert_eq!(r["filters"], serde_json::json!([32026]), "{name}: {r}");
            assert!(
                r["storage"].as_u64().unwrap() < r["nbytes"].as_u64().unwrap(),
                "{name} did not shrink: {r}"
            );
            if name != "/contig" {
                assert_eq!(r["chunks"], r["in_chunks"], "{name}");
            }
        }
        assert_eq!(report["/contig"]["chunks"], serde_json::json!([256, 512]));
        assert_eq!(report["link"], "/grp/sub/f64");

        // (c): inspect sees the datasets, their btune record and parameters.
        let datasets = json_lines(&btune(&["h5", "inspect", o, "--json"]));
        for name in tuned {
            let d = datasets
                .iter()
                .find(|d| d["dataset"] == name)
                .unwrap_or_else(|| panic!("{name} not inspected"));
            let b = &d["blosc2"];
            assert_eq!(b["btune"]["tune"], true, "{d}");
            assert_eq!(b["btune"]["tradeoff"], 0.5, "{d}");
            assert!(b["btune"]["perf_mode"].is_null(), "{d}");
            assert_eq!(b["undecoded_chunks"], 0, "{d}");
            let params = b["params"].as_array().unwrap();
            assert!(!params.is_empty(), "{d}");
            let counted: u64 = params.iter().map(|p| p["chunks"].as_u64().unwrap()).sum();
            assert_eq!(counted, b["stored_chunks"].as_u64().unwrap(), "{d}");
            for p in params {
                assert!(p["codec"].as_str().unwrap() != "other", "{p}");
                assert!(p["filter"].as_str().unwrap() != "other", "{p}");
            }
            assert!(d["ratio"].as_f64().unwrap() > 1.0, "{d}");
        }
        let sparse = datasets.iter().find(|d| d["dataset"] == "/sparse").unwrap();
        assert_eq!(sparse["blosc2"]["grid_chunks"], 10);
        assert_eq!(
            sparse["blosc2"]["stored_chunks"], 1,
            "chunks never written stay unwritten"
        );
        // The input's hdf5plugin dataset: standard values, no btune record,
        // frames whose headers we read.
        let input_b2 = json_lines(&btune(&["h5", "inspect", i, "--json"]))
            .into_iter()
            .find(|d| d["dataset"] == "/grp/sub/b2_3d")
            .unwrap();
        assert!(input_b2["blosc2"]["btune"].is_null(), "{input_b2}");
        assert_eq!(input_b2["blosc2"]["params"][0]["codec"], "zstd");
        assert_eq!(input_b2["blosc2"]["params"][0]["chunks"], 6);

        let text = btune(&["h5", "inspect", o]);
        let text = String::from_utf8_lossy(&text.stdout);
        for name in tuned {
            assert!(text.contains(name), "{text}");
        }
        assert!(text.contains("btune: tuned, tradeoff 0.5"), "{text}");
        std::fs::remove_dir_all(&dir).ok();
    }

    const WRITER_UNAVAILABLE: &str = r#"
import sys, numpy as np, h5py, hdf5plugin
with h5py.File(sys.argv[1], "w") as f:
    f.create_dataset("lz4", data=np.arange(100000, dtype="f4"), chunks=(10000,), **hdf5plugin.LZ4())
    f.create_dataset("plain", data=np.arange(50000, dtype="u8"), chunks=(5000,),
                     shuffle=True, fletcher32=True, compression="gzip")
    f.attrs["ref"] = f["plain"].ref
"#;

    const CHECKER_UNAVAILABLE: &str = r#"
import sys, numpy as np, h5py, hdf5plugin
with h5py.File(sys.argv[1], "r") as fi, h5py.File(sys.argv[2], "r") as fo:
    for name, fid in [("lz4", 32004), ("plain", 32026)]:
        assert fi[name][()].tobytes() == fo[name][()].tobytes(), name
        pl = fo[name].id.get_create_plist()
        assert [pl.get_filter(i)[0] for i in range(pl.get_nfilters())] == [fid], name
    assert "ref" not in fo.attrs
print("ok")
"#;

    #[test]
    fn datasets_of_unavailable_filters_are_copied_as_they_are() {
        let Some(py) = super::common::python_or_skip() else {
            return;
        };
        let dir = temp_dir("unavailable");
        let (input, output) = (dir.join("in.h5"), dir.join("out.h5"));
        run_python(&py, WRITER_UNAVAILABLE, &[&input]);
        let out = btune(&[
            "h5",
            "recompress",
            input.to_str().unwrap(),
            output.to_str().unwrap(),
            "--json",
        ]);
        let rows = json_lines(&out);
        let lz4 = rows.iter().find(|r| r["dataset"] == "/lz4").unwrap();
        assert_eq!(lz4["action"], "copied", "{lz4}");
        assert!(lz4["note"].as_str().unwrap().contains("32004"), "{lz4}");
        let plain = rows.iter().find(|r| r["dataset"] == "/plain").unwrap();
        assert_eq!(plain["action"], "tuned", "{plain}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("attribute ref left out"),
            "references are not carried over, and say so:\n{stderr}"
        );
        assert_eq!(
            run_python(&py, CHECKER_UNAVAILABLE, &[&input, &output]).trim(),
            "ok"
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn bad_h5_arguments_fail_clearly() {
        let out = btune(&["h5", "inspect", "/nonexistent/file.h5"]);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/file.h5"));
        let manifest = env!("CARGO_MANIFEST_DIR");
        let not_h5 = format!("{manifest}/Cargo.toml");
        let out = btune(&["h5", "inspect", &not_h5]);
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("signature"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let out = btune(&["h5", "recompress", &not_h5, &not_h5]);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("same file"));
        let out = btune(&["h5", "recompress", "a.h5", "b.h5", "--tradeoff", "2"]);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("not a number in [0, 1]"));
        let out = btune(&["h5", "recompress", "a.h5", "b.h5", "--perf-mode", "fast"]);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("COMP"));
    }
}
