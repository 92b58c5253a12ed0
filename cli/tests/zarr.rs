//! `btune zarr recompress` / `inspect` end to end (feature `zarr`): a
//! hierarchy written with zarrs (zstd, gzip, Blosc1, uncompressed, sharded,
//! transposed arrays, nested groups with attributes) is recompressed by the
//! binary, read back with zarrs + zarrs-btune byte for byte, and inspected.
//!
//! zarrs' own zstd and blosc codecs cannot be linked next to c-blosc2 (see
//! `cli/src/zarr/codecs.rs`): their arrays are written uncompressed, then
//! each chunk file is compressed here (ruzstd; Blosc1's raw-copy format)
//! and the codec added to the metadata. One chunk is a real Blosc1 chunk
//! written by numcodecs 0.16.6 (c-blosc 1.21).
#![cfg(feature = "zarr")]

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use serde_json::{Value, json};
use zarrs::array::{Array, ArrayBytes, ArrayMetadata};
use zarrs::filesystem::FilesystemStore;
use zarrs::group::{Group, GroupMetadata};
// Reading OUT needs the btune codec registered.
use zarrs_btune as _;

fn btune(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_btune"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn store(dir: &Path) -> Arc<FilesystemStore> {
    Arc::new(FilesystemStore::new(dir).unwrap())
}

fn group(s: &Arc<FilesystemStore>, path: &str, attributes: Value) {
    let meta: GroupMetadata = serde_json::from_value(
        json!({"zarr_format": 3, "node_type": "group", "attributes": attributes}),
    )
    .unwrap();
    Group::new_with_metadata(s.clone(), path, meta)
        .unwrap()
        .store_metadata()
        .unwrap();
}

const BYTES: fn() -> Value = || json!({"name": "bytes", "configuration": {"endian": "little"}});

/// Writes an array of `meta` (a v3 zarr.json without the fixed keys)
/// holding `data` (raw little-endian bytes of the whole array).
fn array(
    s: &Arc<FilesystemStore>,
    path: &'static str,
    mut meta: Value,
    data: Vec<u8>,
) -> (&'static str, Vec<u8>) {
    meta["zarr_format"] = json!(3);
    meta["node_type"] = json!("array");
    if meta.get("chunk_key_encoding").is_none() {
        meta["chunk_key_encoding"] =
            json!({"name": "default", "configuration": {"separator": "/"}});
    }
    let meta: ArrayMetadata = serde_json::from_value(meta).unwrap();
    let a = Array::new_with_metadata(s.clone(), path, meta).unwrap();
    a.store_metadata().unwrap();
    a.store_array_subset(&a.subset_all(), ArrayBytes::from(data.clone()))
        .unwrap();
    (path, data)
}

