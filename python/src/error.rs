//! The one place where errors of the core become Python exceptions.
//!
//! | error | exception |
//! |---|---|
//! | invalid options: [`ConfigError`], [`ParamsError`], our own checks | `ValueError` |
//! | data that is not a valid Blosc2 chunk or frame, too large or of the wrong size | `ValueError` |
//! | input that offers no contiguous buffer | `TypeError` |
//! | c-blosc2 failing on valid input | `RuntimeError` |
//!
//! Every message starts with "btune: ".

use btune_core::{CodecError, ConfigError, ParamsError};
use pyo3::PyErr;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};

/// Anything the extension can fail with.
#[derive(Debug)]
pub(crate) enum Error {
    /// An invalid option.
    Config(ConfigError),
    /// Invalid data, or c-blosc2 failing.
    Codec(CodecError),
    /// An option our front end refuses (e.g. fixed parameters missing).
    Option(String),
    /// An object that is not a contiguous buffer.
    Input(String),
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}

impl From<ParamsError> for Error {
    fn from(e: ParamsError) -> Self {
        Error::Config(e.into())
    }
}

impl From<CodecError> for Error {
    fn from(e: CodecError) -> Self {
        Error::Codec(e)
    }
}

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        match e {
            Error::Config(e) => PyValueError::new_err(format!("btune: {e}")),
            Error::Option(m) => PyValueError::new_err(format!("btune: {m}")),
            Error::Input(m) => PyTypeError::new_err(format!("btune: {m}")),
            Error::Codec(e @ CodecError::Blosc2 { .. }) => {
                PyRuntimeError::new_err(format!("btune: {e}"))
            }
            Error::Codec(e) => PyValueError::new_err(format!("btune: {e}")),
        }
    }
}
