//! The grid swept over one dataset's chunks: per parameter set, each chunk's
//! measured outcome, timed once (see [`crate::measure`]) and optionally kept
//! in a cache directory. `btune bench` and `btune train` share it, and its
//! cache: a grid timed for one serves the other.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Result;
use btune_core::{Outcome, Params, Threads, grid};
use indicatif::{ProgressBar, ProgressStyle};

use btune_core::features::Features;

use crate::corpus::Dataset;
use crate::labels::ChunkRecord;
use crate::measure::{reps_for, time_chunk, total};

/// A progress bar over the grid points of every dataset (one tick per
/// point swept over a dataset's chunks), on stderr.
///
/// # Errors
/// Never in practice (the template is fixed).
pub fn grid_progress(datasets: &[(Dataset, PathBuf)]) -> Result<ProgressBar> {
    let points: usize = datasets
        .iter()
        .map(|(d, _)| grid::oracle_grid(d.typesize).len())
        .sum();
    let bar = ProgressBar::new(points as u64);
    bar.set_style(ProgressStyle::with_template(
        "grid {elapsed_precise} [{bar:40}] {pos}/{len} {msg}",
    )?);
    Ok(bar)
}

/// The name of the cache file for dataset `name` cut into `chunks` of
/// `chunk_bytes`, timed with `nthreads`: `NAME-CHUNK-Nt-FINGERPRINT.json`,
/// where the fingerprint is the xxHash64 of the chunks' bytes in order
/// (16 hex digits).
///
/// ```
/// use btune_core::Threads;
/// let data = vec![7u8; 100];
/// let chunks: Vec<&[u8]> = data.chunks(64).collect();
/// let name = btune_train::sweep::cache_file_name("ones", &chunks, 64, Threads::ONE);
/// assert!(name.starts_with("ones-64-1t-") && name.ends_with(".json"));
/// // Other bytes, another file.
/// let other = vec![8u8; 100];
/// let chunks: Vec<&[u8]> = other.chunks(64).collect();
/// assert_ne!(name, btune_train::sweep::cache_file_name("ones", &chunks, 64, Threads::ONE));
/// ```
#[must_use]
pub fn cache_file_name(
    name: &str,
    chunks: &[&[u8]],
    chunk_bytes: usize,
    nthreads: Threads,
) -> String {
    use std::hash::Hasher;
    let mut hash = twox_hash::XxHash64::with_seed(0);
    for c in chunks {
        hash.write(c);
    }
    format!(
        "{}-{:016x}.json",
        cache_stem(name, chunk_bytes, nthreads),
        hash.finish()
    )
}

/// What names a cache file before its fingerprint: `NAME-CHUNK-Nt`.
fn cache_stem(name: &str, chunk_bytes: usize, nthreads: Threads) -> String {
    format!("{name}-{chunk_bytes}-{}t", nthreads.get())
}

/// Warns once per dataset of a cache file named as before fingerprints
/// (`NAME-CHUNK-Nt.json`): it is not read, since nothing says which data it
/// was timed on, so the grid is timed again.
fn warn_of_unfingerprinted(name: &str, chunk_bytes: usize, nthreads: Threads, dirs: &[PathBuf]) {
    let legacy = format!("{}.json", cache_stem(name, chunk_bytes, nthreads));
    for f in dirs.iter().map(|d| d.join(&legacy)).filter(|f| f.is_file()) {
        log::warn!(
            "grid cache {} has no data fingerprint in its name and is not read; \
             the grid of {name} is timed again",
            f.display()
        );
    }
}

/// Per-chunk outcomes of parameter sets on one dataset.
pub struct Sweep<'a> {
    /// The dataset's chunks.
    pub chunks: Vec<&'a [u8]>,
    /// Bytes per element.
    pub typesize: usize,
    reps: usize,
    by_params: HashMap<Params, Vec<Outcome>>,
    cache_file: Option<PathBuf>,
    /// Whether outcomes changed since the cache was read (the cache file is
    /// rewritten only then).
    changed: bool,
}

