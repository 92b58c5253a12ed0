//! `btune`: advise Blosc2 parameters for a file, benchmark the tuner against
//! the best fixed parameters, train models on a corpus, demonstrate tuned
//! compression, and (features
//! `hdf5` and `zarr`, on by default) recompress and inspect HDF5 files and
//! Zarr arrays.

mod advise;
mod bench;
#[cfg(any(feature = "hdf5", feature = "zarr"))]
mod chunk_census;
mod demo;
#[cfg(feature = "hdf5")]
mod h5;
mod model;
mod train;
#[cfg(feature = "zarr")]
mod zarr;

use std::path::PathBuf;

use anyhow::{Result, bail};
use btune_core::{PerfMode, Threads};
use clap::{Parser, Subcommand};

/// The tuning options a recompressing front end (`h5`, `zarr`) records with
/// what it writes; unset ones fall back to `BTUNE_*` and then to the
/// tuner's defaults when the data is written.
#[cfg(any(feature = "hdf5", feature = "zarr"))]
#[derive(clap::Args, Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct TuningArgs {
    /// 0 = speed ... 1 = ratio (default: BTUNE_TRADEOFF or the tuner's).
    #[arg(long, value_parser = parse_tradeoff)]
    pub(crate) tradeoff: Option<f64>,
    /// COMP, DECOMP or BALANCED (default: BTUNE_PERF_MODE or COMP).
    #[arg(long, value_parser = parse_perf_mode)]
    pub(crate) perf_mode: Option<PerfMode>,
}

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
        /// tuner; figures should come from runs without it). Repeatable: each
        /// dataset's timings are read from, and kept in, the first directory
        /// that has them; a dataset none has goes into the first.
        #[arg(long)]
        grid_cache: Vec<PathBuf>,
        /// With --grid-cache: time the cached grid again and keep each
        /// chunk's faster timing (noise only slows a timing down), to
        /// repair a cache timed while the machine was busy.
        #[arg(long, requires = "grid_cache")]
        retime_grid: bool,
        /// Run each tuner once untimed before the timed run, so that every
        /// tradeoff's run starts warm (code cached, c-blosc2 contexts made),
        /// as the grid's fastest-of-several timings are. Without it the
        /// first tradeoff run on a dataset pays the cold start.
        #[arg(long)]
        warm: bool,
        /// Tune with the models in this directory (`btune train` writes
        /// them); their results go into the JSON under "btune".
        #[arg(long)]
        models: Option<PathBuf>,
        /// With --models: N > 0 infers on the first N chunks then tunes,
        /// -1 infers on every chunk.
        #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
        use_inference: i32,
    },
    /// Train models on a corpus: sweep the grid over its chunks, label the
    /// best parameters at 11 tradeoffs per performance mode, fit one network
    /// per mode and write a model directory (model_comp.tflite + .json, ...).
    Train {
        /// manifest.json of a corpus (../shared/corpus/build.py).
        #[arg(long)]
        manifest: PathBuf,
        /// The model directory to write.
        #[arg(short = 'o', long = "out")]
        out: PathBuf,
        /// Chunk size in bytes.
        #[arg(long, default_value_t = 1 << 20)]
        chunk_bytes: usize,
        /// Performance modes to train (repeatable).
        #[arg(long = "perf-mode", value_parser = parse_perf_mode,
              default_values_t = [PerfMode::Comp, PerfMode::Decomp, PerfMode::Balanced])]
        perf_modes: Vec<PerfMode>,
        /// Datasets swept and evaluated but not trained on (repeatable).
        #[arg(long)]
        holdout: Vec<String>,
        /// Another corpus whose datasets are all swept and evaluated, never
        /// trained on (e.g. the benchmark corpus, for models trained on a
        /// training corpus).
        #[arg(long)]
        eval_manifest: Option<PathBuf>,
        /// Only these datasets (repeatable; held-out ones are kept).
        #[arg(long)]
        only: Vec<String>,
        /// Keep grid timings here and reuse them (shared with `btune bench`).
        /// Repeatable, as for `btune bench`: a training corpus's cache and
        /// the evaluation corpus's can be given side by side.
        #[arg(long)]
        grid_cache: Vec<PathBuf>,
        /// Hidden layer widths (repeatable; none: softmax regression).
        #[arg(long = "hidden", default_values_t = [16])]
        hidden: Vec<usize>,
        /// Optimiser steps (full batch).
        #[arg(long, default_value_t = 300)]
        epochs: usize,
        /// Seed of the initial weights.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Softmax temperature of the targets in utility units (0: one-hot
        /// labels of the best category).
        #[arg(long, default_value_t = 0.05)]
        temperature: f64,
        /// Make every grid point a category (default: only the points that
        /// are best for some chunk at some tradeoff).
        #[arg(long)]
        all_categories: bool,
        /// Keep at most this many categories, chosen greedily for the
        /// lowest mean regret on the training chunks (0: keep all).
        #[arg(long, default_value_t = 0)]
        max_categories: usize,
        /// Train on at most this many chunks per dataset, evenly spaced
        /// (0: all), so that big datasets do not outweigh small ones.
        #[arg(long, default_value_t = 0)]
        chunks_per_dataset: usize,
        /// Train this many networks, from seeds SEED, SEED + 1, ..., and
        /// average their logits in one network (a wider one of the same
        /// depth): choices hang less on the seed, at a larger network's
        /// inference cost (bench-results/models-ensemble/).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
        members: u16,
    },
    /// Model directories: show a model, run its network on input rows.
    Model {
        #[command(subcommand)]
        command: model::ModelCommand,
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
#[cfg(any(feature = "hdf5", feature = "zarr"))]
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
            retime_grid,
            warm,
            models,
            use_inference,
        } => {
            if use_inference < -1 {
                bail!("--use-inference {use_inference}: expected -1, 0 or a positive count");
            }
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
                retime_grid,
                warm,
                models,
                use_inference,
            })
        }
        Command::Train {
            manifest,
            out,
            chunk_bytes,
            perf_modes,
            holdout,
            eval_manifest,
            only,
            grid_cache,
            hidden,
            epochs,
            seed,
            temperature,
            all_categories,
            max_categories,
            chunks_per_dataset,
            members,
        } => {
            if !(temperature >= 0.0 && temperature.is_finite()) {
                bail!("--temperature {temperature} must be a finite number >= 0");
            }
            if hidden.contains(&0) {
                bail!("--hidden widths must be positive");
            }
            let fit = btune_train::fit::FitOptions {
                mlp: btune_train::mlp::TrainOptions {
                    hidden,
                    epochs,
                    seed,
                    ..btune_train::mlp::TrainOptions::default()
                },
                temperature,
                all_categories,
                max_categories,
                chunks_per_dataset,
                members: members.into(),
            };
            train::run(&train::TrainOptions {
                manifest,
                out,
                chunk_bytes: chunk_bytes.max(1),
                perf_modes,
                holdout,
                eval_manifest,
                only,
                grid_cache,
                fit,
            })
        }
        Command::Model { command } => model::run(command),
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
