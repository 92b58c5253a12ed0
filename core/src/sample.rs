//! Samples of a chunk for trial compressions: a few whole blocks, each of the
//! size the candidate would really use on this chunk, taken at evenly spaced
//! block-aligned places. Whole blocks matter: redundancy often spans more
//! than a small slice (rows that repeat across a field), and c-blosc2 only
//! finds matches within a block.

use std::borrow::Cow;

/// Bytes a sample aims for; a single block may be larger.
pub(crate) const SAMPLE_TARGET_BYTES: usize = 64 * 1024;

/// `count` blocks of `blocksize` bytes from `chunk`, evenly spaced; the whole
/// chunk when that many blocks would cover most of it.
pub(crate) fn block_sample(chunk: &[u8], blocksize: usize) -> Cow<'_, [u8]> {
    let blocksize = blocksize.max(1);
    let nblocks = chunk.len().div_ceil(blocksize);
    let count = (SAMPLE_TARGET_BYTES / blocksize).max(1);
    // Blocks past the first full ones would be most of the chunk anyway.
    if count * 2 > nblocks || chunk.len() <= SAMPLE_TARGET_BYTES {
        return Cow::Borrowed(chunk);
    }
    let full_blocks = chunk.len() / blocksize;
    if count == 1 {
        let i = full_blocks / 2;
        return Cow::Borrowed(&chunk[i * blocksize..(i + 1) * blocksize]);
    }
    let mut out = Vec::with_capacity(count * blocksize);
    for k in 0..count {
        let i = k * (full_blocks - 1) / (count - 1);
        out.extend_from_slice(&chunk[i * blocksize..(i + 1) * blocksize]);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_chunks_are_their_own_sample() {
        let chunk = vec![1u8; 10_000];
        assert_eq!(block_sample(&chunk, 4096).len(), chunk.len());
    }

    #[test]
    fn samples_are_whole_evenly_spaced_blocks() {
        let chunk: Vec<u8> = (0..1_048_576u32).map(|i| (i / 16384) as u8).collect();
        let s = block_sample(&chunk, 16384);
        assert_eq!(s.len(), 4 * 16384);
        // First and last full blocks are included, each whole.
        assert!(s[..16384].iter().all(|&b| b == 0));
        assert!(s[3 * 16384..].iter().all(|&b| b == 63));
        // One big block from the middle.
        let s = block_sample(&chunk, 131_072);
        assert_eq!(s.len(), 131_072);
        assert_eq!(s[0], 32);
        // Half the chunk is one block; a block as large as the chunk is it.
        assert_eq!(block_sample(&chunk, 524_288).len(), 524_288);
        assert_eq!(block_sample(&chunk, 1_048_576).len(), chunk.len());
    }
}
