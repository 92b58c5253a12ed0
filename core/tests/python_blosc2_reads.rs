//! The promise that matters to users: what the core writes, python-blosc2
//! reads, in a separate process that loads none of our code. Chunks and
//! frames tuned at several tradeoffs are written to files; a Python process
//! decompresses each with `blosc2.decompress2` / `blosc2.schunk_from_cframe`
//! and compares with the raw bytes.

mod common;

use std::process::Command;

use btune_core::{ChunkFormat, Config, Tuner};

const READER: &str = r#"
import sys, pathlib, blosc2
d = pathlib.Path(sys.argv[1])
n = 0
for raw in sorted(d.glob("*.raw")):
    want = raw.read_bytes()
    chunk = raw.with_suffix(".chunk").read_bytes()
    assert blosc2.decompress2(chunk) == want, f"chunk {raw.name}"
    frame = raw.with_suffix(".frame").read_bytes()
    schunk = blosc2.schunk_from_cframe(frame, copy=True)
    assert schunk.nchunks == 1, f"frame {raw.name} has {schunk.nchunks} chunks"
    assert schunk.decompress_chunk(0) == want, f"frame {raw.name}"
    n += 1
print(f"python-blosc2 {blosc2.__version__} decoded {n} chunks and {n} frames exactly")
"#;

#[test]
fn python_blosc2_decodes_tuned_chunks_and_frames() {
    let python = match common::python() {
        Ok(p) => p,
        Err(why) if std::env::var_os("CI").is_none() => {
            eprintln!("SKIPPED: {why}");
            return;
        }
        Err(why) => panic!("{why}"),
    };
    let dir = std::env::temp_dir().join(format!("btune-pyblosc2-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut written = 0;
    for (name, typesize, data) in common::corpus() {
        for (ti, t) in [0.1, 0.9].into_iter().enumerate() {
            let c = Config {
                tradeoff: t,
                ..Config::default()
            };
            let tuner = Tuner::new(c, typesize).unwrap();
            for (i, chunk) in data
                .chunks(192 * 1024 / typesize * typesize)
                .take(2)
                .enumerate()
            {
                let stem = dir.join(format!("{name}-t{ti}-c{i}"));
                let c = tuner.compress(chunk, ChunkFormat::Chunk).unwrap();
                let f = tuner.compress(chunk, ChunkFormat::Frame).unwrap();
                std::fs::write(stem.with_extension("raw"), chunk).unwrap();
                std::fs::write(stem.with_extension("chunk"), &c.bytes).unwrap();
                std::fs::write(stem.with_extension("frame"), &f.bytes).unwrap();
                written += 1;
            }
        }
    }
    let out = Command::new(&python)
        .arg("-c")
        .arg(READER)
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python-blosc2 failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("decoded {written} chunks")),
        "{stdout}"
    );
    eprintln!("{stdout}");
    std::fs::remove_dir_all(&dir).ok();
}