fn grid(chunk: &[u64]) -> Value {
    json!({"name": "regular", "configuration": {"chunk_shape": chunk}})
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// Compresses every stored chunk of the uncompressed array at `path` with
/// `f` and appends `codec` to its codec chain.
fn recodec(dir: &Path, path: &str, codec: Value, f: impl Fn(&[u8]) -> Vec<u8>) {
    let root = dir.join(path.trim_start_matches('/'));
    for file in files(&root.join("c")) {
        let raw = std::fs::read(&file).unwrap();
        std::fs::write(&file, f(&raw)).unwrap();
    }
    let mut meta = zarr_json(dir, path);
    meta["codecs"].as_array_mut().unwrap().push(codec);
    std::fs::write(root.join("zarr.json"), meta.to_string()).unwrap();
}

fn zstd(raw: &[u8]) -> Vec<u8> {
    ruzstd::encoding::compress_to_vec(raw, ruzstd::encoding::CompressionLevel::Fastest)
}

/// A Blosc1 chunk holding `raw` uncompressed (the memcpy flag), as c-blosc
/// writes incompressible data: format version 2, typesize 4.
fn blosc1_memcpyed(raw: &[u8]) -> Vec<u8> {
    let n = u32::try_from(raw.len()).unwrap();
    let mut out = vec![2u8, 1, 0x02 | 0x01, 4];
    for v in [n, n, n + 16] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(raw);
    out
}

/// `numcodecs.Blosc(cname="zstd", clevel=3, shuffle=BITSHUFFLE)` of
/// `np.arange(1024, dtype="<f4") * 0.25`, by numcodecs 0.16.6.
const NUMCODECS_BLOSC1: &str = "020194040010000000100000b4000000140000009c00000028b52ffd60000f950400240200aa00aacc00aaccf0ccf000ff00ffaaa0ccffffc8f000ff00fff2fffc00fffe00ff41a030790300831aa98d013a9714a7e3e84cf551b7950e203029972524e0c8536732c366d6b2fd0d34c1cfe77b77da32bbb90e12713a89180973e17eebcacc79de8bce7ccb4f188c45b006c7f3979f83f21223af4ace80bf2e32d26b20dd0e89a53677edb0e4a64d568a67fe8302";

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The input hierarchy: every codec family users bring.
/// Returns every array's path and expected bytes.
fn write_input(dir: &Path) -> Vec<(&'static str, Vec<u8>)> {
    // Attributes exactly as written, without zarrs' own.
    zarrs::config::global_config_mut().set_include_zarrs_metadata(false);
    let s = store(dir);
    let mut exp = Vec::new();
    group(&s, "/", json!({"title": "btune test", "n": 3}));
    group(&s, "/g", json!({"nested": {"a": [1, 2]}}));
    let field: Vec<u8> = (0..200 * 300)
        .flat_map(|i| {
            let (y, x) = ((i / 300) as f64, (i % 300) as f64);
            ((y * 0.05).sin() * (x * 0.03).cos() * 280.0).to_le_bytes()
        })
        .collect();
    exp.push(array(
        &s,
        "/g/temps",
        json!({"shape": [200, 300], "data_type": "float64", "chunk_grid": grid(&[64, 64]),
               "fill_value": "NaN", "codecs": [BYTES()],
               "attributes": {"units": "K"}, "dimension_names": ["y", "x"]}),
        field,
    ));
    recodec(
        dir,
        "/g/temps",
        json!({"name": "zstd", "configuration": {"level": 3, "checksum": false}}),
        zstd,
    );
    let counts: Vec<u8> = (0..100_000i32)
        .flat_map(|i| (i / 7 - 300).to_le_bytes())
        .collect();
    exp.push(array(
        &s,
        "/counts",
        json!({"shape": [100_000], "data_type": "int32", "chunk_grid": grid(&[16_384]),
               "fill_value": 0, "codecs": [BYTES(), {"name": "gzip", "configuration": {"level": 5}}]}),
        counts,
    ));
    let blosc: Vec<u8> = (0..50_000u32)
        .flat_map(|i| (i as f32 * 0.25).to_le_bytes())
        .collect();
    exp.push(array(
        &s,
        "/g/blosc1",
        json!({"shape": [50_000], "data_type": "float32", "chunk_grid": grid(&[10_000]),
               "fill_value": 0.0, "codecs": [BYTES()]}),
        blosc,
    ));
    let blosc_codec = json!({"name": "blosc", "configuration":
        {"cname": "zstd", "clevel": 3, "shuffle": "bitshuffle", "typesize": 4, "blocksize": 0}});
    recodec(dir, "/g/blosc1", blosc_codec.clone(), blosc1_memcpyed);
    let arange: Vec<u8> = (0..1024u16)
        .flat_map(|i| (f32::from(i) * 0.25).to_le_bytes())
        .collect();
    exp.push(array(
        &s,
        "/numcodecs",
        json!({"shape": [1024], "data_type": "float32", "chunk_grid": grid(&[1024]),
               "fill_value": 0.0, "codecs": [BYTES()]}),
        arange,
    ));
    recodec(dir, "/numcodecs", blosc_codec, |_| unhex(NUMCODECS_BLOSC1));
    // Uncompressed 3-D u16 whose last chunks hold only the fill value (and
    // so are not stored).
    let raw: Vec<u8> = (0..20 * 30 * 40u32)
        .flat_map(|i| {
            let v = if i < 20 * 30 * 40 / 2 {
                (i % 1000) as u16
            } else {
                9
            };
            v.to_le_bytes()
        })
        .collect();
    exp.push(array(
        &s,
        "/raw",
        json!({"shape": [20, 30, 40], "data_type": "uint16", "chunk_grid": grid(&[5, 30, 40]),
               "fill_value": 9, "codecs": [BYTES()]}),
        raw,
    ));
    let sharded: Vec<u8> = (0..128 * 96u32)
        .flat_map(|i| ((i % 96) as f32 + (i / 96) as f32 * 0.5).to_le_bytes())
        .collect();
    exp.push(array(
        &s,
        "/g/sharded",
        json!({"shape": [128, 96], "data_type": "float32", "chunk_grid": grid(&[64, 48]),
               "fill_value": 0.0, "codecs": [{"name": "sharding_indexed", "configuration": {
                   "chunk_shape": [32, 16],
                   "codecs": [BYTES(), {"name": "gzip", "configuration": {"level": 1}}],
                   "index_codecs": [BYTES(), {"name": "crc32c"}],
                   "index_location": "end"}}]}),
        sharded,
    ));
    let t: Vec<u8> = (0..60 * 80u32)
        .flat_map(|i| (i64::from(i) * 1000).to_le_bytes())
        .collect();
    exp.push(array(
        &s,
        "/transposed",
        json!({"shape": [60, 80], "data_type": "int64", "chunk_grid": grid(&[32, 32]),
               "fill_value": 0, "codecs": [{"name": "transpose", "configuration": {"order": [1, 0]}},
                                           BYTES(), {"name": "crc32c"}]}),
        t,
    ));
    exp
}

const ARRAYS: [&str; 7] = [
    "/counts",
    "/g/blosc1",
    "/g/sharded",
    "/g/temps",
    "/numcodecs",
    "/raw",
    "/transposed",
];

fn zarr_json(dir: &Path, path: &str) -> Value {
    let p = dir.join(path.trim_start_matches('/')).join("zarr.json");
    serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap()
}

fn all_bytes(dir: &Path, path: &str) -> Vec<u8> {
    let a = Array::open(store(dir), path).unwrap();
    let b: ArrayBytes<'static> = a.retrieve_array_subset(&a.subset_all()).unwrap();
    b.into_fixed().unwrap().into_owned()
}

/// Every btune codec configuration in a codec list, sharding included.
fn btune_configs(codecs: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for c in codecs.as_array().unwrap() {
        if c["name"] == "btune" {
            out.push(c["configuration"].clone());
        }
        if c["name"] == "sharding_indexed" {
            out.extend(btune_configs(&c["configuration"]["codecs"]));
        }
    }
    out
}

#[test]
fn recompress_keeps_every_byte_and_all_metadata() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, output) = (tmp.path().join("in.zarr"), tmp.path().join("out.zarr"));
    let expected = write_input(&input);
    let stdout = ok(&btune(&[
        "zarr",
        "recompress",
        input.to_str().unwrap(),
        output.to_str().unwrap(),
        "--tradeoff",
        "0.3",
        "--perf-mode",
        "decomp",
    ]));
    for path in ARRAYS {
        assert!(stdout.contains(path), "{path} missing in:\n{stdout}");
    }
    assert!(stdout.contains("total: 7 arrays"), "{stdout}");

    for path in ["/", "/g"] {
        assert_eq!(
            zarr_json(&input, path)["attributes"],
            zarr_json(&output, path)["attributes"],
            "group {path}"
        );
    }
    assert_eq!(expected.len(), ARRAYS.len());
    for (path, data) in &expected {
        assert!(all_bytes(&output, path) == *data, "{path} differs");
    }
    for path in ARRAYS {
        let (i, o) = (zarr_json(&input, path), zarr_json(&output, path));
        for key in [
            "shape",
            "data_type",
            "chunk_grid",
            "chunk_key_encoding",
            "fill_value",
            "attributes",
            "dimension_names",
        ] {
            assert_eq!(i.get(key), o.get(key), "{path}: {key}");
        }
        let confs = btune_configs(&o["codecs"]);
        assert_eq!(confs.len(), 1, "{path}: {}", o["codecs"]);
        let typesize = match o["data_type"].as_str().unwrap() {
            "uint16" => 2,
            "int32" | "float32" => 4,
            _ => 8,
        };
        assert_eq!(
            confs[0],
            json!({"typesize": typesize, "tradeoff": 0.3, "perf_mode": "decomp"}),
            "{path}"
        );
        for gone in ["zstd", "gzip", "blosc"] {
            assert!(
                !o["codecs"].to_string().contains(gone),
                "{path}: {}",
                o["codecs"]
            );
        }
    }
    // Kept: bytes endianness, transpose, the shard index codecs.
    let t = zarr_json(&output, "/transposed")["codecs"].clone();
    assert_eq!(t[0]["name"], "transpose");
    assert_eq!(t[1], BYTES());
    assert_eq!(t.as_array().unwrap().len(), 3, "crc32c replaced: {t}");
    let sh = zarr_json(&output, "/g/sharded")["codecs"][0].clone();
    assert_eq!(sh["configuration"]["index_codecs"][1]["name"], "crc32c");
    assert_eq!(sh["configuration"]["chunk_shape"], json!([32, 16]));
    // Chunks of only the fill value stay absent.
    assert!(output.join("raw/c/0/0/0").is_file());
    assert!(!output.join("raw/c/3/0/0").exists());
    // No zarrs attributes were added.
    assert!(!zarr_json(&output, "/counts").to_string().contains("_zarrs"));
}

