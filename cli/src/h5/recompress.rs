//! `btune h5 recompress IN OUT`: like `h5repack -f UD=32026,...`, with
//! every chunk tuned by the btune filter.
//!
//! What happens to each object of IN:
//! - groups: created with the same creation properties and attributes;
//! - chunked datasets: created in OUT with the same type, extent (and
//!   maximum extent), chunk shape, fill value and attributes, the filter
//!   pipeline replaced by the Blosc2 filter 32026 alone (mandatory), then
//!   copied chunk by chunk (one chunk's elements in memory at a time, chunks
//!   never written in IN stay unwritten);
//! - contiguous datasets of at least [`CHUNK_CONTIGUOUS_MIN`] bytes: the
//!   same, in chunks of about [`CONTIGUOUS_CHUNK_BYTES`] (whole rows of the
//!   trailing dimensions, C order);
//! - compact, virtual, smaller contiguous datasets, those stored in external
//!   files, of variable-length types (HDF5 filters none) or reference types,
//!   or compressed by a filter this process cannot run: copied as they are
//!   (`H5Ocopy`);
//! - soft and external links: recreated; committed datatypes: copied.
//!
//! Attributes holding object references are left out (with a note): they
//! would point into IN. The tuning options go to the filter as its values
//! (`[TAIL_MAGIC, tradeoff, perf mode]`, or none to use `BTUNE_*`).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use anyhow::{Context, Result, bail};
use btune_core::PerfMode;
use btune_core::blosc2::MAX_CHUNK_BYTES;
use btune_hdf5::values::{FILTER_ID, TAIL_MAGIC, UNSET};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::sys::{self, BlockCopier, Dataset, DatasetInfo, File, Group, Layout, LinkKind};
use super::{Entry, chunks, fmt_shape, grid, walk};
use crate::TuningArgs;

/// Contiguous datasets at least this large become chunked and tuned.
pub(crate) const CHUNK_CONTIGUOUS_MIN: u64 = 64 << 10;
/// The chunk size aimed at for contiguous datasets made chunked.
pub(crate) const CONTIGUOUS_CHUNK_BYTES: u64 = 1 << 20;

/// What the user asked for.
pub(crate) struct Options {
    /// Tradeoff and performance mode for every dataset.
    pub(crate) tuning: TuningArgs,
    /// JSON lines instead of a table.
    pub(crate) json: bool,
}

/// The filter values asking the btune filter to tune with `o`'s options.
fn filter_values(o: &Options) -> Vec<u32> {
    let TuningArgs {
        tradeoff,
        perf_mode,
    } = o.tuning;
    if tradeoff.is_none() && perf_mode.is_none() {
        return Vec::new();
    }
    vec![
        TAIL_MAGIC,
        tradeoff.map_or(UNSET, |t| (t * 1e6).round() as u32),
        perf_mode.map_or(UNSET, |m| {
            PerfMode::ALL.iter().position(|&x| x == m).unwrap_or(0) as u32
        }),
    ]
}

/// What to do with one dataset.
#[derive(Clone, Debug, PartialEq)]
enum Plan {
    /// Write it through the filter in chunks of this shape; `sparse`: skip
    /// chunks IN never wrote.
    Tune { chunk: Vec<u64>, sparse: bool },
    /// Copy it as it is, for this reason.
    Copy(String),
}

