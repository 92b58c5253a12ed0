//! The `btune` bytes-to-bytes codec.
//!
//! Compresses each chunk into one plain c-blosc2 chunk whose parameters
//! (codec, filter pipeline, level, split mode, block size) the btune tuner
//! picks for that chunk's data, or fixed parameters from the configuration.
//! Every chunk's header describes how it was compressed, so any c-blosc2
//! decoder reads it (python-blosc2's `blosc2.decompress`, c-blosc2's
//! `blosc2_decompress`); this decoder also accepts a one-chunk Blosc2 frame.
//!
//! The Zarr spec's `blosc` codec is Blosc1's format, which c-blosc 1 (used by
//! numcodecs and by zarrs' own `blosc` codec) cannot read when c-blosc2
//! wrote it, hence a codec name of its own.
//!
//! One tuner per codec instance, which zarrs creates per opened array: the
//! threads zarrs encodes an array's chunks with share it, and different
//! arrays tune independently. Tuning state is not stored: an array reopened
//! for writing starts tuning afresh.
//!
//! ### Codec `name` Aliases (Zarr V3)
//! - `btune`
//!
//! ### Codec `configuration` Example - [`BtuneCodecConfiguration`]:
//! ```rust
//! # let JSON = r#"
//! {
//!     "typesize": 4,
//!     "tradeoff": 0.5,
//!     "perf_mode": "comp",
//!     "tune": true
//! }
//! # "#;
//! # use zarrs_btune::BtuneCodecConfiguration;
//! # serde_json::from_str::<BtuneCodecConfiguration>(JSON).unwrap();
//! ```

use std::borrow::Cow;
use std::sync::Arc;

use btune_core::{ChunkFormat, Config, Params, Tuner, blosc2};
use zarrs::array::codec::api::{
    CodecPluginV3, InvalidBytesLengthError, PartialDecoderCapability, PartialEncoderCapability,
};
use zarrs::array::{
    ArrayBytesRaw, BytesRepresentation, BytesToBytesCodecTraits, Codec, CodecError,
    CodecMetadataOptions, CodecOptions, CodecTraits, CodecTraitsV3, RecommendedConcurrency,
};
use zarrs::metadata::Configuration;
use zarrs::metadata::v3::MetadataV3;
use zarrs::plugin::{PluginCreateError, ZarrVersion};

use crate::configuration::BtuneCodecConfiguration;

/// The codec's name in Zarr v3 metadata.
pub const BTUNE: &str = "btune";

zarrs::plugin::impl_extension_aliases!(BtuneCodec, v3: "btune");

// Register the V3 codec: linking this crate is all it takes.
inventory::submit! {
    CodecPluginV3::new::<BtuneCodec>()
}

impl CodecTraitsV3 for BtuneCodec {
    fn create(metadata: &MetadataV3) -> Result<Codec, PluginCreateError> {
        let configuration: BtuneCodecConfiguration = metadata.to_typed_configuration()?;
        let codec = BtuneCodec::new_with_configuration(&configuration)?;
        Ok(Codec::BytesToBytes(Arc::new(codec)))
    }
}

/// How chunks are compressed.
#[derive(Clone)]
enum Mode {
    /// By this array's tuner.
    Tuned(Arc<Tuner>),
    /// With these parameters.
    Fixed(Params),
}

/// The `btune` codec: tuned (or fixed) Blosc2 compression per chunk.
///
/// ```
/// use std::sync::Arc;
/// use zarrs::array::{ArrayBuilder, data_type};
/// use zarrs::storage::store::MemoryStore;
/// use zarrs_btune::{BtuneCodec, BtuneCodecConfiguration, Typesize};
///
/// let store = Arc::new(MemoryStore::new());
/// let config = BtuneCodecConfiguration::tuned(Typesize::new(4).unwrap());
/// let array = ArrayBuilder::new(vec![1000], vec![256], data_type::float32(), 0.0f32)
///     .bytes_to_bytes_codecs(vec![Arc::new(BtuneCodec::new_with_configuration(&config).unwrap())])
///     .build(store, "/a")
///     .unwrap();
/// let data: Vec<f32> = (0..1000).map(|i| (i as f32 * 0.01).sin()).collect();
/// array.store_array_subset(&[0..1000], data.clone()).unwrap();
/// let back: Vec<f32> = array.retrieve_array_subset(&[0..1000]).unwrap();
/// assert_eq!(back, data);
/// ```
#[derive(Clone)]
pub struct BtuneCodec {
    configuration: BtuneCodecConfiguration,
    mode: Mode,
}

impl std::fmt::Debug for BtuneCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match &self.mode {
            Mode::Tuned(t) => format!("tuned ({})", t.winner()),
            Mode::Fixed(p) => format!("fixed ({p})"),
        };
        f.debug_struct("BtuneCodec")
            .field("configuration", &self.configuration)
            .field("mode", &mode)
            .finish()
    }
}

