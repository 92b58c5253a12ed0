//! The `"btune"` Zarr v3 codec for [zarrs](https://zarrs.dev): every chunk is
//! compressed into one plain c-blosc2 chunk with parameters the btune tuner
//! picks for its data (or fixed ones), readable by any c-blosc2 decoder.
//!
//! zarrs finds codecs through a registry filled at link time, so a program
//! that opens arrays listing `"btune"` only has to link this crate:
//!
//! ```
//! use zarrs_btune as _;
//! ```
//!
//! Arrays are created with [`BtuneCodec`] among their bytes-to-bytes codecs
//! (see its example), or from metadata such as
//!
//! ```json
//! "codecs": [
//!     {"name": "bytes", "configuration": {"endian": "little"}},
//!     {"name": "btune", "configuration": {"typesize": 8, "tradeoff": 0.5}}
//! ]
//! ```
//!
//! The [`configuration`] module describes every key. Tuning reads the
//! `BTUNE_*` environment variables as the core does (`BTUNE_TRACE` prints a
//! trace per array); keys in the configuration take precedence.

pub mod codec;
pub mod configuration;

pub use codec::{BTUNE, BtuneCodec, check_decoded_size};
pub use configuration::{
    BtuneCodecConfiguration, InvalidConfiguration, ParamsText, PerfModeName, Tradeoff, Typesize,
};