fn plan(info: &DatasetInfo) -> Plan {
    if let Some(f) = info.filters.iter().find(|f| !f.available) {
        return Plan::Copy(format!(
            "filter {} ({}) is not available here, copied as it is \
             (to recompress it, set HDF5_PLUGIN_PATH to a directory holding that filter)",
            f.id,
            f.name.split(';').next().unwrap_or_default().trim()
        ));
    }
    if info.references {
        return Plan::Copy("its type holds references, copied as it is".into());
    }
    if info.variable_length {
        return Plan::Copy(
            "HDF5 applies no filter to variable-length types, copied as it is".into(),
        );
    }
    match info.layout {
        Layout::Chunked => {
            let chunk = info.chunk.clone().unwrap_or_default();
            let bytes = chunk.iter().product::<u64>() * info.type_size as u64;
            if bytes > MAX_CHUNK_BYTES as u64 {
                Plan::Copy(format!(
                    "chunks of {bytes} bytes exceed Blosc2's {MAX_CHUNK_BYTES}, copied as it is"
                ))
            } else {
                Plan::Tune {
                    chunk,
                    sparse: true,
                }
            }
        }
        Layout::Contiguous if info.external => {
            Plan::Copy("stored in external files, copied as it is".into())
        }
        Layout::Contiguous
            if !info.dims.is_empty()
                && info.dims.iter().all(|&d| d > 0)
                && info.logical_bytes() >= CHUNK_CONTIGUOUS_MIN =>
        {
            Plan::Tune {
                chunk: contiguous_chunk(&info.dims, info.type_size),
                sparse: false,
            }
        }
        Layout::Contiguous => Plan::Copy(format!(
            "contiguous and under {} KiB, copied as it is",
            CHUNK_CONTIGUOUS_MIN >> 10
        )),
        Layout::Compact => Plan::Copy("compact, copied as it is".into()),
        Layout::Virtual => Plan::Copy("virtual, copied as it is".into()),
    }
}

/// A chunk of about [`CONTIGUOUS_CHUNK_BYTES`]: whole trailing dimensions
/// while they fit, so a chunk is a contiguous run of the C-order data.
fn contiguous_chunk(dims: &[u64], type_size: usize) -> Vec<u64> {
    let mut room = (CONTIGUOUS_CHUNK_BYTES / type_size.max(1) as u64).max(1);
    let mut chunk = vec![1u64; dims.len()];
    for (c, &d) in chunk.iter_mut().zip(dims).rev() {
        *c = d.min(room).max(1);
        room /= *c;
    }
    chunk
}

/// One line of the summary.
#[derive(Serialize)]
struct Row {
    dataset: String,
    /// `tuned`, `copied` or `failed`.
    action: &'static str,
    note: Option<String>,
    dtype: String,
    shape: Vec<u64>,
    /// The chunk shape in OUT (`None` if not chunked).
    chunks: Option<Vec<u64>>,
    logical_bytes: u64,
    input_bytes: u64,
    output_bytes: Option<u64>,
    /// logical / output bytes.
    ratio: Option<f64>,
}

/// Rewrites `input` into `output`; see the module docs.
///
/// # Errors
/// If a file cannot be opened, created or closed, a group or link cannot be
/// made, or some dataset could not be written (the others are).
pub(crate) fn run(input: &Path, output: &Path, o: &Options) -> Result<()> {
    if let (Ok(a), Ok(b)) = (std::fs::metadata(input), std::fs::metadata(output))
        && (a.dev(), a.ino()) == (b.dev(), b.ino())
    {
        bail!(
            "{} and {} are the same file",
            input.display(),
            output.display()
        );
    }
    sys::init()?;
    let fin = File::open(input)?;
    let in_root = fin.root()?;
    let entries = walk(&fin).with_context(|| format!("reading {}", input.display()))?;
    let mut plans: Vec<Option<(DatasetInfo, Plan)>> = Vec::with_capacity(entries.len());
    let mut ticks = 0u64;
    for e in &entries {
        if e.kind != LinkKind::Dataset {
            plans.push(None);
            continue;
        }
        let info = in_root
            .dataset(&e.path)
            .and_then(|d| d.info())
            .with_context(|| format!("reading {}", e.path))?;
        let p = plan(&info);
        ticks += match &p {
            Plan::Tune { chunk, .. } => grid(&info.dims, chunk).iter().product(),
            Plan::Copy(_) => 1,
        };
        plans.push(Some((info, p)));
    }

    let fout = File::create_like(output, &fin)?;
    let out_root = fout.root()?;
    let w = Writer {
        src: &in_root,
        dst: &out_root,
        values: filter_values(o),
        bar: ProgressBar::new(ticks).with_style(
            ProgressStyle::with_template("{elapsed_precise} {wide_bar} {pos}/{len} chunks {msg}")
                .expect("valid template"),
        ),
    };
    let mut notes: Vec<String> = in_root
        .copy_attributes(&out_root)?
        .into_iter()
        .map(|n| format!("/: {n}"))
        .collect();
    let mut rows = Vec::new();
    for (e, p) in entries.iter().zip(plans) {
        let path = &e.path;
        let attr_notes = match &e.kind {
            LinkKind::Group => {
                let g = in_root.group(path)?;
                g.copy_attributes(&out_root.create_group_like(path, &g, e.utf8)?)?
            }
            LinkKind::Dataset => {
                let (info, p) = p.expect("every dataset is planned");
                w.bar.set_message(path.clone());
                rows.push(w.dataset(e, info, p));
                Vec::new()
            }
            LinkKind::NamedType => in_root.copy_object(path, &out_root, e.utf8)?,
            LinkKind::Soft(target) => {
                out_root.soft_link(path, target, e.utf8)?;
                Vec::new()
            }
            LinkKind::External { file, object } => {
                out_root.external_link(path, file, object, e.utf8)?;
                Vec::new()
            }
            LinkKind::Other(what) => vec![format!("{what} left out")],
        };
        notes.extend(attr_notes.into_iter().map(|n| format!("{path}: {n}")));
    }
    w.bar.finish_and_clear();
    drop(w);
    drop(out_root);
    fout.close()
        .with_context(|| format!("writing {}", output.display()))?;

    print_rows(&rows, o.json)?;
    for n in &notes {
        eprintln!("note: {n}");
    }
    let failed: Vec<&str> = rows
        .iter()
        .filter(|r| r.action == "failed")
        .map(|r| r.dataset.as_str())
        .collect();
    if !failed.is_empty() {
        bail!(
            "{} of {} datasets could not be written to {}: {}",
            failed.len(),
            rows.len(),
            output.display(),
            failed.join(", ")
        );
    }
    Ok(())
}

