//! `btune zarr recompress IN OUT`: every group and array of IN into OUT, at
//! the same paths. Group metadata and attributes are copied (consolidated
//! metadata left out: it would describe the old codecs). Each array keeps
//! its shape, data type, chunk grid, chunk key encoding, fill value,
//! dimension names and attributes; its codec chain keeps the
//! array-to-array codecs and the array-to-bytes codec (`bytes` with its
//! endianness) and gets the `"btune"` codec as its only bytes-to-bytes
//! codec, with typesize = the encoded element size. In a sharded array the
//! same happens to the inner chunks' chain (the shard index codecs stay).
//! A Zarr v2 array becomes v3 (its chunk key encoding stays `v2`). The
//! btune configuration records `--tradeoff` / `--perf-mode`, or with
//! `--params` the fixed parameters (`"tune": false`).
//!
//! Chunks are copied one at a time by a few threads (reading a chunk,
//! decoding it with the input's codecs, encoding it with the array's tuner);
//! chunks absent from IN (all fill value) stay absent.

use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context, Result, anyhow, bail};
use btune_core::Params;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use zarrs::array::{Array, ArrayBuilder, ArrayBytes, ArrayMetadata, Codec, DataType};
use zarrs::config::MetadataConvertVersion;
use zarrs::filesystem::FilesystemStore;
use zarrs::group::{Group, GroupMetadata, GroupMetadataOptions, GroupMetadataV3};
use zarrs::metadata::v3::MetadataV3;
use zarrs::plugin::ExtensionName;
use zarrs::storage::ReadableStorageTraits;

use super::{Kind, chunk_indices, codec_name, fmt_shape, metadata_v3, open_store, walk};
use crate::TuningArgs;

/// Array-to-bytes codecs that compress by themselves: their arrays keep
/// their codecs.
const COMPRESSING_ARRAY_TO_BYTES: [&str; 4] = ["pcodec", "numcodecs.pcodec", "zfp", "zfpy"];

/// The `btune` configuration keys the command sets besides typesize.
pub(super) struct Options {
    /// `tradeoff` and `perf_mode`, those given.
    pub(super) tuning: TuningArgs,
    /// Fixed parameters (`"tune": false`), if given.
    pub(super) params: Option<Params>,
}

/// One array's outcome.
struct Row {
    path: String,
    dtype: String,
    shape: Vec<u64>,
    action: String,
    logical_bytes: u64,
    input_bytes: u64,
    output_bytes: u64,
}

/// Rewrites every array of `input` into `output`.
///
/// # Errors
/// If IN cannot be read or OUT cannot be created; an array that fails is
/// reported, left out, and makes the command fail at the end.
pub(super) fn run(input: &Path, output: &Path, opts: &Options) -> Result<()> {
    let in_store = open_store(input)?;
    if output.exists()
        && (!output.is_dir()
            || std::fs::read_dir(output)
                .with_context(|| format!("reading {}", output.display()))?
                .next()
                .is_some())
    {
        bail!("{} exists and is not an empty directory", output.display());
    }
    std::fs::create_dir_all(output).with_context(|| format!("creating {}", output.display()))?;
    let out_store = open_store(output)?;
    let nodes = walk(&in_store).with_context(|| format!("reading {}", input.display()))?;

    // Open every array first, to size the progress bar.
    let mut arrays = Vec::new();
    for (path, kind) in &nodes {
        match kind {
            Kind::Group => copy_group(&in_store, &out_store, path)
                .with_context(|| format!("copying group {path}"))?,
            Kind::Array => arrays.push((
                path.clone(),
                Array::open(in_store.clone(), path).map_err(anyhow::Error::from),
            )),
        }
    }
    let total: usize = arrays
        .iter()
        .map(|(_, a)| a.as_ref().map_or(0, |a| chunk_indices(a).len()))
        .sum();
    let bar = ProgressBar::new(total as u64).with_style(
        ProgressStyle::with_template("{elapsed_precise} {wide_bar} {pos}/{len} chunks {msg}")
            .expect("valid template"),
    );
    let mut rows = Vec::new();
    let mut failed = 0;
    for (path, array) in arrays {
        bar.set_message(path.clone());
        let row = array.and_then(|a| copy_array(&a, &out_store, &path, opts, &bar));
        match row {
            Ok(r) => rows.push(r),
            Err(e) => {
                failed += 1;
                bar.suspend(|| eprintln!("{path}: failed: {e:#}"));
                // Leave no half-written array behind.
                let dir = output.join(path.trim_start_matches('/'));
                if path != "/" && dir.starts_with(output) {
                    let _ = std::fs::remove_dir_all(dir);
                }
            }
        }
    }
    bar.finish_and_clear();
    print_rows(&rows);
    if failed > 0 {
        bail!("{failed} array(s) failed (named above)");
    }
    Ok(())
}

