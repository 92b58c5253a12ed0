//! The parameters a tuner starts with: what every chunk gets until the first
//! HARD readapt, and for good on data too small to explore
//! ([`crate::tuner::MIN_EXPLORE_BYTES`]), where a handful of trials would
//! cost more than compressing the data.
//!
//! Per tradeoff band and element class (bytes or wider), one grid point,
//! or one of two grid points chosen by one feature of the first chunk, or
//! the difference of two (what a filter gains): a tree of depth one, where
//! the band can afford [`Features::of`] (about 15 us on a 2-core machine,
//! the same on any chunk of 2 KiB or more).
//!
//! `scripts/fit_small_start.py` fits the rules on 1-chunk datasets cut from
//! two corpora (`scripts/small_slices.py`: middle slices of 4, 16 and 64
//! KiB of the training corpus, of 4 and 64 KiB of the benchmark corpus,
//! and their datasets that small), each counted in the bands where it is
//! too small to explore. A rule is the one point, or the split on a feature
//! or on one of four differences (at least 6 datasets a side, the
//! features' cost charged), with the lowest mean
//! regret (DESIGN §3, COMP mode, 1 MiB chunks, one thread, c-blosc2 2.21);
//! a split only where grouped cross-validation prefers it to one point. A
//! band takes the rule fitted on both corpora only if the rule fitted on
//! either beats the previous start on the other. Only wider elements at
//! tradeoffs from 0.6 passed: mean regret over both corpora's small data
//! 0.31 -> 0.085 (0.6-0.8) and 0.34 -> 0.081 (0.8 and up); fitted on the
//! training corpus and measured on the benchmark's, 0.28 -> 0.049 and 0.35
//! -> 0.15; the other way round, 0.31 -> 0.13 and 0.34 -> 0.17. Nothing else
//! transferred between the corpora, bytes least: what small byte data is
//! (images, text, labels) differs between them more than any feature tells.

use crate::features::{FEATURE_NAMES, Features};
use crate::params::{Clevel, Codec, Filter, Params, SplitMode};

/// One grid point: codec, filter, clevel, split mode.
type Point = (Codec, Filter, u8, SplitMode);

/// How a band picks its start.
enum Rule {
    /// The same point for all data.
    Fixed(Point),
    /// `below` where the first feature minus the second is below
    /// `threshold`, else `above`; `fallback` when no chunk is known yet.
    Split {
        difference: (&'static str, &'static str),
        threshold: f32,
        below: Point,
        above: Point,
        fallback: Point,
    },
}

/// A band: tradeoffs up to (excluding) `until`, the rule for bytes
/// (typesize 1) and for wider elements.
struct Band {
    until: f64,
    bytes: Rule,
    wider: Rule,
}

use Codec::{BloscLz, Lz4, Zstd};
use Filter::{Bitshuffle, None as NoFilter, ShuffleBytedelta};
use SplitMode::{Always, Never};

/// The fitted rules (`scripts/fit_small_start.py`). Where no rule fitted
/// on one corpus beat the previous start on the other, the previous start
/// stays: the grid point with the lowest mean regret over the datasets that
/// small of both corpora, whole.
const BANDS: [Band; 5] = [
    Band {
        until: 0.2,
        bytes: Rule::Fixed((BloscLz, NoFilter, 1, Never)),
        wider: Rule::Fixed((BloscLz, NoFilter, 1, Never)),
    },
    Band {
        until: 0.4,
        bytes: Rule::Fixed((Lz4, Bitshuffle, 7, Never)),
        wider: Rule::Fixed((Lz4, Bitshuffle, 7, Never)),
    },
    Band {
        until: 0.6,
        bytes: Rule::Fixed((Zstd, Bitshuffle, 1, Never)),
        wider: Rule::Fixed((Lz4, Bitshuffle, 7, Never)),
    },
    // Wider elements, ratio first: zstd after shuffle and bytedelta where
    // shuffling shortens an LZ parse of the chunk (numbers whose high bytes
    // neighbours share), else zstd on the bytes as they are (text-like or
    // noisy records, where shuffling breaks the matches).
    Band {
        until: 0.8,
        bytes: Rule::Fixed((Zstd, NoFilter, 3, Never)),
        wider: Rule::Split {
            difference: ("lz_shuffle", "lz_raw"),
            threshold: -0.000_244,
            below: (Zstd, ShuffleBytedelta, 1, Always),
            above: (Zstd, NoFilter, 3, Never),
            fallback: (Zstd, ShuffleBytedelta, 1, Always),
        },
    },
    Band {
        until: f64::INFINITY,
        bytes: Rule::Fixed((Zstd, NoFilter, 9, Never)),
        wider: Rule::Split {
            difference: ("lz_shuffle", "lz_raw"),
            threshold: -0.005_371,
            below: (Zstd, ShuffleBytedelta, 7, Never),
            above: (Zstd, NoFilter, 5, Never),
            fallback: (Zstd, ShuffleBytedelta, 7, Never),
        },
    },
];

