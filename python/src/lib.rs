//! `btune._btune`, the extension module of the `btune` Python package: a thin
//! layer over `btune-core` (every tuning decision is the core's) and the
//! HDF5 filter of `btune-hdf5`.
//!
//! - [`tuner::Tuner`]: compresses one array's chunks (tuned or fixed) into
//!   plain c-blosc2 chunks, with the GIL released.
//! - `decompress`: any c-blosc2 chunk or one-chunk frame.
//! - `inspect`: what a chunk's header records.
//! - `parse_params`: checks parameter text (`codec/filter/clevel[/split...]`).
//! - `hdf5_filter_class`: the address of the HDF5 filter class, for
//!   `h5py.h5z.register_filter`.
//!
//! Errors become Python exceptions in one place, [`error`].

mod error;
mod input;
mod tuner;

use btune_core::blosc2;
use btune_core::{Params, Threads};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::error::Error;
use crate::input::Input;

/// Decompresses `data` (a plain chunk or a one-chunk frame) into a new
/// `bytes`, with the GIL released while c-blosc2 works.
fn decompress_any<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    nthreads: u16,
) -> PyResult<Bound<'py, PyBytes>> {
    let nthreads = Threads::try_from(nthreads).map_err(Error::from)?.as_c();
    let input = Input::new(data)?;
    let src = input.bytes();
    // The core checks the header against the buffer before anything is
    // allocated from what it claims.
    let len = blosc2::decompressed_len(src).map_err(Error::from)?;
    PyBytes::new_with(py, len, |dest| {
        py.detach(|| blosc2::decompress_into(src, dest, nthreads))
            .map(drop)
            .map_err(|e| Error::from(e).into())
    })
}

/// decompress(data, nthreads=1) -> bytes
///
/// Decompresses a c-blosc2 chunk or one-chunk frame (any Blosc2 writer's).
#[pyfunction]
#[pyo3(signature = (data, nthreads=1))]
fn decompress<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    nthreads: u16,
) -> PyResult<Bound<'py, PyBytes>> {
    decompress_any(py, data, nthreads)
}

/// inspect(data) -> dict
///
/// What the header of a c-blosc2 chunk (or of the chunk in a one-chunk
/// frame) records: nbytes, cbytes, blocksize, typesize, codec (lz4 and
/// lz4hc share a format and read "lz4"; None for others), filter (None if
/// not one of ours), split ("always"/"never"), memcpyed, and frame.
#[pyfunction]
fn inspect<'py>(py: Python<'py>, data: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyDict>> {
    let input = Input::new(data)?;
    let src = input.bytes();
    let frame = blosc2::is_frame(src);
    let info = if frame {
        blosc2::inspect(&blosc2::frame_chunk_bytes(src).map_err(Error::from)?)
    } else {
        blosc2::inspect(src)
    }
    .map_err(Error::from)?;
    let d = PyDict::new(py);
    d.set_item("nbytes", info.nbytes)?;
    d.set_item("cbytes", info.cbytes)?;
    d.set_item("blocksize", info.blocksize)?;
    d.set_item("typesize", info.typesize)?;
    d.set_item("codec", info.codec.map(|c| c.name()))?;
    d.set_item("filter", info.filter.map(|f| f.name()))?;
    d.set_item("split", info.split.name())?;
    d.set_item("memcpyed", info.memcpyed)?;
    d.set_item("frame", frame)?;
    Ok(d)
}

/// parse_params(text) -> str
///
/// Checks parameter text (`codec/filter/clevel[/split[/blocksize[/Nt[/Ndt]]]]`)
/// and returns it in full canonical form; ValueError if it is invalid.
#[pyfunction]
fn parse_params(text: &str) -> Result<String, Error> {
    Ok(text.parse::<Params>()?.to_string())
}

/// hdf5_filter_class() -> int
///
/// The address of the HDF5 filter class (id 32026) linked into this module,
/// for `h5py.h5z.register_filter`.
#[pyfunction]
fn hdf5_filter_class() -> usize {
    btune_hdf5::H5PLget_plugin_info() as usize
}

/// The extension module.
#[pymodule]
fn _btune(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<tuner::Tuner>()?;
    m.add_function(wrap_pyfunction!(decompress, m)?)?;
    m.add_function(wrap_pyfunction!(inspect, m)?)?;
    m.add_function(wrap_pyfunction!(parse_params, m)?)?;
    m.add_function(wrap_pyfunction!(hdf5_filter_class, m)?)?;
    m.add("FILTER_ID", btune_hdf5::FILTER_ID)?;
    m.add("TAIL_MAGIC", btune_hdf5::values::TAIL_MAGIC)?;
    m.add("BLOSC2_VERSION", blosc2::version())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
