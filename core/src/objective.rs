//! The objective that defines a good parameter set (DESIGN §3).
//!
//! For tradeoff `t` in [0, 1] (0 asks for speed, 1 for ratio), a compression
//! ratio `r` and a speed `s` score
//!
//! ```text
//! u(t) = t * ln(r / r_min) / ln(r_max / r_min) + (1 - t) * ln(s / s_min) / ln(s_max / s_min)
//! ```
//!
//! where `r_min..r_max` and `s_min..s_max` are the extremes the parameter grid
//! reaches on the same data ([`Ranges`]); a range narrower than 1% counts as no
//! range and its term is 0. Speed is `nbytes / time`, with `time` the
//! compression time ([`PerfMode::Comp`]), the decompression time
//! ([`PerfMode::Decomp`]) or their sum ([`PerfMode::Balanced`]), every cost of
//! tuning included. Higher is better; the log scale and the normalisation keep
//! the knob meaningful although speeds span ~1000x and ratios often only 1.5x.
//!
//! With a storage `bandwidth` B (bytes/s) the objective becomes the I/O model:
//! the time to write, `time + cbytes / B`, expressed as a speed
//! `s_io = nbytes / (time + cbytes / B)` and scored as
//! `ln(s_io / s_io_min) / ln(s_io_max / s_io_min)`; the tradeoff then plays no
//! part, since the model already prices bytes in seconds.
//!
//! ```
//! use btune_core::{Objective, PerfMode, Ranges, Outcome};
//! let ranges = Ranges { ratio: (1.0, 4.0), speed: (1e7, 1e10) };
//! let fast = Outcome { nbytes: 1_000_000, cbytes: 800_000, ctime: 1e-4, dtime: None };
//! let small = Outcome { nbytes: 1_000_000, cbytes: 250_000, ctime: 0.1, dtime: None };
//! let speed = Objective::new(0.0, PerfMode::Comp);
//! let ratio = Objective::new(1.0, PerfMode::Comp);
//! assert!(speed.utility(&fast, &ranges) > speed.utility(&small, &ranges));
//! assert!(ratio.utility(&small, &ranges) > ratio.utility(&fast, &ranges));
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// Which times count as the cost of a parameter set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum PerfMode {
    /// Compression time only (data written once, read rarely).
    #[default]
    Comp,
    /// Decompression time only (data read many times).
    Decomp,
    /// Compression plus decompression time.
    Balanced,
}

impl PerfMode {
    /// Every mode.
    pub const ALL: [PerfMode; 3] = [PerfMode::Comp, PerfMode::Decomp, PerfMode::Balanced];

    /// The name BTune uses (`BTUNE_PERF_MODE`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            PerfMode::Comp => "COMP",
            PerfMode::Decomp => "DECOMP",
            PerfMode::Balanced => "BALANCED",
        }
    }

    /// Whether decompression must be measured to score in this mode.
    #[must_use]
    pub const fn needs_decompression(self) -> bool {
        !matches!(self, PerfMode::Comp)
    }
}

impl fmt::Display for PerfMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for PerfMode {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PerfMode::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| ConfigError::Invalid {
                field: "perf_mode",
                value: s.to_owned(),
                reason: "expected COMP, DECOMP or BALANCED",
            })
    }
}

/// What compressing (and perhaps decompressing) some bytes cost and gave.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// Uncompressed bytes.
    pub nbytes: u64,
    /// Compressed bytes.
    pub cbytes: u64,
    /// Compression seconds (tuning work included where it applies).
    pub ctime: f64,
    /// Decompression seconds, when measured.
    pub dtime: Option<f64>,
}

impl Outcome {
    /// The compression ratio `nbytes / cbytes`.
    #[must_use]
    #[allow(clippy::cast_precision_loss)]
    pub fn ratio(&self) -> f64 {
        self.nbytes as f64 / (self.cbytes.max(1) as f64)
    }

    /// Seconds that count in `mode`; a missing decompression time counts as 0.
    #[must_use]
    pub fn time(&self, mode: PerfMode) -> f64 {
        let d = self.dtime.unwrap_or(0.0);
        match mode {
            PerfMode::Comp => self.ctime,
            PerfMode::Decomp => d,
            PerfMode::Balanced => self.ctime + d,
        }
    }

    /// Bytes per second in `mode`. A time too small to measure counts as one
    /// nanosecond, so speeds stay finite.
    #[must_use]
    #[allow(clippy::cast_precision_loss)]
    pub fn speed(&self, mode: PerfMode) -> f64 {
        self.nbytes as f64 / self.time(mode).max(1e-9)
    }

    /// The sum of two outcomes (e.g. the chunks of a dataset).
    #[must_use]
    pub fn plus(&self, other: &Outcome) -> Outcome {
        Outcome {
            nbytes: self.nbytes + other.nbytes,
            cbytes: self.cbytes + other.cbytes,
            ctime: self.ctime + other.ctime,
            dtime: match (self.dtime, other.dtime) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            },
        }
    }
}

/// The extremes of ratio and speed (bytes/s) over a parameter grid on some data.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ranges {
    /// `(r_min, r_max)`.
    pub ratio: (f64, f64),
    /// `(s_min, s_max)`, in bytes per second.
    pub speed: (f64, f64),
}