fn params((codec, filter, clevel, split): Point) -> Params {
    Params::new(
        codec,
        filter,
        Clevel::new(clevel).unwrap_or(Clevel::MIN),
        split,
    )
}

fn rule(tradeoff: f64, typesize: usize) -> &'static Rule {
    let band = BANDS
        .iter()
        .find(|b| tradeoff < b.until)
        .unwrap_or(&BANDS[BANDS.len() - 1]);
    if typesize == 1 {
        &band.bytes
    } else {
        &band.wider
    }
}

/// The start before any data is seen.
pub(crate) fn without_data(tradeoff: f64, typesize: usize) -> Params {
    match rule(tradeoff, typesize) {
        Rule::Fixed(p) | Rule::Split { fallback: p, .. } => params(*p),
    }
}

/// Whether [`for_chunk`] looks at the chunk (computes its features) at
/// this tradeoff and typesize.
pub(crate) fn uses_data(tradeoff: f64, typesize: usize) -> bool {
    matches!(rule(tradeoff, typesize), Rule::Split { .. })
}

/// The start for data whose first chunk is `chunk`.
pub(crate) fn for_chunk(tradeoff: f64, typesize: usize, chunk: &[u8]) -> Params {
    match rule(tradeoff, typesize) {
        Rule::Fixed(p) => params(*p),
        Rule::Split {
            difference: (a, b),
            threshold,
            below,
            above,
            ..
        } => {
            let f = Features::of(chunk, typesize);
            let value = |name: &str| {
                FEATURE_NAMES
                    .iter()
                    .position(|n| *n == name)
                    .map_or(f32::NAN, |i| f.0[i])
            };
            // NaN cannot happen (features are finite, a test checks the
            // names); it would take `above`.
            params(if value(a) - value(b) < *threshold {
                *below
            } else {
                *above
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_split_names_a_feature_and_differs_on_each_side() {
        for band in &BANDS {
            for rule in [&band.bytes, &band.wider] {
                if let Rule::Split {
                    difference: (a, b),
                    below,
                    above,
                    ..
                } = rule
                {
                    assert!(FEATURE_NAMES.contains(a) && FEATURE_NAMES.contains(b));
                    assert_ne!(below, above);
                }
            }
        }
    }

    /// `n` 8-byte elements: float64s in a slow staircase (neighbours share
    /// all but their low bytes), or random bytes.
    fn elements(n: usize, smooth: bool) -> Vec<u8> {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        (0..n)
            .flat_map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                #[allow(clippy::cast_precision_loss)]
                if smooth {
                    ((i / 16) as f64).to_le_bytes()
                } else {
                    x.to_le_bytes()
                }
            })
            .collect()
    }

    #[test]
    fn ratio_first_starts_follow_the_data_of_wider_elements() {
        let (smooth, noisy) = (elements(4096, true), elements(4096, false));
        for t in [0.7, 0.9] {
            assert!(uses_data(t, 8));
            let p = for_chunk(t, 8, &smooth);
            assert_eq!(p.filter, Filter::ShuffleBytedelta, "t={t}: {p}");
            let q = for_chunk(t, 8, &noisy);
            assert_ne!(q.filter, Filter::ShuffleBytedelta, "t={t}: {q}");
            assert_eq!(p.codec, Codec::Zstd);
        }
        // Bytes and speed-first tradeoffs do not look at the data.
        assert!(!uses_data(0.9, 1) && !uses_data(0.1, 8));
        assert_eq!(for_chunk(0.1, 8, &smooth), without_data(0.1, 8));
    }

    #[test]
    fn bands_cover_every_tradeoff_in_order() {
        assert!(BANDS.windows(2).all(|w| w[0].until < w[1].until));
        assert!(BANDS[BANDS.len() - 1].until > 1.0);
    }
}