/// Writes datasets from one file's root into another's.
struct Writer<'a> {
    src: &'a Group,
    dst: &'a Group,
    /// The filter values that ask for tuning with the user's options.
    values: Vec<u32>,
    bar: ProgressBar,
}

impl Writer<'_> {
    /// Copies one dataset as planned; a failure becomes a `failed` row (and
    /// no dataset in OUT).
    fn dataset(&self, e: &Entry, info: DatasetInfo, plan: Plan) -> Row {
        let input_bytes = self.src.dataset(&e.path).map_or(0, |d| d.storage_size());
        let mut row = Row {
            dataset: e.path.clone(),
            action: "failed",
            note: None,
            dtype: info.type_name.clone(),
            shape: info.dims.clone(),
            chunks: info.chunk.clone(),
            logical_bytes: info.logical_bytes(),
            input_bytes,
            output_bytes: None,
            ratio: None,
        };
        let result = match plan {
            Plan::Tune { chunk, sparse } => {
                let total: u64 = grid(&info.dims, &chunk).iter().product();
                let mut done = 0;
                let r = self.tune(e, &info, &chunk, sparse, &mut done);
                self.bar.inc(total - done);
                row.chunks = Some(chunk);
                r.map(|(bytes, notes)| ("tuned", bytes, notes))
            }
            Plan::Copy(reason) => {
                self.bar.inc(1);
                row.note = Some(reason);
                self.src
                    .copy_object(&e.path, self.dst, e.utf8)
                    .and_then(|notes| {
                        let d = self.dst.dataset(&e.path)?;
                        Ok(("copied", d.storage_size(), notes))
                    })
            }
        };
        match result {
            Ok((action, bytes, notes)) => {
                row.action = action;
                row.output_bytes = Some(bytes);
                row.ratio = (bytes > 0).then(|| row.logical_bytes as f64 / bytes as f64);
                let notes = row.note.take().into_iter().chain(notes).collect::<Vec<_>>();
                row.note = (!notes.is_empty()).then(|| notes.join("; "));
            }
            Err(err) => {
                // Never leave a half-written dataset behind.
                let _ = self.dst.unlink(&e.path);
                let why = format!("{err:#}");
                row.note = Some(match row.note.take() {
                    Some(n) => format!("{n}; then: {why}"),
                    None => why,
                });
            }
        }
        row
    }

    /// Writes a dataset through the filter, chunk by chunk (`done` counts
    /// them); returns its stored size and notes about attributes left out.
    fn tune(
        &self,
        e: &Entry,
        info: &DatasetInfo,
        chunk: &[u64],
        sparse: bool,
        done: &mut u64,
    ) -> Result<(u64, Vec<String>)> {
        let src = self.src.dataset(&e.path)?;
        let dst = Dataset::create_filtered(
            self.dst,
            &e.path,
            e.utf8,
            &src,
            chunk,
            FILTER_ID,
            &self.values,
        )?;
        let notes = src.copy_attributes(&dst)?;
        let mut copier = BlockCopier::new(&src, &dst)?;
        for (start, count) in chunks(&info.dims, chunk) {
            // A chunk IN never wrote reads as the fill value, which OUT has
            // too (its creation properties are IN's).
            if !(sparse && matches!(src.chunk_at(&start), Ok(None))) {
                copier.copy(&start, &count)?;
            }
            *done += 1;
            self.bar.inc(1);
        }
        dst.flush()?;
        Ok((dst.storage_size(), notes))
    }
}

