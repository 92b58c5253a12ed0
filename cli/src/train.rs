//! `btune train`: sweeps the grid over a corpus's chunks, fits one model per
//! performance mode and writes a model directory (`model_comp.tflite` +
//! `.json`, ...). Datasets named with `--holdout` are swept but not trained
//! on: the model's accuracy on them is reported beside its accuracy on the
//! training chunks, and both go into the model's JSON.

use std::path::PathBuf;

use anyhow::{Result, ensure};
use btune_core::model::{self, Model};
use btune_core::{Params, PerfMode, Threads, grid};
use btune_train::corpus;
use btune_train::fit::{self, Accuracy, FitOptions};
use btune_train::labels::ChunkRecord;
use btune_train::sweep::{Sweep, grid_progress};

/// The tradeoffs accuracy is reported at.
const REPORTED: [f64; 3] = [0.1, 0.5, 0.9];

/// Options of `btune train`.
pub(crate) struct TrainOptions {
    pub(crate) manifest: PathBuf,
    pub(crate) out: PathBuf,
    pub(crate) chunk_bytes: usize,
    pub(crate) perf_modes: Vec<PerfMode>,
    pub(crate) holdout: Vec<String>,
    pub(crate) eval_manifest: Option<PathBuf>,
    pub(crate) only: Vec<String>,
    pub(crate) grid_cache: Vec<PathBuf>,
    pub(crate) fit: FitOptions,
}

/// Sweeps, fits, writes and reports.
pub(crate) fn run(opts: &TrainOptions) -> Result<()> {
    let mut datasets = corpus::read_manifest(&opts.manifest)?;
    if !opts.only.is_empty() {
        datasets.retain(|(d, _)| opts.only.contains(&d.name) || opts.holdout.contains(&d.name));
    }
    for name in &opts.holdout {
        ensure!(
            datasets.iter().any(|(d, _)| &d.name == name),
            "--holdout {name}: no such dataset in the manifest"
        );
    }
    ensure!(
        datasets
            .iter()
            .any(|(d, _)| !opts.holdout.contains(&d.name)),
        "no datasets left to train on"
    );
    // Datasets of another corpus are held out whole.
    let mut held_names = opts.holdout.clone();
    if let Some(m) = &opts.eval_manifest {
        for (d, path) in corpus::read_manifest(m)? {
            ensure!(
                !datasets.iter().any(|(t, _)| t.name == d.name),
                "{} is in both manifests",
                d.name
            );
            held_names.push(d.name.clone());
            datasets.push((d, path));
        }
    }
    let bar = grid_progress(&datasets)?;
    let (mut train, mut held) = (Vec::new(), Vec::new());
    for (d, path) in &datasets {
        bar.set_message(d.name.clone());
        let data = corpus::load(d, path)?;
        let chunks = corpus::chunks(&data, d.typesize, opts.chunk_bytes);
        let mut sweep = Sweep::new(
            &d.name,
            chunks,
            opts.chunk_bytes,
            d.typesize,
            Threads::ONE,
            &opts.grid_cache,
        )?;
        let points: Vec<Params> = grid::oracle_grid(d.typesize);
        sweep.grid(&points, || bar.inc(1))?;
        let records = sweep.records(&d.name, &points)?;
        if held_names.contains(&d.name) {
            held.extend(records);
        } else {
            train.extend(records);
        }
    }
    bar.finish_and_clear();
    println!(
        "{:<9} {:<8} {:>9} {:>6} {:>7} {:>13} {:>11}",
        "mode", "set", "tradeoff", "chunks", "top-1", "median regret", "mean regret"
    );
    for &mode in &opts.perf_modes {
        let fitted = fit::fit(&train, mode, &opts.fit)?;
        let mut meta = fitted.meta;
        // Evaluate the encoded network, read back and run as the tuner runs
        // it; the files are written once, with the figures.
        let model =
            Model::from_network(&fitted.network, meta.clone()).map_err(anyhow::Error::msg)?;
        let on_train = fit::evaluate(&model, &train, &REPORTED)?;
        let on_held = fit::evaluate(&model, &held, &REPORTED)?;
        print_rows(mode, "train", &on_train);
        if !held.is_empty() {
            print_rows(mode, "held-out", &on_held);
        }
        meta.training = Some(serde_json::json!({
            "command": std::env::args().collect::<Vec<_>>().join(" "),
            "chunk_bytes": opts.chunk_bytes,
            "trained_on": dataset_names(&train),
            "held_out": dataset_names(&held),
            "chunks": train.len(),
            "categories": meta.categories.len(),
            "hidden": opts.fit.mlp.hidden,
            "members": opts.fit.members,
            "epochs": opts.fit.mlp.epochs,
            "temperature": opts.fit.temperature,
            "final_loss": fitted.final_loss,
            "accuracy_train": on_train,
            "accuracy_held_out": on_held,
        }));
        model::write(&opts.out, &fitted.network, &meta)?;
    }
    eprintln!("models written to {}", opts.out.display());
    Ok(())
}

fn dataset_names(records: &[ChunkRecord]) -> Vec<&str> {
    let mut names: Vec<&str> = records.iter().map(|r| r.dataset.as_str()).collect();
    names.dedup();
    names
}

fn print_rows(mode: PerfMode, set: &str, rows: &[Accuracy]) {
    for a in rows {
        println!(
            "{:<9} {:<8} {:>9.1} {:>6} {:>6.0}% {:>13.3} {:>11.3}",
            mode.to_string(),
            set,
            a.tradeoff,
            a.chunks,
            100.0 * a.top1,
            a.median_regret,
            a.mean_regret
        );
    }
}
