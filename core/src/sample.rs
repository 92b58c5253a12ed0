//! The sample a readapt's trials compress: a few evenly spaced pieces of the
//! chunk, the same bytes for every candidate. Sharing one sample is what
//! makes trials comparable: a chunk whose start is all zeros and whose middle
//! is noise must not look 1000x compressible to one candidate and 5x to
//! another because each looked at different blocks. Spread-out pieces show
//! a chunk's variety; each candidate compresses them with the blocks it
//! would use on the chunk, cut to half the sample (the tuner's trials
//! compress the first block apart, to warm the context up).

use std::borrow::Cow;

use crate::blosc2;
use crate::params::Params;

/// Pieces a sample is made of, where the chunk is large enough.
const PIECES: usize = 4;

/// The smallest piece. Pieces are often shorter than a candidate's block
/// (8 KiB pieces against 16 KiB blocks on a 1 MiB chunk), so a block spans
/// neighbouring pieces; below a few KiB it would be mostly seams.
const MIN_PIECE: usize = 4 * 1024;

/// The smallest and largest sample.
const SAMPLE_BYTES: std::ops::RangeInclusive<usize> = 4 * 1024..=32 * 1024;

/// The size a sample of this chunk aims for, within [`SAMPLE_BYTES`]:
/// the largest where ratio comes first
/// ([`crate::search::CHUNK_PROBE_FROM`]), else a thirty-second of the
/// chunk at tradeoff 0.5 and above, so that a trial costs a small
/// fraction of compressing it, shrinking to a sixty-fourth at 0.1 and
/// below.
///
/// Ratio first, the winners compress slowly (1-30 MB/s at t = 0.9), so
/// even a trial on 32 KiB costs little next to the chunk, while a
/// thirty-second of a small chunk cuts the trials' blocks to a few KiB,
/// where codecs and levels rank as they do not on the chunk: on 64 KiB slices of `dem_i16` at
/// t = 0.9, lz4 at clevel 9 won on a 4 KiB sample (regret 0.33) where
/// zstd won on 32 KiB (0.03). Over the 38 one-chunk datasets of
/// `bench-results/ratio-first-sample-ab/` this took the median regret at
/// t = 0.9 from 0.059 to 0.037 and the worst from 0.33 to 0.19 (at 0.8
/// from 0.116 to 0.088, the worst from 0.34 to 0.21).
///
/// Below it, the faster the tradeoff, the more a trial's time
/// weighs against the stored data's (which there compresses at several
/// GB/s), and the less a ratio's last percent matters. Over the 81
/// datasets of the benchmark and training corpora this took the median
/// regret at tradeoff 0.1 from 0.073 to 0.060 (the mean from 0.083 to
/// 0.077). A hundred and twenty-eighth did better on the median (0.055)
/// but worse on the mean (0.079): its 4 KiB blocks misjudge filters and
/// stores on images (hubble, lfw: 0.1 worse each).
pub(crate) fn sample_target(chunk_len: usize, tradeoff: f64) -> usize {
    if tradeoff >= crate::search::CHUNK_PROBE_FROM {
        return *SAMPLE_BYTES.end();
    }
    // 2^((0.5 - t) / 0.4): 1 at 0.5, 2 at 0.1.
    let shrink = 2f64.powf(((0.5 - tradeoff) / 0.4).clamp(0.0, 1.0));
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let target = (chunk_len as f64 / (32.0 * shrink)) as usize;
    target.clamp(*SAMPLE_BYTES.start(), *SAMPLE_BYTES.end())
}

/// The bytes every trial of one readapt compresses, and the length of the
/// chunk they come from (blocks are sized for the chunk, then cut to the
/// sample).
pub(crate) struct Sample<'a> {
    bytes: Cow<'a, [u8]>,
    chunk_len: usize,
}