fn print_rows(rows: &[Row], json: bool) -> Result<()> {
    if json {
        for r in rows {
            println!("{}", serde_json::to_string(r)?);
        }
        return Ok(());
    }
    println!(
        "{:<32} {:<7} {:<12} {:>16} {:>14} {:>12} {:>12} {:>12} {:>7}",
        "dataset", "action", "dtype", "shape", "chunks", "logical", "input", "output", "ratio"
    );
    let (mut logical, mut input, mut output) = (0u64, 0u64, 0u64);
    for r in rows {
        let out = r
            .output_bytes
            .map_or_else(|| "-".to_owned(), |b| b.to_string());
        let ratio = r
            .ratio
            .map_or_else(|| "-".to_owned(), |x| format!("{x:.2}"));
        println!(
            "{:<32} {:<7} {:<12} {:>16} {:>14} {:>12} {:>12} {:>12} {:>7}",
            r.dataset,
            r.action,
            r.dtype,
            fmt_shape(&r.shape),
            r.chunks
                .as_deref()
                .map_or_else(|| "-".to_owned(), fmt_shape),
            r.logical_bytes,
            r.input_bytes,
            out,
            ratio
        );
        if let Some(n) = &r.note {
            println!("    {n}");
        }
        logical += r.logical_bytes;
        input += r.input_bytes;
        output += r.output_bytes.unwrap_or(0);
    }
    let ratio = if output > 0 {
        format!("{:.2}", logical as f64 / output as f64)
    } else {
        "-".to_owned()
    };
    println!(
        "{:<32} {:<7} {:<12} {:>16} {:>14} {:>12} {:>12} {:>12} {:>7}",
        format!("total ({} datasets)", rows.len()),
        "",
        "",
        "",
        "",
        logical,
        input,
        output,
        ratio
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contiguous_chunks_take_whole_trailing_rows() {
        // 8-byte items: 131072 per chunk.
        assert_eq!(contiguous_chunk(&[1000, 512], 8), vec![256, 512]);
        assert_eq!(contiguous_chunk(&[10, 1_000_000], 8), vec![1, 131_072]);
        assert_eq!(contiguous_chunk(&[100], 8), vec![100]);
        assert_eq!(contiguous_chunk(&[4, 3, 2], 1), vec![4, 3, 2]);
    }

    #[test]
    fn options_become_filter_values() {
        let o = |tradeoff, perf_mode| Options {
            tuning: TuningArgs {
                tradeoff,
                perf_mode,
            },
            json: false,
        };
        assert!(filter_values(&o(None, None)).is_empty());
        assert_eq!(
            filter_values(&o(Some(0.25), Some(PerfMode::Balanced))),
            [TAIL_MAGIC, 250_000, 2]
        );
        assert_eq!(
            filter_values(&o(None, Some(PerfMode::Decomp))),
            [TAIL_MAGIC, UNSET, 1]
        );
        let parsed = btune_hdf5::values::Request::parse(&filter_values(&o(Some(0.7), None)));
        assert_eq!(
            parsed.unwrap(),
            btune_hdf5::values::Request::Tune(btune_hdf5::values::TuneOptions {
                tradeoff: Some(0.7),
                perf_mode: None
            })
        );
    }
}
