//! The filter's auxiliary values (HDF5 `cd_values`): what users pass when
//! they create a dataset, and what this filter stores in the file.
//!
//! Stored layout — the standard Blosc2 filter's, then ours after the dims:
//!
//! | slot | meaning |
//! |---|---|
//! | 0 | filter revision, 1 |
//! | 1 | nominal block size in bytes (0 = automatic) |
//! | 2 | type size in bytes |
//! | 3 | chunk size in bytes (exact: standard readers size buffers with it) |
//! | 4, 5, 6 | nominal clevel, shuffle (0 none, 1 byte, 2 bit), codec code |
//! | 7 | chunk rank `n`; a 1-D chunk of `d` items is recorded as `(1, d)` |
//! | 8 .. 8+n | chunk dimensions |
//! | 8+n | [`TAIL_MAGIC`] ("BTUN"), then tail version 1 |
//! | +2, +3 | dataset id, low and high 32 bits |
//! | +4 | flags: 1 tune, 2 the filter sees whole chunks (it is first in the pipeline), 4 1-D shown as `(1, d)` |
//! | +5 | tradeoff in millionths, or `u32::MAX` for the environment's |
//! | +6 | perf mode 0 COMP, 1 DECOMP, 2 BALANCED, or `u32::MAX` for the environment's |
//!
//! Standard readers stop at the dims, so files stay readable without us;
//! they reject a rank below 2 in slot 7, hence the `(1, d)` form for 1-D.
//! Chunks of more than 8 dimensions get the standard 7 slots and no tail.
//!
//! What users pass at creation ([`Request::parse`]):
//! - nothing, or zeros in slots 4-6: tune with the environment's options;
//! - hdf5plugin's `Blosc2(cname, clevel, filters)` values: those fixed
//!   parameters (unless `BTUNE_TRADEOFF` is set, which tunes everything);
//! - `(TAIL_MAGIC, tradeoff_millionths[, perf_mode])`: tune with these options.

use btune_core::b2nd::MAX_DIM;
use btune_core::{Blocksize, Clevel, Codec, Filter, Params, PerfMode, SplitMode, blosc2};

use crate::error::FilterError;

/// The filter id registered with The HDF Group for Blosc2.
pub const FILTER_ID: i32 = 32026;
/// The standard filter's revision, slot 0.
pub const REVISION: u32 = 1;
/// Marks our options and our tail ("BTUN").
pub const TAIL_MAGIC: u32 = 0x4254_554E;
/// The version of the tail's layout.
pub const TAIL_VERSION: u32 = 1;
/// A tail field left to the environment.
pub const UNSET: u32 = u32::MAX;

const FLAG_TUNE: u32 = 1;
const FLAG_WHOLE_CHUNKS: u32 = 2;
const FLAG_ROW_VIEW: u32 = 4;
const TAIL_LEN: usize = 7;

/// The nominal setting in standard slots 1 and 4-6: what a standard writer
/// uses, and what a fixed-parameter dataset is written with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Nominal {
    /// Block size in bytes, 0 for automatic.
    pub blocksize: u32,
    /// Compression level.
    pub clevel: u32,
    /// 0 no shuffle, 1 byte shuffle, 2 bit shuffle.
    pub shuffle: u32,
    /// c-blosc2 codec code.
    pub compcode: u32,
}

impl Nominal {
    /// The standard filter's defaults for missing slots (blosclz, 5, shuffle).
    pub const STANDARD_DEFAULT: Nominal = Nominal {
        blocksize: 0,
        clevel: 5,
        shuffle: 1,
        compcode: 0,
    };

    /// These values as parameters, with the split mode c-blosc2 picks by
    /// default for them (so fixed datasets match the standard filter).
    ///
    /// # Errors
    /// [`FilterError::Values`] for a codec, shuffle or clevel we cannot write.
    pub fn params(&self, typesize: usize, chunk_bytes: usize) -> Result<Params, FilterError> {
        let codec = u8::try_from(self.compcode)
            .ok()
            .and_then(Codec::from_code)
            .ok_or_else(|| {
                FilterError::Values(format!(
                    "codec code {} is not one of blosclz 0, lz4 1, lz4hc 2, zlib 4, zstd 5",
                    self.compcode
                ))
            })?;
        let filter = match self.shuffle {
            0 => Filter::None,
            1 => Filter::Shuffle,
            2 => Filter::Bitshuffle,
            s => {
                return Err(FilterError::Values(format!(
                    "shuffle {s} is not one of 0 (none), 1 (byte), 2 (bit)"
                )));
            }
        };
        let clevel = u8::try_from(self.clevel)
            .ok()
            .and_then(Clevel::new)
            .ok_or_else(|| {
                FilterError::Values(format!(
                    "clevel {} is outside 1..=9 (0, storing uncompressed, is not supported)",
                    self.clevel
                ))
            })?;
        let mut params = Params::new(codec, filter, clevel, SplitMode::Never);
        if self.blocksize > 0 {
            params.blocksize = Blocksize::Bytes(self.blocksize);
        }
        params.split = blosc2::default_split(&params, typesize, chunk_bytes);
        Ok(params)
    }

