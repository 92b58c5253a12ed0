//! Tuner configuration: a [`Config`] with documented defaults, and
//! [`Config::from_env`] reading BTune's `BTUNE_*` environment variables.

use std::collections::HashSet;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::objective::{Objective, PerfMode};
use crate::params::{Params, Threads};

/// What the tuner does once its readapts are used up (BTune's `repeat_mode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RepeatMode {
    /// Keep the winner for the rest of the dataset (change detection still
    /// restarts tuning when the data changes).
    #[default]
    Stop,
    /// Keep refining the winner with SOFT readapts.
    RepeatSoft,
    /// Start the SOFT/HARD cycle again.
    RepeatAll,
}

impl RepeatMode {
    /// BTune's name.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            RepeatMode::Stop => "STOP",
            RepeatMode::RepeatSoft => "REPEAT_SOFT",
            RepeatMode::RepeatAll => "REPEAT_ALL",
        }
    }
}

impl fmt::Display for RepeatMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RepeatMode {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            RepeatMode::Stop,
            RepeatMode::RepeatSoft,
            RepeatMode::RepeatAll,
        ]
        .into_iter()
        .find(|m| m.name().eq_ignore_ascii_case(s.trim()))
        .ok_or_else(|| ConfigError::Invalid {
            field: "repeat_mode",
            value: s.to_owned(),
            reason: "expected STOP, REPEAT_SOFT or REPEAT_ALL",
        })
    }
}

/// When the tuner readapts, in BTune's vocabulary.
///
/// A HARD readapt re-explores codec x filter x split (then clevel) on samples
/// of the current chunk; a SOFT readapt refines clevel, block size and threads
/// around the winner. After a HARD come `nsofts_before_hard` SOFTs, each
/// preceded by `nwaits_before_readapt` chunks that simply use the winner; after
/// `nhards_before_stop` HARDs, `repeat_mode` decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Behaviour {
    /// Chunks compressed with the winner between two readapts. Default 3.
    pub nwaits_before_readapt: u32,
    /// SOFT readapts after each HARD. Default 2.
    pub nsofts_before_hard: u32,
    /// HARD readapts before `repeat_mode` applies. Default 1.
    pub nhards_before_stop: u32,
    /// What happens after the last HARD. Default [`RepeatMode::RepeatSoft`].
    pub repeat_mode: RepeatMode,
}

impl Default for Behaviour {
    /// Tuned on the corpus: exploring on samples is cheap, so one HARD, a few
    /// SOFTs and then sparse SOFTs (with change detection for HARDs) settle
    /// within the first chunks and keep tuning work near 1-3%.
    fn default() -> Self {
        Behaviour {
            nwaits_before_readapt: 3,
            nsofts_before_hard: 2,
            nhards_before_stop: 1,
            repeat_mode: RepeatMode::RepeatSoft,
        }
    }
}

impl fmt::Display for Behaviour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "waits {}, softs {}, hards {}, repeat {}",
            self.nwaits_before_readapt,
            self.nsofts_before_hard,
            self.nhards_before_stop,
            self.repeat_mode
        )
    }
}

/// Everything that shapes a tuner. Build with `Config::default()` and set
/// fields, or read the environment with [`Config::from_env`].
///
/// ```
/// use btune_core::{Config, PerfMode};
/// let mut c = Config::default();
/// assert_eq!(c.tradeoff, 0.5);
/// assert_eq!(c.perf_mode, PerfMode::Comp);
/// c.tradeoff = 0.9;
/// assert!(c.validate().is_ok());
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// 0 = speed ... 1 = ratio (`BTUNE_TRADEOFF`, alias `BTUNE_BALANCE`). Default 0.5.
    pub tradeoff: f64,
    /// Which times count (`BTUNE_PERF_MODE`). Default [`PerfMode::Comp`].
    pub perf_mode: PerfMode,
    /// Storage bandwidth in bytes/s; when set, the objective is the I/O
    /// model (see [`crate::objective`]). Default none.
    pub bandwidth: Option<f64>,
    /// When to readapt. Default [`Behaviour::default`].
    pub behaviour: Behaviour,
    /// Inference use (`BTUNE_USE_INFERENCE`) when `models_dir` is set:
    /// N > 0 infers on the first N chunks then tunes, -1 on every chunk, 0
    /// never. Default 0; [`Config::from_env`] makes it -1 when
    /// `BTUNE_MODELS_DIR` is set without `BTUNE_USE_INFERENCE` (BTune's rule).
    pub use_inference: i32,
    /// Where models live (`BTUNE_MODELS_DIR`; [`crate::model`]). Default none.
    pub models_dir: Option<PathBuf>,
    /// The most threads a parameter set may use. Default 1.
    pub max_threads: Threads,
    /// Parameters to start from before anything is explored. Default none.
    pub cparams_hint: Option<Params>,
    /// Print the trace (`BTUNE_TRACE`, any value). Default false.
    pub trace: bool,
    /// Scheduled readapts wait while tuning work exceeds this fraction of
    /// the compression time so far. Default 0.03; `f64::INFINITY` lets the
    /// behaviour alone decide.
    pub tuning_budget: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            tradeoff: 0.5,
            perf_mode: PerfMode::Comp,
            bandwidth: None,
            behaviour: Behaviour::default(),
            use_inference: 0,
            models_dir: None,
            max_threads: Threads::ONE,
            cparams_hint: None,
            trace: false,
            tuning_budget: 0.03,
        }
    }
}

