//! `btune bench`: the tuner against the oracle and fixed presets, per dataset
//! and tradeoff, all measured in the same run.
//!
//! Method (the figures in issue notes come from it):
//! - The grid is `btune_core::grid::oracle_grid` (codec x filter pipeline x
//!   clevel {1,3,5,7,9} x split, automatic block size) at `--nthreads`. Every
//!   point compresses and decompresses every chunk of the dataset; its
//!   extremes are the `ranges` of the objective, and the best point for a
//!   tradeoff is the oracle.
//! - The tuner compresses the chunks in order with a fresh [`Tuner`]; each
//!   chunk's stored parameters are then timed on that chunk exactly as the
//!   grid is (fastest of a few runs), and the tuner's own measured tuning work
//!   is added to its compression time.
//! - `regret = oracle.utility - btune.utility`; `first_chunk_regret` is the
//!   same on the first chunk alone, tuning work excluded, with the dataset's
//!   ranges.

use std::path::PathBuf;

use anyhow::{Result, ensure};
use btune_core::model::Category;
use btune_core::tuner::Readapt;
use btune_core::{
    ChunkFormat, Config, Objective, Outcome, Params, PerfMode, Ranges, Threads, Tuner, blosc2, grid,
};
use indicatif::ProgressBar;
use serde::Serialize;

use btune_train::corpus::{self, Dataset};
use btune_train::measure::total;
use btune_train::sweep::{Sweep, grid_progress};

/// Options of `btune bench`.
pub(crate) struct BenchOptions {
    pub(crate) manifest: PathBuf,
    pub(crate) tradeoffs: Vec<f64>,
    pub(crate) perf_mode: PerfMode,
    pub(crate) chunk_bytes: usize,
    pub(crate) nthreads: Threads,
    pub(crate) json: bool,
    pub(crate) only: Vec<String>,
    /// Keep grid timings here and reuse them: for iterating on the tuner.
    /// Figures for notes come from runs without it (everything measured in
    /// one run).
    pub(crate) grid_cache: Vec<PathBuf>,
    /// Time the cached grid again, keeping each chunk's faster timing.
    pub(crate) retime_grid: bool,
    /// Run each tuner once untimed first.
    pub(crate) warm: bool,
    /// Model directory for the tuner (`Config::models_dir`).
    pub(crate) models: Option<PathBuf>,
    /// `Config::use_inference` with `models`.
    pub(crate) use_inference: i32,
}

/// Fixed parameter sets users commonly pick, to put the tuner in context.
pub(crate) const PRESETS: [(&str, &str); 4] = [
    ("lz4-fast", "lz4/shuffle/1/always"),
    ("blosclz-default", "blosclz/shuffle/5/always"),
    ("zstd-balanced", "zstd/shuffle/1/never"),
    ("zstd-ratio", "zstd/shuffle-bytedelta/5/never"),
];

#[derive(Serialize)]
struct Used {
    name: String,
    share: f64,
}

#[derive(Serialize)]
struct Scored {
    cbytes: u64,
    cratio: f64,
    ctime_s: f64,
    dtime_s: f64,
    speed: f64,
    utility: f64,
    params: Used,
    #[serde(skip_serializing_if = "Option::is_none")]
    tuning_s: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    inference: Option<InferenceJson>,
}

/// What the model did in a run with `--models` (inside `"btune"`).
#[derive(Serialize)]
struct InferenceJson {
    /// Chunks whose parameters the model predicted.
    chunks: u64,
    /// Mean microseconds per inferred chunk computing features.
    feature_us: f64,
    /// Mean microseconds per inferred chunk running the network.
    inference_us: f64,
    /// The first chunk's prediction.
    first_predicted: String,
    /// Whether it is the oracle's category (top-1 hit).
    first_is_oracle: bool,
    /// The oracle's utility minus that of the first prediction's parameters
    /// used for the whole dataset (no tuning work counted).
    first_predicted_regret: f64,
}

#[derive(Serialize)]
struct RangesJson {
    ratio: [f64; 2],
    speed: [f64; 2],
}

#[derive(Serialize)]
struct Record {
    dataset: String,
    tradeoff: f64,
    perf_mode: String,
    nbytes: u64,
    nchunks: usize,
    ranges: RangesJson,
    btune: Scored,
    oracle: Scored,
    presets: std::collections::BTreeMap<String, Scored>,
    regret: f64,
    first_chunk_regret: f64,
}

fn scored(
    o: &Outcome,
    objective: &Objective,
    ranges: &Ranges,
    params: Used,
    tuning_s: Option<f64>,
) -> Scored {
    Scored {
        cbytes: o.cbytes,
        cratio: o.ratio(),
        ctime_s: o.ctime,
        dtime_s: o.dtime.unwrap_or(0.0),
        speed: objective.speed(o),
        utility: objective.utility(o, ranges),
        params,
        tuning_s,
        inference: None,
    }
}