    /// The nominal values describing `params` (bytedelta pipelines shown as
    /// byte shuffle, the nearest standard setting).
    #[must_use]
    pub fn from_params(params: &Params) -> Nominal {
        Nominal {
            blocksize: match params.blocksize {
                Blocksize::Auto => 0,
                Blocksize::Bytes(b) => b,
            },
            clevel: u32::from(params.clevel.get()),
            shuffle: match params.filter {
                Filter::None => 0,
                Filter::Bitshuffle => 2,
                _ => 1,
            },
            compcode: u32::from(params.codec.code()),
        }
    }
}

/// Tuning options of one dataset; `None` takes the environment's (or the
/// default).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TuneOptions {
    /// 0 = speed, 1 = ratio.
    pub tradeoff: Option<f64>,
    /// Which speed counts.
    pub perf_mode: Option<PerfMode>,
}

impl TuneOptions {
    fn from_slots(tradeoff: Option<u32>, perf: Option<u32>) -> Result<TuneOptions, FilterError> {
        let tradeoff = match tradeoff {
            None | Some(UNSET) => None,
            Some(t) if t <= 1_000_000 => Some(f64::from(t) / 1e6),
            Some(t) => {
                return Err(FilterError::Values(format!(
                    "tradeoff {t} millionths is above 1000000 (= 1.0)"
                )));
            }
        };
        let perf_mode = match perf {
            None | Some(UNSET) => None,
            Some(p) => Some(
                usize::try_from(p)
                    .ok()
                    .and_then(|p| PerfMode::ALL.get(p).copied())
                    .ok_or_else(|| {
                        FilterError::Values(format!(
                            "perf mode {p} is not 0 (COMP), 1 (DECOMP) or 2 (BALANCED)"
                        ))
                    })?,
            ),
        };
        Ok(TuneOptions {
            tradeoff,
            perf_mode,
        })
    }

    fn slots(&self) -> [u32; 2] {
        [
            self.tradeoff.map_or(UNSET, |t| (t * 1e6).round() as u32),
            self.perf_mode.map_or(UNSET, |m| {
                PerfMode::ALL.iter().position(|&x| x == m).unwrap_or(0) as u32
            }),
        ]
    }
}

/// What a dataset's creator asked for.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Request {
    /// Tune every chunk.
    Tune(TuneOptions),
    /// Write every chunk with these parameters.
    Fixed(Nominal),
}

impl Request {
    /// Reads the values given at dataset creation (see the module docs).
    ///
    /// # Errors
    /// [`FilterError::Values`] for options out of range.
    pub fn parse(values: &[u32]) -> Result<Request, FilterError> {
        if values.first() == Some(&TAIL_MAGIC) {
            return Ok(Request::Tune(TuneOptions::from_slots(
                values.get(1).copied(),
                values.get(2).copied(),
            )?));
        }
        // Values copied from an existing dataset of ours keep its choice.
        if let Ok(stored) = Stored::parse(values)
            && let Some(tail) = stored.tail
        {
            return Ok(if tail.tune {
                Request::Tune(tail.options)
            } else {
                Request::Fixed(stored.nominal)
            });
        }
        let slot = |i: usize| values.get(i).copied().unwrap_or(0);
        if values.len() <= 4 || (slot(4) == 0 && slot(5) == 0 && slot(6) == 0) {
            return Ok(Request::Tune(TuneOptions::default()));
        }
        let d = Nominal::STANDARD_DEFAULT;
        Ok(Request::Fixed(Nominal {
            blocksize: slot(1),
            clevel: slot(4),
            shuffle: values.get(5).copied().unwrap_or(d.shuffle),
            compcode: values.get(6).copied().unwrap_or(d.compcode),
        }))
    }
}

/// Our record after the dims.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tail {
    /// Identifies the dataset within a process's tuners.
    pub dataset: u64,
    /// Tune (else fixed nominal parameters).
    pub tune: bool,
    /// The filter is first in the pipeline: it sees whole chunks, so sizes
    /// can be checked exactly.
    pub whole_chunks: bool,
    /// A 1-D chunk recorded as `(1, d)`.
    pub row_view: bool,
    /// The dataset's tuning options.
    pub options: TuneOptions,
}