/// Writes `path`'s group metadata (as v3, attributes kept, consolidated
/// metadata dropped) to OUT.
fn copy_group(
    in_store: &Arc<FilesystemStore>,
    out_store: &Arc<FilesystemStore>,
    path: &str,
) -> Result<()> {
    let group = Group::open(in_store.clone(), path)?;
    let options =
        GroupMetadataOptions::default().with_metadata_convert_version(MetadataConvertVersion::V3);
    let GroupMetadata::V3(meta) = group.metadata_opt(&options) else {
        bail!("zarrs did not convert the group metadata to v3");
    };
    let mut v = serde_json::to_value(meta)?;
    if let Some(o) = v.as_object_mut() {
        o.remove("consolidated_metadata");
    }
    let meta: GroupMetadataV3 = serde_json::from_value(v)?;
    Group::new_with_metadata(out_store.clone(), path, GroupMetadata::V3(meta))?.store_metadata()?;
    Ok(())
}

/// What becomes of an array's codecs.
enum Plan {
    /// New codecs with btune.
    Btune(Vec<MetadataV3>),
    /// The same codecs, for this reason.
    Keep(String),
}

/// The btune codec's metadata for elements of `typesize` bytes.
fn btune_metadata(typesize: usize, opts: &Options) -> Result<MetadataV3> {
    let mut conf = json!({ "typesize": typesize.clamp(1, 255) });
    if let Some(t) = opts.tuning.tradeoff {
        conf["tradeoff"] = json!(t);
    }
    if let Some(m) = opts.tuning.perf_mode {
        conf["perf_mode"] = json!(m.name().to_ascii_lowercase());
    }
    if let Some(p) = opts.params {
        conf["tune"] = json!(false);
        conf["params"] = json!(p.to_string());
    }
    Ok(serde_json::from_value(
        json!({ "name": zarrs_btune::BTUNE, "configuration": conf }),
    )?)
}

/// The codec chain `codecs` (for elements of `data_type`) with its
/// bytes-to-bytes codecs replaced by btune, recursing into sharding.
fn retarget(codecs: &[MetadataV3], data_type: &DataType, opts: &Options) -> Result<Plan> {
    let mut out = Vec::new();
    let mut dt = data_type.clone();
    for m in codecs {
        let codec = Codec::from_metadata(m).map_err(|e| anyhow!("codec {}: {e}", codec_name(m)))?;
        match codec {
            Codec::ArrayToArray(c) => {
                dt = c.encoded_data_type(&dt)?;
                out.push(m.clone());
            }
            Codec::ArrayToBytes(_) => {
                let name = codec_name(m);
                if COMPRESSING_ARRAY_TO_BYTES.contains(&name) {
                    return Ok(Plan::Keep(format!("{name} compresses by itself")));
                }
                if name == "sharding_indexed" {
                    out.push(retarget_sharding(m, &dt, opts)?);
                    return Ok(Plan::Btune(out));
                }
                // `bytes` lays out elements of the data type; other
                // array-to-bytes codecs (variable-length) have no element
                // size to shuffle by.
                let typesize = if name == "bytes" {
                    dt.fixed_size().unwrap_or(1)
                } else {
                    1
                };
                out.push(m.clone());
                out.push(btune_metadata(typesize, opts)?);
                return Ok(Plan::Btune(out));
            }
            Codec::BytesToBytes(_) => {
                bail!("bytes-to-bytes codec {} before array-to-bytes", m.name())
            }
        }
    }
    bail!("the codec chain has no array-to-bytes codec")
}

/// A `sharding_indexed` codec whose inner chain is retargeted.
fn retarget_sharding(m: &MetadataV3, dt: &DataType, opts: &Options) -> Result<MetadataV3> {
    let mut v = serde_json::to_value(m)?;
    let inner: Vec<MetadataV3> =
        serde_json::from_value(v["configuration"]["codecs"].take()).context("sharding codecs")?;
    match retarget(&inner, dt, opts)? {
        Plan::Btune(codecs) => v["configuration"]["codecs"] = serde_json::to_value(codecs)?,
        Plan::Keep(_) => v["configuration"]["codecs"] = serde_json::to_value(inner)?,
    }
    Ok(serde_json::from_value(v)?)
}

