//! `btune advise`: the parameters the tuner settles on for a file, at five
//! tradeoffs, with the ratio and speeds they give on it.

use std::path::Path;

use anyhow::{Context, Result, ensure};
use btune_core::{ChunkFormat, Config, PerfMode, Tuner};
use serde::Serialize;

use btune_train::corpus;
use btune_train::measure::{reps_for, time_chunk, total};

/// The tradeoffs `advise` reports.
pub(crate) const TRADEOFFS: [f64; 5] = [0.0, 0.25, 0.5, 0.75, 1.0];

#[derive(Serialize)]
struct Advice {
    tradeoff: f64,
    params: String,
    share: f64,
    cratio: f64,
    compress_mb_s: f64,
    decompress_mb_s: f64,
}

/// Runs the tuner over `file` at each tradeoff and prints its advice.
pub(crate) fn run(
    file: &Path,
    typesize: usize,
    chunk_bytes: usize,
    perf_mode: PerfMode,
    json: bool,
) -> Result<()> {
    let data = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    ensure!(!data.is_empty(), "{} is empty", file.display());
    ensure!(
        (1..=255).contains(&typesize),
        "--typesize must be in 1..=255"
    );
    let chunks = corpus::chunks(&data, typesize, chunk_bytes);
    let reps = reps_for(chunks[0].len());
    if !json {
        println!(
            "{} ({} bytes, {} chunks of {} bytes, typesize {}, {} mode)",
            file.display(),
            data.len(),
            chunks.len(),
            chunks[0].len(),
            typesize,
            perf_mode
        );
        println!(
            "{:>8}  {:<36} {:>7} {:>8} {:>13} {:>15}",
            "tradeoff", "parameters", "chunks", "ratio", "compress MB/s", "decompress MB/s"
        );
    }
    for t in TRADEOFFS {
        let config = Config {
            tradeoff: t,
            perf_mode,
            ..Config::default()
        };
        let tuner = Tuner::new(config, typesize)?;
        for c in &chunks {
            tuner.compress(c, ChunkFormat::Chunk)?;
        }
        let (params, n) = tuner.stats().most_used().expect("at least one chunk");
        let outcomes = chunks
            .iter()
            .map(|c| time_chunk(c, typesize, &params, reps))
            .collect::<Result<Vec<_>>>()?;
        let o = total(&outcomes);
        let advice = Advice {
            tradeoff: t,
            params: params.to_string(),
            share: n as f64 / chunks.len() as f64,
            cratio: o.ratio(),
            compress_mb_s: o.speed(PerfMode::Comp) / 1e6,
            decompress_mb_s: o.speed(PerfMode::Decomp) / 1e6,
        };
        if json {
            println!("{}", serde_json::to_string(&advice)?);
        } else {
            println!(
                "{:>8.2}  {:<36} {:>6.0}% {:>8.2} {:>13.0} {:>15.0}",
                advice.tradeoff,
                advice.params,
                100.0 * advice.share,
                advice.cratio,
                advice.compress_mb_s,
                advice.decompress_mb_s
            );
        }
    }
    Ok(())
}
