//! What the filter does with one chunk, free of FFI: compress it for the
//! dataset its filter values describe, or decompress any Blosc2 chunk.

use std::sync::Arc;

use btune_core::{ChunkFormat, ChunkShape, Params, Tuner, blosc2};

use crate::error::FilterError;
use crate::registry::{self, DatasetKey};
use crate::values::{Nominal, Stored, TuneOptions};

/// How the chunks of a dataset get their parameters.
enum Plan {
    Tune(Arc<Tuner>),
    Fixed(Params),
}

/// The type size the core compresses with: c-blosc2 records one byte, so
/// wider types (large compounds) are shuffled as bytes.
fn core_typesize(stored: &Stored) -> usize {
    match stored.typesize {
        t @ 1..=255 => t as usize,
        _ => 1,
    }
}

fn plan(stored: &Stored, values: &[u32]) -> Result<Plan, FilterError> {
    let typesize = core_typesize(stored);
    let (key, options, tune) = match &stored.tail {
        Some(t) => (DatasetKey::Id(t.dataset), t.options, t.tune),
        // Zeros in slots 4-6 mean "tune" (chunks of more than 8 dimensions,
        // which carry no tail, are recorded so).
        None => (
            DatasetKey::Values(values.to_vec()),
            TuneOptions::default(),
            stored.nominal.clevel == 0
                && stored.nominal.shuffle == 0
                && stored.nominal.compcode == 0,
        ),
    };
    if tune || registry::env_tunes_everything() {
        Ok(Plan::Tune(registry::tuner(key, options, typesize)?))
    } else {
        Ok(Plan::Fixed(
            stored
                .nominal
                .params(typesize, stored.chunk_bytes as usize)?,
        ))
    }
}

/// The form a chunk of `len` bytes is stored in: a b2nd frame for chunks of
/// 2 to 8 dimensions that arrive whole, else a plain one-chunk frame.
fn format(stored: &Stored, len: usize) -> ChunkFormat {
    let dims: Vec<u64> = stored.dims().iter().map(|&d| u64::from(d)).collect();
    match ChunkShape::new(&dims) {
        Ok(shape)
            if dims.len() >= 2
                && (1..=255).contains(&stored.typesize)
                && format_fits(&shape, stored.typesize, len) =>
        {
            ChunkFormat::B2ndFrame(shape)
        }
        _ => ChunkFormat::Frame,
    }
}

fn format_fits(shape: &ChunkShape, typesize: u32, len: usize) -> bool {
    shape.nitems().checked_mul(u64::from(typesize)) == Some(len as u64)
}

/// Compresses one chunk of the dataset described by `values`.
///
/// # Errors
/// [`FilterError`] for invalid values, a chunk of the wrong size, or a
/// c-blosc2 failure.
pub fn encode(values: &[u32], input: &[u8]) -> Result<Vec<u8>, FilterError> {
    let stored = Stored::parse(values)?;
    if stored.tail.is_some_and(|t| t.whole_chunks) && input.len() != stored.chunk_bytes as usize {
        return Err(FilterError::Dataset(format!(
            "chunk of {} bytes given, the dataset's chunks hold {}",
            input.len(),
            stored.chunk_bytes
        )));
    }
    let typesize = core_typesize(&stored);
    let format = format(&stored, input.len());
    match plan(&stored, values)? {
        Plan::Tune(tuner) => Ok(tuner.compress(input, format)?.bytes),
        Plan::Fixed(params) => {
            let layout = blosc2::Layout::new(&params, typesize, input.len(), format)?;
            let plain = blosc2::compress(input, typesize, &layout.params)?;
            Ok(layout.package(plain, typesize)?)
        }
    }
}

/// Decompresses a stored chunk (frame or plain chunk, b2nd or not) into
/// the buffer `alloc` makes for its decoded size, which is first checked
/// against the dataset's chunk size when the filter sees whole chunks. The
/// chunk is parsed once.
///
/// # Errors
/// [`FilterError::Codec`] for data that is not a valid Blosc2 chunk or
/// frame, or of the wrong size; whatever `alloc` returns.
pub fn decode<D: AsMut<[u8]>>(
    values: &[u32],
    input: &[u8],
    alloc: impl FnOnce(usize) -> Result<D, FilterError>,
) -> Result<D, FilterError> {
    let whole_chunk = Stored::parse(values)
        .ok()
        .filter(|s| s.tail.is_some_and(|t| t.whole_chunks))
        .map(|s| s.chunk_bytes as usize);
    blosc2::decompress_with(input, 1, |len| match whole_chunk {
        Some(expected) if len != expected => Err(btune_core::CodecError::WrongSize {
            expected,
            actual: len,
        }
        .into()),
        _ => alloc(len),
    })
}

/// The nominal values recorded for a tuned dataset: the tuner's starting
/// parameters, which a standard writer appending to it would use.
#[must_use]
pub fn nominal_for(tuner: &Tuner) -> Nominal {
    Nominal::from_params(&tuner.winner())
}
