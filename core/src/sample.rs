//! Samples of a chunk for trial compressions: a few whole blocks, each of the
//! size the candidate would really use on this chunk, taken at evenly spaced
//! block-aligned places. Whole blocks matter: redundancy often spans more
//! than a small slice (rows that repeat across a field), and c-blosc2 only
//! finds matches within a block.

use std::borrow::Cow;

/// The size a sample of this chunk aims for: a sixteenth of the chunk, so
/// that a trial costs a small fraction of compressing it, within 4-64 KiB.
pub(crate) fn sample_target(chunk_len: usize) -> usize {
    (chunk_len / 16).clamp(4 * 1024, 64 * 1024)
}

/// A sample of `chunk` for a candidate whose blocks are `blocksize` bytes,
/// and the block size to compress it with. Small blocks: `sample_target`
/// worth of whole blocks, evenly spaced. Large blocks: one block from the
/// middle, cut to twice the target (a truncated block still shows much of
/// the long-range redundancy, at a bounded cost).
pub(crate) fn block_sample(chunk: &[u8], blocksize: usize) -> (Cow<'_, [u8]>, usize) {
    let target = sample_target(chunk.len());
    let blocksize = blocksize.max(1);
    if chunk.len() <= target {
        return (Cow::Borrowed(chunk), blocksize);
    }
    if blocksize >= target {
        let len = blocksize.min(2 * target).min(chunk.len());
        // The middle block (or block-sized piece), aligned.
        let start = (chunk.len() / len / 2 * len).min(chunk.len() - len);
        return (
            Cow::Borrowed(&chunk[start..start + len]),
            blocksize.min(len),
        );
    }
    let nblocks = chunk.len() / blocksize;
    let count = (target / blocksize).clamp(1, nblocks.max(1));
    if count == 1 {
        let i = nblocks / 2;
        return (
            Cow::Borrowed(&chunk[i * blocksize..(i + 1) * blocksize]),
            blocksize,
        );
    }
    let mut out = Vec::with_capacity(count * blocksize);
    for k in 0..count {
        let i = k * (nblocks - 1) / (count - 1);
        out.extend_from_slice(&chunk[i * blocksize..(i + 1) * blocksize]);
    }
    (Cow::Owned(out), blocksize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_chunks_are_their_own_sample() {
        let chunk = vec![1u8; 4000];
        assert_eq!(block_sample(&chunk, 4096).0.len(), chunk.len());
    }

    #[test]
    fn samples_are_a_sixteenth_in_whole_evenly_spaced_blocks() {
        let chunk: Vec<u8> = (0..1_048_576u32).map(|i| (i / 16384) as u8).collect();
        let (s, b) = block_sample(&chunk, 16384);
        assert_eq!((s.len(), b), (4 * 16384, 16384));
        // First and last blocks are included, each whole.
        assert!(s[..16384].iter().all(|&x| x == 0));
        assert!(s[3 * 16384..].iter().all(|&x| x == 63));
        // One big block from the middle, whole up to two targets.
        let (s, b) = block_sample(&chunk, 131_072);
        assert_eq!((s.len(), b), (131_072, 131_072));
        assert_eq!(s[0], 32);
        let (s, b) = block_sample(&chunk, 1_048_576);
        assert_eq!((s.len(), b), (131_072, 131_072));
        // A 128 KiB chunk aims for 8 KiB.
        let small = &chunk[..131_072];
        assert_eq!(block_sample(small, 2048).0.len(), 8192);
    }
}
