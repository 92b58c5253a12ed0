//! Decoders for the two compressors Zarr arrays most often carry, which
//! zarrs' own codecs cannot provide in this binary: zarrs' `zstd` and
//! `blosc` codecs link a libzstd (zstd-sys, blosc-src) next to the one
//! c-blosc2 bundles, unprefixed, and the link fails with duplicate symbols.
//!
//! - `zstd` (zarr-python 3's default compressor): decoded by `ruzstd`, a
//!   pure-Rust zstd decoder.
//! - `blosc` (zarr v2's default, numcodecs' Blosc): the Blosc1 chunk format,
//!   which c-blosc2 reads, through `btune_core::blosc2`.
//!
//! Both are registered with zarrs' run-time registry under their Zarr v3
//! names and v2 ids, for reading only: encoding fails with a message (the
//! `btune` commands never write them).

use std::borrow::Cow;
use std::sync::{Arc, Once};

use zarrs::array::codec::api::{
    CodecRuntimePluginV2, CodecRuntimePluginV3, PartialDecoderCapability, PartialEncoderCapability,
    register_codec_v2, register_codec_v3,
};
use zarrs::array::{
    ArrayBytesRaw, BytesRepresentation, BytesToBytesCodecTraits, Codec, CodecError,
    CodecMetadataOptions, CodecOptions, CodecTraits, RecommendedConcurrency,
};
use zarrs::metadata::Configuration;
use zarrs::plugin::{ExtensionName, ZarrVersion};
use zarrs_btune::check_decoded_size;

/// Registers both decoders, once per process.
pub(crate) fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for (name, kind) in [("zstd", Kind::Zstd), ("blosc", Kind::Blosc1)] {
            register_codec_v3(CodecRuntimePluginV3::new(
                move |n| n == name,
                move |m| Ok(Decoder::codec(kind, m.configuration().cloned())),
            ));
            register_codec_v2(CodecRuntimePluginV2::new(
                move |n| n == name,
                move |m| Ok(Decoder::codec(kind, Some(m.configuration().clone()))),
            ));
        }
    });
}

/// Which format a [`Decoder`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Zstd,
    Blosc1,
}

/// A read-only bytes-to-bytes codec.
#[derive(Clone, Debug)]
struct Decoder {
    kind: Kind,
    configuration: Option<Configuration>,
}

impl ExtensionName for Decoder {
    fn name(&self, _version: ZarrVersion) -> Option<Cow<'static, str>> {
        Some(Cow::Borrowed(self.format()))
    }
}

impl Decoder {
    fn codec(kind: Kind, configuration: Option<Configuration>) -> Codec {
        Codec::BytesToBytes(Arc::new(Decoder {
            kind,
            configuration,
        }))
    }

    fn format(&self) -> &'static str {
        match self.kind {
            Kind::Zstd => "zstd",
            Kind::Blosc1 => "blosc",
        }
    }
}

impl CodecTraits for Decoder {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn configuration(
        &self,
        _version: ZarrVersion,
        _options: &CodecMetadataOptions,
    ) -> Option<Configuration> {
        self.configuration.clone()
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

fn zstd_decode(input: &[u8], decoded: &BytesRepresentation) -> Result<Vec<u8>, CodecError> {
    let err = |e: &dyn std::fmt::Display| CodecError::Other(format!("zstd: {e}"));
    let decode = || -> Result<Vec<u8>, CodecError> {
        let mut dec = ruzstd::decoding::FrameDecoder::new();
        if let Some(n) = decoded.size() {
            // The output never grows past the size zarrs expects.
            let n = usize::try_from(n).map_err(|e| err(&e))?;
            let mut out = Vec::with_capacity(n);
            dec.decode_all_to_vec(input, &mut out)
                .map_err(|e| err(&e))?;
            return Ok(out);
        }
        let mut out = Vec::new();
        let mut reader = ruzstd::decoding::StreamingDecoder::new(input).map_err(|e| err(&e))?;
        std::io::Read::read_to_end(&mut reader, &mut out).map_err(|e| err(&e))?;
        Ok(out)
    };
    // Corrupt input must give an error, whatever the decoder does.
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode))
        .map_err(|_| CodecError::Other("zstd: the decoder failed on corrupt data".to_owned()))??;
    check_decoded_size(out.len(), decoded)?;
    Ok(out)
}

