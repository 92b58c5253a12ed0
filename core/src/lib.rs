//! The tuning core of btune-rs: picks Blosc2 compression parameters for every
//! chunk of a dataset, adapted to its data, and compresses with them.
//!
//! One [`Tuner`] per dataset holds the state. Front ends (the HDF5 filter, the
//! Zarr codec, the CLI) call [`Tuner::compress`] for each chunk; the core never
//! knows which storage format the bytes go to.
//!
//! ```
//! use btune_core::{Config, Tuner, ChunkFormat, blosc2};
//! let data: Vec<u8> = (0..200_000u32).flat_map(|i| (i / 7).to_le_bytes()).collect();
//! let tuner = Tuner::new(Config::default(), 4).unwrap();
//! let compressed = tuner.compress(&data, ChunkFormat::Chunk).unwrap();
//! assert!(compressed.bytes.len() < data.len() / 4);
//! assert_eq!(blosc2::decompress(&compressed.bytes, 1).unwrap(), data);
//! ```

pub mod b2nd;
pub mod blosc2;
pub mod clock;
pub mod config;
pub mod error;
pub mod features;
mod filter_head;
pub mod grid;
pub mod model;
pub mod objective;
pub mod params;
mod sample;
mod search;
mod start;
pub mod trace;
pub mod tuner;

pub use b2nd::ChunkShape;
pub use blosc2::ChunkFormat;
pub use config::{Behaviour, Config, EnvWarning, RepeatMode};
pub use error::{CodecError, ConfigError, ParamsError};
pub use objective::{Objective, Outcome, PerfMode, Ranges};
pub use params::{Blocksize, Clevel, Codec, Filter, Params, SplitMode, Threads};
pub use tuner::{Compressed, SampleTrial, Tuner};