/// The values as stored in a file.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    /// Type size in bytes (slot 2).
    pub typesize: u32,
    /// Chunk size in bytes (slot 3).
    pub chunk_bytes: u32,
    /// Slots 1, 4-6.
    pub nominal: Nominal,
    /// Chunk dimensions as recorded (empty if slot 7 is absent).
    pub shape: Vec<u32>,
    /// Ours, if present.
    pub tail: Option<Tail>,
}

impl Stored {
    /// Reads stored values, ours or the standard filter's.
    ///
    /// # Errors
    /// [`FilterError::Values`] if fewer than 4 slots or an invalid rank.
    pub fn parse(values: &[u32]) -> Result<Stored, FilterError> {
        if values.len() < 4 {
            return Err(FilterError::Values(format!(
                "{} filter values, at least 4 are needed",
                values.len()
            )));
        }
        let d = Nominal::STANDARD_DEFAULT;
        let nominal = Nominal {
            blocksize: values[1],
            clevel: values.get(4).copied().unwrap_or(d.clevel),
            shuffle: values.get(5).copied().unwrap_or(d.shuffle),
            compcode: values.get(6).copied().unwrap_or(d.compcode),
        };
        let mut shape = Vec::new();
        let mut tail = None;
        if let Some(&ndim) = values.get(7) {
            let n = ndim as usize;
            if !(1..=MAX_DIM).contains(&n) || values.len() < 8 + n {
                return Err(FilterError::Values(format!(
                    "chunk rank {ndim} in slot 7 with {} values",
                    values.len()
                )));
            }
            shape = values[8..8 + n].to_vec();
            let t = &values[8 + n..];
            if t.len() >= TAIL_LEN && t[0] == TAIL_MAGIC && t[1] == TAIL_VERSION {
                let flags = t[4];
                tail = Some(Tail {
                    dataset: u64::from(t[2]) | (u64::from(t[3]) << 32),
                    tune: flags & FLAG_TUNE != 0,
                    whole_chunks: flags & FLAG_WHOLE_CHUNKS != 0,
                    row_view: flags & FLAG_ROW_VIEW != 0,
                    options: TuneOptions::from_slots(Some(t[5]), Some(t[6]))?,
                });
            }
        }
        Ok(Stored {
            typesize: values[2],
            chunk_bytes: values[3],
            nominal,
            shape,
            tail,
        })
    }

    /// The values to store for a dataset with chunks of `dims`.
    #[must_use]
    pub fn build(
        typesize: u32,
        chunk_bytes: u32,
        dims: &[u32],
        nominal: Nominal,
        tail: Option<Tail>,
    ) -> Stored {
        let (shape, tail) = match dims.len() {
            1 => (
                vec![1, dims[0]],
                tail.map(|t| Tail {
                    row_view: true,
                    ..t
                }),
            ),
            n if n <= MAX_DIM => (dims.to_vec(), tail),
            // Nothing may follow slot 6 without a rank the standard accepts.
            _ => (Vec::new(), None),
        };
        Stored {
            typesize,
            chunk_bytes,
            nominal,
            shape,
            tail,
        }
    }

    /// The `cd_values` to store.
    #[must_use]
    pub fn to_values(&self) -> Vec<u32> {
        let n = &self.nominal;
        let mut v = vec![
            REVISION,
            n.blocksize,
            self.typesize,
            self.chunk_bytes,
            n.clevel,
            n.shuffle,
            n.compcode,
        ];
        if !self.shape.is_empty() {
            v.push(self.shape.len() as u32);
            v.extend(&self.shape);
            if let Some(t) = &self.tail {
                let flags = [
                    (t.tune, FLAG_TUNE),
                    (t.whole_chunks, FLAG_WHOLE_CHUNKS),
                    (t.row_view, FLAG_ROW_VIEW),
                ]
                .iter()
                .filter(|(on, _)| *on)
                .fold(0, |acc, (_, flag)| acc | flag);
                let [tradeoff, perf] = t.options.slots();
                v.extend([
                    TAIL_MAGIC,
                    TAIL_VERSION,
                    t.dataset as u32,
                    (t.dataset >> 32) as u32,
                    flags,
                    tradeoff,
                    perf,
                ]);
            }
        }
        v
    }