/// Runs the benchmark and prints a table or JSON lines on stdout.
pub(crate) fn run(opts: &BenchOptions) -> Result<()> {
    let mut datasets = corpus::read_manifest(&opts.manifest)?;
    if !opts.only.is_empty() {
        datasets.retain(|(d, _)| opts.only.contains(&d.name));
    }
    ensure!(!datasets.is_empty(), "no datasets to benchmark");
    let presets: Vec<(&str, Params)> = PRESETS
        .iter()
        .map(|(n, p)| Ok((*n, p.parse::<Params>()?.with_threads(opts.nthreads))))
        .collect::<Result<_>>()?;
    let bar = grid_progress(&datasets)?;
    let mut records = Vec::new();
    for (d, path) in &datasets {
        let data = corpus::load(d, path)?;
        bar.set_message(d.name.clone());
        let recs = bench_dataset(d, &data, opts, &presets, &bar)?;
        for r in &recs {
            if opts.json {
                println!("{}", serde_json::to_string(r)?);
            }
        }
        records.extend(recs);
    }
    bar.finish_and_clear();
    if !opts.json {
        print_table(&records);
    }
    print_summary(&records, opts.json);
    Ok(())
}

fn bench_dataset(
    d: &Dataset,
    data: &[u8],
    opts: &BenchOptions,
    presets: &[(&str, Params)],
    bar: &ProgressBar,
) -> Result<Vec<Record>> {
    let chunks = corpus::chunks(data, d.typesize, opts.chunk_bytes);
    let mut timings = Sweep::new(
        &d.name,
        chunks,
        opts.chunk_bytes,
        d.typesize,
        opts.nthreads,
        &opts.grid_cache,
    )?;
    let grid_points: Vec<Params> = grid::oracle_grid(d.typesize)
        .into_iter()
        .map(|p| p.with_threads(opts.nthreads))
        .collect();
    if opts.retime_grid {
        timings.retime(&grid_points, || {})?;
    }
    let grid_totals = timings.grid(&grid_points, || bar.inc(1))?;
    let mut out = Vec::new();
    for &t in &opts.tradeoffs {
        let objective = Objective::new(t, opts.perf_mode);
        let mut ranges = Ranges::EMPTY;
        for (_, o) in &grid_totals {
            ranges.include(o.ratio(), objective.speed(o));
        }
        let (oracle_p, oracle_o) = grid_totals
            .iter()
            .max_by(|a, b| {
                objective
                    .utility(&a.1, &ranges)
                    .total_cmp(&objective.utility(&b.1, &ranges))
            })
            .copied()
            .expect("the grid is never empty");

        // The tuner, fresh for each tradeoff.
        let config = Config {
            tradeoff: t,
            perf_mode: opts.perf_mode,
            max_threads: opts.nthreads,
            models_dir: opts.models.clone(),
            use_inference: opts.use_inference,
            ..Config::default()
        };
        if opts.warm {
            let warm_up = Tuner::new(config.clone(), d.typesize)?;
            for chunk in &timings.chunks {
                warm_up.compress(chunk, ChunkFormat::Chunk)?;
            }
        }
        let tuner = Tuner::new(config, d.typesize)?;
        let mut per_chunk = Vec::new();
        let mut first_params = None;
        let mut first_predicted = None;
        for (i, chunk) in timings.chunks.clone().into_iter().enumerate() {
            let c = tuner.compress(chunk, ChunkFormat::Chunk)?;
            ensure!(
                blosc2::decompress(&c.bytes, 1)? == chunk,
                "{}: chunk {i} did not round-trip",
                d.name
            );
            first_params.get_or_insert(c.params);
            if c.readapt == Readapt::Inference {
                first_predicted.get_or_insert(c.params);
            }
            per_chunk.push(timings.chunk(&c.params, i)?);
        }
        let stats = tuner.stats();
        let tuning = stats.tuning_time;
        let mut btune_o = total(&per_chunk);
        btune_o.ctime += tuning;
        let (top, count) = stats.most_used().expect("at least one chunk");
        let nchunks = timings.chunks.len();
        let share = |n: u64| n as f64 / nchunks as f64;

        let first = first_params.expect("at least one chunk");
        let first_btune = timings.chunk(&first, 0)?;
        let first_oracle = timings.chunk(&oracle_p, 0)?;
        let first_chunk_regret =
            objective.utility(&first_oracle, &ranges) - objective.utility(&first_btune, &ranges);

        let mut preset_scores = std::collections::BTreeMap::new();
        for (name, p) in presets {
            let o = total(timings.all(p)?);
            preset_scores.insert(
                (*name).to_owned(),
                scored(
                    &o,
                    &objective,
                    &ranges,
                    Used {
                        name: p.to_string(),
                        share: 1.0,
                    },
                    None,
                ),
            );
        }
        let inference = match (&opts.models, first_predicted) {
            (Some(_), Some(p)) => {
                let whole = total(timings.all(&p)?);
                #[allow(clippy::cast_precision_loss)]
                let n = stats.inferences.max(1) as f64;
                Some(InferenceJson {
                    chunks: stats.inferences,
                    feature_us: 1e6 * stats.feature_time / n,
                    inference_us: 1e6 * stats.inference_time / n,
                    first_predicted: p.to_string(),
                    first_is_oracle: Category::of(&p) == Category::of(&oracle_p),
                    first_predicted_regret: objective.utility(&oracle_o, &ranges)
                        - objective.utility(&whole, &ranges),
                })
            }
            _ => None,
        };
        let mut btune = scored(
            &btune_o,
            &objective,
            &ranges,
            Used {
                name: top.to_string(),
                share: share(count),
            },
            Some(tuning),
        );
        btune.inference = inference;
        let oracle = scored(
            &oracle_o,
            &objective,
            &ranges,
            Used {
                name: oracle_p.to_string(),
                share: 1.0,
            },
            None,
        );
        out.push(Record {
            dataset: d.name.clone(),
            tradeoff: t,
            perf_mode: opts.perf_mode.to_string(),
            nbytes: data.len() as u64,
            nchunks,
            ranges: RangesJson {
                ratio: [ranges.ratio.0, ranges.ratio.1],
                speed: [ranges.speed.0, ranges.speed.1],
            },
            regret: oracle.utility - btune.utility,
            btune,
            oracle,
            presets: preset_scores,
            first_chunk_regret,
        });
    }
    Ok(out)
}