#[test]
fn inspect_shows_codecs_and_the_parameters_chunks_carry() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, output) = (tmp.path().join("in.zarr"), tmp.path().join("out.zarr"));
    write_input(&input);
    ok(&btune(&[
        "zarr",
        "recompress",
        input.to_str().unwrap(),
        output.to_str().unwrap(),
    ]));
    let text = ok(&btune(&["zarr", "inspect", output.to_str().unwrap()]));
    assert!(
        text.contains("/g/temps  float64 (200, 300) chunks (64, 64)"),
        "{text}"
    );
    assert!(text.contains("codecs: bytes"), "{text}");
    assert!(text.contains(r#"btune {"typesize":8}"#), "{text}");
    assert!(text.contains("btune: 20 chunk headers read"), "{text}");
    assert!(text.contains("/split "), "{text}");
    assert!(text.contains("total: 7 arrays"), "{text}");

    let json_out = ok(&btune(&[
        "zarr",
        "inspect",
        output.to_str().unwrap(),
        "--json",
    ]));
    let reports: Vec<Value> = json_out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(reports.len(), 7);
    for r in &reports {
        let b = &r["btune"];
        assert!(b.is_object(), "{r}");
        assert_eq!(b["undecoded_chunks"], 0, "{r}");
        let sets = b["params"].as_array().unwrap();
        assert!(!sets.is_empty(), "{r}");
        let n: u64 = sets.iter().map(|s| s["chunks"].as_u64().unwrap()).sum();
        assert_eq!(n, b["chunks"].as_u64().unwrap());
        for s in sets {
            for key in ["codec", "filter", "split", "blocksize", "nbytes", "cbytes"] {
                assert!(s.get(key).is_some(), "{key} in {s}");
            }
        }
        if r["array"] == "/g/sharded" {
            // 2 x 2 shards of 2 x 3 inner chunks each.
            assert_eq!(r["inner_chunks"], json!([32, 16]));
            assert_eq!(b["chunks"], 24, "{r}");
        } else {
            assert_eq!(b["chunks"], r["stored_chunks"], "{r}");
        }
    }
    // The input: its codecs, no btune section.
    let text = ok(&btune(&["zarr", "inspect", input.to_str().unwrap()]));
    assert!(
        text.contains(r#"zstd {"checksum":false,"level":3}"#) || text.contains("zstd {"),
        "{text}"
    );
    assert!(!text.contains("btune:"), "{text}");
}

#[test]
fn fixed_parameters_land_in_every_chunk() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, output) = (tmp.path().join("in.zarr"), tmp.path().join("out.zarr"));
    let expected = write_input(&input);
    ok(&btune(&[
        "zarr",
        "recompress",
        input.to_str().unwrap(),
        output.to_str().unwrap(),
        "--params",
        "zlib/shuffle/5/never",
    ]));
    for (path, data) in &expected {
        assert!(all_bytes(&output, path) == *data, "{path} differs");
    }
    let conf = btune_configs(&zarr_json(&output, "/g/temps")["codecs"]);
    assert_eq!(
        conf[0],
        json!({"typesize": 8, "tune": false, "params": "zlib/shuffle/5/never/auto/1t"})
    );
    let json_out = ok(&btune(&[
        "zarr",
        "inspect",
        output.to_str().unwrap(),
        "--json",
    ]));
    for line in json_out.lines() {
        let r: Value = serde_json::from_str(line).unwrap();
        let sets = r["btune"]["params"].as_array().unwrap();
        for s in sets {
            assert_eq!(s["codec"], "zlib", "{r}");
            // Incompressible blocks are stored raw, without their filter.
            if s["memcpyed"] == false {
                assert_eq!(
                    (&s["filter"], &s["split"]),
                    (&json!("shuffle"), &json!("never")),
                    "{r}"
                );
            }
        }
    }
}

