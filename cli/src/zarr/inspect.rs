//! `btune zarr inspect PATH`: per array its shape, data type, chunk shape,
//! codec chain, logical and stored size; for arrays of the `"btune"` codec
//! the configuration and the parameter sets found in the headers of the
//! stored chunks (inner chunks of sharded arrays), with counts.
//!
//! Chunk headers tell codec family, filter pipeline, split mode and block
//! size; not the compression level. LZ4 and LZ4HC share a format, shown as
//! `lz4/lz4hc`.

use std::path::Path;

use anyhow::Result;
use serde::Serialize;

use crate::chunk_census::{Census, ParamSet, print_sets};
use serde_json::Value;
use zarrs::array::{
    Array, ArrayMetadata, ArrayShardedExt, ArrayShardedReadableExt, ArrayShardedReadableExtCache,
    ArraySubset,
};
use zarrs::filesystem::FilesystemStore;
use zarrs::metadata::v3::MetadataV3;
use zarrs::plugin::ExtensionName;
use zarrs::storage::ReadableStorageTraits;

use super::{
    Kind, chunk_indices, codec_name, codec_text, fmt_shape, metadata_v3, open_store, walk,
};

/// One array's report (a JSON line with `--json`).
#[derive(Serialize)]
struct Report {
    array: String,
    dtype: String,
    shape: Vec<u64>,
    /// The chunk (or shard) shape of a regular grid.
    chunks: Option<Vec<u64>>,
    /// The inner chunk shape of a sharded array.
    inner_chunks: Option<Vec<u64>>,
    codecs: Vec<Value>,
    grid_chunks: u64,
    stored_chunks: u64,
    logical_bytes: u64,
    stored_bytes: u64,
    /// logical / stored bytes.
    ratio: Option<f64>,
    btune: Option<BtuneReport>,
    error: Option<String>,
}

/// What a btune array's configuration and chunks say.
#[derive(Serialize, Default)]
struct BtuneReport {
    configuration: Value,
    /// Chunks whose header was read (inner chunks if sharded).
    chunks: u64,
    /// Parameter sets with the number of chunks carrying each.
    params: Vec<ParamSet>,
    /// Chunks whose header could not be read.
    undecoded_chunks: u64,
    /// Why headers were not read (first failure, or btune not last).
    decode_error: Option<String>,
}

/// Prints the report of every array under `path`.
///
/// # Errors
/// If `path` is not a Zarr hierarchy; an array that cannot be read is
/// reported with its error.
pub(super) fn run(path: &Path, json: bool) -> Result<()> {
    let store = open_store(path)?;
    let (mut logical, mut stored, mut arrays) = (0u64, 0u64, 0usize);
    for (p, kind) in walk(&store)? {
        if kind != Kind::Array {
            continue;
        }
        let r = match Array::open(store.clone(), &p) {
            Ok(a) => report(&p, &a),
            Err(e) => Report::failed(&p, &e.to_string()),
        };
        arrays += 1;
        logical += r.logical_bytes;
        stored += r.stored_bytes;
        if json {
            println!("{}", serde_json::to_string(&r)?);
        } else {
            print_text(&r);
        }
    }
    if !json {
        let ratio = if stored > 0 {
            format!("{:.2}", logical as f64 / stored as f64)
        } else {
            "-".to_owned()
        };
        println!("total: {arrays} arrays, {logical} -> {stored} bytes stored (ratio {ratio})");
    }
    Ok(())
}

impl Report {
    fn failed(path: &str, e: &str) -> Report {
        Report {
            array: path.to_owned(),
            dtype: String::new(),
            shape: Vec::new(),
            chunks: None,
            inner_chunks: None,
            codecs: Vec::new(),
            grid_chunks: 0,
            stored_chunks: 0,
            logical_bytes: 0,
            stored_bytes: 0,
            ratio: None,
            btune: None,
            error: Some(e.to_owned()),
        }
    }
}