impl BtuneCodec {
    /// A codec for this configuration. Tuning starts from
    /// `btune_core::Config::from_env()` (the `BTUNE_*` variables), with the
    /// configuration's `tradeoff` and `perf_mode` taking precedence.
    ///
    /// # Errors
    /// [`PluginCreateError::Other`] if the tuner refuses the configuration
    /// (which deserializing already validated, so this is not expected).
    pub fn new_with_configuration(
        configuration: &BtuneCodecConfiguration,
    ) -> Result<Self, PluginCreateError> {
        let mode = match (configuration.tune(), configuration.params()) {
            (false, Some(params)) => Mode::Fixed(params),
            (false, None) => {
                return Err(PluginCreateError::Other(
                    "btune codec: \"tune\": false needs \"params\"".to_owned(),
                ));
            }
            (true, _) => {
                let mut config = Config::from_env();
                if let Some(t) = configuration.tradeoff() {
                    config.tradeoff = t;
                }
                if let Some(m) = configuration.perf_mode() {
                    config.perf_mode = m;
                }
                let tuner = Tuner::new(config, configuration.typesize().get())
                    .map_err(|e| PluginCreateError::Other(format!("btune codec: {e}")))?;
                Mode::Tuned(Arc::new(tuner))
            }
        };
        Ok(BtuneCodec {
            configuration: configuration.clone(),
            mode,
        })
    }

    /// The configuration this codec was made with.
    #[must_use]
    pub fn configuration_typed(&self) -> &BtuneCodecConfiguration {
        &self.configuration
    }

    /// This array's tuner, when chunks are tuned: its statistics tell which
    /// parameters the chunks written so far got.
    #[must_use]
    pub fn tuner(&self) -> Option<&Arc<Tuner>> {
        match &self.mode {
            Mode::Tuned(t) => Some(t),
            Mode::Fixed(_) => None,
        }
    }
}

fn codec_error(e: &btune_core::CodecError) -> CodecError {
    CodecError::Other(format!("btune codec: {e}"))
}

impl CodecTraits for BtuneCodec {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn configuration(
        &self,
        _version: ZarrVersion,
        _options: &CodecMetadataOptions,
    ) -> Option<Configuration> {
        Some(self.configuration.clone().into())
    }

    fn partial_decoder_capability(&self) -> PartialDecoderCapability {
        PartialDecoderCapability {
            partial_read: false,
            partial_decode: false,
        }
    }

    fn partial_encoder_capability(&self) -> PartialEncoderCapability {
        PartialEncoderCapability {
            partial_encode: false,
        }
    }
}

impl BytesToBytesCodecTraits for BtuneCodec {
    fn into_dyn(self: Arc<Self>) -> Arc<dyn BytesToBytesCodecTraits> {
        self as Arc<dyn BytesToBytesCodecTraits>
    }

    fn recommended_concurrency(
        &self,
        _decoded_representation: &BytesRepresentation,
    ) -> Result<RecommendedConcurrency, CodecError> {
        // One thread per chunk: zarrs spreads chunks over its threads.
        Ok(RecommendedConcurrency::new_maximum(1))
    }

    fn encode<'a>(
        &self,
        decoded_value: ArrayBytesRaw<'a>,
        _options: &CodecOptions,
    ) -> Result<ArrayBytesRaw<'a>, CodecError> {
        let typesize = self.configuration.typesize().get();
        let bytes = match &self.mode {
            Mode::Tuned(tuner) => {
                tuner
                    .compress(&decoded_value, ChunkFormat::Chunk)
                    .map_err(|e| codec_error(&e))?
                    .bytes
            }
            Mode::Fixed(params) => {
                blosc2::compress(&decoded_value, typesize, params).map_err(|e| codec_error(&e))?
            }
        };
        Ok(Cow::Owned(bytes))
    }

    fn decode<'a>(
        &self,
        encoded_value: ArrayBytesRaw<'a>,
        decoded_representation: &BytesRepresentation,
        _options: &CodecOptions,
    ) -> Result<ArrayBytesRaw<'a>, CodecError> {
        // The size the header claims is checked before anything is
        // allocated, so a corrupt header cannot ask for gigabytes.
        let len = blosc2::decompressed_len(&encoded_value).map_err(|e| codec_error(&e))?;
        check_decoded_size(len, decoded_representation)?;
        let mut out = vec![0u8; len];
        blosc2::decompress_into(&encoded_value, &mut out, 1).map_err(|e| codec_error(&e))?;
        Ok(Cow::Owned(out))
    }

    fn encoded_representation(
        &self,
        decoded_representation: &BytesRepresentation,
    ) -> BytesRepresentation {
        let overhead = blosc2::MAX_OVERHEAD as u64;
        match *decoded_representation {
            BytesRepresentation::FixedSize(n) | BytesRepresentation::BoundedSize(n) => {
                BytesRepresentation::BoundedSize(n + overhead)
            }
            BytesRepresentation::UnboundedSize => BytesRepresentation::UnboundedSize,
        }
    }
}

