//! The `"btune"` codec's JSON configuration, validated while it is
//! deserialized.
//!
//! The schema is shared with the zarr-python codec of the same name, so an
//! array written by either reads with the other:
//!
//! | key | type | meaning | default |
//! |---|---|---|---|
//! | `typesize` | integer 1..=255 | element size in bytes (zarrs does not tell bytes-to-bytes codecs) | 1 |
//! | `tradeoff` | number 0..=1 | 0 = speed ... 1 = ratio | `BTUNE_TRADEOFF`, else 0.5 |
//! | `perf_mode` | `"comp"`, `"decomp"` or `"balanced"` (any case) | which times count | `BTUNE_PERF_MODE`, else `comp` |
//! | `tune` | boolean | tune every chunk, or use `params` for all | `true` |
//! | `params` | text `codec/filter/clevel[/split[/blocksize[/Nt]]]` | the fixed parameters when `tune` is false (then required); informational otherwise | none |
//!
//! Unknown keys are ignored: decoders need nothing from the configuration
//! (each chunk's header describes it), and newer writers may add keys.
//!
//! ```
//! # let json = r#"
//! {
//!     "typesize": 8,
//!     "tune": false,
//!     "params": "zstd/shuffle/5/never"
//! }
//! # "#;
//! # use zarrs_btune::BtuneCodecConfiguration;
//! let c: BtuneCodecConfiguration = serde_json::from_str(json).unwrap();
//! assert_eq!(c.typesize().get(), 8);
//! assert!(!c.tune());
//! assert_eq!(c.params().unwrap().to_string(), "zstd/shuffle/5/never/auto/1t");
//! ```

use std::fmt;

use btune_core::{Params, PerfMode};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zarrs::metadata::ConfigurationSerialize;

/// The element size recorded in every chunk: 1..=255 bytes (c-blosc2 keeps
/// one byte for it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u64", into = "u8")]
pub struct Typesize(u8);

impl Typesize {
    /// One byte: the default when the configuration has no `typesize`.
    pub const ONE: Typesize = Typesize(1);

    /// A typesize, if `n` is in 1..=255.
    #[must_use]
    pub fn new(n: usize) -> Option<Typesize> {
        u8::try_from(n).ok().filter(|&n| n > 0).map(Typesize)
    }

    /// The size in bytes.
    #[must_use]
    pub const fn get(self) -> usize {
        self.0 as usize
    }
}

impl Default for Typesize {
    fn default() -> Self {
        Typesize::ONE
    }
}

impl TryFrom<u64> for Typesize {
    type Error = String;
    fn try_from(n: u64) -> Result<Self, Self::Error> {
        usize::try_from(n)
            .ok()
            .and_then(Typesize::new)
            .ok_or_else(|| format!("typesize {n} is outside 1..=255"))
    }
}

impl From<Typesize> for u8 {
    fn from(t: Typesize) -> u8 {
        t.0
    }
}

/// A tradeoff in [0, 1]: 0 asks for speed, 1 for compression ratio.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Tradeoff(f64);

impl Tradeoff {
    /// A tradeoff, if `t` is in [0, 1] (NaN is not).
    #[must_use]
    pub fn new(t: f64) -> Option<Tradeoff> {
        (0.0..=1.0).contains(&t).then_some(Tradeoff(t))
    }

    /// The value.
    #[must_use]
    pub const fn get(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for Tradeoff {
    type Error = String;
    fn try_from(t: f64) -> Result<Self, Self::Error> {
        Tradeoff::new(t).ok_or_else(|| format!("tradeoff {t} is outside [0, 1]"))
    }
}

impl From<Tradeoff> for f64 {
    fn from(t: Tradeoff) -> f64 {
        t.0
    }
}

/// A [`PerfMode`] as the configuration writes it: lowercase, read in any
/// case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PerfModeName(pub PerfMode);

impl Serialize for PerfModeName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.name().to_ascii_lowercase())
    }
}

impl<'de> Deserialize<'de> for PerfModeName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<PerfMode>().map(PerfModeName).map_err(|_| {
            serde::de::Error::custom(format!(
                "perf_mode {s:?} is not one of \"comp\", \"decomp\", \"balanced\""
            ))
        })
    }
}

