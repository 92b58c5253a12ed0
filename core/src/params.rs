//! The Blosc2 parameter space (DESIGN §4): codec, filter pipeline, compression
//! level, split mode, block size and thread count, as types that cannot hold an
//! invalid value.

use std::fmt;
use std::num::NonZeroU16;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ParamsError;

/// A Blosc2 codec that the tuner may choose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Codec {
    /// BloscLZ: Blosc's own LZ77, fast with moderate ratio.
    BloscLz,
    /// LZ4: very fast compression and decompression.
    Lz4,
    /// LZ4 high-compression mode: slow compression, fast decompression.
    Lz4Hc,
    /// zlib (deflate): moderate ratio, slow.
    Zlib,
    /// Zstandard: the best ratios; clevel 9 maps to zstd level 22 (very slow).
    Zstd,
}

impl Codec {
    /// Every codec, in c-blosc2's code order.
    pub const ALL: [Codec; 5] = [
        Codec::BloscLz,
        Codec::Lz4,
        Codec::Lz4Hc,
        Codec::Zlib,
        Codec::Zstd,
    ];

    /// The c-blosc2 codec code (`BLOSC_BLOSCLZ` ...), as stored in chunk headers
    /// and in HDF5 cd_values slot 6.
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            Codec::BloscLz => 0,
            Codec::Lz4 => 1,
            Codec::Lz4Hc => 2,
            Codec::Zlib => 4,
            Codec::Zstd => 5,
        }
    }

    /// The codec for a c-blosc2 codec code, if it is one of ours.
    #[must_use]
    pub const fn from_code(code: u8) -> Option<Codec> {
        match code {
            0 => Some(Codec::BloscLz),
            1 => Some(Codec::Lz4),
            2 => Some(Codec::Lz4Hc),
            4 => Some(Codec::Zlib),
            5 => Some(Codec::Zstd),
            _ => None,
        }
    }

    /// The name c-blosc2 and python-blosc2 use.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Codec::BloscLz => "blosclz",
            Codec::Lz4 => "lz4",
            Codec::Lz4Hc => "lz4hc",
            Codec::Zlib => "zlib",
            Codec::Zstd => "zstd",
        }
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Codec {
    type Err = ParamsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Codec::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParamsError::UnknownName {
                kind: "codec",
                name: s.to_owned(),
            })
    }
}

/// c-blosc2 filter codes used by the pipelines.
mod filter_code {
    pub(crate) const SHUFFLE: u8 = 1;
    pub(crate) const BITSHUFFLE: u8 = 2;
    pub(crate) const DELTA: u8 = 3;
    /// Not in the generated bindings (DESIGN §6).
    pub(crate) const BYTEDELTA: u8 = 35;
}

/// A lossless filter pipeline applied before the codec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Filter {
    /// No filter.
    None,
    /// Byte shuffle: groups the i-th byte of every element.
    Shuffle,
    /// Bit shuffle: groups the i-th bit of every element.
    Bitshuffle,
    /// Byte shuffle followed by bytedelta (c-blosc2 filter 35): differences of
    /// consecutive bytes within each shuffled stream; pays on smooth numeric data.
    ShuffleBytedelta,
    /// Delta against the chunk's first block, then byte shuffle; pays on
    /// slowly varying integers such as counters and timestamps.
    DeltaShuffle,
}

impl Filter {
    /// Every pipeline the tuner considers.
    pub const ALL: [Filter; 5] = [
        Filter::None,
        Filter::Shuffle,
        Filter::Bitshuffle,
        Filter::ShuffleBytedelta,
        Filter::DeltaShuffle,
    ];