/// Whether `len` decoded bytes fit what zarrs expects: exactly a fixed
/// size, at most a bounded one, anything otherwise.
///
/// # Errors
/// [`InvalidBytesLengthError`] (as a [`CodecError`]) if they do not.
pub fn check_decoded_size(len: usize, decoded: &BytesRepresentation) -> Result<(), CodecError> {
    let ok = match *decoded {
        BytesRepresentation::FixedSize(n) => len as u64 == n,
        BytesRepresentation::BoundedSize(n) => len as u64 <= n,
        BytesRepresentation::UnboundedSize => true,
    };
    if ok {
        Ok(())
    } else {
        let expected = decoded
            .size()
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or(usize::MAX);
        Err(InvalidBytesLengthError::new(len, expected).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::configuration::Typesize;

    fn codec(json: &str) -> BtuneCodec {
        let c: BtuneCodecConfiguration = serde_json::from_str(json).unwrap();
        BtuneCodec::new_with_configuration(&c).unwrap()
    }

    fn data() -> Vec<u8> {
        (0..50_000u32).flat_map(|i| (i / 3).to_le_bytes()).collect()
    }

    #[test]
    fn round_trip_tuned_and_fixed() {
        let d = data();
        let repr = BytesRepresentation::FixedSize(d.len() as u64);
        for json in [
            r#"{"typesize": 4}"#,
            r#"{"typesize": 4, "tune": false, "params": "zstd/shuffle/3"}"#,
        ] {
            let c = codec(json);
            let enc = c
                .encode(Cow::Borrowed(&d), &CodecOptions::default())
                .unwrap();
            assert!(enc.len() < d.len() / 4, "{json}");
            let dec = c.decode(enc, &repr, &CodecOptions::default()).unwrap();
            assert_eq!(dec, d);
        }
    }

    #[test]
    fn wrong_size_and_garbage_are_errors() {
        let d = data();
        let c = codec(r#"{"typesize": 4}"#);
        let enc = c
            .encode(Cow::Borrowed(&d), &CodecOptions::default())
            .unwrap()
            .into_owned();
        let short = BytesRepresentation::FixedSize(d.len() as u64 - 4);
        let e = c
            .decode(Cow::Borrowed(&enc), &short, &CodecOptions::default())
            .unwrap_err();
        assert!(
            matches!(e, CodecError::UnexpectedChunkDecodedSize(_)),
            "{e}"
        );
        let repr = BytesRepresentation::FixedSize(d.len() as u64);
        for bad in [&enc[..10], &enc[..enc.len() / 2], &[0xffu8; 64][..]] {
            assert!(
                c.decode(Cow::Borrowed(bad), &repr, &CodecOptions::default())
                    .is_err()
            );
        }
    }

    #[test]
    fn frames_decode_too() {
        let d = data();
        let p: Params = "lz4/shuffle/5".parse().unwrap();
        let frame = blosc2::chunk_to_frame(&blosc2::compress(&d, 4, &p).unwrap(), 4).unwrap();
        let c = codec("{}");
        let repr = BytesRepresentation::FixedSize(d.len() as u64);
        let dec = c
            .decode(Cow::Owned(frame), &repr, &CodecOptions::default())
            .unwrap();
        assert_eq!(dec, d);
    }

    #[test]
    fn configuration_is_written_back() {
        let p: Params = "zstd/shuffle/5/never".parse().unwrap();
        let c = BtuneCodec::new_with_configuration(&BtuneCodecConfiguration::fixed(
            Typesize::new(2).unwrap(),
            p,
        ))
        .unwrap();
        let conf = c
            .configuration(ZarrVersion::V3, &CodecMetadataOptions::default())
            .unwrap();
        let v = serde_json::to_value(&conf).unwrap();
        assert_eq!(v["typesize"], 2);
        assert_eq!(v["tune"], false);
        assert_eq!(v["params"], "zstd/shuffle/5/never/auto/1t");
    }

    #[test]
    fn metadata_creates_through_the_registry() {
        let m: MetadataV3 =
            serde_json::from_str(r#"{"name": "btune", "configuration": {"typesize": 8, "x": 1}}"#)
                .unwrap();
        let Codec::BytesToBytes(c) = Codec::from_metadata(&m).unwrap() else {
            panic!("not a bytes-to-bytes codec");
        };
        let c = c.as_any().downcast_ref::<BtuneCodec>().unwrap();
        assert_eq!(c.configuration_typed().typesize().get(), 8);
        let bad: MetadataV3 =
            serde_json::from_str(r#"{"name": "btune", "configuration": {"typesize": 300}}"#)
                .unwrap();
        let e = Codec::from_metadata(&bad).unwrap_err();
        assert!(e.to_string().contains("typesize 300"), "{e}");
    }
}
