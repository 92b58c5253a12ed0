//! `btune zarr`: Zarr arrays and groups in a directory, read and written
//! through zarrs with the `"btune"` codec (crate `zarrs-btune`) linked into
//! this binary. Arrays compressed with gzip, zlib or crc32c, sharded or
//! transposed, read through zarrs' codecs; zstd and blosc (Blosc1) through
//! [`codecs`]. Zarr v2 input reads too and is written as v3.
//!
//! - [`recompress`]: every array of a hierarchy into a new one, each chunk
//!   tuned by the `btune` codec.
//! - [`inspect`]: codec chains, sizes, and the Blosc2 parameters the chunks
//!   of `btune` arrays carry.
//! - [`codecs`]: read-only zstd and Blosc1 codecs.

mod codecs;
mod inspect;
mod recompress;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use btune_core::Params;
use clap::Subcommand;
use zarrs::array::{Array, ArrayMetadata, ArraySubset};
use zarrs::filesystem::FilesystemStore;
use zarrs::metadata::v3::{ArrayMetadataV3, MetadataV3};
use zarrs::node::{Node, NodeMetadata};
// The codec registers itself with zarrs when linked.
use zarrs_btune as _;

use crate::TuningArgs;

/// The `btune zarr` subcommands.
#[derive(Subcommand)]
pub(crate) enum ZarrCommand {
    /// Rewrite every array of IN (a Zarr array or group directory, walked
    /// recursively) into OUT with the same paths, shapes, data types, chunk
    /// grids, fill values and attributes, replacing each codec chain's
    /// bytes-to-bytes codecs by the "btune" codec (typesize = element size).
    /// Inside a sharded array the inner chunks get it. Arrays of an
    /// already compressing array-to-bytes codec (pcodec, zfp) keep their
    /// codecs.
    Recompress {
        /// Input array or group directory.
        input: PathBuf,
        /// Output directory (must not exist or be empty).
        output: PathBuf,
        /// Recorded in each array's btune configuration.
        #[command(flatten)]
        tuning: TuningArgs,
        /// Fixed parameters for every chunk instead of tuning, e.g.
        /// `zstd/shuffle/5/never` (codec/filter/clevel[/split[/blocksize]]).
        #[arg(long, value_parser = parse_params)]
        params: Option<Params>,
    },
    /// Per array: shape, data type, chunks, codec chain, logical and stored
    /// size; for arrays of the "btune" codec, the Blosc2 parameter sets the
    /// stored chunks carry (from each chunk's header), with counts.
    Inspect {
        /// Array or group directory.
        path: PathBuf,
        /// One JSON object per array on stdout instead of text.
        #[arg(long)]
        json: bool,
    },
}

/// Runs a `btune zarr` subcommand.
pub(crate) fn run(command: ZarrCommand) -> Result<()> {
    // Write the attributes we read, without zarrs' own.
    zarrs::config::global_config_mut().set_include_zarrs_metadata(false);
    codecs::register();
    match command {
        ZarrCommand::Recompress {
            input,
            output,
            tuning,
            params,
        } => recompress::run(&input, &output, &recompress::Options { tuning, params }),
        ZarrCommand::Inspect { path, json } => inspect::run(&path, json),
    }
}

fn parse_params(s: &str) -> Result<Params, String> {
    s.parse::<Params>().map_err(|e| e.to_string())
}

/// A filesystem store rooted at `dir`.
fn open_store(dir: &Path) -> Result<Arc<FilesystemStore>> {
    if !dir.is_dir() {
        bail!("{} is not a directory", dir.display());
    }
    Ok(Arc::new(FilesystemStore::new(dir).with_context(|| {
        format!("opening {} as a Zarr store", dir.display())
    })?))
}

/// Whether a node is a group or an array.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Group,
    Array,
}

/// Every node of the hierarchy at the root of `store`, in pre-order (a
/// group, then its members by name).
fn walk(store: &Arc<FilesystemStore>) -> Result<Vec<(String, Kind)>> {
    let root = Node::open(store, "/").context("reading the Zarr hierarchy")?;
    let mut out = Vec::new();
    visit(&root, &mut out);
    Ok(out)
}

fn visit(node: &Node, out: &mut Vec<(String, Kind)>) {
    let kind = match node.metadata() {
        NodeMetadata::Array(_) => Kind::Array,
        NodeMetadata::Group(_) => Kind::Group,
    };
    out.push((node.path().as_str().to_owned(), kind));
    let mut children: Vec<&Node> = node.children().iter().collect();
    children.sort_by(|a, b| a.path().as_str().cmp(b.path().as_str()));
    for c in children {
        visit(c, out);
    }
}

/// An array's Zarr v3 metadata, or `None` for a Zarr v2 array. (zarrs'
/// own v2-to-v3 conversion knows only the codecs of its enabled features,
/// and panics on others.)
fn metadata_v3<T: ?Sized>(array: &Array<T>) -> Option<ArrayMetadataV3> {
    match array.metadata() {
        ArrayMetadata::V3(m) => Some(m.clone()),
        ArrayMetadata::V2(_) => None,
    }
}

/// The chunk indices of an array's grid, in C order.
fn chunk_indices<T: ?Sized>(array: &Array<T>) -> Vec<Vec<u64>> {
    ArraySubset::new_with_shape(array.chunk_grid_shape().to_vec())
        .indices()
        .into_iter()
        .map(|i| i.to_vec())
        .collect()
}

/// The name of a codec of a chain.
fn codec_name(m: &MetadataV3) -> &str {
    m.name()
}

/// A codec as `name` or `name {configuration}`.
fn codec_text(m: &MetadataV3) -> String {
    match m.configuration() {
        Some(c) if !c.is_empty() => format!(
            "{} {}",
            m.name(),
            serde_json::to_string(c).unwrap_or_default()
        ),
        _ => m.name().to_owned(),
    }
}

/// A shape as Python writes it: `(3,)`, `(2, 3)`, `()`.
fn fmt_shape(s: &[u64]) -> String {
    match s {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            s.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_print_like_python() {
        assert_eq!(fmt_shape(&[]), "()");
        assert_eq!(fmt_shape(&[5]), "(5,)");
        assert_eq!(fmt_shape(&[2, 3]), "(2, 3)");
    }

    #[test]
    fn codecs_print_with_their_configuration() {
        let m: MetadataV3 =
            serde_json::from_str(r#"{"name": "zstd", "configuration": {"level": 3}}"#).unwrap();
        assert_eq!(codec_name(&m), "zstd");
        assert_eq!(codec_text(&m), r#"zstd {"level":3}"#);
        let m: MetadataV3 = serde_json::from_str(r#"{"name": "crc32c"}"#).unwrap();
        assert_eq!(codec_text(&m), "crc32c");
    }
}
