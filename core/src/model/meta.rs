//! A model's JSON metadata (`model_comp.json`, ...): the feature
//! normalisation and the categories the network's outputs stand for.
//!
//! The layout follows BTune's model directory (normalisation per input,
//! `categories: [[codec, filter, clevel, splitmode], ...]`) and adds
//! `feature_set`, so that a model made for other features, BTune's own
//! (an entropy probe's `cratio` and `speed`) among them, is refused instead
//! of silently fed the wrong inputs:
//!
//! ```json
//! {
//!   "feature_set": "btune-rs-features-1",
//!   "features": [{"name": "log2_typesize", "mean": 1.5, "std": 0.9}, ...],
//!   "categories": [["lz4", "shuffle", 1, "always"], ["zstd", "none", 9, "never"], ...],
//!   "perf_mode": "COMP",
//!   "training": {...}
//! }
//! ```
//!
//! The network's input is the normalised features in this order, then the
//! tradeoff (0..1, as is).

use serde::{Deserialize, Serialize};

use crate::features::{FEATURE_NAMES, FEATURE_SET};
use crate::objective::PerfMode;
use crate::params::{Clevel, Codec, Filter, Params, SplitMode};

/// How one feature is normalised before it enters the network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FeatureNorm {
    /// The feature's name ([`crate::features::FEATURE_NAMES`]).
    pub name: String,
    /// Subtracted first.
    pub mean: f64,
    /// Then divided by; must be positive.
    pub std: f64,
}

/// One output of the network: the parameters it stands for (automatic block
/// size, threads from the caller).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Category(pub Codec, pub Filter, pub u8, pub SplitMode);

impl Category {
    /// The category of a parameter set.
    #[must_use]
    pub fn of(p: &Params) -> Category {
        Category(p.codec, p.filter, p.clevel.get(), p.split)
    }

    /// Its parameters, or `None` if the clevel is outside 1..=9.
    #[must_use]
    pub fn params(&self) -> Option<Params> {
        Some(Params::new(self.0, self.1, Clevel::new(self.2)?, self.3))
    }
}

/// The contents of a model's JSON file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    /// The feature definition the model was trained on
    /// ([`crate::features::FEATURE_SET`]).
    pub feature_set: String,
    /// Normalisation of each feature, in input order.
    pub features: Vec<FeatureNorm>,
    /// What each output of the network stands for.
    pub categories: Vec<Category>,
    /// The performance mode whose labels trained it.
    pub perf_mode: PerfMode,
    /// How it was made and how well it did (free form, for people).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<serde_json::Value>,
}

impl ModelMeta {
    /// Parses and checks metadata: our feature set, one positive finite
    /// `std` per feature, valid categories. `Err` says what is wrong.
    ///
    /// # Errors
    /// A message for people: foreign feature set (BTune's models included),
    /// malformed JSON, degenerate normalisation, invalid categories.
    pub fn parse(text: &str) -> Result<ModelMeta, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        match value.get("feature_set").and_then(|f| f.as_str()) {
            Some(FEATURE_SET) => {}
            Some(other) => {
                return Err(format!(
                    "made for feature set {other:?}; this btune computes {FEATURE_SET:?} \
                     (retrain with `btune train`)"
                ));
            }
            None if value.get("cratio").is_some() || value.get("speed").is_some() => {
                return Err(format!(
                    "made for BTune's features (an entropy probe's cratio and speed), not \
                     {FEATURE_SET:?}: BTune's models cannot be used (train one with `btune train`)"
                ));
            }
            None => return Err("no \"feature_set\": not a btune-rs model".to_owned()),
        }
        let meta: ModelMeta =
            serde_json::from_value(value).map_err(|e| format!("malformed metadata: {e}"))?;
        meta.check()?;
        Ok(meta)
    }

    fn check(&self) -> Result<(), String> {
        let names: Vec<&str> = self.features.iter().map(|f| f.name.as_str()).collect();
        if names != FEATURE_NAMES {
            return Err(format!(
                "features {names:?} differ from this btune's {FEATURE_NAMES:?}"
            ));
        }
        if let Some(f) = self
            .features
            .iter()
            .find(|f| !(f.std.is_finite() && f.std > 0.0 && f.mean.is_finite()))
        {
            return Err(format!(
                "feature {:?} has mean {} and std {}: std must be positive and finite",
                f.name, f.mean, f.std
            ));
        }
        if self.categories.is_empty() {
            return Err("no categories".to_owned());
        }
        if let Some(c) = self.categories.iter().find(|c| c.params().is_none()) {
            return Err(format!("category {c:?} has a clevel outside 1..=9"));
        }
        Ok(())
    }

    /// The network's input for these features at `tradeoff`.
    #[must_use]
    pub fn input(&self, features: &[f32], tradeoff: f64) -> Vec<f32> {
        #[allow(clippy::cast_possible_truncation)]
        let mut input: Vec<f32> = features
            .iter()
            .zip(&self.features)
            .map(|(&v, n)| ((f64::from(v) - n.mean) / n.std) as f32)
            .collect();
        #[allow(clippy::cast_possible_truncation)]
        input.push(tradeoff as f32);
        input
    }
}