fn report(path: &str, a: &Array<FilesystemStore>) -> Report {
    let meta = metadata_v3(a);
    let codecs: Vec<Value> = match (&meta, a.metadata()) {
        (Some(m), _) => m
            .codecs
            .iter()
            .map(|c| serde_json::to_value(c).unwrap_or(Value::Null))
            .collect(),
        // Zarr v2: the filters, then the compressor, as stored.
        (None, ArrayMetadata::V2(m)) => m
            .filters
            .iter()
            .flatten()
            .chain(&m.compressor)
            .map(|c| serde_json::to_value(c).unwrap_or(Value::Null))
            .collect(),
        (None, ArrayMetadata::V3(_)) => Vec::new(),
    };
    let item = a.data_type().fixed_size().unwrap_or(0) as u64;
    let shape = a.shape().to_vec();
    let mut r = Report {
        array: path.to_owned(),
        dtype: a
            .data_type()
            .name_v3()
            .map_or_else(|| a.data_type().to_string(), |n| n.into_owned()),
        shape: shape.clone(),
        chunks: a
            .chunk_grid()
            .chunk_shape_u64(&vec![0; shape.len()])
            .ok()
            .flatten()
            .map(|c| c.to_vec()),
        inner_chunks: a
            .subchunk_shape()
            .filter(|_| a.is_sharded())
            .map(|c| c.iter().map(|n| n.get()).collect()),
        codecs,
        grid_chunks: 0,
        stored_chunks: 0,
        logical_bytes: shape.iter().product::<u64>() * item,
        stored_bytes: 0,
        ratio: None,
        btune: None,
        error: None,
    };
    let indices = chunk_indices(a);
    r.grid_chunks = indices.len() as u64;
    let storage = a.storage();
    let mut stored = Vec::new();
    for idx in indices {
        match storage.size_key(&a.chunk_key(&idx)) {
            Ok(Some(n)) => {
                r.stored_chunks += 1;
                r.stored_bytes += n;
                stored.push(idx);
            }
            Ok(None) => {}
            Err(e) => {
                r.error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    r.ratio = (r.stored_bytes > 0).then(|| r.logical_bytes as f64 / r.stored_bytes as f64);
    r.btune = meta.and_then(|m| btune_report(a, &m.codecs, &stored));
    r
}

/// Where the btune codec sits in a chain.
enum Place {
    /// Last: stored chunks are Blosc2 chunks.
    Last(Value),
    /// Last of the inner chain of the sharding codec: inner chunks are.
    InShards(Value),
    /// Elsewhere: headers are not at hand.
    Other(Value, String),
}

fn find_btune(codecs: &[MetadataV3]) -> Option<Place> {
    let conf = |m: &MetadataV3| serde_json::to_value(m.configuration()).unwrap_or(Value::Null);
    let is_btune = |m: &MetadataV3| codec_name(m) == zarrs_btune::BTUNE;
    if let Some(last) = codecs.last().filter(|m| is_btune(m)) {
        return Some(Place::Last(conf(last)));
    }
    for (i, m) in codecs.iter().enumerate() {
        if is_btune(m) {
            return Some(Place::Other(
                conf(m),
                format!("codec {} runs after btune", codec_name(&codecs[i + 1])),
            ));
        }
        if codec_name(m) == "sharding_indexed" {
            let inner: Vec<MetadataV3> = m
                .configuration()
                .and_then(|c| c.get("codecs"))
                .and_then(|v| serde_json::from_value(v.clone()).ok())
                .unwrap_or_default();
            return match find_btune(&inner)? {
                Place::Last(c) => Some(Place::InShards(c)),
                Place::InShards(c) => Some(Place::Other(c, "nested sharding".to_owned())),
                other @ Place::Other(..) => Some(other),
            };
        }
    }
    None
}

fn btune_report(
    a: &Array<FilesystemStore>,
    codecs: &[MetadataV3],
    stored: &[Vec<u64>],
) -> Option<BtuneReport> {
    let place = find_btune(codecs)?;
    let mut r = BtuneReport::default();
    let mut census = Census::default();
    let mut add = |raw: Result<Option<Vec<u8>>, String>, r: &mut BtuneReport, at: &[u64]| {
        let header = match raw {
            Ok(None) => return,
            Ok(Some(raw)) => Census::header(raw).map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        match header {
            Ok(h) => {
                r.chunks += 1;
                census.add(&h);
            }
            Err(e) => {
                r.undecoded_chunks += 1;
                r.decode_error
                    .get_or_insert_with(|| format!("chunk {at:?}: {e}"));
            }
        }
    };
    match place {
        Place::Last(conf) => {
            r.configuration = conf;
            for idx in stored {
                add(
                    a.retrieve_encoded_chunk(idx).map_err(|e| e.to_string()),
                    &mut r,
                    idx,
                );
            }
        }
        Place::InShards(conf) => {
            r.configuration = conf;
            let cache = ArrayShardedReadableExtCache::new(a);
            let inner = a.subchunk_grid_shape();
            for idx in ArraySubset::new_with_shape(inner).indices() {
                add(
                    a.retrieve_encoded_subchunk(&cache, &idx)
                        .map_err(|e| e.to_string()),
                    &mut r,
                    &idx,
                );
            }
        }
        Place::Other(conf, why) => {
            r.configuration = conf;
            r.decode_error = Some(format!("{why}: chunk headers not read"));
        }
    }
    r.params = census.into_sets();
    Some(r)
}

fn print_text(r: &Report) {
    if let Some(e) = &r.error
        && r.dtype.is_empty()
    {
        println!("{}: {e}", r.array);
        return;
    }
    let chunks = r
        .chunks
        .as_deref()
        .map_or_else(String::new, |c| format!(" chunks {}", fmt_shape(c)));
    let inner = r
        .inner_chunks
        .as_deref()
        .map_or_else(String::new, |c| format!(" inner chunks {}", fmt_shape(c)));
    let ratio = r
        .ratio
        .map_or_else(|| "-".to_owned(), |x| format!("{x:.2}"));
    println!(
        "{}  {} {}{chunks}{inner}  {} -> {} bytes stored (ratio {ratio})",
        r.array,
        r.dtype,
        fmt_shape(&r.shape),
        r.logical_bytes,
        r.stored_bytes,
    );
    let codecs: Vec<String> = r
        .codecs
        .iter()
        .map(|v| match serde_json::from_value::<MetadataV3>(v.clone()) {
            Ok(m) => codec_text(&m),
            Err(_) => v.to_string(),
        })
        .collect();
    println!("  codecs: {}", codecs.join(" | "));
    println!("  {} chunks stored of {}", r.stored_chunks, r.grid_chunks);
    if let Some(e) = &r.error {
        println!("  error: {e}");
    }
    let Some(b) = &r.btune else { return };
    println!(
        "  btune: {} chunk headers read{}",
        b.chunks,
        if b.undecoded_chunks > 0 {
            format!(", {} unreadable", b.undecoded_chunks)
        } else {
            String::new()
        }
    );
    print_sets(&b.params);
    if let Some(e) = &b.decode_error {
        println!("  headers: {e}");
    }
}