    /// The name used in the trace, the CLI and JSON.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Filter::None => "none",
            Filter::Shuffle => "shuffle",
            Filter::Bitshuffle => "bitshuffle",
            Filter::ShuffleBytedelta => "shuffle-bytedelta",
            Filter::DeltaShuffle => "delta-shuffle",
        }
    }

    /// The c-blosc2 `filters` and `filters_meta` arrays for this pipeline.
    ///
    /// Filters run from slot 0 to slot 5; the last slot holds the shuffle, as
    /// c-blosc2 and hdf5plugin place it. bytedelta's meta is the typesize.
    #[must_use]
    pub fn slots(self, typesize: usize) -> ([u8; 6], [u8; 6]) {
        let mut filters = [0u8; 6];
        let mut meta = [0u8; 6];
        match self {
            Filter::None => {}
            Filter::Shuffle => filters[5] = filter_code::SHUFFLE,
            Filter::Bitshuffle => filters[5] = filter_code::BITSHUFFLE,
            Filter::ShuffleBytedelta => {
                filters[4] = filter_code::SHUFFLE;
                filters[5] = filter_code::BYTEDELTA;
                meta[5] = u8::try_from(typesize).unwrap_or(u8::MAX);
            }
            Filter::DeltaShuffle => {
                filters[4] = filter_code::DELTA;
                filters[5] = filter_code::SHUFFLE;
            }
        }
        (filters, meta)
    }

    /// Recognises a pipeline from a chunk header's filter slots (zeros ignored).
    #[must_use]
    pub fn from_slots(filters: &[u8]) -> Option<Filter> {
        let used: Vec<u8> = filters.iter().copied().filter(|&f| f != 0).collect();
        match used.as_slice() {
            [] => Some(Filter::None),
            [filter_code::SHUFFLE] => Some(Filter::Shuffle),
            [filter_code::BITSHUFFLE] => Some(Filter::Bitshuffle),
            [filter_code::SHUFFLE, filter_code::BYTEDELTA] => Some(Filter::ShuffleBytedelta),
            [filter_code::DELTA, filter_code::SHUFFLE] => Some(Filter::DeltaShuffle),
            _ => None,
        }
    }

    /// Whether this pipeline transforms data of this typesize at all. With
    /// typesize 1 a byte shuffle is the identity, so such candidates duplicate
    /// others and the search skips them.
    #[must_use]
    pub const fn is_effective(self, typesize: usize) -> bool {
        match self {
            Filter::Shuffle | Filter::ShuffleBytedelta => typesize > 1,
            Filter::None | Filter::Bitshuffle | Filter::DeltaShuffle => true,
        }
    }
}

impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Filter {
    type Err = ParamsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Filter::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParamsError::UnknownName {
                kind: "filter",
                name: s.to_owned(),
            })
    }
}

/// A compression level, 1..=9. Level 0 (plain copy) is no candidate: c-blosc2
/// already stores incompressible blocks raw.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Clevel(u8);

impl Clevel {
    /// The lowest level.
    pub const MIN: Clevel = Clevel(1);
    /// The highest level.
    pub const MAX: Clevel = Clevel(9);

    /// A level, if `level` is in 1..=9.
    #[must_use]
    pub const fn new(level: u8) -> Option<Clevel> {
        if level >= 1 && level <= 9 {
            Some(Clevel(level))
        } else {
            None
        }
    }

    /// The level as a number.
    #[must_use]
    pub const fn get(self) -> u8 {
        self.0
    }

    /// This level moved by `step`, kept within 1..=9.
    #[must_use]
    pub fn offset(self, step: i8) -> Clevel {
        // Clamped to 1..=9, so the narrowing cannot lose anything.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Clevel((i16::from(self.0) + i16::from(step)).clamp(1, 9) as u8)
    }
}

impl TryFrom<u8> for Clevel {
    type Error = ParamsError;
    fn try_from(level: u8) -> Result<Self, Self::Error> {
        Clevel::new(level).ok_or(ParamsError::Clevel(level))
    }
}

impl From<Clevel> for u8 {
    fn from(c: Clevel) -> u8 {
        c.0
    }
}

/// Whether blocks are split into one stream per byte of the element type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitMode {
    /// Split blocks into typesize streams (fast codecs usually gain speed).
    Always,
    /// Compress each block as one stream (usually better ratio with zstd/zlib).
    Never,
}

impl SplitMode {
    /// Both modes.
    pub const ALL: [SplitMode; 2] = [SplitMode::Always, SplitMode::Never];

    /// The c-blosc2 `splitmode` value.
    #[must_use]
    pub const fn code(self) -> i32 {
        match self {
            SplitMode::Always => 1,
            SplitMode::Never => 2,
        }
    }

    /// The name used in the trace, the CLI and JSON.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            SplitMode::Always => "always",
            SplitMode::Never => "never",
        }
    }
}

impl fmt::Display for SplitMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SplitMode {
    type Err = ParamsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SplitMode::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| ParamsError::UnknownName {
                kind: "split mode",
                name: s.to_owned(),
            })
    }
}

