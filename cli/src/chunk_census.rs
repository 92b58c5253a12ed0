//! What the stored chunks of one dataset or array carry: the parameter sets
//! their Blosc2 headers record, counted. Shared by `btune h5 inspect` and
//! `btune zarr inspect`.

use std::collections::BTreeMap;

use btune_core::blosc2::{self, ChunkInfo};
use btune_core::{Codec, CodecError, Filter};
use serde::Serialize;

/// The parameters a chunk header records (the header cannot tell lz4 from
/// lz4hc, nor record the clevel).
#[derive(Serialize, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Header {
    codec: String,
    filter: String,
    split: String,
    blocksize: usize,
    /// Blocks stored uncompressed (data that did not compress).
    memcpyed: bool,
}

impl Header {
    fn of(info: &ChunkInfo) -> Header {
        Header {
            codec: match info.codec {
                Some(Codec::Lz4 | Codec::Lz4Hc) => "lz4/lz4hc".to_owned(),
                Some(c) => c.name().to_owned(),
                None => "other".to_owned(),
            },
            filter: info
                .filter
                .map_or_else(|| "other".to_owned(), |f: Filter| f.name().to_owned()),
            split: info.split.name().to_owned(),
            blocksize: info.blocksize,
            memcpyed: info.memcpyed,
        }
    }
}

/// Chunks sharing the same header parameters.
#[derive(Serialize, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct ParamSet {
    #[serde(flatten)]
    header: Header,
    chunks: u64,
    nbytes: u64,
    cbytes: u64,
}

/// Chunk headers counted by parameter set.
#[derive(Default)]
pub(crate) struct Census {
    sets: BTreeMap<Header, ParamSet>,
}

impl Census {
    /// The header of a stored chunk: a plain c-blosc2 chunk or a one-chunk
    /// frame.
    pub(crate) fn header(stored: Vec<u8>) -> Result<ChunkInfo, CodecError> {
        let plain = if blosc2::is_frame(&stored) {
            blosc2::frame_chunk_bytes(&stored)?
        } else {
            stored
        };
        blosc2::inspect(&plain)
    }

    /// Counts one chunk.
    pub(crate) fn add(&mut self, info: &ChunkInfo) {
        let header = Header::of(info);
        let s = self.sets.entry(header.clone()).or_insert(ParamSet {
            header,
            chunks: 0,
            nbytes: 0,
            cbytes: 0,
        });
        s.chunks += 1;
        s.nbytes += info.nbytes as u64;
        s.cbytes += info.cbytes as u64;
    }

    /// The parameter sets, most used first.
    pub(crate) fn into_sets(self) -> Vec<ParamSet> {
        let mut sets: Vec<ParamSet> = self.sets.into_values().collect();
        sets.sort_by(|a, b| b.chunks.cmp(&a.chunks).then(a.cmp(b)));
        sets
    }
}

/// One line per parameter set: count, parameters, ratio.
pub(crate) fn print_sets(sets: &[ParamSet]) {
    for p in sets {
        let ratio = if p.cbytes > 0 {
            format!("{:.2}", p.nbytes as f64 / p.cbytes as f64)
        } else {
            "-".to_owned()
        };
        println!(
            "  {:>6} x {}/{}/split {}/blocksize {}{}  (ratio {ratio})",
            p.chunks,
            p.header.codec,
            p.header.filter,
            p.header.split,
            p.header.blocksize,
            if p.header.memcpyed { " stored raw" } else { "" }
        );
    }
}
