//! `btune`: advise Blosc2 parameters for a file, benchmark the tuner against
//! the best fixed parameters, demonstrate tuned compression, and (features
//! `hdf5` and `zarr`, on by default) recompress and inspect HDF5 files and
//! Zarr arrays.

mod advise;
mod bench;
#[cfg(any(feature = "hdf5", feature = "zarr"))]
mod chunk_census;
mod corpus;
mod demo;
#[cfg(feature = "hdf5")]
mod h5;
mod measure;
#[cfg(feature = "zarr")]
mod zarr;

use std::path::PathBuf;

use anyhow::{Result, bail};
use btune_core::{PerfMode, Threads};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "btune", version, about = "Automatic Blosc2 compression tuning")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// How should I compress this file? The tuner's choice at tradeoffs
    /// 0, 0.25, 0.5, 0.75 and 1, with ratio and speeds.
    Advise {
        /// Raw data file.
        file: PathBuf,
        /// Bytes per element.
        #[arg(long)]
        typesize: usize,
        /// Chunk size in bytes.
        #[arg(long, default_value_t = 1 << 20)]
        chunk_bytes: usize,
        /// COMP, DECOMP or BALANCED.
        #[arg(long, default_value = "COMP", value_parser = parse_perf_mode)]
        perf_mode: PerfMode,
        /// One JSON object per tradeoff instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The tuner vs the oracle (best fixed grid point) and presets, per
    /// dataset of a corpus manifest and tradeoff.
    Bench {
        /// manifest.json of a corpus (../shared/corpus/build.py).
        #[arg(long)]
        manifest: PathBuf,
        /// Tradeoffs to run (repeatable).
        #[arg(long = "tradeoff", default_values_t = [0.1, 0.5, 0.9])]
        tradeoffs: Vec<f64>,
        /// COMP, DECOMP or BALANCED.
        #[arg(long, default_value = "COMP", value_parser = parse_perf_mode)]
        perf_mode: PerfMode,
        /// Chunk size in bytes.
        #[arg(long, default_value_t = 1 << 20)]
        chunk_bytes: usize,
        /// Threads for every parameter set.
        #[arg(long, default_value_t = 1)]
        nthreads: u16,
        /// One JSON object per dataset and tradeoff.
        #[arg(long)]
        json: bool,
        /// Only these datasets (repeatable).
        #[arg(long)]
        only: Vec<String>,
        /// Reuse grid timings kept in this directory (for iterating on the
        /// tuner; figures should come from runs without it).
        #[arg(long)]
        grid_cache: Option<PathBuf>,
    },
    /// Tuned compression of built-in sample data, with the trace on stderr.
    Demo {
        /// 0 = speed ... 1 = ratio.
        #[arg(long, default_value_t = 0.5)]
        tradeoff: f64,
    },
    /// HDF5 files: recompress with tuning, inspect chunk parameters.
    #[cfg(feature = "hdf5")]
    H5 {
        #[command(subcommand)]
        command: h5::H5Command,
    },
    /// Zarr arrays: recompress with the "btune" codec, inspect chunk
    /// parameters.
    #[cfg(feature = "zarr")]
    Zarr {
        #[command(subcommand)]
        command: zarr::ZarrCommand,
    },
}

fn parse_perf_mode(s: &str) -> Result<PerfMode, String> {
    s.parse::<PerfMode>().map_err(|e| e.to_string())
}

/// A tradeoff argument: a number in [0, 1].
#[cfg_attr(not(any(feature = "hdf5", feature = "zarr")), allow(dead_code))]
fn parse_tradeoff(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(t) if (0.0..=1.0).contains(&t) => Ok(t),
        _ => Err(format!("{s} is not a number in [0, 1]")),
    }
}

fn main() -> Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    match Cli::parse().command {
        Command::Advise {
            file,
            typesize,
            chunk_bytes,
            perf_mode,
            json,
        } => advise::run(&file, typesize, chunk_bytes, perf_mode, json),
        Command::Bench {
            manifest,
            tradeoffs,
            perf_mode,
            chunk_bytes,
            nthreads,
            json,
            only,
            grid_cache,
        } => {
            if let Some(t) = tradeoffs.iter().find(|t| !(0.0..=1.0).contains(*t)) {
                bail!("--tradeoff {t} is outside [0, 1]");
            }
            let Some(nthreads) = Threads::new(nthreads) else {
                bail!("--nthreads must be in 1..=32767");
            };
            bench::run(&bench::BenchOptions {
                manifest,
                tradeoffs,
                perf_mode,
                chunk_bytes: chunk_bytes.max(1),
                nthreads,
                json,
                only,
                grid_cache,
            })
        }
        Command::Demo { tradeoff } => {
            if !(0.0..=1.0).contains(&tradeoff) {
                bail!("--tradeoff {tradeoff} is outside [0, 1]");
            }
            demo::run(tradeoff)
        }
        #[cfg(feature = "hdf5")]
        Command::H5 { command } => h5::run(command),
        #[cfg(feature = "zarr")]
        Command::Zarr { command } => zarr::run(command),
    }
}