/// Block size: c-blosc2's automatic choice, or an explicit byte count.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Blocksize {
    /// c-blosc2 picks from codec, clevel, typesize and split mode.
    #[default]
    Auto,
    /// This many bytes per block (rounded down to a typesize multiple by c-blosc2).
    Bytes(u32),
}

impl Blocksize {
    /// The value of c-blosc2's `blocksize` parameter (0 = automatic).
    #[must_use]
    pub fn as_c(self) -> i32 {
        match self {
            Blocksize::Auto => 0,
            Blocksize::Bytes(b) => i32::try_from(b).unwrap_or(i32::MAX),
        }
    }
}

impl fmt::Display for Blocksize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Blocksize::Auto => f.write_str("auto"),
            Blocksize::Bytes(b) if b % 1024 == 0 => write!(f, "{}K", b / 1024),
            Blocksize::Bytes(b) => write!(f, "{b}"),
        }
    }
}

/// A thread count for c-blosc2: never 0 (0 threads hangs or crashes c-blosc2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct Threads(NonZeroU16);

impl Threads {
    /// One thread.
    pub const ONE: Threads = Threads(NonZeroU16::MIN);

    /// A thread count, if `n` is at least 1 and fits c-blosc2's `int16_t`.
    #[must_use]
    pub fn new(n: u16) -> Option<Threads> {
        if i16::try_from(n).is_err() {
            return None;
        }
        NonZeroU16::new(n).map(Threads)
    }

    /// The count as a number.
    #[must_use]
    pub const fn get(self) -> u16 {
        self.0.get()
    }

    /// c-blosc2's `nthreads` (`int16_t`); `new` keeps it in range.
    #[must_use]
    pub fn as_c(self) -> i16 {
        i16::try_from(self.0.get()).unwrap_or(i16::MAX)
    }
}

impl TryFrom<u16> for Threads {
    type Error = ParamsError;
    fn try_from(n: u16) -> Result<Self, Self::Error> {
        Threads::new(n).ok_or(ParamsError::Threads(n))
    }
}

impl From<Threads> for u16 {
    fn from(t: Threads) -> u16 {
        t.get()
    }
}

/// One complete Blosc2 parameter set: everything needed to compress a chunk
/// and, with `dthreads`, to decompress it.
///
/// ```
/// use btune_core::{Params, Codec, Filter, Clevel, SplitMode};
/// let p = Params::new(Codec::Zstd, Filter::ShuffleBytedelta, Clevel::new(3).unwrap(), SplitMode::Never);
/// assert_eq!(p.to_string(), "zstd/shuffle-bytedelta/3/never/auto/1t");
/// assert_eq!(p.to_string().parse::<Params>().unwrap(), p);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Params {
    /// The codec.
    pub codec: Codec,
    /// The filter pipeline.
    pub filter: Filter,
    /// The compression level.
    pub clevel: Clevel,
    /// The split mode.
    pub split: SplitMode,
    /// The block size.
    pub blocksize: Blocksize,
    /// Threads for compression.
    pub cthreads: Threads,
    /// Threads for decompression.
    pub dthreads: Threads,
}

impl Params {
    /// A parameter set with automatic blocksize and one thread.
    #[must_use]
    pub const fn new(codec: Codec, filter: Filter, clevel: Clevel, split: SplitMode) -> Params {
        Params {
            codec,
            filter,
            clevel,
            split,
            blocksize: Blocksize::Auto,
            cthreads: Threads::ONE,
            dthreads: Threads::ONE,
        }
    }

    /// The same parameters with another thread count for both directions.
    #[must_use]
    pub const fn with_threads(mut self, threads: Threads) -> Params {
        self.cthreads = threads;
        self.dthreads = threads;
        self
    }

    /// The same parameters with another clevel.
    #[must_use]
    pub const fn with_clevel(mut self, clevel: Clevel) -> Params {
        self.clevel = clevel;
        self
    }

    /// The part of the parameters that changes the stored bytes (threads do not).
    #[must_use]
    pub const fn format_key(&self) -> (Codec, Filter, Clevel, SplitMode, Blocksize) {
        (
            self.codec,
            self.filter,
            self.clevel,
            self.split,
            self.blocksize,
        )
    }
}