fn blosc1_decode(input: &[u8], decoded: &BytesRepresentation) -> Result<Vec<u8>, CodecError> {
    let err = |e: btune_core::CodecError| CodecError::Other(format!("blosc: {e}"));
    let len = btune_core::blosc2::decompressed_len(input).map_err(err)?;
    check_decoded_size(len, decoded)?;
    let mut out = vec![0u8; len];
    btune_core::blosc2::decompress_into(input, &mut out, 1).map_err(err)?;
    Ok(out)
}

impl BytesToBytesCodecTraits for Decoder {
    fn into_dyn(self: Arc<Self>) -> Arc<dyn BytesToBytesCodecTraits> {
        self as Arc<dyn BytesToBytesCodecTraits>
    }

    fn recommended_concurrency(
        &self,
        _decoded_representation: &BytesRepresentation,
    ) -> Result<RecommendedConcurrency, CodecError> {
        Ok(RecommendedConcurrency::new_maximum(1))
    }

    fn encoded_representation(
        &self,
        _decoded_representation: &BytesRepresentation,
    ) -> BytesRepresentation {
        BytesRepresentation::UnboundedSize
    }

    fn encode<'a>(
        &self,
        _decoded_value: ArrayBytesRaw<'a>,
        _options: &CodecOptions,
    ) -> Result<ArrayBytesRaw<'a>, CodecError> {
        Err(CodecError::Other(format!(
            "btune reads the {} codec but does not write it",
            self.format()
        )))
    }

    fn decode<'a>(
        &self,
        encoded_value: ArrayBytesRaw<'a>,
        decoded_representation: &BytesRepresentation,
        _options: &CodecOptions,
    ) -> Result<ArrayBytesRaw<'a>, CodecError> {
        let out = match self.kind {
            Kind::Zstd => zstd_decode(&encoded_value, decoded_representation)?,
            Kind::Blosc1 => blosc1_decode(&encoded_value, decoded_representation)?,
        };
        Ok(Cow::Owned(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Vec<u8> {
        (0..20_000u32).flat_map(|i| (i / 9).to_le_bytes()).collect()
    }

    #[test]
    fn zstd_round_trips_and_refuses_bad_input() {
        let d = data();
        let z =
            ruzstd::encoding::compress_to_vec(&d[..], ruzstd::encoding::CompressionLevel::Fastest);
        let fixed = BytesRepresentation::FixedSize(d.len() as u64);
        assert_eq!(zstd_decode(&z, &fixed).unwrap(), d);
        assert_eq!(
            zstd_decode(&z, &BytesRepresentation::UnboundedSize).unwrap(),
            d
        );
        let short = BytesRepresentation::FixedSize(d.len() as u64 - 1);
        assert!(zstd_decode(&z, &short).is_err());
        let long = BytesRepresentation::FixedSize(d.len() as u64 + 1);
        assert!(zstd_decode(&z, &long).is_err());
        assert!(zstd_decode(&z[..z.len() / 2], &fixed).is_err());
        assert!(zstd_decode(&[0x28, 0xb5, 0x2f, 0xfd, 0xff, 0xff], &fixed).is_err());
        assert!(zstd_decode(b"garbage", &fixed).is_err());
    }

    #[test]
    fn blosc_reads_blosc1_memcpyed_and_blosc2_chunks() {
        let d = data();
        // A Blosc1 chunk stored raw: 16-byte header (format version 2,
        // memcpy flag), then the bytes.
        let mut b1 = vec![2u8, 1, 0x02 | 0x01, 4];
        for v in [d.len(), d.len(), d.len() + 16] {
            b1.extend_from_slice(&u32::try_from(v).unwrap().to_le_bytes());
        }
        b1.extend_from_slice(&d);
        let fixed = BytesRepresentation::FixedSize(d.len() as u64);
        assert_eq!(blosc1_decode(&b1, &fixed).unwrap(), d);
        let p = "lz4/shuffle/5".parse().unwrap();
        let b2 = btune_core::blosc2::compress(&d, 4, &p).unwrap();
        assert_eq!(blosc1_decode(&b2, &fixed).unwrap(), d);
        assert!(blosc1_decode(&b2[..20], &fixed).is_err());
        let short = BytesRepresentation::FixedSize(d.len() as u64 - 4);
        assert!(blosc1_decode(&b2, &short).is_err());
    }
}