/// An environment value that was not valid, and what was used instead.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EnvWarning {
    /// The variable.
    pub variable: &'static str,
    /// Its value.
    pub value: String,
    /// Why it is invalid.
    pub reason: String,
    /// The value used instead, as text.
    pub used: String,
}

impl fmt::Display for EnvWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "btune: ignoring {}={:?} ({}); using {}",
            self.variable, self.value, self.reason, self.used
        )
    }
}

impl Config {
    /// The objective this configuration asks for.
    #[must_use]
    pub fn objective(&self) -> Objective {
        let mut o = Objective::new(self.tradeoff, self.perf_mode);
        o.bandwidth = self.bandwidth;
        o
    }

    /// Checks every field's range.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] naming the first invalid field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(0.0..=1.0).contains(&self.tradeoff) {
            return Err(ConfigError::Invalid {
                field: "tradeoff",
                value: self.tradeoff.to_string(),
                reason: "expected a number in [0, 1]",
            });
        }
        if let Some(b) = self.bandwidth
            && !(b.is_finite() && b > 0.0)
        {
            return Err(ConfigError::Invalid {
                field: "bandwidth",
                value: b.to_string(),
                reason: "expected bytes per second > 0",
            });
        }
        if self.tuning_budget.is_nan() || self.tuning_budget < 0.0 {
            return Err(ConfigError::Invalid {
                field: "tuning_budget",
                value: self.tuning_budget.to_string(),
                reason: "expected a fraction >= 0",
            });
        }
        if self.use_inference < -1 {
            return Err(ConfigError::Invalid {
                field: "use_inference",
                value: self.use_inference.to_string(),
                reason: "expected -1, 0 or a positive chunk count",
            });
        }
        Ok(())
    }

    /// The defaults overridden by the `BTUNE_*` environment variables. Each
    /// invalid value is reported once per process, on the `log` warning
    /// channel if a logger takes warnings, else on stderr: never silently.
    #[must_use]
    pub fn from_env() -> Config {
        let (mut config, mut warnings) = Config::from_vars(|name| std::env::var(name).ok());
        warnings.extend(config.drop_unusable_models());
        for w in warnings {
            report_once(&w);
        }
        config
    }

    /// Checks that `models_dir` holds a usable model for the performance
    /// mode when inference is on; if not, forgets the directory and says
    /// why (as a `BTUNE_MODELS_DIR` warning). Loading is cached per process,
    /// so the tuners made later share the model.
    pub fn drop_unusable_models(&mut self) -> Option<EnvWarning> {
        let dir = self
            .models_dir
            .as_ref()
            .filter(|_| self.use_inference != 0)?;
        let err = crate::model::load_shared(dir, self.perf_mode).err()?;
        let warning = EnvWarning {
            variable: "BTUNE_MODELS_DIR",
            value: dir.display().to_string(),
            reason: err.to_string(),
            used: "no models".to_owned(),
        };
        self.models_dir = None;
        Some(warning)
    }

    /// The defaults overridden by variables that `get` returns, plus a warning
    /// for each invalid value. [`Config::from_env`] is this with the process
    /// environment; tests pass a map.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> (Config, Vec<EnvWarning>) {
        let mut c = Config::default();
        let mut warnings = Vec::new();
        let tradeoff_var = ["BTUNE_TRADEOFF", "BTUNE_BALANCE"]
            .into_iter()
            .find_map(|v| get(v).map(|val| (v, val)));
        if let Some((var, val)) = tradeoff_var {
            match val.trim().parse::<f64>() {
                Ok(t) if (0.0..=1.0).contains(&t) => c.tradeoff = t,
                _ => warnings.push(EnvWarning {
                    variable: var,
                    value: val,
                    reason: "expected a number in [0, 1]".into(),
                    used: c.tradeoff.to_string(),
                }),
            }
        }
        if let Some(val) = get("BTUNE_PERF_MODE") {
            match val.parse::<PerfMode>() {
                Ok(m) => c.perf_mode = m,
                Err(_) => warnings.push(EnvWarning {
                    variable: "BTUNE_PERF_MODE",
                    value: val,
                    reason: "expected COMP, DECOMP or BALANCED".into(),
                    used: c.perf_mode.to_string(),
                }),
            }
        }
        c.trace = get("BTUNE_TRACE").is_some();
        if let Some(val) = get("BTUNE_MODELS_DIR") {
            if val.trim().is_empty() {
                warnings.push(EnvWarning {
                    variable: "BTUNE_MODELS_DIR",
                    value: val,
                    reason: "expected a directory path".into(),
                    used: "no models".to_owned(),
                });
            } else {
                c.models_dir = Some(PathBuf::from(val));
                // BTune's rule: with models and no BTUNE_USE_INFERENCE,
                // infer on every chunk.
                c.use_inference = -1;
            }
        }
        if let Some(val) = get("BTUNE_USE_INFERENCE") {
            match val.trim().parse::<i32>() {
                Ok(n) if n >= -1 => c.use_inference = n,
                _ => warnings.push(EnvWarning {
                    variable: "BTUNE_USE_INFERENCE",
                    value: val,
                    reason: "expected -1, 0 or a positive chunk count".into(),
                    used: c.use_inference.to_string(),
                }),
            }
        }
        (c, warnings)
    }
}