/// The output array for `src`: its metadata with the codecs retargeted.
/// A Zarr v2 array is rebuilt as v3 from its parts: its filters and
/// compressor become zarrs' array-to-array and bytes codecs, then btune.
fn output_array(
    src: &Array<FilesystemStore>,
    out_store: &Arc<FilesystemStore>,
    path: &str,
    opts: &Options,
) -> Result<(Array<FilesystemStore>, String)> {
    let Some(meta) = metadata_v3(src) else {
        let chain = src.codecs();
        let mut dt = src.data_type().clone();
        for c in chain.array_to_array_codecs() {
            dt = c.encoded_data_type(&dt)?;
        }
        let Codec::BytesToBytes(btune) =
            Codec::from_metadata(&btune_metadata(dt.fixed_size().unwrap_or(1), opts)?)?
        else {
            bail!("the btune codec is not a bytes-to-bytes codec");
        };
        let dst = ArrayBuilder::from_array(src)
            .bytes_to_bytes_codecs(vec![btune])
            .build(out_store.clone(), path)
            .context("creating the output array")?;
        return Ok((dst, "btune (from Zarr v2)".to_owned()));
    };
    let (codecs, action) = match retarget(&meta.codecs, src.data_type(), opts)? {
        Plan::Btune(c) => (c, "btune".to_owned()),
        Plan::Keep(why) => (meta.codecs.clone(), format!("codecs kept: {why}")),
    };
    let mut new_meta = meta;
    new_meta.codecs = codecs;
    let dst = Array::new_with_metadata(out_store.clone(), path, ArrayMetadata::V3(new_meta))
        .context("creating the output array")?;
    Ok((dst, action))
}

/// Copies one array into OUT as planned.
fn copy_array(
    src: &Array<FilesystemStore>,
    out_store: &Arc<FilesystemStore>,
    path: &str,
    opts: &Options,
    bar: &ProgressBar,
) -> Result<Row> {
    let dtype = src
        .data_type()
        .name_v3()
        .map_or_else(|| src.data_type().to_string(), |n| n.into_owned());
    let item = src.data_type().fixed_size().unwrap_or(0) as u64;
    let logical_bytes = src.shape().iter().product::<u64>() * item;
    let (dst, action) = output_array(src, out_store, path, opts)?;
    dst.store_metadata()?;

    let chunks = chunk_indices(src);
    let next = AtomicUsize::new(0);
    let (input_bytes, output_bytes) = (AtomicU64::new(0), AtomicU64::new(0));
    let first_error: Mutex<Option<anyhow::Error>> = Mutex::new(None);
    let failed = || first_error.lock().unwrap_or_else(PoisonError::into_inner);
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    std::thread::scope(|s| {
        for _ in 0..workers.min(chunks.len()).max(1) {
            s.spawn(|| {
                loop {
                    if failed().is_some() {
                        return;
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(idx) = chunks.get(i) else { return };
                    match copy_chunk(src, &dst, out_store, idx) {
                        Ok((inb, outb)) => {
                            input_bytes.fetch_add(inb, Ordering::Relaxed);
                            output_bytes.fetch_add(outb, Ordering::Relaxed);
                        }
                        Err(e) => {
                            failed().get_or_insert(e.context(format!("chunk {idx:?}")));
                        }
                    }
                    bar.inc(1);
                }
            });
        }
    });
    if let Some(e) = failed().take() {
        return Err(e);
    }
    Ok(Row {
        path: path.to_owned(),
        dtype,
        shape: src.shape().to_vec(),
        action,
        logical_bytes,
        input_bytes: input_bytes.into_inner(),
        output_bytes: output_bytes.into_inner(),
    })
}

/// Copies one chunk if IN stores it; returns its input and output sizes.
fn copy_chunk(
    src: &Array<FilesystemStore>,
    dst: &Array<FilesystemStore>,
    out_store: &Arc<FilesystemStore>,
    idx: &[u64],
) -> Result<(u64, u64)> {
    let Some(input) = src.storage().size_key(&src.chunk_key(idx))? else {
        return Ok((0, 0));
    };
    let bytes: ArrayBytes<'static> = src.retrieve_chunk(idx)?;
    dst.store_chunk(idx, bytes)?;
    let output = out_store.size_key(&dst.chunk_key(idx))?.unwrap_or(0);
    Ok((input, output))
}

fn print_rows(rows: &[Row]) {
    let (mut logical, mut input, mut output) = (0u64, 0u64, 0u64);
    for r in rows {
        let ratio = |b: u64| {
            if b > 0 {
                format!("{:.2}", r.logical_bytes as f64 / b as f64)
            } else {
                "-".to_owned()
            }
        };
        println!(
            "{}  {} {}  {}: {} -> {} bytes (ratio {} -> {})",
            r.path,
            r.dtype,
            fmt_shape(&r.shape),
            r.action,
            r.input_bytes,
            r.output_bytes,
            ratio(r.input_bytes),
            ratio(r.output_bytes),
        );
        logical += r.logical_bytes;
        input += r.input_bytes;
        output += r.output_bytes;
    }
    if output > 0 && input > 0 {
        println!(
            "total: {} arrays, {logical} bytes: {input} -> {output} bytes stored (ratio {:.2} -> {:.2})",
            rows.len(),
            logical as f64 / input as f64,
            logical as f64 / output as f64
        );
    }
}
