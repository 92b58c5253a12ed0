//! What a tuner's trial on a sample says about a chunk's speed: for the
//! first chunk of every dataset of a manifest, every point of the oracle
//! grid is measured as a readapt's trial measures it
//! ([`Tuner::measure_sample_trial`]: the chunk's blocks cut to half the
//! sample, the first block untimed) and set beside the grid's speed on the
//! whole chunk (from `btune bench`'s grid cache if one is given, else timed
//! now as the grid times it, chunk 0 only). One JSON object per line on stdout, for
//! `scripts/fit_trial_speed.py`, which fits a per-doubling correction of
//! trial speeds (measured on the benchmark and not kept:
//! `bench-results/trial-speed-ab/`).
//!
//! ```sh
//! cargo run --release -p btune-train --example trial_speed -- \
//!     target/train-corpus/manifest.json 0.5 1048576 target/gc-train > trial-speed.jsonl
//! ```
//!
//! Arguments: MANIFEST TRADEOFF CHUNK_BYTES [GRID_CACHE_DIR]... (read as
//! `btune bench --grid-cache` reads several). Each trial is
//! repeated three times on a fresh tuner and each repeat printed, so the
//! fit sees the noise a single trial has.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use btune_core::grid::oracle_grid;
use btune_core::{Config, PerfMode, Threads, Tuner};
use btune_train::corpus::{chunks, load, read_manifest};
use btune_train::sweep::Sweep;

/// Trials per grid point and dataset.
const REPEATS: usize = 3;

fn run(args: &[String]) -> Result<()> {
    let [manifest, tradeoff, chunk_bytes, rest @ ..] = args else {
        bail!("usage: trial_speed MANIFEST TRADEOFF CHUNK_BYTES [GRID_CACHE_DIR]...");
    };
    let tradeoff: f64 = tradeoff
        .parse()
        .with_context(|| format!("tradeoff {tradeoff:?}"))?;
    let chunk_bytes: usize = chunk_bytes
        .parse()
        .with_context(|| format!("chunk bytes {chunk_bytes:?}"))?;
    let cache: Vec<PathBuf> = rest.iter().map(PathBuf::from).collect();
    for (d, path) in read_manifest(Path::new(manifest))? {
        let data = load(&d, &path)?;
        let all = chunks(&data, d.typesize, chunk_bytes);
        let Some(&first) = all.first() else { continue };
        let mut sweep = Sweep::new(&d.name, all, chunk_bytes, d.typesize, Threads::ONE, &cache)?;
        for p in oracle_grid(d.typesize) {
            // The cached outcome, or chunk 0 timed as the grid times it.
            let on_chunk = sweep.chunk(&p, 0)?;
            let chunk_cspeed = on_chunk.speed(PerfMode::Comp);
            for _ in 0..REPEATS {
                let config = Config {
                    tradeoff,
                    ..Config::default()
                };
                let tuner = Tuner::new(config, d.typesize)?;
                let Some(m) = tuner.measure_sample_trial(first, &p) else {
                    continue;
                };
                println!(
                    "{}",
                    serde_json::json!({
                        "dataset": d.name,
                        "typesize": d.typesize,
                        "tradeoff": tradeoff,
                        "chunk_bytes": first.len(),
                        "params": p.to_string(),
                        "codec": p.codec.to_string(),
                        "clevel": p.clevel.get(),
                        "split": p.split.to_string(),
                        "sample_blocksize": m.sample_blocksize,
                        "chunk_blocksize": m.chunk_blocksize,
                        "sample_cspeed": m.cspeed,
                        "chunk_cspeed": chunk_cspeed,
                        "sample_ratio": m.ratio,
                        "chunk_ratio": on_chunk.ratio(),
                    })
                );
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("trial_speed: {e:#}");
            ExitCode::FAILURE
        }
    }
}