impl fmt::Display for Params {
    /// `codec/filter/clevel/split/blocksize/threads`, parsed back by `FromStr`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}/{}/{}t",
            self.codec,
            self.filter,
            self.clevel.get(),
            self.split,
            self.blocksize,
            self.cthreads.get()
        )?;
        if self.dthreads != self.cthreads {
            write!(f, "/{}dt", self.dthreads.get())?;
        }
        Ok(())
    }
}

impl FromStr for Params {
    type Err = ParamsError;
    /// Parses `codec/filter/clevel[/split[/blocksize[/Nt[/Ndt]]]]`; omitted
    /// parts default to `never`, `auto` and one thread.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ParamsError::Syntax(s.to_owned());
        let parts: Vec<&str> = s.split('/').collect();
        if parts.len() < 3 || parts.len() > 7 {
            return Err(bad());
        }
        let clevel: u8 = parts[2].parse().map_err(|_| bad())?;
        let mut p = Params::new(
            parts[0].parse()?,
            parts[1].parse()?,
            Clevel::try_from(clevel)?,
            parts.get(3).map_or(Ok(SplitMode::Never), |s| s.parse())?,
        );
        if let Some(b) = parts.get(4) {
            p.blocksize = match *b {
                "auto" => Blocksize::Auto,
                _ => {
                    let (digits, mult) = match b.strip_suffix(['K', 'k']) {
                        Some(d) => (d, 1024),
                        None => (*b, 1),
                    };
                    let n: u32 = digits.parse().map_err(|_| bad())?;
                    Blocksize::Bytes(n.checked_mul(mult).ok_or_else(bad)?)
                }
            };
        }
        let threads = |t: &str, suffix: &str| -> Result<Threads, ParamsError> {
            let n: u16 = t
                .strip_suffix(suffix)
                .ok_or_else(bad)?
                .parse()
                .map_err(|_| bad())?;
            Threads::try_from(n)
        };
        if let Some(t) = parts.get(5) {
            p = p.with_threads(threads(t, "t")?);
        }
        if let Some(t) = parts.get(6) {
            p.dthreads = threads(t, "dt")?;
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for c in Codec::ALL {
            assert_eq!(Codec::from_code(c.code()), Some(c));
            assert_eq!(c.name().parse::<Codec>().unwrap(), c);
        }
        assert_eq!(Codec::from_code(3), None);
        for f in Filter::ALL {
            let (slots, _) = f.slots(8);
            assert_eq!(Filter::from_slots(&slots), Some(f));
            assert_eq!(f.name().parse::<Filter>().unwrap(), f);
        }
        assert_eq!(Filter::from_slots(&[0, 0, 0, 0, 0, 4]), None);
    }

    #[test]
    fn bytedelta_meta_is_typesize() {
        let (f, m) = Filter::ShuffleBytedelta.slots(4);
        assert_eq!(f, [0, 0, 0, 0, 1, 35]);
        assert_eq!(m, [0, 0, 0, 0, 0, 4]);
    }

    #[test]
    fn invalid_values_are_refused() {
        assert!(Clevel::new(0).is_none());
        assert!(Clevel::new(10).is_none());
        assert!(Threads::new(0).is_none());
        assert!(Threads::new(40_000).is_none());
        assert!(serde_json::from_str::<Clevel>("0").is_err());
        assert!(serde_json::from_str::<Threads>("0").is_err());
        assert!("zstd/none".parse::<Params>().is_err());
        assert!("zstd/none/0".parse::<Params>().is_err());
        assert!("brotli/none/5".parse::<Params>().is_err());
        assert!("zstd/none/5/never/auto/0t".parse::<Params>().is_err());
    }

    #[test]
    fn params_text_round_trips() {
        let mut p = Params::new(
            Codec::Lz4,
            Filter::Bitshuffle,
            Clevel::new(7).unwrap(),
            SplitMode::Always,
        );
        p.blocksize = Blocksize::Bytes(65536);
        p.cthreads = Threads::new(2).unwrap();
        assert_eq!(p.to_string(), "lz4/bitshuffle/7/always/64K/2t/1dt");
        assert_eq!(p.to_string().parse::<Params>().unwrap(), p);
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<Params>(&json).unwrap(), p);
    }

    #[test]
    fn clevel_offset_clamps() {
        assert_eq!(Clevel::new(2).unwrap().offset(-3), Clevel::MIN);
        assert_eq!(Clevel::new(8).unwrap().offset(4), Clevel::MAX);
    }
}
