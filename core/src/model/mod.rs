//! Models that predict good parameters for a chunk from its
//! [`crate::features::Features`] and the tradeoff.
//!
//! A model directory holds, per performance mode, a network
//! (`model_comp.tflite`, `model_decomp.tflite`, `model_balanced.tflite`) and
//! its metadata (`model_comp.json`, ... see [`meta`]), the layout of BTune's
//! model directories. BALANCED falls back to the DECOMP model when a
//! directory has none of its own (BTune ships only the two).
//!
//! Networks are read with `tract-tflite` and written by [`write()`] from a
//! [`Network`]; nothing needs TensorFlow. A network of the form [`write()`]
//! produces (dense layers, then softmax) runs as a plain forward pass once
//! it agrees with tract at load: tract runs a small network in ~4 us back to
//! back but 60-70 us after a chunk compressed with zstd at clevel 9, its code
//! and data gone cold, against ~7 us for the plain pass
//! (`cargo run --release -p btune-core --example inference_cost`). Other
//! graphs run in tract.
//!
//! ```
//! use btune_core::model::{self, Dense, Network, ModelMeta, Category, FeatureNorm, Model};
//! use btune_core::features::{FEATURE_NAMES, FEATURE_SET, NFEATURES, Features};
//! use btune_core::{Params, PerfMode};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A network that always prefers its second category.
//! let net = Network { layers: vec![Dense {
//!     inputs: NFEATURES + 1, outputs: 2,
//!     weights: vec![0.0; 2 * (NFEATURES + 1)], bias: vec![0.0, 1.0] }] };
//! let lz4: Params = "lz4/shuffle/1/always".parse()?;
//! let zstd: Params = "zstd/none/9/never".parse()?;
//! let meta = ModelMeta {
//!     feature_set: FEATURE_SET.to_owned(),
//!     features: FEATURE_NAMES.iter().map(|n| FeatureNorm { name: (*n).into(), mean: 0.0, std: 1.0 }).collect(),
//!     categories: vec![Category::of(&lz4), Category::of(&zstd)],
//!     perf_mode: PerfMode::Comp,
//!     training: None,
//! };
//! let dir = tempfile::tempdir()?;
//! model::write(dir.path(), &net, &meta)?;
//! let model = Model::load(dir.path(), PerfMode::Comp)?;
//! let features = Features::of(&[0u8; 4096], 4);
//! assert_eq!(model.predict(&features, 0.5, 4)?.params, zstd);
//! # Ok(()) }
//! ```

pub mod meta;
pub mod network;
mod tflite;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock};

use parking_lot::Mutex;
use thiserror::Error;
use tract_tflite::prelude::{
    Framework, IntoRunnable, IntoTensor, Tensor, TractResult, TypedRunnableModel, tvec,
};

use crate::features::{Features, NFEATURES};
use crate::objective::PerfMode;
use crate::params::Params;

pub use meta::{Category, FeatureNorm, ModelMeta};
pub use network::{Dense, Network};

/// A model that cannot be used, and why.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[error("model {path}: {reason}")]
pub struct ModelError {
    /// The file (or directory) at fault.
    pub path: PathBuf,
    /// What is wrong, for people.
    pub reason: String,
}

impl ModelError {
    fn new(path: &Path, reason: impl Into<String>) -> ModelError {
        ModelError {
            path: path.to_owned(),
            reason: reason.into(),
        }
    }
}

/// The files of one performance mode's model in a directory.
#[must_use]
pub fn files(dir: &Path, mode: PerfMode) -> (PathBuf, PathBuf) {
    let stem = match mode {
        PerfMode::Comp => "model_comp",
        PerfMode::Decomp => "model_decomp",
        PerfMode::Balanced => "model_balanced",
    };
    (
        dir.join(format!("{stem}.tflite")),
        dir.join(format!("{stem}.json")),
    )
}

