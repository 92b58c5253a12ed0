//! What can go wrong inside the filter; every variant reaches HDF5's error
//! stack as one message.

use btune_core::{CodecError, ConfigError};
use thiserror::Error;

/// A failure of the filter, reported through `H5Epush2`.
#[derive(Clone, Debug, Error)]
#[non_exhaustive]
pub enum FilterError {
    /// Invalid or unsupported filter values (`cd_values`).
    #[error("btune blosc2 filter values: {0}")]
    Values(String),
    /// A dataset the filter cannot handle (type, chunk size, layout).
    #[error("btune blosc2 filter cannot handle this dataset: {0}")]
    Dataset(String),
    /// A chunk that does not compress or decompress.
    #[error("btune blosc2 filter: {0}")]
    Codec(#[from] CodecError),
    /// Invalid tuning configuration.
    #[error("btune blosc2 filter configuration: {0}")]
    Config(#[from] ConfigError),
    /// The HDF5 library could not be reached or refused a call.
    #[error("btune blosc2 filter, HDF5: {0}")]
    Hdf5(String),
}
