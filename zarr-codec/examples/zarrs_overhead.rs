//! What writing through zarrs with the `btune` codec costs over compressing
//! the same chunks with `btune_core::blosc2::compress` directly, at fixed
//! parameters, per dataset of a corpus manifest.
//!
//! ```sh
//! cargo run --release -p zarrs-btune --example zarrs_overhead -- \
//!     [MANIFEST] [--chunk-bytes B] [--repeats N] [--params P]...
//! ```
//!
//! MANIFEST defaults to `target/corpus/manifest.json`
//! (`../shared/corpus/build.py` writes it). Each dataset becomes a 1-D array
//! of its dtype in chunks of about B bytes (default 1 MiB) in a zarrs
//! `MemoryStore`, written one `store_chunk` at a time on one thread (empty
//! chunks stored too, so both sides compress the same chunks); the direct
//! side compresses the same slices into fresh buffers and keeps them, at
//! their exact size and replacing the previous run's one by one, as a store
//! does. The two alternate,
//! each timed N times or for at least 0.3 s (whichever is more), and the
//! minimum counts. Prints figures; asserts only that both sides wrote the
//! same bytes.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use btune_core::{Params, blosc2};
use serde::Deserialize;
use zarrs::array::{Array, ArrayBuilder, ArrayBytes, CodecOptions, DataType, FillValue, data_type};
use zarrs::storage::store::MemoryStore;
use zarrs_btune::{BtuneCodec, BtuneCodecConfiguration, Typesize};

#[derive(Deserialize)]
struct Manifest {
    datasets: Vec<Dataset>,
}

#[derive(Deserialize)]
struct Dataset {
    name: String,
    file: String,
    dtype: String,
    typesize: usize,
    nbytes: u64,
}

struct Options {
    manifest: PathBuf,
    chunk_bytes: usize,
    repeats: usize,
    params: Vec<Params>,
}

fn parse_args() -> Result<Options, Box<dyn Error>> {
    let mut o = Options {
        manifest: PathBuf::from("target/corpus/manifest.json"),
        chunk_bytes: 1 << 20,
        repeats: 7,
        params: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--chunk-bytes" => o.chunk_bytes = value()?.parse()?,
            "--repeats" => o.repeats = value()?.parse::<usize>()?.max(1),
            "--params" => o.params.push(value()?.parse()?),
            _ if a.starts_with("--") => return Err(format!("unknown option {a}").into()),
            _ => o.manifest = PathBuf::from(a),
        }
    }
    if o.params.is_empty() {
        o.params = vec![
            "lz4/shuffle/1/always".parse()?,
            "zstd/shuffle/1/never".parse()?,
        ];
    }
    Ok(o)
}

/// The zarrs data type of a numpy dtype string of the manifest.
fn zarr_dtype(dtype: &str) -> Option<DataType> {
    Some(match dtype.trim_start_matches(['<', '|', '=']) {
        "u1" => data_type::uint8(),
        "i1" => data_type::int8(),
        "u2" => data_type::uint16(),
        "i2" => data_type::int16(),
        "u4" => data_type::uint32(),
        "i4" => data_type::int32(),
        "u8" => data_type::uint64(),
        "i8" => data_type::int64(),
        "f4" => data_type::float32(),
        "f8" => data_type::float64(),
        _ => return None,
    })
}

/// Minimum times of the zarrs and the direct side.
struct Timing {
    zarrs: Duration,
    direct: Duration,
    chunks: usize,
}