/// What a model predicts for one chunk.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Prediction {
    /// Index of the chosen category.
    pub category: usize,
    /// Its parameters (automatic block size, one thread).
    pub params: Params,
    /// The network's probability for it.
    pub probability: f32,
}

/// A loaded model, ready to predict. `Send + Sync`.
pub struct Model {
    meta: ModelMeta,
    categories: Vec<Params>,
    plan: Arc<TypedRunnableModel>,
    /// The network's layers, where they run as a plain forward pass.
    plain: Option<Network>,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("meta", &self.meta)
            .finish_non_exhaustive()
    }
}

impl Model {
    /// Loads the model for `mode` from `dir` (BALANCED falls back to the
    /// DECOMP model when the directory has no BALANCED one).
    ///
    /// # Errors
    /// [`ModelError`] naming the file and the problem: missing or unreadable
    /// files, a foreign feature set, degenerate normalisation, a network
    /// tract cannot read, or widths that disagree with the metadata.
    pub fn load(dir: &Path, mode: PerfMode) -> Result<Model, ModelError> {
        let (mut tfl, mut json) = files(dir, mode);
        if mode == PerfMode::Balanced && !json.exists() {
            (tfl, json) = files(dir, PerfMode::Decomp);
        }
        let text =
            std::fs::read_to_string(&json).map_err(|e| ModelError::new(&json, e.to_string()))?;
        let meta = ModelMeta::parse(&text).map_err(|r| ModelError::new(&json, r))?;
        let bytes = std::fs::read(&tfl).map_err(|e| ModelError::new(&tfl, e.to_string()))?;
        Model::from_parts(&bytes, meta).map_err(|r| ModelError::new(&tfl, r))
    }

    /// A model from `.tflite` bytes and checked metadata.
    ///
    /// # Errors
    /// Why the network cannot be used with this metadata.
    pub fn from_parts(tflite: &[u8], meta: ModelMeta) -> Result<Model, String> {
        let plan = runnable(tflite).map_err(|e| format!("tract cannot load it: {e:#}"))?;
        let (inputs, outputs) = widths(&plan)?;
        if inputs != NFEATURES + 1 {
            return Err(format!(
                "network takes {inputs} inputs; the metadata's features and the tradeoff make {}",
                NFEATURES + 1
            ));
        }
        if outputs != meta.categories.len() {
            return Err(format!(
                "network has {outputs} outputs but the metadata lists {} categories",
                meta.categories.len()
            ));
        }
        let categories = meta
            .categories
            .iter()
            .filter_map(Category::params)
            .collect();
        let mut model = Model {
            meta,
            categories,
            plan,
            plain: None,
        };
        // One run now: tract's first run in a process costs several times a
        // later one, which would otherwise fall on the first chunk.
        model.run(&vec![0.0; inputs])?;
        model.plain = tflite::read_dense_stack(tflite)
            .filter(|net| model.agrees_with_tract(net, inputs).unwrap_or(false));
        Ok(model)
    }

    /// The model [`write`](fn@write) would store for `net` and `meta`, encoded and
    /// read back in memory: what a tuner would load, without the files.
    ///
    /// # Errors
    /// Why the network does not fit the metadata or cannot be read back.
    pub fn from_network(net: &Network, meta: ModelMeta) -> Result<Model, String> {
        fits(net, &meta)?;
        Model::from_parts(&encode(net, &meta), meta)
    }

    /// The metadata.
    #[must_use]
    pub fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    /// The parameters of each category, in output order.
    #[must_use]
    pub fn categories(&self) -> &[Params] {
        &self.categories
    }

    /// The network's output (one probability per category) for an input
    /// row of normalised features and the tradeoff: the plain forward pass
    /// where the network has one (see the module docs), else tract's.
    ///
    /// # Errors
    /// If `input` does not have the network's width, or tract's error, as
    /// text, if the network fails to run.
    pub fn run(&self, input: &[f32]) -> Result<Vec<f32>, String> {
        match &self.plain {
            Some(net) if input.len() == net.inputs() => Ok(net.forward(input)),
            Some(net) => Err(format!(
                "input has {} values, the network takes {}",
                input.len(),
                net.inputs()
            )),
            None => self.run_in_tract(input),
        }
    }

