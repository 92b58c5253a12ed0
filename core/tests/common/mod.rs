//! Shared by the integration tests: where the test corpus and the Python
//! venv are (`scripts/setup.sh` makes both; `BTUNE_CORPUS` and
//! `BTUNE_PYTHON` override).

#![allow(
    dead_code,
    unreachable_pub,
    clippy::missing_panics_doc,
    clippy::missing_errors_doc
)]

use std::path::PathBuf;

/// The workspace root.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The small test corpus's directory. Panics with the fix if it is missing.
pub fn corpus_dir() -> PathBuf {
    let dir = std::env::var_os("BTUNE_CORPUS")
        .map_or_else(|| workspace().join("target/corpus"), PathBuf::from);
    assert!(
        dir.join("manifest.json").is_file(),
        "no corpus at {} (run scripts/setup.sh, or set BTUNE_CORPUS)",
        dir.display()
    );
    dir
}

/// (name, typesize, bytes) of every corpus dataset.
pub fn corpus() -> Vec<(String, usize, Vec<u8>)> {
    let dir = corpus_dir();
    let text = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    let m: serde_json::Value = serde_json::from_str(&text).unwrap();
    m["datasets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let name = d["name"].as_str().unwrap().to_owned();
            let data = std::fs::read(dir.join(d["file"].as_str().unwrap())).unwrap();
            (name, d["typesize"].as_u64().unwrap() as usize, data)
        })
        .collect()
}

/// The venv's Python (with python-blosc2), or `None` with the reason.
pub fn python() -> Result<PathBuf, String> {
    let py = std::env::var_os("BTUNE_PYTHON")
        .map_or_else(|| workspace().join(".venv/bin/python"), PathBuf::from);
    if py.is_file() {
        Ok(py)
    } else {
        Err(format!(
            "no Python at {} (run scripts/setup.sh, or set BTUNE_PYTHON)",
            py.display()
        ))
    }
}

/// The venv's Python, or `None` after printing why the test is skipped
/// (a failure under CI, where set-up must have made it).
pub fn python_or_skip() -> Option<PathBuf> {
    match python() {
        Ok(p) => Some(p),
        Err(why) if std::env::var_os("CI").is_none() => {
            eprintln!("SKIPPED: {why}");
            None
        }
        Err(why) => panic!("{why}"),
    }
}
