//! One tuner per dataset, for the life of the process.
//!
//! HDF5 calls the filter with the dataset's filter values only, so the
//! dataset is known by the id `set_local` stored in its tail: datasets with
//! equal dtype and chunk shape keep apart, and a dataset reopened for
//! appending in the same process finds its tuner again. Values without a
//! tail (files written by the standard filter) share a tuner per distinct
//! values.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use btune_core::{Config, Tuner};
use parking_lot::Mutex;

use crate::error::FilterError;
use crate::values::TuneOptions;

/// Which tuner a chunk belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum DatasetKey {
    /// A dataset with our tail.
    Id(u64),
    /// Filter values without a tail.
    Values(Vec<u32>),
}

static TUNERS: LazyLock<Mutex<HashMap<DatasetKey, Arc<Tuner>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// A new dataset id, unique across processes in practice (random 64 bits:
/// a file may gain datasets from many processes over its life).
#[must_use]
pub fn new_dataset_id() -> u64 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    // RandomState is seeded from the OS once per process.
    RandomState::new().hash_one((n, nanos, std::process::id()))
}

/// The process's configuration from `BTUNE_*` (warnings printed once).
pub fn env_config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(Config::from_env)
}

/// Whether `BTUNE_TRADEOFF` (or `BTUNE_BALANCE`) is set, which tunes every
/// dataset, fixed ones included.
pub fn env_tunes_everything() -> bool {
    static SET: OnceLock<bool> = OnceLock::new();
    *SET.get_or_init(|| {
        std::env::var_os("BTUNE_TRADEOFF").is_some() || std::env::var_os("BTUNE_BALANCE").is_some()
    })
}

/// The tuner of `key`, made with `options` over the environment's
/// configuration on first use.
///
/// # Errors
/// [`FilterError::Config`] if the options make an invalid configuration.
pub fn tuner(
    key: DatasetKey,
    options: TuneOptions,
    typesize: usize,
) -> Result<Arc<Tuner>, FilterError> {
    if let Some(t) = TUNERS.lock().get(&key) {
        return Ok(Arc::clone(t));
    }
    let mut config = env_config().clone();
    if let Some(t) = options.tradeoff {
        config.tradeoff = t;
    }
    if let Some(m) = options.perf_mode {
        config.perf_mode = m;
    }
    // Made outside the lock; if two threads race, the first one stored wins.
    let made = Arc::new(Tuner::new(config, typesize)?);
    Ok(Arc::clone(TUNERS.lock().entry(key).or_insert(made)))
}

/// How many dataset tuners this process holds.
#[must_use]
pub fn tuner_count() -> usize {
    TUNERS.lock().len()
}