    /// Whether the network runs as a plain forward pass rather than in
    /// tract ([`Model::run`]).
    #[must_use]
    pub fn runs_plain(&self) -> bool {
        self.plain.is_some()
    }

    /// [`Model::run`] through tract, whatever the network.
    ///
    /// # Errors
    /// tract's error, as text, if the network fails to run.
    pub fn run_in_tract(&self, input: &[f32]) -> Result<Vec<f32>, String> {
        let tensor: Tensor = tract_tflite::prelude::tract_ndarray::Array2::from_shape_vec(
            (1, input.len()),
            input.to_vec(),
        )
        .map_err(|e| e.to_string())?
        .into_tensor();
        let out = self
            .plan
            .run(tvec!(tensor.into()))
            .map_err(|e| format!("{e:#}"))?;
        let view = out[0].try_as_plain_ram().map_err(|e| format!("{e:#}"))?;
        let probs = view.as_slice::<f32>().map_err(|e| format!("{e:#}"))?;
        Ok(probs.to_vec())
    }

    /// Whether `net`'s forward pass gives tract's output to within 1e-5 on
    /// a few input rows of `width` values (zeros, then spread values).
    fn agrees_with_tract(&self, net: &Network, width: usize) -> Result<bool, String> {
        if net.inputs() != width {
            return Ok(false);
        }
        for row in 0..4u8 {
            #[allow(clippy::cast_precision_loss)]
            let x: Vec<f32> = (0..width)
                .map(|i| f32::from(row) * ((i * 7 + usize::from(row)) as f32 * 0.61).sin() * 2.0)
                .collect();
            let (ours, theirs) = (net.forward(&x), self.run_in_tract(&x)?);
            if ours.len() != theirs.len()
                || ours.iter().zip(&theirs).any(|(a, b)| (a - b).abs() > 1e-5)
            {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The most probable category for a chunk with these features, among
    /// those whose filter does something for elements of `typesize` bytes
    /// (a byte shuffle of single bytes is a copy: such a category would
    /// stand for another one).
    ///
    /// # Errors
    /// As [`Model::run`], or if no category fits the typesize or the output
    /// holds no finite probability.
    pub fn predict(
        &self,
        features: &Features,
        tradeoff: f64,
        typesize: usize,
    ) -> Result<Prediction, String> {
        let probs = self.run(&self.meta.input(&features.0, tradeoff))?;
        // The first of equally probable categories, as in `ranked`.
        self.usable(&probs, typesize)
            .min_by(|a, b| b.probability.total_cmp(&a.probability))
            .ok_or_else(|| "no category fits this typesize with a finite probability".to_owned())
    }

    /// Every category [`Model::predict`] could choose for these features,
    /// most probable first.
    ///
    /// # Errors
    /// As [`Model::run`].
    pub fn ranked(
        &self,
        features: &Features,
        tradeoff: f64,
        typesize: usize,
    ) -> Result<Vec<Prediction>, String> {
        let probs = self.run(&self.meta.input(&features.0, tradeoff))?;
        let mut out: Vec<Prediction> = self.usable(&probs, typesize).collect();
        out.sort_by(|a, b| b.probability.total_cmp(&a.probability));
        Ok(out)
    }

    /// The categories with a finite probability whose filter does something
    /// for elements of `typesize` bytes.
    fn usable<'a>(
        &'a self,
        probs: &'a [f32],
        typesize: usize,
    ) -> impl Iterator<Item = Prediction> + 'a {
        probs
            .iter()
            .enumerate()
            .filter(move |(i, p)| {
                p.is_finite() && self.categories[*i].filter.is_effective(typesize)
            })
            .map(|(category, &probability)| Prediction {
                category,
                params: self.categories[category],
                probability,
            })
    }
}

fn runnable(tflite: &[u8]) -> TractResult<Arc<TypedRunnableModel>> {
    tract_tflite::tflite()
        .model_for_read(&mut &*tflite)?
        .into_optimized()?
        .into_runnable()
}

/// The (input, output) widths of a `[1, n] -> [1, m]` network.
fn widths(plan: &TypedRunnableModel) -> Result<(usize, usize), String> {
    let model = plan.model();
    let width = |fact: TractResult<&tract_tflite::internal::TypedFact>| -> Result<usize, String> {
        let fact = fact.map_err(|e| e.to_string())?;
        let shape = fact
            .shape
            .as_concrete()
            .ok_or("the network has a symbolic shape")?;
        match shape {
            [1, n] => Ok(*n),
            other => Err(format!("expected a [1, n] tensor, found {other:?}")),
        }
    };
    if model.inputs.len() != 1 || model.outputs.len() != 1 {
        return Err("expected one input and one output".to_owned());
    }
    Ok((width(model.input_fact(0))?, width(model.output_fact(0))?))
}

/// Writes a model directory's files for `meta.perf_mode`: the network as
/// `.tflite` and the metadata as `.json`.
///
/// # Errors
/// [`ModelError`] if the network does not match the metadata or a file
/// cannot be written.
pub fn write(dir: &Path, net: &Network, meta: &ModelMeta) -> Result<(), ModelError> {
    fits(net, meta).map_err(|r| ModelError::new(dir, r))?;
    let (tfl, json) = files(dir, meta.perf_mode);
    std::fs::create_dir_all(dir).map_err(|e| ModelError::new(dir, e.to_string()))?;
    std::fs::write(&tfl, encode(net, meta)).map_err(|e| ModelError::new(&tfl, e.to_string()))?;
    let text =
        serde_json::to_string_pretty(meta).map_err(|e| ModelError::new(&json, e.to_string()))?;
    std::fs::write(&json, text + "\n").map_err(|e| ModelError::new(&json, e.to_string()))
}

/// Whether `net` can serve as the network of `meta`'s model.
fn fits(net: &Network, meta: &ModelMeta) -> Result<(), String> {
    if net.is_consistent()
        && net.inputs() == NFEATURES + 1
        && net.outputs() == meta.categories.len()
    {
        return Ok(());
    }
    Err(format!(
        "network ({} inputs, {} outputs) does not fit {} features + tradeoff and {} categories",
        net.inputs(),
        net.outputs(),
        NFEATURES,
        meta.categories.len()
    ))
}

/// The `.tflite` bytes of `meta`'s network (which [`fits`]).
fn encode(net: &Network, meta: &ModelMeta) -> Vec<u8> {
    tflite::write(net, &format!("btune-rs {} model", meta.perf_mode))
}

/// Models already loaded in this process, by directory and mode: every
/// dataset's tuner shares one (loading parses and optimises the network).
/// A directory changed on disk is not reloaded.
static LOADED: LazyLock<Mutex<LoadedModels>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// Loaded models by directory and mode.
type LoadedModels = HashMap<(PathBuf, PerfMode), Arc<Model>>;

/// [`Model::load`], once per directory and mode per process.
///
/// # Errors
/// As [`Model::load`] (failures are not cached: a fixed directory loads).
pub fn load_shared(dir: &Path, mode: PerfMode) -> Result<Arc<Model>, ModelError> {
    let key = (dir.to_owned(), mode);
    if let Some(m) = LOADED.lock().get(&key) {
        return Ok(Arc::clone(m));
    }
    let model = Arc::new(Model::load(dir, mode)?);
    Ok(Arc::clone(LOADED.lock().entry(key).or_insert(model)))
}

#[cfg(test)]
mod tests;
