//! `btune._btune.Tuner`: one dataset's (array's) compressor, tuned by
//! [`btune_core::Tuner`] or with fixed parameters.

use btune_core::blosc2::{self, ChunkFormat};
use btune_core::{Config, Params, PerfMode};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::error::Error;
use crate::input::Input;

/// What compresses the chunks.
enum Mode {
    /// Tuned per chunk.
    Tuned(Box<btune_core::Tuner>),
    /// Fixed parameters.
    Fixed(Params),
}

/// Compresses the chunks of one array (or dataset) into plain c-blosc2
/// chunks.
///
/// `Tuner(typesize, *, tradeoff=None, perf_mode=None, tune=True, params=None)`:
/// `tradeoff` in [0, 1] and `perf_mode` ("comp", "decomp" or "balanced",
/// any case) override `BTUNE_TRADEOFF` / `BTUNE_PERF_MODE` (or the
/// defaults). With `tune=False` every chunk is compressed with `params`
/// (required; text like "zstd/shuffle/5/never"); with `tune=True`, `params`
/// is where tuning starts. Thread-safe: share one per array among threads.
#[pyclass(frozen, module = "btune._btune")]
pub(crate) struct Tuner {
    mode: Mode,
    typesize: usize,
}

#[pymethods]
impl Tuner {
    #[new]
    #[pyo3(signature = (typesize, *, tradeoff=None, perf_mode=None, tune=true, params=None))]
    fn new(
        typesize: usize,
        tradeoff: Option<f64>,
        perf_mode: Option<&str>,
        tune: bool,
        params: Option<&str>,
    ) -> Result<Tuner, Error> {
        let params = params.map(str::parse::<Params>).transpose()?;
        let perf_mode = perf_mode.map(str::parse::<PerfMode>).transpose()?;
        let mut config = Config::from_env();
        if let Some(t) = tradeoff {
            config.tradeoff = t;
        }
        if let Some(m) = perf_mode {
            config.perf_mode = m;
        }
        config.validate()?;
        let mode = if tune {
            config.cparams_hint = params;
            Mode::Tuned(Box::new(btune_core::Tuner::new(config, typesize)?))
        } else {
            let params = params.ok_or_else(|| {
                Error::Option(
                    "tune=False needs fixed params (e.g. \"zstd/shuffle/5/never\")".into(),
                )
            })?;
            if !(1..=255).contains(&typesize) {
                return Err(btune_core::ParamsError::Typesize(typesize).into());
            }
            Mode::Fixed(params)
        };
        Ok(Tuner { mode, typesize })
    }

    /// Compresses one chunk (any object with a contiguous buffer) into one
    /// plain c-blosc2 chunk, with the GIL released.
    fn compress<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
    ) -> Result<Bound<'py, PyBytes>, Error> {
        let input = Input::new(data)?;
        let src = input.bytes();
        let out = py.detach(|| match &self.mode {
            Mode::Tuned(t) => t.compress(src, ChunkFormat::Chunk).map(|c| c.bytes),
            Mode::Fixed(p) => blosc2::compress(src, self.typesize, p),
        })?;
        Ok(PyBytes::new(py, &out))
    }

    /// Decompresses a c-blosc2 chunk or one-chunk frame (the same as the
    /// module's `decompress`).
    #[pyo3(signature = (data, nthreads=1))]
    fn decompress<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'py, PyAny>,
        nthreads: u16,
    ) -> PyResult<Bound<'py, PyBytes>> {
        crate::decompress_any(py, data, nthreads)
    }

    /// The element size.
    #[getter]
    fn typesize(&self) -> usize {
        self.typesize
    }

    /// Whether chunks are tuned (else compressed with fixed parameters).
    #[getter]
    fn tune(&self) -> bool {
        matches!(self.mode, Mode::Tuned(_))
    }

    /// The tradeoff in use, or None for fixed parameters.
    #[getter]
    fn tradeoff(&self) -> Option<f64> {
        match &self.mode {
            Mode::Tuned(t) => Some(t.config().tradeoff),
            Mode::Fixed(_) => None,
        }
    }

    /// The performance mode in use ("comp", "decomp", "balanced"), or None
    /// for fixed parameters.
    #[getter]
    fn perf_mode(&self) -> Option<String> {
        match &self.mode {
            Mode::Tuned(t) => Some(t.config().perf_mode.name().to_ascii_lowercase()),
            Mode::Fixed(_) => None,
        }
    }

    /// The parameters the next chunk would get if no readapt were due, in
    /// the core's text form.
    #[getter]
    fn winner(&self) -> String {
        match &self.mode {
            Mode::Tuned(t) => t.winner().to_string(),
            Mode::Fixed(p) => p.to_string(),
        }
    }

    /// Totals over the chunks compressed so far (tuned mode; empty for fixed
    /// parameters): chunks, nbytes, cbytes, compress_time, tuning_time,
    /// hards, softs, changes, and usage (parameter text -> chunks).
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        if let Mode::Tuned(t) = &self.mode {
            let s = t.stats();
            d.set_item("chunks", s.chunks)?;
            d.set_item("nbytes", s.nbytes)?;
            d.set_item("cbytes", s.cbytes)?;
            d.set_item("compress_time", s.compress_time)?;
            d.set_item("tuning_time", s.tuning_time)?;
            d.set_item("hards", s.hards)?;
            d.set_item("softs", s.softs)?;
            d.set_item("changes", s.changes)?;
            let usage = PyDict::new(py);
            for (p, n) in &s.usage {
                usage.set_item(p.to_string(), n)?;
            }
            d.set_item("usage", usage)?;
        }
        Ok(d)
    }

    fn __repr__(&self) -> String {
        match &self.mode {
            Mode::Tuned(t) => format!(
                "Tuner(typesize={}, tradeoff={}, perf_mode={:?}, winner={:?})",
                self.typesize,
                t.config().tradeoff,
                t.config().perf_mode.name().to_ascii_lowercase(),
                t.winner().to_string()
            ),
            Mode::Fixed(p) => format!(
                "Tuner(typesize={}, tune=False, params={:?})",
                self.typesize,
                p.to_string()
            ),
        }
    }
}