impl Ranges {
    /// An empty range that the first [`Ranges::include`] replaces.
    pub const EMPTY: Ranges = Ranges {
        ratio: (f64::INFINITY, f64::NEG_INFINITY),
        speed: (f64::INFINITY, f64::NEG_INFINITY),
    };

    /// Widens the ranges to include a point.
    pub fn include(&mut self, ratio: f64, speed: f64) {
        self.ratio = (self.ratio.0.min(ratio), self.ratio.1.max(ratio));
        self.speed = (self.speed.0.min(speed), self.speed.1.max(speed));
    }

    /// Whether at least one point was included.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ratio.0 > self.ratio.1
    }
}

/// A range under 1% is no range.
const MIN_RANGE: f64 = 1.01;

/// `ln(x / lo) / ln(hi / lo)`, or 0 where the range is too narrow to matter.
fn normalised_log(x: f64, (lo, hi): (f64, f64)) -> f64 {
    if !(lo > 0.0 && hi / lo >= MIN_RANGE && x.is_finite()) || x <= 0.0 {
        return 0.0;
    }
    (x / lo).ln() / (hi / lo).ln()
}

/// The objective: tradeoff, perf mode and optional bandwidth.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Objective {
    /// 0 = speed ... 1 = ratio.
    pub tradeoff: f64,
    /// Which times count.
    pub perf_mode: PerfMode,
    /// Storage bandwidth in bytes/s; switches to the I/O model when set.
    pub bandwidth: Option<f64>,
}

impl Objective {
    /// An objective without bandwidth model. The tradeoff is clamped to [0, 1].
    #[must_use]
    pub fn new(tradeoff: f64, perf_mode: PerfMode) -> Objective {
        Objective {
            tradeoff: if tradeoff.is_finite() {
                tradeoff.clamp(0.0, 1.0)
            } else {
                0.5
            },
            perf_mode,
            bandwidth: None,
        }
    }

    /// The speed axis of this objective: the mode's speed, or with a bandwidth
    /// the I/O speed `nbytes / (time + cbytes / bandwidth)`.
    #[must_use]
    #[allow(clippy::cast_precision_loss)]
    pub fn speed(&self, o: &Outcome) -> f64 {
        match self.bandwidth {
            Some(bw) if bw > 0.0 => {
                o.nbytes as f64 / (o.time(self.perf_mode) + o.cbytes as f64 / bw).max(1e-9)
            }
            _ => o.speed(self.perf_mode),
        }
    }

    /// `u(t)` of an outcome against ranges measured on the same data (the
    /// speed range must be of [`Objective::speed`]).
    #[must_use]
    pub fn utility(&self, o: &Outcome, ranges: &Ranges) -> f64 {
        self.score(o.ratio(), self.speed(o), ranges)
    }

    /// `u(t)` from a ratio and a speed.
    #[must_use]
    pub fn score(&self, ratio: f64, speed: f64, ranges: &Ranges) -> f64 {
        let s = normalised_log(speed, ranges.speed);
        if self.bandwidth.is_some_and(|b| b > 0.0) {
            return s;
        }
        let t = self.tradeoff;
        t * normalised_log(ratio, ranges.ratio) + (1.0 - t) * s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RANGES: Ranges = Ranges {
        ratio: (1.0, 8.0),
        speed: (1e6, 1e9),
    };

    #[test]
    fn extremes_score_zero_and_one() {
        let o = Objective::new(1.0, PerfMode::Comp);
        assert!((o.score(8.0, 1e6, &RANGES) - 1.0).abs() < 1e-12);
        assert!(o.score(1.0, 1e9, &RANGES).abs() < 1e-12);
        let o = Objective::new(0.0, PerfMode::Comp);
        assert!((o.score(1.0, 1e9, &RANGES) - 1.0).abs() < 1e-12);
        let half =
            Objective::new(0.5, PerfMode::Comp).score(8.0f64.sqrt(), 10f64.powf(7.5), &RANGES);
        assert!((half - 0.5).abs() < 1e-12, "{half}");
    }

    #[test]
    fn narrow_range_term_is_zero() {
        let r = Ranges {
            ratio: (1.0, 1.005),
            speed: (1e6, 1e9),
        };
        let o = Objective::new(1.0, PerfMode::Comp);
        assert_eq!(o.score(1.004, 1e6, &r), 0.0);
    }

    #[test]
    fn modes_pick_their_times() {
        let out = Outcome {
            nbytes: 1000,
            cbytes: 500,
            ctime: 2.0,
            dtime: Some(1.0),
        };
        assert_eq!(out.time(PerfMode::Comp), 2.0);
        assert_eq!(out.time(PerfMode::Decomp), 1.0);
        assert_eq!(out.time(PerfMode::Balanced), 3.0);
        assert_eq!(out.ratio(), 2.0);
    }

    #[test]
    fn bandwidth_prices_bytes() {
        let mut o = Objective::new(0.0, PerfMode::Comp);
        o.bandwidth = Some(1e6);
        // Slow storage: the smaller output wins although it compresses slower.
        let fast = Outcome {
            nbytes: 1_000_000,
            cbytes: 900_000,
            ctime: 0.001,
            dtime: None,
        };
        let small = Outcome {
            nbytes: 1_000_000,
            cbytes: 300_000,
            ctime: 0.05,
            dtime: None,
        };
        assert!(o.speed(&small) > o.speed(&fast));
    }
}
