//! An HDF5 filter plugin (filter id 32026, "blosc2") that writes every chunk
//! with Blosc2 parameters tuned for its dataset, in the standard Blosc2
//! filter's format: files read back with `h5py` + `hdf5plugin` (or PyTables)
//! and none of this code.
//!
//! HDF5 loads the built `libbtune_hdf5.so` from a directory named by
//! `HDF5_PLUGIN_PATH` (`scripts/setup.sh` places it alone in
//! `target/hdf5-plugin/`, since HDF5 tries every file there). The plugin
//! links no libhdf5: it resolves the dozen HDF5 functions it calls in the
//! library that loaded it (see [`h5api`](crate)), so it works inside h5py's
//! private HDF5 as well as with the system's.
//!
//! - How users choose (fixed parameters, tuning, per-dataset options) and
//!   what is stored: [`values`].
//! - One tuner per dataset: [`registry`].
//! - Chunks are one-chunk Blosc2 frames, with b2nd metadata for 2 to 8
//!   dimensions; any Blosc2 chunk or frame is read: [`filter`].
//! - Errors and panics become HDF5 errors (`H5Epush2`), never a crash.

pub mod error;
mod ffi;
pub mod filter;
mod h5api;
pub mod registry;
pub mod values;

use std::ffi::{c_int, c_void};

pub use error::FilterError;
pub use ffi::register;
pub use values::FILTER_ID;

/// `H5PL_TYPE_FILTER`: this plugin provides a filter.
#[unsafe(no_mangle)]
pub extern "C" fn H5PLget_plugin_type() -> c_int {
    0
}

/// The filter class HDF5 registers when it loads the plugin.
#[unsafe(no_mangle)]
pub extern "C" fn H5PLget_plugin_info() -> *const c_void {
    (&raw const ffi::FILTER_CLASS).cast()
}
