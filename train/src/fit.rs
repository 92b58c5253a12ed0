//! Fitting one performance mode's model to swept chunks, and measuring how
//! well a model predicts on chunks (its own or held-out ones).

use anyhow::{Result, ensure};
use btune_core::PerfMode;
use btune_core::features::{FEATURE_NAMES, FEATURE_SET, NFEATURES};
use btune_core::model::{Category, FeatureNorm, Model, ModelMeta, Network};
use serde::Serialize;

use crate::ensemble;
use crate::labels::{ChunkRecord, TRADEOFFS, categories, robust_categories, target};
use crate::mlp::TrainOptions;

/// How training rows are made and the network fitted.
#[derive(Clone, Debug)]
pub struct FitOptions {
    /// The network and optimiser settings.
    pub mlp: TrainOptions,
    /// Softmax temperature of the targets, in utility units (0: one-hot).
    pub temperature: f64,
    /// Every grid point is a category (else only those best somewhere).
    pub all_categories: bool,
    /// Keep at most this many categories, chosen greedily for the lowest
    /// mean regret on the training chunks (0: keep all).
    pub max_categories: usize,
    /// At most this many chunks per dataset, evenly spaced, so that big
    /// datasets do not outweigh the others (0: all).
    pub chunks_per_dataset: usize,
    /// Networks trained from seeds `mlp.seed`, `mlp.seed + 1`, ... and
    /// averaged into one ([`crate::ensemble`]); 1 trains a single network.
    pub members: usize,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            mlp: TrainOptions::default(),
            temperature: 0.02,
            all_categories: false,
            max_categories: 0,
            chunks_per_dataset: 0,
            members: 1,
        }
    }
}

/// A fitted model: the network and its metadata, ready to write.
pub struct Fitted {
    /// The network.
    pub network: Network,
    /// Its metadata (feature normalisation, categories).
    pub meta: ModelMeta,
    /// The optimiser's final loss.
    pub final_loss: f64,
}

/// Mean and standard deviation of each feature over the records; a feature
/// that never varies gets std 1 (dividing by 0 is what BTune's metadata
/// allowed; here the input is simply centred).
fn normalisation(records: &[ChunkRecord]) -> Vec<FeatureNorm> {
    #[allow(clippy::cast_precision_loss)]
    let n = records.len() as f64;
    (0..NFEATURES)
        .map(|i| {
            let values = records.iter().map(|r| f64::from(r.features.0[i]));
            let mean = values.clone().sum::<f64>() / n;
            let var = values.map(|v| (v - mean).powi(2)).sum::<f64>() / n;
            let std = var.sqrt();
            FeatureNorm {
                name: FEATURE_NAMES[i].to_owned(),
                mean,
                std: if std > 1e-6 { std } else { 1.0 },
            }
        })
        .collect()
}

/// Fits `mode`'s model to `records`: categories are the best parameter sets
/// of some chunk at some tradeoff, rows are (features, tradeoff) at the 11
/// tradeoffs, targets favour near-best categories (see
/// [`crate::labels::target`]).
///
/// # Errors
/// If there are no records or the network cannot be trained.
pub fn fit(records: &[ChunkRecord], mode: PerfMode, opts: &FitOptions) -> Result<Fitted> {
    ensure!(!records.is_empty(), "no chunks to train on");
    let records = &balanced(records, opts.chunks_per_dataset);
    let cats = if opts.all_categories {
        let mut all: Vec<Category> = records
            .iter()
            .flat_map(|r| r.grid.iter().map(|(p, _)| Category::of(p)))
            .collect();
        all.sort_by_key(|c| (c.0, c.1, c.2, c.3));
        all.dedup();
        all
    } else {
        categories(records, mode)
    };
    let cats = if opts.max_categories > 0 {
        robust_categories(records, &cats, opts.max_categories, mode)
    } else {
        cats
    };
    let meta = ModelMeta {
        feature_set: FEATURE_SET.to_owned(),
        features: normalisation(records),
        categories: cats,
        perf_mode: mode,
        training: None,
    };
    let mut inputs = Vec::new();
    let mut targets = Vec::new();
    for r in records {
        for &t in &TRADEOFFS {
            inputs.push(meta.input(&r.features.0, t));
            let u = r.category_utilities(&meta.categories, t, mode);
            targets.push(target(&u, opts.temperature));
        }
    }
    let (network, report) = ensemble::train(&inputs, &targets, &opts.mlp, opts.members)?;
    Ok(Fitted {
        network,
        meta,
        final_loss: report.final_loss,
    })
}