fn measure(
    d: &Dataset,
    data: &[u8],
    params: &Params,
    o: &Options,
) -> Result<Timing, Box<dyn Error>> {
    let dtype = zarr_dtype(&d.dtype).ok_or_else(|| format!("dtype {} not mapped", d.dtype))?;
    let chunk_elems = (o.chunk_bytes / d.typesize).max(1);
    let chunk_len = chunk_elems * d.typesize;
    let chunks: Vec<&[u8]> = data.chunks(chunk_len).collect();
    let n_elems = (data.len() / d.typesize) as u64;
    let typesize = Typesize::new(d.typesize).ok_or("typesize outside 1..=255")?;
    let codec =
        BtuneCodec::new_with_configuration(&BtuneCodecConfiguration::fixed(typesize, *params))?;
    let store = Arc::new(MemoryStore::new());
    let array: Array<MemoryStore> = ArrayBuilder::new(
        vec![n_elems],
        vec![chunk_elems as u64],
        dtype,
        FillValue::new(vec![0u8; d.typesize]),
    )
    .bytes_to_bytes_codecs(vec![Arc::new(codec)])
    .build(store, "/a")?;
    let options = CodecOptions::default()
        .with_store_empty_chunks(true)
        .with_concurrent_target(1);
    // The last chunk is short: pad it as zarrs' chunk grid does not.
    let padded_last: Vec<u8> = {
        let last = chunks.last().copied().unwrap_or_default();
        let mut v = last.to_vec();
        v.resize(chunk_len, 0);
        v
    };
    // One slot per chunk, overwritten on every run as a store's keys are:
    // freeing all buffers at once instead lets the allocator return the
    // memory to the system and page-fault it back in (up to 1.6x slower).
    let mut out: Vec<Vec<u8>> = vec![Vec::new(); chunks.len()];

    let zarrs_write = || -> Result<(), Box<dyn Error>> {
        for (i, c) in chunks.iter().enumerate() {
            let bytes = if i + 1 == chunks.len() {
                &padded_last[..]
            } else {
                c
            };
            array.store_chunk_opt(&[i as u64], ArrayBytes::from(bytes), &options)?;
        }
        Ok(())
    };
    let direct_write = |out: &mut [Vec<u8>]| -> Result<(), Box<dyn Error>> {
        for (i, c) in chunks.iter().enumerate() {
            let bytes = if i + 1 == chunks.len() {
                &padded_last[..]
            } else {
                c
            };
            // Kept like a store keeps it: without the spare capacity
            // `compress` allocates (zarrs' stores keep exact-size buffers).
            let mut c = blosc2::compress(bytes, d.typesize, params)?;
            c.shrink_to_fit();
            out[i] = c;
        }
        Ok(())
    };

    let mut best = Timing {
        zarrs: Duration::MAX,
        direct: Duration::MAX,
        chunks: chunks.len(),
    };
    let (mut spent, mut runs) = (Duration::ZERO, 0usize);
    while runs < o.repeats || (spent < Duration::from_millis(300) && runs < 1000) {
        // Alternate which side goes first.
        for side in [runs % 2, 1 - runs % 2] {
            let t0 = Instant::now();
            if side == 0 {
                zarrs_write()?;
            } else {
                direct_write(&mut out)?;
            }
            let t = t0.elapsed();
            spent += t;
            let slot = if side == 0 {
                &mut best.zarrs
            } else {
                &mut best.direct
            };
            *slot = (*slot).min(t);
        }
        runs += 1;
    }
    for (i, expected) in out.iter().enumerate() {
        let stored = array
            .retrieve_encoded_chunk(&[i as u64])?
            .ok_or("chunk missing")?;
        if &stored != expected {
            return Err(format!("{}: chunk {i} differs between the two sides", d.name).into());
        }
    }
    Ok(best)
}

fn main() -> Result<(), Box<dyn Error>> {
    let o = parse_args()?;
    let text = std::fs::read_to_string(&o.manifest)
        .map_err(|e| format!("reading {}: {e}", o.manifest.display()))?;
    let manifest: Manifest = serde_json::from_str(&text)?;
    let dir = o.manifest.parent().unwrap_or(Path::new("."));
    // One thread for zarrs' own work too, like the direct side.
    zarrs::config::global_config_mut().set_codec_concurrent_target(1);
    println!(
        "{:<22} {:<26} {:>8} {:>6} {:>11} {:>11} {:>12}",
        "dataset", "params", "MiB", "chunks", "direct ms", "zarrs ms", "zarrs/direct"
    );
    for params in &o.params {
        let (mut sum_direct, mut sum_zarrs) = (0.0, 0.0);
        for d in &manifest.datasets {
            let data = std::fs::read(dir.join(&d.file))?;
            if data.len() as u64 != d.nbytes {
                return Err(format!("{}: size differs from the manifest", d.name).into());
            }
            let t = measure(d, &data, params, &o)?;
            let (zd, dd) = (t.zarrs.as_secs_f64() * 1e3, t.direct.as_secs_f64() * 1e3);
            sum_direct += dd;
            sum_zarrs += zd;
            println!(
                "{:<22} {:<26} {:>8.2} {:>6} {:>11.3} {:>11.3} {:>12.3}",
                d.name,
                params.to_string(),
                d.nbytes as f64 / (1 << 20) as f64,
                t.chunks,
                dd,
                zd,
                zd / dd
            );
        }
        println!(
            "{:<22} {:<26} {:>8} {:>6} {:>11.3} {:>11.3} {:>12.3}\n",
            "TOTAL",
            params.to_string(),
            "",
            "",
            sum_direct,
            sum_zarrs,
            sum_zarrs / sum_direct
        );
    }
    Ok(())
}