#[test]
fn a_single_array_directory_recompresses() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, output) = (tmp.path().join("in.zarr"), tmp.path().join("out.zarr"));
    let expected = write_input(&input);
    let one = input.join("g/temps");
    ok(&btune(&[
        "zarr",
        "recompress",
        one.to_str().unwrap(),
        output.to_str().unwrap(),
    ]));
    let temps = &expected.iter().find(|(p, _)| *p == "/g/temps").unwrap().1;
    assert!(all_bytes(&output, "/") == *temps);
}

#[test]
fn bad_arguments_fail_with_a_message() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, output) = (tmp.path().join("in.zarr"), tmp.path().join("out.zarr"));
    write_input(&input);
    let i = input.to_str().unwrap();
    for (args, needle) in [
        (
            vec![
                "zarr",
                "recompress",
                i,
                output.to_str().unwrap(),
                "--tradeoff",
                "2",
            ],
            "not a number in [0, 1]",
        ),
        (vec!["zarr", "recompress", i, i], "not an empty directory"),
        (
            vec![
                "zarr",
                "recompress",
                i,
                output.to_str().unwrap(),
                "--params",
                "zstd/x/5",
            ],
            "unknown filter",
        ),
        (
            vec!["zarr", "inspect", "/nonexistent/zarr"],
            "not a directory",
        ),
    ] {
        let out = btune(&args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn a_corrupt_chunk_names_the_array_and_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, output) = (tmp.path().join("in.zarr"), tmp.path().join("out.zarr"));
    let expected = write_input(&input);
    std::fs::write(input.join("counts/c/2"), b"not gzip at all").unwrap();
    let out = btune(&[
        "zarr",
        "recompress",
        input.to_str().unwrap(),
        output.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/counts: failed") && err.contains("1 array(s) failed"),
        "{err}"
    );
    // The other arrays were written.
    let temps = &expected.iter().find(|(p, _)| *p == "/g/temps").unwrap().1;
    assert!(all_bytes(&output, "/g/temps") == *temps);
    assert!(!output.join("counts").exists());
}

#[test]
fn zarr_v2_input_becomes_v3() {
    let tmp = tempfile::tempdir().unwrap();
    let (input, output) = (tmp.path().join("v2.zarr"), tmp.path().join("out.zarr"));
    std::fs::create_dir_all(input.join("a")).unwrap();
    std::fs::write(input.join(".zgroup"), r#"{"zarr_format": 2}"#).unwrap();
    std::fs::write(input.join(".zattrs"), r#"{"from": "zarr v2"}"#).unwrap();
    std::fs::write(
        input.join("a/.zarray"),
        json!({"zarr_format": 2, "shape": [1024], "chunks": [1024], "dtype": "<f4",
               "compressor": {"id": "blosc", "cname": "zstd", "clevel": 3, "shuffle": 2, "blocksize": 0},
               "fill_value": 0.0, "order": "C", "filters": null})
        .to_string(),
    )
    .unwrap();
    std::fs::write(input.join("a/0"), unhex(NUMCODECS_BLOSC1)).unwrap();
    let stdout = ok(&btune(&[
        "zarr",
        "recompress",
        input.to_str().unwrap(),
        output.to_str().unwrap(),
    ]));
    assert!(
        stdout.contains("/a  float32 (1024,)  btune (from Zarr v2)"),
        "{stdout}"
    );
    let arange: Vec<u8> = (0..1024u16)
        .flat_map(|i| (f32::from(i) * 0.25).to_le_bytes())
        .collect();
    assert!(all_bytes(&output, "/a") == arange);
    let meta = zarr_json(&output, "/a");
    assert_eq!(meta["zarr_format"], 3);
    assert_eq!(btune_configs(&meta["codecs"]), vec![json!({"typesize": 4})]);
    assert_eq!(
        zarr_json(&output, "/")["attributes"],
        json!({"from": "zarr v2"})
    );
    let text = ok(&btune(&["zarr", "inspect", input.to_str().unwrap()]));
    assert!(text.contains(r#""id":"blosc""#), "{text}");
}