/// At most `per_dataset` records of each dataset, evenly spaced (all if 0).
fn balanced(records: &[ChunkRecord], per_dataset: usize) -> Vec<ChunkRecord> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < records.len() {
        let name = &records[start].dataset;
        let n = records[start..]
            .iter()
            .take_while(|r| &r.dataset == name)
            .count();
        let keep = if per_dataset == 0 {
            n
        } else {
            per_dataset.min(n)
        };
        out.extend((0..keep).map(|k| records[start + k * n / keep].clone()));
        start += n;
    }
    out
}

/// How well a model's predictions do on chunks at one tradeoff.
#[derive(Clone, Debug, Serialize)]
pub struct Accuracy {
    /// The tradeoff.
    pub tradeoff: f64,
    /// Chunks evaluated.
    pub chunks: usize,
    /// Share of chunks whose predicted category is the best grid point.
    pub top1: f64,
    /// Median regret of the predicted parameters: best utility minus the
    /// prediction's, on each chunk with its own ranges.
    pub median_regret: f64,
    /// Mean of the same.
    pub mean_regret: f64,
    /// Mean regret of the best of the three most probable categories: what
    /// a search that measures only those three would lose.
    pub top3_mean_regret: f64,
}

/// Evaluates `model` (run by tract, as the tuner runs it) on `records` at
/// `tradeoffs`.
///
/// # Errors
/// If the model fails to run.
pub fn evaluate(
    model: &Model,
    records: &[ChunkRecord],
    tradeoffs: &[f64],
) -> Result<Vec<Accuracy>> {
    let mode = model.meta().perf_mode;
    let mut out = Vec::new();
    for &t in tradeoffs {
        let mut hits = 0usize;
        let mut regrets = Vec::new();
        let mut top3_sum = 0.0;
        for r in records {
            let ranked = model
                .ranked(&r.features, t, r.typesize)
                .map_err(anyhow::Error::msg)?;
            let p = ranked
                .first()
                .ok_or_else(|| anyhow::anyhow!("no category fits typesize {}", r.typesize))?;
            let (best, best_u) = r.best(t, mode);
            let predicted = Category::of(&p.params);
            hits += usize::from(predicted == best);
            let u = r.utilities(t, mode);
            // A category the chunk's grid lacks (a shuffle on typesize 1)
            // counts as the worst point.
            let worst = u.iter().copied().fold(f64::INFINITY, f64::min);
            let utility_of = |c: Category| {
                r.grid
                    .iter()
                    .position(|(q, _)| Category::of(q) == c)
                    .map_or(worst, |i| u[i])
            };
            regrets.push(best_u - utility_of(predicted));
            let top3 = ranked
                .iter()
                .take(3)
                .map(|q| utility_of(Category::of(&q.params)))
                .fold(f64::NEG_INFINITY, f64::max);
            top3_sum += best_u - top3;
        }
        regrets.sort_by(f64::total_cmp);
        #[allow(clippy::cast_precision_loss)]
        let n = records.len().max(1) as f64;
        out.push(Accuracy {
            tradeoff: t,
            chunks: records.len(),
            #[allow(clippy::cast_precision_loss)]
            top1: hits as f64 / n,
            median_regret: regrets.get(regrets.len() / 2).copied().unwrap_or(0.0),
            mean_regret: regrets.iter().sum::<f64>() / n,
            top3_mean_regret: top3_sum / n,
        });
    }
    Ok(out)
}
