//! `btune h5 inspect FILE`: per dataset its layout, filter pipeline and
//! sizes; for datasets of the Blosc2 filter (32026), the parameter sets
//! found in the headers of the stored chunks (read raw with
//! `H5Dread_chunk`) and the btune record stored after the standard filter
//! values (tune or fixed, tradeoff, performance mode).
//!
//! Chunk headers tell codec family, filter pipeline, split mode and block
//! size; not the compression level. LZ4 and LZ4HC share a format, shown as
//! `lz4/lz4hc`.

use std::path::Path;

use anyhow::{Context, Result};
use btune_hdf5::values::{FILTER_ID, Stored};
use serde::Serialize;

use crate::chunk_census::{Census, ParamSet, print_sets};

use super::sys::{self, Dataset, DatasetInfo, File, LinkKind};
use super::{chunks, fmt_shape, grid, walk};

/// One dataset's report (a JSON line with `--json`).
#[derive(Serialize)]
struct Report {
    dataset: String,
    dtype: String,
    shape: Vec<u64>,
    layout: &'static str,
    chunks: Option<Vec<u64>>,
    filters: Vec<FilterReport>,
    logical_bytes: u64,
    stored_bytes: u64,
    /// logical / stored bytes.
    ratio: Option<f64>,
    blosc2: Option<Blosc2Report>,
    error: Option<String>,
}

#[derive(Serialize)]
struct FilterReport {
    id: i32,
    name: String,
    values: Vec<u32>,
    available: bool,
}

/// What a Blosc2 dataset's values and chunks say.
#[derive(Serialize, Default)]
struct Blosc2Report {
    /// Slot 2 of the stored values.
    typesize: Option<u32>,
    /// Slot 3.
    chunk_bytes: Option<u32>,
    /// The btune record, absent in files of the standard filter.
    btune: Option<BtuneRecord>,
    /// Why the stored values could not be read.
    values_error: Option<String>,
    /// Chunks of the dataset's grid.
    grid_chunks: u64,
    /// Chunks written to the file.
    stored_chunks: u64,
    /// Parameter sets with the number of chunks carrying each.
    params: Vec<ParamSet>,
    /// Chunks stored without the filter (an optional filter that failed).
    unfiltered_chunks: u64,
    /// Chunks whose header could not be read.
    undecoded_chunks: u64,
    /// Why headers were not read (first failure, or a pipeline that puts
    /// another filter after Blosc2).
    decode_error: Option<String>,
}

#[derive(Serialize)]
struct BtuneRecord {
    /// Chunks are tuned (else written with the nominal parameters).
    tune: bool,
    /// `None`: the writer's environment or default.
    tradeoff: Option<f64>,
    /// `None`: the writer's environment or default.
    perf_mode: Option<String>,
}

/// Prints the report of every dataset of `path`.
///
/// # Errors
/// If the file cannot be opened or walked; a dataset that cannot be read
/// is reported with its error.
pub(crate) fn run(path: &Path, json: bool) -> Result<()> {
    sys::init()?;
    let file = File::open(path)?;
    let root = file.root()?;
    let entries = walk(&file).with_context(|| format!("reading {}", path.display()))?;
    for e in entries.iter().filter(|e| e.kind == LinkKind::Dataset) {
        let report = match root.dataset(&e.path).and_then(|d| d.info().map(|i| (d, i))) {
            Ok((d, info)) => report(&e.path, &d, &info),
            Err(err) => Report {
                dataset: e.path.clone(),
                dtype: String::new(),
                shape: Vec::new(),
                layout: "",
                chunks: None,
                filters: Vec::new(),
                logical_bytes: 0,
                stored_bytes: 0,
                ratio: None,
                blosc2: None,
                error: Some(format!("{err:#}")),
            },
        };
        if json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            print_text(&report);
        }
    }
    Ok(())
}

fn report(path: &str, d: &Dataset, info: &DatasetInfo) -> Report {
    let stored = d.storage_size();
    let logical = info.logical_bytes();
    let blosc2 = info
        .filters
        .iter()
        .position(|f| f.id == FILTER_ID)
        .map(|i| blosc2_report(d, info, i));
    Report {
        dataset: path.to_owned(),
        dtype: info.type_name.clone(),
        shape: info.dims.clone(),
        layout: info.layout.name(),
        chunks: info.chunk.clone(),
        filters: info
            .filters
            .iter()
            .map(|f| FilterReport {
                id: f.id,
                name: f.name.clone(),
                values: f.values.clone(),
                available: f.available,
            })
            .collect(),
        logical_bytes: logical,
        stored_bytes: stored,
        ratio: (stored > 0).then(|| logical as f64 / stored as f64),
        blosc2,
        error: None,
    }
}