impl<'a> Sample<'a> {
    /// `sample_target(chunk.len(), tradeoff)` bytes of `chunk` in up to [`PIECES`]
    /// evenly spaced pieces (first and last included), each a whole number
    /// of `typesize` elements. A chunk no longer than the target is its own
    /// sample.
    pub(crate) fn of(chunk: &'a [u8], typesize: usize, tradeoff: f64) -> Sample<'a> {
        Sample::of_bytes(chunk, typesize, sample_target(chunk.len(), tradeoff))
    }

    /// As [`Sample::of`], aiming for `target` bytes.
    pub(crate) fn of_bytes(chunk: &'a [u8], typesize: usize, target: usize) -> Sample<'a> {
        let typesize = typesize.max(1);
        let count = (target / MIN_PIECE).clamp(1, PIECES);
        let piece = target / count / typesize * typesize;
        let bytes = if chunk.len() <= target || piece == 0 {
            Cow::Borrowed(chunk)
        } else if count == 1 {
            let start = (chunk.len() - piece) / 2 / typesize * typesize;
            Cow::Borrowed(&chunk[start..start + piece])
        } else {
            let span = chunk.len() - piece;
            let mut out = Vec::with_capacity(count * piece);
            for k in 0..count {
                let start = span * k / (count - 1) / typesize * typesize;
                out.extend_from_slice(&chunk[start..start + piece]);
            }
            Cow::Owned(out)
        };
        Sample {
            bytes,
            chunk_len: chunk.len(),
        }
    }

    /// The sampled bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The length of the chunk the sample was taken from.
    pub(crate) fn chunk_len(&self) -> usize {
        self.chunk_len
    }

    /// Whether the sample is the whole chunk.
    pub(crate) fn is_whole(&self) -> bool {
        self.bytes.len() == self.chunk_len
    }

    /// The block size a trial of `params` uses on this sample: the one the
    /// chunk would get, cut to half the sample unless the sample is the
    /// whole chunk.
    pub(crate) fn blocksize(&self, params: &Params, typesize: usize) -> usize {
        let auto = blosc2::auto_blocksize(params, typesize, self.chunk_len);
        if self.is_whole() {
            auto
        } else {
            let ts = typesize.max(1);
            auto.min(self.bytes.len() / 2 / ts * ts).max(ts)
        }
    }
}

/// The order-0 entropy of `bytes`, in bits per byte (0 for none).
pub(crate) fn byte_entropy(bytes: &[u8]) -> f64 {
    let mut hist = [0u32; 256];
    for &b in bytes {
        hist[usize::from(b)] += 1;
    }
    #[allow(clippy::cast_precision_loss)]
    let n = bytes.len() as f64;
    hist.iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// The middle one of the blocks of `blocksize` bytes that c-blosc2 cuts
/// `chunk` into: where what only a whole block shows is read (blosclz
/// gives a block up after probing its first 16 KiB; matches further apart
/// than a sample's short blocks reach).
pub(crate) fn middle_block(chunk: &[u8], blocksize: usize) -> &[u8] {
    let blocksize = blocksize.clamp(1, chunk.len().max(1));
    let start = chunk.len() / blocksize / 2 * blocksize;
    &chunk[start..(start + blocksize).min(chunk.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_chunks_are_their_own_sample() {
        let chunk = vec![1u8; 4000];
        let s = Sample::of(&chunk, 4, 0.5);
        assert!(s.is_whole());
        assert_eq!(s.bytes().len(), 4000);
    }

    #[test]
    fn samples_are_a_thirty_second_in_evenly_spaced_pieces() {
        let chunk: Vec<u8> = (0..1_048_576u32).map(|i| (i / 8192) as u8).collect();
        let s = Sample::of(&chunk, 8, 0.5);
        assert_eq!((s.bytes().len(), s.chunk_len), (32_768, 1_048_576));
        // Four 8 KiB pieces: the first and last of the chunk, two between.
        let b = s.bytes();
        assert!(b[..8192].iter().all(|&x| x == 0));
        assert!(b[3 * 8192..].iter().all(|&x| x == 127));
        // The second starts a third of the way (element-aligned).
        let third = (1_048_576 - 8192) / 3 / 8 * 8;
        assert_eq!(&b[8192..2 * 8192], &chunk[third..third + 8192]);
        // A 256 KiB chunk aims for 8 KiB: two 4 KiB pieces.
        let small = Sample::of(&chunk[..262_144], 8, 0.5);
        assert_eq!(small.bytes().len(), 8192);
        // Pieces hold whole elements.
        let odd = Sample::of(&chunk, 12, 0.5);
        assert_eq!(odd.bytes().len() % 12, 0);
        assert!(odd.bytes().len() <= 32_768);
    }

    #[test]
    fn byte_entropy_counts_bits_per_byte() {
        assert_eq!(byte_entropy(&[]), 0.0);
        assert_eq!(byte_entropy(&[7; 100]), 0.0);
        let two: Vec<u8> = (0..1000).map(|i| (i % 2) as u8).collect();
        assert!((byte_entropy(&two) - 1.0).abs() < 1e-12);
        let all: Vec<u8> = (0..=255).cycle().take(256 * 64).collect();
        assert!((byte_entropy(&all) - 8.0).abs() < 1e-12);
    }

    #[test]
    fn the_middle_block_is_a_whole_block() {
        let chunk: Vec<u8> = (0..1_048_576u32).map(|i| (i / 65_536) as u8).collect();
        // Blocks 0..4 of 256 KiB: the third (index 2) starts at 512 KiB.
        assert_eq!(middle_block(&chunk, 262_144), &chunk[524_288..786_432]);
        // Of two whole blocks and a shorter last one, the second.
        assert_eq!(
            middle_block(&chunk[..600_000], 262_144),
            &chunk[262_144..524_288]
        );
        // A block longer than the chunk is the chunk.
        assert_eq!(middle_block(&chunk[..1000], 4096).len(), 1000);
        assert!(middle_block(&[], 4096).is_empty());
    }

    #[test]
    fn speed_first_tradeoffs_sample_less() {
        let mib = 1 << 20;
        assert_eq!(sample_target(mib, 0.9), 32 * 1024);
        assert_eq!(sample_target(mib, 0.5), 32 * 1024);
        let between = sample_target(mib, 0.3);
        assert!(16 * 1024 < between && between < 32 * 1024, "{between}");
        assert_eq!(sample_target(mib, 0.1), 16 * 1024);
        assert_eq!(sample_target(mib, 0.0), 16 * 1024);
        // Never under 4 KiB (pieces would be mostly seams).
        assert_eq!(sample_target(128 * 1024, 0.1), 4 * 1024);
    }

    #[test]
    fn ratio_first_samples_are_the_largest_or_the_chunk() {
        let chunk = vec![7u8; 64 * 1024];
        // A thirty-second (2 KiB, so 4 KiB) at 0.5; 32 KiB at 0.9.
        assert_eq!(Sample::of(&chunk, 2, 0.5).bytes().len(), 4 * 1024);
        assert_eq!(Sample::of(&chunk, 2, 0.9).bytes().len(), 32 * 1024);
        // A chunk of 32 KiB or less is its own sample.
        assert!(Sample::of(&chunk[..20_000], 2, 0.9).is_whole());
        assert!(!Sample::of(&chunk[..20_000], 2, 0.5).is_whole());
        assert_eq!(sample_target(1 << 20, 0.75), sample_target(1 << 20, 0.5));
    }
}
