//! Which candidates each stage of a readapt tries. Pure functions of the
//! current winner and what was measured, so the tuner's state machine stays
//! apart from the search space.
//!
//! A HARD readapt runs three stages on samples of one chunk:
//! 1. filters: every effective pipeline with lz4 at clevel 1 (cheap, and the
//!    ranking of filters carries over to other codecs);
//! 2. codecs: for the two best filters by ratio, blosclz, lz4 and zstd in both
//!    split modes, plus lz4hc and zlib for the best filter, all at clevel 1;
//! 3. clevels: from the two best (codec, filter, split) by utility, climb
//!    clevel 3, 5, 7, 9 while the utility improves.
//!
//! A SOFT readapt tries the winner again with clevel one up and one down, the
//! other split mode and, where more than one thread is allowed, other thread
//! counts.

use crate::params::{Clevel, Codec, Filter, Params, SplitMode, Threads};

/// Stage 1 of a HARD readapt.
pub(crate) fn filter_stage(typesize: usize) -> Vec<Params> {
    Filter::ALL
        .into_iter()
        .filter(|f| f.is_effective(typesize))
        .map(|f| Params::new(Codec::Lz4, f, Clevel::MIN, SplitMode::Never))
        .collect()
}

/// Stage 2 of a HARD readapt, for filters ranked best first.
pub(crate) fn codec_stage(filters_by_ratio: &[Filter]) -> Vec<Params> {
    let mut out = Vec::new();
    for (rank, &filter) in filters_by_ratio.iter().take(2).enumerate() {
        for codec in [Codec::BloscLz, Codec::Lz4, Codec::Zstd] {
            for split in SplitMode::ALL {
                out.push(Params::new(codec, filter, Clevel::MIN, split));
            }
        }
        if rank == 0 {
            for codec in [Codec::Lz4Hc, Codec::Zlib] {
                out.push(Params::new(codec, filter, Clevel::MIN, SplitMode::Never));
            }
        }
    }
    out
}

/// The clevels stage 3 climbs through, after clevel 1.
pub(crate) const CLIMB: [u8; 4] = [3, 5, 7, 9];

/// The next step of a clevel climb from `p`, if any.
pub(crate) fn climb_step(p: &Params) -> Option<Params> {
    CLIMB
        .iter()
        .find(|&&c| c > p.clevel.get())
        .and_then(|&c| Clevel::new(c))
        .map(|c| p.with_clevel(c))
}

/// A SOFT readapt's candidates around `winner` (the winner itself first, so
/// that every comparison is on the same sample).
pub(crate) fn soft_stage(winner: &Params, max_threads: Threads) -> Vec<Params> {
    let mut out = vec![*winner];
    for step in [-1i8, 1] {
        let c = winner.clevel.offset(step);
        if c != winner.clevel {
            out.push(winner.with_clevel(c));
        }
    }
    let mut flipped = *winner;
    flipped.split = match winner.split {
        SplitMode::Always => SplitMode::Never,
        SplitMode::Never => SplitMode::Always,
    };
    out.push(flipped);
    let t = winner.cthreads.get();
    for n in [t / 2, t.saturating_mul(2).min(max_threads.get())] {
        if let Some(threads) = Threads::new(n)
            && threads != winner.cthreads
        {
            out.push(winner.with_threads(threads));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_stay_in_the_grid() {
        assert_eq!(filter_stage(8).len(), 5);
        assert_eq!(filter_stage(1).len(), 3);
        let c = codec_stage(&[Filter::Shuffle, Filter::None]);
        assert_eq!(c.len(), 6 + 2 + 6);
        let w = Params::new(
            Codec::Zstd,
            Filter::Shuffle,
            Clevel::new(9).unwrap(),
            SplitMode::Never,
        );
        assert_eq!(climb_step(&w), None);
        assert_eq!(
            climb_step(&w.with_clevel(Clevel::MIN))
                .unwrap()
                .clevel
                .get(),
            3
        );
    }

    #[test]
    fn soft_threads_never_zero_nor_above_limit() {
        let w = Params::new(
            Codec::Lz4,
            Filter::Shuffle,
            Clevel::new(5).unwrap(),
            SplitMode::Never,
        );
        for max in [1u16, 2, 3, 8] {
            let limit = Threads::new(max).unwrap();
            for p in soft_stage(&w.with_threads(Threads::new(max).unwrap()), limit) {
                assert!(p.cthreads.get() >= 1 && p.cthreads <= limit, "{p}");
            }
        }
        let one = soft_stage(&w, Threads::ONE);
        assert_eq!(one[0], w);
        assert!(one.iter().all(|p| p.cthreads == Threads::ONE));
    }
}