/// A parameter set in the core's text form (`zstd/shuffle/5/never`), kept
/// as parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ParamsText(pub Params);

impl Serialize for ParamsText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ParamsText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<Params>()
            .map(ParamsText)
            .map_err(|e| serde::de::Error::custom(format!("params: {e}")))
    }
}

/// The configuration as written, before the checks that involve several
/// keys.
#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    typesize: Typesize,
    #[serde(default)]
    tradeoff: Option<Tradeoff>,
    #[serde(default)]
    perf_mode: Option<PerfModeName>,
    #[serde(default)]
    tune: Option<bool>,
    #[serde(default)]
    params: Option<ParamsText>,
}

/// The `"btune"` codec's configuration (see the [module docs](self) for
/// the schema). Only valid values deserialize: a typesize outside 1..=255,
/// a tradeoff outside [0, 1], an unknown performance mode, parameter text
/// the core cannot parse, or `"tune": false` without `params` are refused
/// with a message naming the key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Raw")]
pub struct BtuneCodecConfiguration {
    typesize: Typesize,
    #[serde(skip_serializing_if = "Option::is_none")]
    tradeoff: Option<Tradeoff>,
    #[serde(skip_serializing_if = "Option::is_none")]
    perf_mode: Option<PerfModeName>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tune: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<ParamsText>,
}

impl ConfigurationSerialize for BtuneCodecConfiguration {}

/// A configuration that is not valid: what [`BtuneCodecConfiguration`]'s
/// constructors and deserializer refuse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidConfiguration(String);

impl fmt::Display for InvalidConfiguration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid btune codec configuration: {}", self.0)
    }
}

impl std::error::Error for InvalidConfiguration {}

impl TryFrom<Raw> for BtuneCodecConfiguration {
    type Error = InvalidConfiguration;
    fn try_from(r: Raw) -> Result<Self, Self::Error> {
        if r.tune == Some(false) && r.params.is_none() {
            return Err(InvalidConfiguration(
                "\"tune\": false needs \"params\" (the fixed parameters, e.g. \"zstd/shuffle/5/never\")"
                    .to_owned(),
            ));
        }
        Ok(BtuneCodecConfiguration {
            typesize: r.typesize,
            tradeoff: r.tradeoff,
            perf_mode: r.perf_mode,
            tune: r.tune,
            params: r.params,
        })
    }
}

impl BtuneCodecConfiguration {
    /// Tuned compression of elements of `typesize` bytes, with the tradeoff
    /// and performance mode of the environment (`BTUNE_TRADEOFF`,
    /// `BTUNE_PERF_MODE`) or the core's defaults.
    #[must_use]
    pub fn tuned(typesize: Typesize) -> Self {
        BtuneCodecConfiguration {
            typesize,
            tradeoff: None,
            perf_mode: None,
            tune: None,
            params: None,
        }
    }

    /// The same parameters for every chunk.
    #[must_use]
    pub fn fixed(typesize: Typesize, params: Params) -> Self {
        BtuneCodecConfiguration {
            tune: Some(false),
            params: Some(ParamsText(params)),
            ..Self::tuned(typesize)
        }
    }

    /// This configuration with a tradeoff. If left unset, `BTUNE_TRADEOFF`
    /// or the core's default (0.5) applies.
    #[must_use]
    pub fn with_tradeoff(mut self, tradeoff: Tradeoff) -> Self {
        self.tradeoff = Some(tradeoff);
        self
    }

    /// This configuration with a performance mode. If left unset,
    /// `BTUNE_PERF_MODE` or the core's default (COMP) applies.
    #[must_use]
    pub fn with_perf_mode(mut self, perf_mode: PerfMode) -> Self {
        self.perf_mode = Some(PerfModeName(perf_mode));
        self
    }

    /// This configuration with nominal parameters: informational when
    /// tuning, the parameters of every chunk when not.
    #[must_use]
    pub fn with_params(mut self, params: Params) -> Self {
        self.params = Some(ParamsText(params));
        self
    }