    /// The chunk's true dimensions (a `(1, d)` row view read back as `(d,)`).
    #[must_use]
    pub fn dims(&self) -> &[u32] {
        match &self.tail {
            Some(t) if t.row_view && self.shape.len() == 2 => &self.shape[1..],
            _ => &self.shape,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hdf5plugin_values_mean_fixed_parameters() {
        // hdf5plugin.Blosc2(cname="zstd", clevel=3, filters=BITSHUFFLE)
        let r = Request::parse(&[0, 0, 0, 0, 3, 2, 5]).unwrap();
        let Request::Fixed(n) = r else {
            panic!("{r:?}")
        };
        let p = n.params(4, 40_000).unwrap();
        assert_eq!(
            p.to_string().split('/').take(3).collect::<Vec<_>>(),
            ["zstd", "bitshuffle", "3"]
        );
        // Default Blosc2(): blosclz 5 shuffle, split like c-blosc2's default.
        let Request::Fixed(n) = Request::parse(&[0, 0, 0, 0, 5, 1, 0]).unwrap() else {
            panic!()
        };
        assert_eq!(n.params(8, 80_000).unwrap().split, SplitMode::Always);
        assert_eq!(n.params(32, 80_000).unwrap().split, SplitMode::Never);
    }

    #[test]
    fn nothing_or_zeros_mean_tune() {
        for v in [
            &[][..],
            &[0, 0, 0, 0],
            &[0, 0, 0, 0, 0, 0, 0],
            &[1, 0, 8, 800, 0, 0, 0],
        ] {
            assert_eq!(
                Request::parse(v).unwrap(),
                Request::Tune(TuneOptions::default()),
                "{v:?}"
            );
        }
    }

    #[test]
    fn option_form_sets_tradeoff_and_perf_mode() {
        let r = Request::parse(&[TAIL_MAGIC, 250_000, 1]).unwrap();
        assert_eq!(
            r,
            Request::Tune(TuneOptions {
                tradeoff: Some(0.25),
                perf_mode: Some(PerfMode::Decomp)
            })
        );
        assert!(Request::parse(&[TAIL_MAGIC, 2_000_000]).is_err());
        assert!(Request::parse(&[TAIL_MAGIC, 0, 7]).is_err());
    }

    #[test]
    fn stored_values_round_trip_and_keep_the_standard_prefix() {
        let tail = Tail {
            dataset: 0x1234_5678_9abc_def0,
            tune: true,
            whole_chunks: true,
            row_view: false,
            options: TuneOptions {
                tradeoff: Some(0.7),
                perf_mode: None,
            },
        };
        let s = Stored::build(
            4,
            40_000,
            &[100, 100],
            Nominal::STANDARD_DEFAULT,
            Some(tail),
        );
        let v = s.to_values();
        assert_eq!(&v[..10], &[1, 0, 4, 40_000, 5, 1, 0, 2, 100, 100]);
        assert_eq!(v[10], TAIL_MAGIC);
        assert_eq!(Stored::parse(&v).unwrap(), s);
        // Copied to a new dataset, the request is kept.
        assert_eq!(Request::parse(&v).unwrap(), Request::Tune(tail.options));
    }

    #[test]
    fn one_dimensional_chunks_are_recorded_as_rows() {
        let tail = Tail {
            dataset: 9,
            tune: false,
            whole_chunks: true,
            row_view: false,
            options: TuneOptions::default(),
        };
        let s = Stored::build(8, 80_000, &[10_000], Nominal::STANDARD_DEFAULT, Some(tail));
        let v = s.to_values();
        assert_eq!(&v[7..10], &[2, 1, 10_000]);
        let back = Stored::parse(&v).unwrap();
        assert_eq!(back.dims(), &[10_000]);
        assert!(back.tail.unwrap().row_view);
    }

    #[test]
    fn many_dimensions_get_the_standard_seven_slots() {
        let s = Stored::build(1, 512, &[2; 9], Nominal::STANDARD_DEFAULT, None);
        assert_eq!(s.to_values().len(), 7);
    }

    #[test]
    fn standard_values_without_tail_parse() {
        let s = Stored::parse(&[1, 0, 4, 20_000, 3, 2, 5, 2, 10, 500]).unwrap();
        assert_eq!(s.shape, vec![10, 500]);
        assert!(s.tail.is_none());
        assert!(Stored::parse(&[1, 0, 4]).is_err());
        assert!(Stored::parse(&[1, 0, 4, 20_000, 3, 2, 5, 9]).is_err());
        assert!(Stored::parse(&[1, 0, 4, 20_000, 3, 2, 5, 3, 1, 2]).is_err());
    }

    #[test]
    fn unsupported_nominal_values_are_refused_clearly() {
        let n = |clevel, shuffle, compcode| Nominal {
            blocksize: 0,
            clevel,
            shuffle,
            compcode,
        };
        assert!(
            n(0, 1, 0)
                .params(4, 4000)
                .unwrap_err()
                .to_string()
                .contains("clevel 0")
        );
        assert!(
            n(5, 3, 0)
                .params(4, 4000)
                .unwrap_err()
                .to_string()
                .contains("shuffle 3")
        );
        assert!(
            n(5, 1, 3)
                .params(4, 4000)
                .unwrap_err()
                .to_string()
                .contains("codec code 3")
        );
    }
}
