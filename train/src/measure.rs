//! Timing fixed parameter sets on chunks, the same way for the grid, the
//! presets and the tuner's choices so that they compare fairly: each chunk is
//! compressed (and decompressed) `reps` times and the fastest run counts.

use std::time::Instant;

use anyhow::{Result, ensure};
use btune_core::{Outcome, Params, blosc2};

/// How often to repeat each timing: more for small data, whose single
/// timings are dominated by noise.
pub fn reps_for(nbytes: usize) -> usize {
    (4 * 1024 * 1024 / nbytes.max(1)).clamp(1, 16)
}

/// Compresses and decompresses one chunk with `params`, checking the round
/// trip, and returns the fastest times.
///
/// # Errors
/// If c-blosc2 fails or the chunk does not round-trip.
pub fn time_chunk(chunk: &[u8], typesize: usize, params: &Params, reps: usize) -> Result<Outcome> {
    let mut compressed = Vec::new();
    let mut ctime = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        blosc2::compress_into(chunk, typesize, params, &mut compressed)?;
        ctime = ctime.min(t.elapsed().as_secs_f64());
    }
    let mut back = vec![0u8; chunk.len()];
    let mut dtime = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        blosc2::decompress_into(&compressed, &mut back, params.dthreads.as_c())?;
        dtime = dtime.min(t.elapsed().as_secs_f64());
    }
    ensure!(back == chunk, "{params} did not round-trip");
    Ok(Outcome {
        nbytes: chunk.len() as u64,
        cbytes: compressed.len() as u64,
        ctime,
        dtime: Some(dtime),
    })
}

/// The sum of outcomes.
pub fn total(outcomes: &[Outcome]) -> Outcome {
    outcomes.iter().fold(
        Outcome {
            nbytes: 0,
            cbytes: 0,
            ctime: 0.0,
            dtime: Some(0.0),
        },
        |a, b| a.plus(b),
    )
}