impl<'a> Sweep<'a> {
    /// A sweep of the dataset `name` cut into `chunks` of `chunk_bytes`
    /// (the last may be shorter). Outcomes kept by an earlier run (same
    /// dataset, chunk size and threads) in the first of `cache_dirs` that
    /// has them are reused, and new ones are kept there; a dataset none of
    /// them has goes into the first. So a training corpus's cache and a
    /// benchmark corpus's can be read side by side without either being
    /// copied into the other.
    ///
    /// The cache file's name carries a fingerprint of the bytes
    /// ([`cache_file_name`]): timings are only ever reused for the data they
    /// were measured on, and the same name at another corpus scale, or
    /// regenerated data, gets a file of its own instead of overwriting.
    ///
    /// # Errors
    /// If a cache file exists but cannot be read or parsed.
    pub fn new(
        name: &str,
        chunks: Vec<&'a [u8]>,
        chunk_bytes: usize,
        typesize: usize,
        nthreads: Threads,
        cache_dirs: &[PathBuf],
    ) -> Result<Sweep<'a>> {
        let file_name = cache_file_name(name, &chunks, chunk_bytes, nthreads);
        let found = cache_dirs
            .iter()
            .map(|dir| dir.join(&file_name))
            .find(|f| f.is_file());
        if found.is_none() {
            warn_of_unfingerprinted(name, chunk_bytes, nthreads, cache_dirs);
        }
        let mut by_params = HashMap::new();
        if let Some(f) = &found {
            let cached: Vec<(Params, Vec<Outcome>)> =
                serde_json::from_str(&std::fs::read_to_string(f)?)?;
            by_params.extend(cached.into_iter().filter(|(_, v)| v.len() == chunks.len()));
        }
        let cache_file = found.or_else(|| cache_dirs.first().map(|dir| dir.join(&file_name)));
        Ok(Sweep {
            reps: reps_for(chunks.first().map_or(1, |c| c.len())),
            chunks,
            typesize,
            by_params,
            cache_file,
            changed: false,
        })
    }

    /// The outcome of `p` on chunk `i` (measured now unless known).
    ///
    /// # Errors
    /// If c-blosc2 fails or the chunk does not round-trip.
    pub fn chunk(&mut self, p: &Params, i: usize) -> Result<Outcome> {
        if let Some(v) = self.by_params.get(p) {
            return Ok(v[i]);
        }
        time_chunk(self.chunks[i], self.typesize, p, self.reps)
    }

    /// The outcomes of `p` on every chunk, measured once.
    ///
    /// # Errors
    /// As [`Sweep::chunk`].
    pub fn all(&mut self, p: &Params) -> Result<&Vec<Outcome>> {
        if !self.by_params.contains_key(p) {
            let v = self
                .chunks
                .iter()
                .map(|c| time_chunk(c, self.typesize, p, self.reps))
                .collect::<Result<Vec<_>>>()?;
            self.by_params.insert(*p, v);
            self.changed = true;
        }
        Ok(&self.by_params[p])
    }

    /// Times the points of `grid` that were read from the cache again, and
    /// keeps per chunk the faster of the old and the new compression and
    /// decompression times. Noise only ever slows a timing down, so the
    /// minimum is the better estimate: this repairs a cache timed while the
    /// machine was busy. Each is timed as a first timing is ([`time_chunk`]:
    /// slow ones once). `tick` is called after each point;
    /// [`Sweep::grid`] then rewrites the cache.
    ///
    /// # Errors
    /// As [`Sweep::chunk`].
    pub fn retime(&mut self, grid: &[Params], mut tick: impl FnMut()) -> Result<()> {
        for p in grid {
            if let Some(kept) = self.by_params.get_mut(p) {
                for (chunk, o) in self.chunks.iter().zip(kept.iter_mut()) {
                    let n = time_chunk(chunk, self.typesize, p, self.reps)?;
                    o.ctime = o.ctime.min(n.ctime);
                    o.dtime = match (o.dtime, n.dtime) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                }
                self.changed = true;
            }
            tick();
        }
        Ok(())
    }

    /// Every point of `grid` over every chunk; `tick` is called after each
    /// point (for a progress bar). Returns each point's total, and keeps the
    /// outcomes in the cache directory if there is one.
    ///
    /// # Errors
    /// As [`Sweep::chunk`], or if the cache cannot be written.
    pub fn grid(
        &mut self,
        grid: &[Params],
        mut tick: impl FnMut(),
    ) -> Result<Vec<(Params, Outcome)>> {
        let mut totals = Vec::with_capacity(grid.len());
        for p in grid {
            totals.push((*p, total(self.all(p)?)));
            tick();
        }
        // Rewrite the cache only when this sweep measured or re-timed
        // something.
        if let Some(f) = self.cache_file.as_ref().filter(|_| self.changed) {
            std::fs::create_dir_all(f.parent().unwrap_or(Path::new(".")))?;
            let kept: Vec<(Params, &Vec<Outcome>)> =
                grid.iter().map(|p| (*p, &self.by_params[p])).collect();
            std::fs::write(f, serde_json::to_string(&kept)?)?;
        }
        Ok(totals)
    }

    /// One record per chunk: its features and every point of `grid`'s
    /// outcome on it (measured now unless known).
    ///
    /// # Errors
    /// As [`Sweep::chunk`].
    pub fn records(&mut self, dataset: &str, grid: &[Params]) -> Result<Vec<ChunkRecord>> {
        (0..self.chunks.len())
            .map(|i| {
                Ok(ChunkRecord {
                    dataset: dataset.to_owned(),
                    typesize: self.typesize,
                    features: Features::of(self.chunks[i], self.typesize),
                    grid: grid
                        .iter()
                        .map(|p| Ok((*p, self.chunk(p, i)?)))
                        .collect::<Result<_>>()?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retime_keeps_the_faster_timing_and_rewrites_the_cache() {
        let dir = std::env::temp_dir().join(format!("btune-retime-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let data: Vec<u8> = (0..65_536u32).flat_map(|i| (i / 3).to_le_bytes()).collect();
        let chunks: Vec<&[u8]> = data.chunks(1 << 17).collect();
        let grid: Vec<Params> = ["lz4/shuffle/1/never", "zstd/none/1/never"]
            .iter()
            .map(|p| p.parse().unwrap())
            .collect();
        let sweep = |dir: &Path| {
            Sweep::new(
                "d",
                chunks.clone(),
                1 << 17,
                4,
                Threads::ONE,
                &[dir.to_owned()],
            )
        };

        // A cache as a busy machine would leave it: every timing 1000 s.
        let mut first = sweep(&dir).unwrap();
        first.grid(&grid, || {}).unwrap();
        let measured = first.by_params.clone();
        for v in first.by_params.values_mut() {
            for o in v {
                o.ctime = 1e3;
                o.dtime = Some(1e3);
            }
        }
        first.changed = true;
        first.grid(&grid, || {}).unwrap();

        let mut again = sweep(&dir).unwrap();
        assert!(again.by_params.values().flatten().all(|o| o.ctime == 1e3));
        let mut ticks = 0;
        again.retime(&grid, || ticks += 1).unwrap();
        assert_eq!(ticks, grid.len());
        again.grid(&grid, || {}).unwrap();

        // Read back from the rewritten cache: real timings, same sizes.
        let back = sweep(&dir).unwrap();
        for p in &grid {
            for (o, m) in back.by_params[p].iter().zip(&measured[p]) {
                assert!(
                    o.ctime < 1.0 && o.dtime.is_some_and(|d| d < 1.0),
                    "{p}: {o:?}"
                );
                assert_eq!((o.nbytes, o.cbytes), (m.nbytes, m.cbytes));
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn several_cache_dirs_read_where_found_and_write_new_datasets_to_the_first() {
        let root = std::env::temp_dir().join(format!("btune-dirs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let (first_dir, second_dir) = (root.join("first"), root.join("second"));
        let data: Vec<u8> = (0..16_384u32).flat_map(|i| (i / 5).to_le_bytes()).collect();
        let chunks: Vec<&[u8]> = data.chunks(1 << 15).collect();
        let grid: Vec<Params> = vec!["lz4/shuffle/1/never".parse().unwrap()];
        let file = |dir: &Path, name: &str| {
            dir.join(cache_file_name(name, &chunks, 1 << 15, Threads::ONE))
        };

        // "kept" is cached in the second directory only.
        Sweep::new(
            "kept",
            chunks.clone(),
            1 << 15,
            4,
            Threads::ONE,
            std::slice::from_ref(&second_dir),
        )
        .unwrap()
        .grid(&grid, || {})
        .unwrap();
        assert!(file(&second_dir, "kept").is_file());

        let dirs = [first_dir.clone(), second_dir.clone()];
        let mut kept = Sweep::new("kept", chunks.clone(), 1 << 15, 4, Threads::ONE, &dirs).unwrap();
        assert!(
            kept.by_params.contains_key(&grid[0]),
            "read from the second"
        );
        // A new point is kept where the dataset's timings are.
        let more: Vec<Params> = vec![grid[0], "zstd/none/1/never".parse().unwrap()];
        kept.grid(&more, || {}).unwrap();
        assert!(!file(&first_dir, "kept").exists());
        let text = std::fs::read_to_string(file(&second_dir, "kept")).unwrap();
        assert!(text.contains("zstd"));

        // A dataset neither has goes into the first.
        Sweep::new("new", chunks.clone(), 1 << 15, 4, Threads::ONE, &dirs)
            .unwrap()
            .grid(&grid, || {})
            .unwrap();
        assert!(file(&first_dir, "new").is_file());
        assert!(!file(&second_dir, "new").exists());
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn timings_are_kept_per_data_not_per_name() {
        let dir = std::env::temp_dir().join(format!("btune-fingerprint-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let dirs = [dir.clone()];
        let grid: Vec<Params> = vec!["lz4/shuffle/1/never".parse().unwrap()];
        let a: Vec<u8> = (0..16_384u32).flat_map(|i| (i / 5).to_le_bytes()).collect();
        let b: Vec<u8> = (0..16_384u32).flat_map(|i| (i * 7).to_le_bytes()).collect();
        let a_chunks: Vec<&[u8]> = a.chunks(1 << 15).collect();
        let b_chunks: Vec<&[u8]> = b.chunks(1 << 15).collect();
        let a_file = dir.join(cache_file_name("same", &a_chunks, 1 << 15, Threads::ONE));
        let b_file = dir.join(cache_file_name("same", &b_chunks, 1 << 15, Threads::ONE));
        assert_ne!(a_file, b_file);

        Sweep::new("same", a_chunks.clone(), 1 << 15, 4, Threads::ONE, &dirs)
            .unwrap()
            .grid(&grid, || {})
            .unwrap();
        let a_text = std::fs::read_to_string(&a_file).unwrap();
        // Other bytes under the same name and chunk count: nothing is read,
        // and the first data's timings stay as they were.
        let mut other = Sweep::new("same", b_chunks, 1 << 15, 4, Threads::ONE, &dirs).unwrap();
        assert!(other.by_params.is_empty());
        other.grid(&grid, || {}).unwrap();
        assert!(b_file.is_file());
        assert_eq!(std::fs::read_to_string(&a_file).unwrap(), a_text);

        // A file named without a fingerprint is not read either.
        std::fs::rename(&a_file, dir.join("same-32768-1t.json")).unwrap();
        let again = Sweep::new("same", a_chunks, 1 << 15, 4, Threads::ONE, &dirs).unwrap();
        assert!(again.by_params.is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