/// Reads the values of filter `index` (32026) and every stored chunk's
/// header.
fn blosc2_report(d: &Dataset, info: &DatasetInfo, index: usize) -> Blosc2Report {
    let mut r = Blosc2Report::default();
    match Stored::parse(&info.filters[index].values) {
        Ok(s) => {
            r.typesize = Some(s.typesize);
            r.chunk_bytes = Some(s.chunk_bytes);
            r.btune = s.tail.map(|t| BtuneRecord {
                tune: t.tune,
                tradeoff: t.options.tradeoff,
                perf_mode: t.options.perf_mode.map(|m| m.name().to_owned()),
            });
        }
        Err(e) => r.values_error = Some(e.to_string()),
    }
    let chunk = info.chunk.clone().unwrap_or_default();
    r.grid_chunks = grid(&info.dims, &chunk).iter().product();
    let last = index + 1 == info.filters.len();
    if !last {
        r.decode_error = Some(format!(
            "filter {} runs after Blosc2: stored chunks are not Blosc2 frames",
            info.filters[index + 1].id
        ));
    }
    let mut census = Census::default();
    for (start, _) in chunks(&info.dims, &chunk) {
        let (size, mask) = match d.chunk_at(&start) {
            Ok(Some(c)) => c,
            Ok(None) => continue,
            Err(e) => {
                r.undecoded_chunks += 1;
                r.decode_error.get_or_insert_with(|| format!("{e:#}"));
                continue;
            }
        };
        r.stored_chunks += 1;
        if mask & (1 << index) != 0 {
            r.unfiltered_chunks += 1;
            continue;
        }
        if !last {
            continue;
        }
        let header = d
            .read_raw_chunk(&start, size)
            .and_then(|raw| Ok(Census::header(raw)?));
        match header {
            Ok(h) => {
                census.add(&h);
            }
            Err(e) => {
                r.undecoded_chunks += 1;
                r.decode_error
                    .get_or_insert_with(|| format!("chunk at {start:?}: {e:#}"));
            }
        }
    }
    r.params = census.into_sets();
    r
}

fn print_text(r: &Report) {
    if let Some(e) = &r.error {
        println!("{}: {e}", r.dataset);
        return;
    }
    let chunks = r
        .chunks
        .as_deref()
        .map_or_else(String::new, |c| format!(" {}", fmt_shape(c)));
    let ratio = r
        .ratio
        .map_or_else(|| "-".to_owned(), |x| format!("{x:.2}"));
    println!(
        "{}  {} {}  {}{}  {} -> {} bytes stored (ratio {ratio})",
        r.dataset,
        r.dtype,
        fmt_shape(&r.shape),
        r.layout,
        chunks,
        r.logical_bytes,
        r.stored_bytes,
    );
    if !r.filters.is_empty() {
        let f: Vec<String> = r
            .filters
            .iter()
            .map(|f| {
                let missing = if f.available { "" } else { ", not available" };
                format!("{} {}{missing} {:?}", f.id, f.name, f.values)
            })
            .collect();
        println!("  filters: {}", f.join(" | "));
    }
    let Some(b) = &r.blosc2 else { return };
    match (&b.btune, &b.values_error) {
        (_, Some(e)) => println!("  blosc2 values: {e}"),
        (Some(t), None) if t.tune => println!(
            "  btune: tuned, tradeoff {}, perf mode {}",
            t.tradeoff
                .map_or_else(|| "from the environment".to_owned(), |x| x.to_string()),
            t.perf_mode.as_deref().unwrap_or("from the environment")
        ),
        (Some(_), None) => println!("  btune: fixed parameters"),
        (None, None) => println!("  no btune record (standard Blosc2 filter values)"),
    }
    println!(
        "  {} chunks stored of {}{}{}",
        b.stored_chunks,
        b.grid_chunks,
        if b.unfiltered_chunks > 0 {
            format!(", {} without the filter", b.unfiltered_chunks)
        } else {
            String::new()
        },
        if b.undecoded_chunks > 0 {
            format!(", {} unreadable headers", b.undecoded_chunks)
        } else {
            String::new()
        }
    );
    print_sets(&b.params);
    if let Some(e) = &b.decode_error {
        println!("  headers: {e}");
    }
}
