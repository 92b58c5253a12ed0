//! `btune demo`: tuned compression of built-in sample data, with the trace
//! on stderr and a summary on stdout. Needs no files.

use std::sync::Arc;

use anyhow::{Result, ensure};
use btune_core::clock::MonotonicClock;
use btune_core::trace::TraceSink;
use btune_core::{ChunkFormat, Config, Tuner, blosc2};

/// Built-in datasets: (name, typesize, bytes).
fn samples() -> Vec<(&'static str, usize, Vec<u8>)> {
    const N: usize = 1 << 19;
    // A smooth 2-D field, float64.
    let field: Vec<u8> = (0..N)
        .flat_map(|i| {
            let (x, y) = ((i % 512) as f64 / 40.0, (i / 512) as f64 / 60.0);
            (x.sin() * y.cos() * 100.0 + 0.01 * (3.0 * x).sin()).to_le_bytes()
        })
        .collect();
    // Event timestamps in nanoseconds with jitter, int64.
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut t = 1_700_000_000_000_000_000i64;
    let stamps: Vec<u8> = (0..N)
        .flat_map(|_| {
            t += 1_000_000 + (next() % 1000) as i64 - 500;
            t.to_le_bytes()
        })
        .collect();
    // A counter signal that turns into noise half-way: the tuner must notice.
    let regime: Vec<u8> = (0..N)
        .flat_map(|i| {
            let v = if i < N / 2 {
                (i / 64) as f32
            } else {
                (next() >> 40) as f32
            };
            v.to_le_bytes()
        })
        .collect();
    vec![
        ("smooth_field_f64", 8, field),
        ("timestamps_i64", 8, stamps),
        ("regime_change_f32", 4, regime),
    ]
}

/// Compresses each sample in 256 KiB chunks with the trace on.
pub(crate) fn run(tradeoff: f64) -> Result<()> {
    let mut config = Config::from_env();
    config.tradeoff = tradeoff;
    config.trace = true;
    println!(
        "{:<20} {:>9} {:>7} {:>9} {:>14} {:>8}  most used parameters",
        "dataset", "MiB", "chunks", "ratio", "compress MB/s", "tuning"
    );
    for (name, typesize, data) in samples() {
        eprintln!("\n== {name} ==");
        let tuner = Tuner::with_parts(
            config.clone(),
            typesize,
            Arc::new(MonotonicClock::new()),
            Some(TraceSink::stderr()),
        )?;
        let mut cbytes = 0;
        for chunk in data.chunks(256 * 1024) {
            let c = tuner.compress(chunk, ChunkFormat::Chunk)?;
            ensure!(
                blosc2::decompress(&c.bytes, 1)? == chunk,
                "round trip failed"
            );
            cbytes += c.bytes.len();
        }
        let st = tuner.stats();
        let (top, n) = st.most_used().expect("chunks were compressed");
        let time = st.compress_time + st.tuning_time;
        println!(
            "{:<20} {:>9.1} {:>7} {:>9.2} {:>14.0} {:>7.1}%  {} ({} of {} chunks)",
            name,
            data.len() as f64 / 1048576.0,
            st.chunks,
            data.len() as f64 / cbytes as f64,
            data.len() as f64 / time / 1e6,
            100.0 * st.tuning_time / time,
            top,
            n,
            st.chunks
        );
    }
    Ok(())
}
