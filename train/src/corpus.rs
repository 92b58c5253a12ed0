//! Reading a corpus manifest (`../shared/corpus/build.py` writes it) and
//! cutting datasets into chunks.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// One dataset of a manifest.
#[derive(Debug, Clone, Deserialize)]
pub struct Dataset {
    /// Its name.
    pub name: String,
    /// Its raw file, relative to the manifest.
    pub file: String,
    /// Bytes per element.
    pub typesize: usize,
    /// The file's size.
    pub nbytes: u64,
}

#[derive(Deserialize)]
struct Manifest {
    datasets: Vec<Dataset>,
}

/// The datasets of a manifest, with their files' full paths.
///
/// # Errors
/// If the manifest cannot be read or parsed.
pub fn read_manifest(path: &Path) -> Result<Vec<(Dataset, PathBuf)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading manifest {}", path.display()))?;
    let m: Manifest = serde_json::from_str(&text)
        .with_context(|| format!("parsing manifest {}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    Ok(m.datasets
        .into_iter()
        .map(|d| {
            let p = dir.join(&d.file);
            (d, p)
        })
        .collect())
}

/// Reads a dataset and checks its size against the manifest.
///
/// # Errors
/// If the file cannot be read or its size differs from the manifest's.
pub fn load(d: &Dataset, path: &Path) -> Result<Vec<u8>> {
    let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    if data.len() as u64 != d.nbytes {
        bail!(
            "{} holds {} bytes, the manifest says {}",
            path.display(),
            data.len(),
            d.nbytes
        );
    }
    Ok(data)
}

/// Splits `data` into chunks of about `chunk_bytes`, each a whole number of
/// elements (the last may be shorter).
pub fn chunks(data: &[u8], typesize: usize, chunk_bytes: usize) -> Vec<&[u8]> {
    let size = (chunk_bytes / typesize).max(1) * typesize;
    data.chunks(size).collect()
}
