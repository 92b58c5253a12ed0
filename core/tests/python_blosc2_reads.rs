//! The promise that matters to users: what the core writes, python-blosc2
//! reads, in a separate process that loads none of our code. Chunks and
//! frames tuned at several tradeoffs are written to files; a Python process
//! decompresses each with `blosc2.decompress2` / `blosc2.schunk_from_cframe`
//! and compares with the raw bytes.

mod common;

use std::process::Command;

use btune_core::{ChunkFormat, ChunkShape, Config, Tuner, blosc2};

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
    nd = blosc2.ndarray_from_cframe(raw.with_suffix(".b2nd").read_bytes())
    rows = len(want) // (nd.dtype.itemsize * 256)
    assert nd.shape == (rows, 256), f"b2nd {raw.name}: shape {nd.shape}"
    assert nd[...].tobytes() == want[: rows * 256 * nd.dtype.itemsize], f"b2nd {raw.name}"
    n += 1
print(f"python-blosc2 {blosc2.__version__} decoded {n} chunks and {n} frames exactly")
"#;

#[test]
fn python_blosc2_decodes_tuned_chunks_and_frames() {
    let Some(python) = common::python_or_skip() else {
        return;
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
                let rows = (chunk.len() / typesize / 256) as u64;
                let rows_bytes = &chunk[..rows as usize * 256 * typesize];
                let shape = ChunkShape::new(&[rows, 256]).unwrap();
                let nd = tuner
                    .compress(rows_bytes, ChunkFormat::B2ndFrame(shape))
                    .unwrap();
                assert_eq!(blosc2::decompress(&nd.bytes, 1).unwrap(), rows_bytes);
                std::fs::write(stem.with_extension("b2nd"), &nd.bytes).unwrap();
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

/// python-blosc2 writes b2nd frames whose blocks are sub-cubes (not runs of
/// the C-order chunk) and padded; the core must give back C-order bytes.
const B2ND_WRITER: &str = r#"
import sys, pathlib, numpy as np, blosc2
d = pathlib.Path(sys.argv[1])
rng = np.random.default_rng(7)
cases = [((60, 70, 3), (16, 16, 2), "f8"), ((33, 47), (8, 5), "i2"), ((5, 6, 7, 8), (2, 3, 4, 5), "u1")]
for i, (shape, blocks, dt) in enumerate(cases):
    a = (np.cumsum(rng.integers(-3, 4, size=int(np.prod(shape)))).reshape(shape)).astype(dt)
    nd = blosc2.asarray(a, chunks=shape, blocks=blocks, cparams={"codec": blosc2.Codec.ZSTD, "clevel": 5})
    (d / f"case{i}.frame").write_bytes(nd.to_cframe())
    (d / f"case{i}.raw").write_bytes(a.tobytes())
print(len(cases))
"#;

#[test]
fn core_decodes_python_blosc2_b2nd_frames_with_cube_blocks() {
    let Some(python) = common::python_or_skip() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("btune-b2nd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(&python)
        .arg("-c")
        .arg(B2ND_WRITER)
        .arg(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python-blosc2 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cases: usize = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    for i in 0..cases {
        let frame = std::fs::read(dir.join(format!("case{i}.frame"))).unwrap();
        let want = std::fs::read(dir.join(format!("case{i}.raw"))).unwrap();
        assert_eq!(
            blosc2::decompressed_len(&frame).unwrap(),
            want.len(),
            "case {i}"
        );
        assert_eq!(blosc2::decompress(&frame, 1).unwrap(), want, "case {i}");
        let mut short = vec![0u8; want.len() - 1];
        assert!(blosc2::decompress_into(&frame, &mut short, 1).is_err());
    }
    std::fs::remove_dir_all(&dir).ok();
}
