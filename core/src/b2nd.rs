//! The n-dimensional side of Blosc2 (its b2nd format), as far as a one-chunk
//! frame needs it.
//!
//! A b2nd chunk stores its items block by block, each block a sub-array of
//! the chunk. When every block is a run of whole trailing rows — shape
//! `(1, .., 1, m, d[j+1], .., d[n-1])` with `m` dividing `d[j]` — the blocks
//! follow each other in the chunk's own C order, so a C-order chunk can be
//! compressed as plain bytes and still be a valid b2nd chunk. [`ChunkShape::contiguous_block`]
//! picks such a block shape near a wanted block size; b2nd readers (the
//! standard HDF5 Blosc2 filter, python-blosc2) then see an n-dimensional array.

use crate::error::ParamsError;

/// The most dimensions a chunk shape has here: what the standard HDF5 Blosc2
/// filter records in its filter values.
pub const MAX_DIM: usize = 8;

/// The shape of one chunk, 1 to [`MAX_DIM`] dimensions, each at least 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChunkShape {
    ndim: u8,
    dims: [u32; MAX_DIM],
}

/// A block shape whose blocks lie contiguously in a C-order chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockShape {
    dims: [u32; MAX_DIM],
    ndim: u8,
    bytes: usize,
}

impl ChunkShape {
    /// A chunk shape from its dimensions.
    ///
    /// # Errors
    /// [`ParamsError::Shape`] for no dimensions, more than [`MAX_DIM`], or a
    /// dimension of 0 or above `u32::MAX`.
    pub fn new(dims: &[u64]) -> Result<ChunkShape, ParamsError> {
        if dims.is_empty() || dims.len() > MAX_DIM {
            return Err(ParamsError::Shape(format!(
                "{} dimensions (1 to {MAX_DIM} are supported)",
                dims.len()
            )));
        }
        let mut out = [1u32; MAX_DIM];
        for (o, &d) in out.iter_mut().zip(dims) {
            *o = u32::try_from(d)
                .ok()
                .filter(|&d| d > 0)
                .ok_or_else(|| ParamsError::Shape(format!("dimension {d} is not in 1..2^32")))?;
        }
        Ok(ChunkShape {
            ndim: u8::try_from(dims.len()).unwrap_or(0),
            dims: out,
        })
    }

    /// The dimensions.
    #[must_use]
    pub fn dims(&self) -> &[u32] {
        &self.dims[..usize::from(self.ndim)]
    }

    /// Number of items in the chunk.
    #[must_use]
    pub fn nitems(&self) -> u64 {
        self.dims().iter().map(|&d| u64::from(d)).product()
    }

    /// The block shape nearest `wanted_bytes` (by ratio) among those whose
    /// blocks are contiguous runs of the C-order chunk. Ties go to the
    /// larger block.
    #[must_use]
    pub fn contiguous_block(&self, wanted_bytes: usize, typesize: usize) -> BlockShape {
        let dims = self.dims();
        let n = dims.len();
        let wanted = wanted_bytes.max(1) as f64;
        let mut best: Option<(f64, BlockShape)> = None;
        for j in 0..n {
            let inner: u64 = dims[j + 1..].iter().map(|&d| u64::from(d)).product();
            for m in divisors(dims[j]) {
                let items = u64::from(m) * inner;
                let bytes =
                    usize::try_from(items.saturating_mul(typesize as u64)).unwrap_or(usize::MAX);
                let distance = (bytes as f64 / wanted).ln().abs();
                let better = match &best {
                    None => true,
                    Some((d, b)) => distance < *d || (distance == *d && bytes > b.bytes),
                };
                if better {
                    let mut shape = [1u32; MAX_DIM];
                    shape[j] = m;
                    shape[j + 1..n].copy_from_slice(&dims[j + 1..]);
                    best = Some((
                        distance,
                        BlockShape {
                            dims: shape,
                            ndim: self.ndim,
                            bytes,
                        },
                    ));
                }
            }
        }
        // n >= 1 and every dimension has the divisor 1, so a shape was found.
        best.map_or(
            BlockShape {
                dims: self.dims,
                ndim: self.ndim,
                bytes: usize::try_from(self.nitems()).unwrap_or(usize::MAX) * typesize,
            },
            |(_, b)| b,
        )
    }