fn print_table(records: &[Record]) {
    println!(
        "{:<20} {:>5} {:>6} {:>7} {:>7} {:>7} {:>6}  {:<34} {:<34}",
        "dataset",
        "t",
        "chunks",
        "regret",
        "first",
        "tune%",
        "best-p",
        "btune (most used)",
        "oracle"
    );
    for r in records {
        let best_preset = r
            .presets
            .values()
            .map(|p| r.oracle.utility - p.utility)
            .fold(f64::INFINITY, f64::min);
        println!(
            "{:<20} {:>5.2} {:>6} {:>7.3} {:>7.3} {:>6.1}% {:>6.3}  {:<34} {:<34}",
            r.dataset,
            r.tradeoff,
            r.nchunks,
            r.regret,
            r.first_chunk_regret,
            100.0 * r.btune.tuning_s.unwrap_or(0.0)
                / (r.btune.ctime_s - r.btune.tuning_s.unwrap_or(0.0)).max(1e-12),
            best_preset,
            format!(
                "{} ({:.0}%)",
                r.btune.params.name,
                100.0 * r.btune.params.share
            ),
            r.oracle.params.name,
        );
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// Medians per tradeoff; on stderr when stdout carries JSON.
fn print_summary(records: &[Record], to_stderr: bool) {
    let mut tradeoffs: Vec<f64> = records.iter().map(|r| r.tradeoff).collect();
    tradeoffs.sort_by(f64::total_cmp);
    tradeoffs.dedup();
    let mut lines = vec![format!(
        "{:>5} {:>14} {:>11} {:>19} {:>13} {:>18}",
        "t",
        "median regret",
        "max regret",
        "median first-chunk",
        "tuning/ctime",
        "best preset regret"
    )];
    for t in tradeoffs {
        let rs: Vec<&Record> = records.iter().filter(|r| r.tradeoff == t).collect();
        let tuning: f64 = rs.iter().map(|r| r.btune.tuning_s.unwrap_or(0.0)).sum();
        let ctime: f64 = rs.iter().map(|r| r.btune.ctime_s).sum::<f64>() - tuning;
        let preset = median(
            rs.iter()
                .map(|r| {
                    r.presets
                        .values()
                        .map(|p| r.oracle.utility - p.utility)
                        .fold(f64::INFINITY, f64::min)
                })
                .collect(),
        );
        lines.push(format!(
            "{:>5.2} {:>14.3} {:>11.3} {:>19.3} {:>12.1}% {:>18.3}",
            t,
            median(rs.iter().map(|r| r.regret).collect()),
            rs.iter()
                .map(|r| r.regret)
                .fold(f64::NEG_INFINITY, f64::max),
            median(rs.iter().map(|r| r.first_chunk_regret).collect()),
            100.0 * tuning / ctime.max(1e-12),
            preset,
        ));
    }
    for l in lines {
        if to_stderr {
            eprintln!("{l}");
        } else {
            println!("{l}");
        }
    }
}
