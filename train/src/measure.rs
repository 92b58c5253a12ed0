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

/// A timing at least this long is not repeated: what noise adds to it is
/// a small part of it, and the slow points (zstd and zlib at high levels,
/// at 1-30 MB/s) are most of a grid's time, so repeating them would make a
/// sweep of a `--scale 1.0` corpus take hours instead of one.
pub const SLOW_SECONDS: f64 = 0.02;

/// The fastest of up to `reps` runs of `run`, fewer once one takes
/// [`SLOW_SECONDS`] or more.
fn fastest(reps: usize, mut run: impl FnMut() -> Result<()>) -> Result<f64> {
    let mut best = f64::INFINITY;
    for _ in 0..reps.max(1) {
        let t = Instant::now();
        run()?;
        let elapsed = t.elapsed().as_secs_f64();
        best = best.min(elapsed);
        if elapsed >= SLOW_SECONDS {
            break;
        }
    }
    Ok(best)
}

/// A buffer of `len` bytes, every page of it written. Not zeros: a zeroed
/// allocation may come as untouched zero pages, faulted in by the first
/// timed run.
fn written(len: usize) -> Vec<u8> {
    vec![0xA5; len]
}

/// Compresses and decompresses one chunk with `params`, checking the round
/// trip, and returns the fastest times (of `reps` runs each, or of fewer
/// where one is slow: [`SLOW_SECONDS`]). Both output buffers are written
/// once before any run is timed, so that no run pays for faulting their
/// pages in, which a single slow run would otherwise keep.
///
/// # Errors
/// If c-blosc2 fails or the chunk does not round-trip.
pub fn time_chunk(chunk: &[u8], typesize: usize, params: &Params, reps: usize) -> Result<Outcome> {
    let mut compressed = written(chunk.len() + blosc2::MAX_OVERHEAD);
    let ctime = fastest(reps, || {
        blosc2::compress_into(chunk, typesize, params, &mut compressed)?;
        Ok(())
    })?;
    let mut back = written(chunk.len());
    let dtime = fastest(reps, || {
        blosc2::decompress_into(&compressed, &mut back, params.dthreads.as_c())?;
        Ok(())
    })?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fastest_repeats_quick_runs_and_not_slow_ones() {
        let mut runs = 0;
        fastest(4, || {
            runs += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(runs, 4);
        let mut runs = 0;
        let best = fastest(4, || {
            runs += 1;
            std::thread::sleep(std::time::Duration::from_secs_f64(SLOW_SECONDS * 1.5));
            Ok(())
        })
        .unwrap();
        assert_eq!(runs, 1);
        assert!(best >= SLOW_SECONDS * 1.5);
    }

    #[test]
    fn fastest_stops_at_the_first_error() {
        let mut runs = 0;
        let r = fastest(4, || {
            runs += 1;
            anyhow::bail!("c-blosc2 failed")
        });
        assert!(r.is_err());
        assert_eq!(runs, 1);
    }

    #[test]
    fn time_chunk_round_trips_and_counts_bytes() {
        let chunk: Vec<u8> = (0..65_536u32).flat_map(|i| (i / 7).to_le_bytes()).collect();
        let p: Params = "lz4/shuffle/5/always".parse().unwrap();
        let o = time_chunk(&chunk, 4, &p, 3).unwrap();
        assert_eq!(o.nbytes, chunk.len() as u64);
        assert!(o.cbytes > 0 && o.cbytes < o.nbytes / 4);
        assert!(o.ctime > 0.0 && o.dtime.is_some_and(|d| d > 0.0));
    }
}