    /// Whether blocks of `block` lie contiguously, in order, in a C-order
    /// chunk of this shape (so the chunk's bytes need no reordering).
    #[must_use]
    pub fn is_contiguous(&self, block: &[i64]) -> bool {
        let dims = self.dims();
        if block.len() != dims.len() {
            return false;
        }
        // Leading 1s, then one dimension that divides the chunk's, then the
        // chunk's own dimensions.
        let Some(j) = block.iter().position(|&b| b != 1) else {
            return true;
        };
        let dj = i64::from(dims[j]);
        block[j] > 0
            && dj % block[j] == 0
            && block[j + 1..]
                .iter()
                .zip(&dims[j + 1..])
                .all(|(&b, &d)| b == i64::from(d))
    }
}

impl BlockShape {
    /// The block's dimensions.
    #[must_use]
    pub fn dims(&self) -> &[u32] {
        &self.dims[..usize::from(self.ndim)]
    }

    /// Bytes per block.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.bytes
    }
}

/// The divisors of `n` in increasing order.
fn divisors(n: u32) -> Vec<u32> {
    let mut small = Vec::new();
    let mut large = Vec::new();
    let mut i = 1u32;
    while u64::from(i) * u64::from(i) <= u64::from(n) {
        if n.is_multiple_of(i) {
            small.push(i);
            if i != n / i {
                large.push(n / i);
            }
        }
        i += 1;
    }
    small.extend(large.into_iter().rev());
    small
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn divisors_are_complete_and_sorted() {
        assert_eq!(divisors(1), vec![1]);
        assert_eq!(divisors(12), vec![1, 2, 3, 4, 6, 12]);
        assert_eq!(divisors(97), vec![1, 97]);
        assert_eq!(divisors(36), vec![1, 2, 3, 4, 6, 9, 12, 18, 36]);
    }

    #[test]
    fn shapes_are_validated() {
        assert!(ChunkShape::new(&[]).is_err());
        assert!(ChunkShape::new(&[1; 9]).is_err());
        assert!(ChunkShape::new(&[4, 0]).is_err());
        assert!(ChunkShape::new(&[1 << 33]).is_err());
        assert_eq!(ChunkShape::new(&[3, 4]).unwrap().nitems(), 12);
    }

    #[test]
    fn contiguous_block_is_whole_rows_near_the_wanted_size() {
        let shape = ChunkShape::new(&[100, 1000]).unwrap();
        // Rows of 8000 bytes: 64 KiB is nearest 8 rows (64000 bytes)... among
        // divisors of 100: 5 rows (40000) or 10 rows (80000); 80000 is nearer.
        let b = shape.contiguous_block(65_536, 8);
        assert_eq!(b.dims(), &[10, 1000]);
        assert_eq!(b.bytes(), 80_000);
        assert!(shape.is_contiguous(&[10, 1000]));
        // Blocks smaller than a row split the row.
        let b = shape.contiguous_block(4000, 8);
        assert_eq!(b.dims(), &[1, 500]);
        assert!(shape.is_contiguous(&[1, 500]));
    }

    #[test]
    fn cube_blocks_are_not_contiguous() {
        let shape = ChunkShape::new(&[64, 64, 64]).unwrap();
        assert!(!shape.is_contiguous(&[16, 16, 16]));
        assert!(!shape.is_contiguous(&[2, 3, 64]));
        assert!(shape.is_contiguous(&[1, 8, 64]));
        assert!(shape.is_contiguous(&[1, 1, 1]));
        assert!(!shape.is_contiguous(&[1, 8]));
    }
}
