//! `btune h5`: HDF5 files through the system libhdf5, with the btune Blosc2
//! filter (id 32026, crate `btune-hdf5`) registered in this process, so it
//! both writes tuned chunks and reads Blosc2 datasets (hdf5plugin's too)
//! without `HDF5_PLUGIN_PATH`. All tuning happens inside the filter.
//!
//! - [`recompress`]: every dataset of a file into a new file, tuned.
//! - [`inspect`]: filter pipelines and the Blosc2 parameters each dataset's
//!   chunks carry.
//! - [`sys`]: the HDF5 calls, the only `unsafe` of the CLI.

mod inspect;
mod recompress;
mod sys;

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Subcommand;

use self::sys::{File, Group, LinkKind};
use crate::TuningArgs;

/// The `btune h5` subcommands.
#[derive(Subcommand)]
pub(crate) enum H5Command {
    /// Rewrite every dataset of IN into OUT (same paths, types, shapes,
    /// chunk shapes and attributes), compressed by the Blosc2 filter 32026
    /// with per-chunk tuning. Contiguous datasets of 64 KiB or more become
    /// chunked (about 1 MiB per chunk). Compact, virtual and smaller
    /// datasets, variable-length or reference types, and datasets of a
    /// filter not available here are copied as they are. Attributes holding
    /// object references are left out (noted on stderr).
    Recompress {
        /// Input HDF5 file.
        input: PathBuf,
        /// Output HDF5 file (overwritten).
        output: PathBuf,
        /// Recorded in each dataset's filter values.
        #[command(flatten)]
        tuning: TuningArgs,
        /// One JSON object per dataset on stdout instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Per dataset: layout, filter pipeline, logical / stored size; for
    /// Blosc2 (32026) datasets the parameter sets their chunks carry and
    /// the btune tuning options stored with the dataset.
    Inspect {
        /// HDF5 file.
        file: PathBuf,
        /// One JSON object per dataset on stdout instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `btune h5` subcommand.
pub(crate) fn run(command: H5Command) -> Result<()> {
    match command {
        H5Command::Recompress {
            input,
            output,
            tuning,
            json,
        } => recompress::run(&input, &output, &recompress::Options { tuning, json }),
        H5Command::Inspect { file, json } => inspect::run(&file, json),
    }
}

/// One link of the file, found by [`walk`].
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    /// Absolute path, e.g. `/group/data`.
    pub(crate) path: String,
    /// Whether its name is recorded as UTF-8.
    pub(crate) utf8: bool,
    /// What it leads to.
    pub(crate) kind: LinkKind,
}

/// Groups nested deeper than this are refused (a hard-link cycle).
const MAX_DEPTH: usize = 256;

/// Every link of `file` below the root in pre-order (a group, then its
/// contents), each group's links in creation order if tracked, else by
/// name. An object reachable by two hard links is listed (and copied) twice.
///
/// # Errors
/// If a group cannot be listed, or nesting exceeds [`MAX_DEPTH`].
pub(crate) fn walk(file: &File) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    visit(&file.root()?, "/", 0, &mut out)?;
    Ok(out)
}

fn visit(group: &Group, path: &str, depth: usize, out: &mut Vec<Entry>) -> Result<()> {
    if depth > MAX_DEPTH {
        bail!("groups nested deeper than {MAX_DEPTH} at {path} (a hard-link cycle?)");
    }
    for m in group.members()? {
        let child = join(path, &m.name);
        let is_group = m.kind == LinkKind::Group;
        out.push(Entry {
            path: child.clone(),
            utf8: m.utf8,
            kind: m.kind,
        });
        if is_group {
            visit(&group.group(&m.name)?, &child, depth + 1, out)?;
        }
    }
    Ok(())
}

fn join(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

/// A shape as Python writes it: `(3,)`, `(2, 3)`, `()`.
pub(crate) fn fmt_shape(s: &[u64]) -> String {
    match s {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            s.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Number of chunks along each dimension of an extent `dims` in chunks of
/// `chunk`.
pub(crate) fn grid(dims: &[u64], chunk: &[u64]) -> Vec<u64> {
    dims.iter()
        .zip(chunk)
        .map(|(&d, &c)| d.div_ceil(c.max(1)))
        .collect()
}

/// The element offset and clipped extent of every chunk of the grid, in C
/// order.
pub(crate) fn chunks<'a>(
    dims: &'a [u64],
    chunk: &'a [u64],
) -> impl Iterator<Item = (Vec<u64>, Vec<u64>)> + 'a {
    let g = grid(dims, chunk);
    let total: u64 = g.iter().product();
    (0..total).map(move |mut i| {
        let mut start = vec![0u64; g.len()];
        for d in (0..g.len()).rev() {
            start[d] = (i % g[d]) * chunk[d];
            i /= g[d];
        }
        let count = start
            .iter()
            .zip(dims.iter().zip(chunk))
            .map(|(&s, (&d, &c))| c.min(d - s))
            .collect();
        (start, count)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_extent_in_c_order_clipped_at_edges() {
        let all: Vec<_> = chunks(&[5, 4], &[2, 3]).collect();
        assert_eq!(all.len(), 6);
        assert_eq!(all[0], (vec![0, 0], vec![2, 3]));
        assert_eq!(all[1], (vec![0, 3], vec![2, 1]));
        assert_eq!(all[5], (vec![4, 3], vec![1, 1]));
        let n: u64 = all.iter().map(|(_, c)| c.iter().product::<u64>()).sum();
        assert_eq!(n, 20);
        assert_eq!(chunks(&[0, 4], &[2, 3]).count(), 0);
    }

    #[test]
    fn shapes_print_like_python() {
        assert_eq!(fmt_shape(&[]), "()");
        assert_eq!(fmt_shape(&[5]), "(5,)");
        assert_eq!(fmt_shape(&[2, 3]), "(2, 3)");
    }

    #[test]
    fn paths_join_under_the_root() {
        assert_eq!(join("/", "a"), "/a");
        assert_eq!(join("/a", "b"), "/a/b");
    }
}
