//! Error types of the core: invalid parameters and configuration, apart from
//! failures while compressing or decompressing a chunk.

use thiserror::Error;

/// A parameter value or parameter text that is not valid.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParamsError {
    /// A codec, filter or split-mode name that is not known.
    #[error("unknown {kind} name {name:?}")]
    UnknownName {
        /// What kind of name it was.
        kind: &'static str,
        /// The name given.
        name: String,
    },
    /// A compression level outside 1..=9.
    #[error("compression level {0} is outside 1..=9")]
    Clevel(u8),
    /// A thread count of 0 or above what c-blosc2 accepts.
    #[error("thread count {0} is outside 1..=32767")]
    Threads(u16),
    /// A typesize c-blosc2 cannot record (it stores one byte).
    #[error("typesize {0} is outside 1..=255")]
    Typesize(usize),
    /// A chunk shape that Blosc2's n-dimensional format cannot describe.
    #[error("invalid chunk shape: {0}")]
    Shape(String),
    /// Parameter text that does not follow `codec/filter/clevel[/split[/blocksize[/Nt]]]`.
    #[error(
        "cannot parse parameters {0:?}: expected codec/filter/clevel[/split[/blocksize[/Nt[/Ndt]]]]"
    )]
    Syntax(String),
}

/// A chunk that could not be compressed or decompressed.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CodecError {
    /// Invalid parameters for this operation.
    #[error(transparent)]
    Params(#[from] ParamsError),
    /// The input is larger than one Blosc2 chunk may be.
    #[error("chunk of {len} bytes exceeds the Blosc2 limit of {max} bytes")]
    TooLarge {
        /// Bytes given.
        len: usize,
        /// The most a chunk may hold.
        max: usize,
    },
    /// The compressed buffer is not a valid Blosc2 chunk or frame.
    #[error("corrupt or truncated Blosc2 data: {reason}")]
    Corrupt {
        /// What is wrong with it.
        reason: String,
    },
    /// The decompressed size differs from what the caller expects.
    #[error("chunk holds {actual} bytes but {expected} were expected")]
    WrongSize {
        /// Bytes the caller expects.
        expected: usize,
        /// Bytes the chunk holds.
        actual: usize,
    },
    /// c-blosc2 returned an error code.
    #[error("c-blosc2 {operation} failed with code {code}")]
    Blosc2 {
        /// The c-blosc2 operation.
        operation: &'static str,
        /// Its negative return code.
        code: i64,
    },
}

/// A configuration value that is not valid.
#[derive(Clone, Debug, Error, PartialEq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A value outside its documented range.
    #[error("{field} = {value} is invalid: {reason}")]
    Invalid {
        /// The field or variable.
        field: &'static str,
        /// The value given, as text.
        value: String,
        /// Which values are valid.
        reason: &'static str,
    },
    /// Invalid parameters.
    #[error(transparent)]
    Params(#[from] ParamsError),
    /// The configured model cannot be used.
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
}