fn report_once(w: &EnvWarning) {
    static SEEN: Mutex<Option<HashSet<EnvWarning>>> = Mutex::new(None);
    if !SEEN
        .lock()
        .get_or_insert_with(HashSet::new)
        .insert(w.clone())
    {
        return;
    }
    if log::log_enabled!(log::Level::Warn) {
        log::warn!("{w}");
    } else {
        eprintln!("{w}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn models_dir_alone_turns_inference_on_for_every_chunk() {
        let (c, w) = Config::from_vars(vars(&[("BTUNE_MODELS_DIR", "/m")]));
        assert!(w.is_empty());
        assert_eq!(c.use_inference, -1);
        let (c, _) = Config::from_vars(vars(&[
            ("BTUNE_MODELS_DIR", "/m"),
            ("BTUNE_USE_INFERENCE", "3"),
        ]));
        assert_eq!(c.use_inference, 3);
        assert_eq!(Config::from_vars(vars(&[])).0.use_inference, 0);
    }

    #[test]
    fn reads_every_variable() {
        let (c, w) = Config::from_vars(vars(&[
            ("BTUNE_TRADEOFF", "0.25"),
            ("BTUNE_PERF_MODE", "balanced"),
            ("BTUNE_TRACE", ""),
            ("BTUNE_MODELS_DIR", "/m"),
            ("BTUNE_USE_INFERENCE", "-1"),
        ]));
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(c.tradeoff, 0.25);
        assert_eq!(c.perf_mode, PerfMode::Balanced);
        assert!(c.trace);
        assert_eq!(c.models_dir, Some(PathBuf::from("/m")));
        assert_eq!(c.use_inference, -1);
    }

    #[test]
    fn balance_is_an_alias_and_tradeoff_wins() {
        let (c, _) = Config::from_vars(vars(&[("BTUNE_BALANCE", "0.8")]));
        assert_eq!(c.tradeoff, 0.8);
        let (c, _) =
            Config::from_vars(vars(&[("BTUNE_BALANCE", "0.8"), ("BTUNE_TRADEOFF", "0.1")]));
        assert_eq!(c.tradeoff, 0.1);
    }

    #[test]
    fn invalid_values_warn_with_variable_and_replacement() {
        let (c, w) = Config::from_vars(vars(&[
            ("BTUNE_TRADEOFF", "1.5"),
            ("BTUNE_PERF_MODE", "fast"),
            ("BTUNE_USE_INFERENCE", "-7"),
        ]));
        assert_eq!(c, Config::default());
        assert_eq!(w.len(), 3);
        let text = w[0].to_string();
        assert!(
            text.contains("BTUNE_TRADEOFF") && text.contains("1.5") && text.contains("using 0.5"),
            "{text}"
        );
        assert!(w[1].to_string().contains("BTUNE_PERF_MODE"));
        let (_, w) = Config::from_vars(vars(&[("BTUNE_BALANCE", "nan")]));
        assert!(w[0].to_string().contains("BTUNE_BALANCE"));
    }

    #[test]
    fn validate_rejects_out_of_range() {
        let mut c = Config {
            tradeoff: -0.1,
            ..Config::default()
        };
        assert!(c.validate().is_err());
        c.tradeoff = 0.5;
        c.bandwidth = Some(0.0);
        assert!(c.validate().is_err());
    }
}