    /// The element size.
    #[must_use]
    pub fn typesize(&self) -> Typesize {
        self.typesize
    }

    /// The tradeoff, if set.
    #[must_use]
    pub fn tradeoff(&self) -> Option<f64> {
        self.tradeoff.map(Tradeoff::get)
    }

    /// The performance mode, if set.
    #[must_use]
    pub fn perf_mode(&self) -> Option<PerfMode> {
        self.perf_mode.map(|m| m.0)
    }

    /// Whether chunks are tuned (`tune`, default true).
    #[must_use]
    pub fn tune(&self) -> bool {
        self.tune.unwrap_or(true)
    }

    /// The nominal parameters, if set.
    #[must_use]
    pub fn params(&self) -> Option<Params> {
        self.params.map(|p| p.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<BtuneCodecConfiguration, String> {
        serde_json::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults() {
        let c = parse("{}").unwrap();
        assert_eq!(c.typesize(), Typesize::ONE);
        assert!(c.tune());
        assert_eq!(c.tradeoff(), None);
        assert_eq!(c.perf_mode(), None);
        assert_eq!(c.params(), None);
        assert_eq!(serde_json::to_string(&c).unwrap(), r#"{"typesize":1}"#);
    }

    #[test]
    fn every_key_round_trips_and_perf_mode_is_written_lowercase() {
        let c = parse(
            r#"{"typesize": 4, "tradeoff": 0.25, "perf_mode": "DECOMP", "tune": true,
                "params": "lz4/bitshuffle/7"}"#,
        )
        .unwrap();
        assert_eq!(c.tradeoff(), Some(0.25));
        assert_eq!(c.perf_mode(), Some(PerfMode::Decomp));
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"typesize": 4, "tradeoff": 0.25, "perf_mode": "decomp",
                               "tune": true, "params": "lz4/bitshuffle/7/never/auto/1t"})
        );
        assert_eq!(
            serde_json::from_value::<BtuneCodecConfiguration>(v).unwrap(),
            c
        );
    }

    #[test]
    fn unknown_keys_are_ignored() {
        let c = parse(r#"{"typesize": 2, "future_key": [1, 2], "blocksize": 0}"#).unwrap();
        assert_eq!(c.typesize().get(), 2);
    }

    #[test]
    fn integers_are_tradeoffs() {
        assert_eq!(parse(r#"{"tradeoff": 1}"#).unwrap().tradeoff(), Some(1.0));
    }

    #[test]
    fn invalid_values_are_refused_naming_the_key() {
        for (json, needle) in [
            (r#"{"typesize": 0}"#, "typesize 0"),
            (r#"{"typesize": 256}"#, "typesize 256"),
            (r#"{"typesize": -1}"#, "invalid value"),
            (r#"{"tradeoff": 1.5}"#, "tradeoff 1.5"),
            (r#"{"tradeoff": -0.1}"#, "tradeoff -0.1"),
            (r#"{"tradeoff": "high"}"#, "invalid type"),
            (r#"{"perf_mode": "fast"}"#, "perf_mode \"fast\""),
            (r#"{"params": "brotli/none/5"}"#, "params: unknown codec"),
            (
                r#"{"params": "zstd/none/0"}"#,
                "params: compression level 0",
            ),
            (r#"{"tune": false}"#, "needs \"params\""),
            (r#"{"tune": "no"}"#, "invalid type"),
        ] {
            let e = parse(json).unwrap_err();
            assert!(e.contains(needle), "{json}: {e}");
        }
    }

    #[test]
    fn builders_match_the_json() {
        let p: Params = "zstd/shuffle/5/never".parse().unwrap();
        let c = BtuneCodecConfiguration::fixed(Typesize::new(8).unwrap(), p)
            .with_tradeoff(Tradeoff::new(0.7).unwrap())
            .with_perf_mode(PerfMode::Balanced);
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            serde_json::json!({"typesize": 8, "tradeoff": 0.7, "perf_mode": "balanced",
                               "tune": false, "params": "zstd/shuffle/5/never/auto/1t"})
        );
    }
}
