//! The first bytes a filter pipeline writes for one block of a chunk: what
//! blosclz at clevel 7 and above probes before it gives a block up
//! ([`crate::search::GIVE_UP_PROBE`]). A filter can turn data that blosclz
//! would compress slowly into data whose head it gives up on (the low bytes
//! of numbers, the low bits of text, come first after a shuffle), so that
//! the block is stored at nearly copy speed; the head tells which, without
//! filtering and compressing the whole block.
//!
//! The layouts are c-blosc2 2.21's for a block in one stream (no split):
//! `shuffle.c` puts byte `j` of element `i` at `j * n + i`; `bitshuffle`
//! writes one row of `n / 8` bytes per bit of each byte (byte `j`, bit `k`
//! in row `8 j + k`, element `8 m + b` in bit `b` of the row's byte `m`);
//! `delta.c` XORs every block but the chunk's first with the chunk's first
//! bytes; `bytedelta` replaces each byte of a shuffled stream by its
//! difference from the one before. Bytes beyond the last whole element (or
//! group of eight, for bitshuffle) are copied as they are.

use crate::params::Filter;

/// The first `len` bytes that `filter` writes for `block` (elements of
/// `typesize` bytes) of a chunk that starts with `chunk_start`. Only delta
/// reads that start (at least as long as `block`), and only for a block
/// other than the chunk's first. Shorter than `len` only if the block is.
pub(crate) fn filtered_head(
    filter: Filter,
    typesize: usize,
    block: &[u8],
    chunk_start: &[u8],
    len: usize,
) -> Vec<u8> {
    let len = len.min(block.len());
    let ts = typesize.max(1);
    match filter {
        Filter::None => block[..len].to_vec(),
        Filter::Shuffle => shuffled_head(block, ts, len),
        Filter::Bitshuffle => bitshuffled_head(block, ts, len),
        Filter::DeltaShuffle => {
            // Delta XORs the bytes a shuffle reads: only those of the head's
            // elements are needed, but the head may reach any element.
            let delta: Vec<u8> = block.iter().zip(chunk_start).map(|(b, r)| b ^ r).collect();
            shuffled_head(&delta, ts, len)
        }
        Filter::ShuffleBytedelta => {
            let n = block.len() / ts;
            let mut head = shuffled_head(block, ts, len);
            // Each stream of `n` bytes restarts the difference.
            for i in (1..head.len()).rev() {
                if i < n * ts && i % n != 0 {
                    head[i] = head[i].wrapping_sub(head[i - 1]);
                }
            }
            head
        }
    }
}

/// The first `len` bytes of `block` byte-shuffled for elements of `ts`.
fn shuffled_head(block: &[u8], ts: usize, len: usize) -> Vec<u8> {
    let n = block.len() / ts;
    let mut out = Vec::with_capacity(len);
    for j in 0..ts {
        if out.len() >= len {
            return out;
        }
        let take = (len - out.len()).min(n);
        out.extend(block[j..].iter().step_by(ts).take(take));
    }
    let rest = len - out.len();
    out.extend_from_slice(&block[n * ts..n * ts + rest]);
    out
}

/// The first `len` bytes of `block` bit-shuffled for elements of `ts`.
fn bitshuffled_head(block: &[u8], ts: usize, len: usize) -> Vec<u8> {
    // Whole groups of eight elements are transposed; the rest is copied.
    let n = block.len() / ts / 8 * 8;
    let mut out = Vec::with_capacity(len);
    'rows: for r in 0..8 * ts {
        let (j, k) = (r / 8, r % 8);
        for group in block[..n * ts].chunks_exact(8 * ts) {
            if out.len() >= len {
                break 'rows;
            }
            // Byte `j` of the eight elements, element `b` in byte `b` of a
            // word; bit `k` of each gathered into the top byte (each bit
            // shifted to 56 + b; the other products fall outside it).
            // (For bytes the group is that word.)
            let word = match <[u8; 8]>::try_from(group) {
                Ok(bytes) => u64::from_le_bytes(bytes),
                Err(_) => (0..8).fold(0u64, |w, b| w | u64::from(group[b * ts + j]) << (8 * b)),
            };
            let bits = (word >> k) & 0x0101_0101_0101_0101;
            #[allow(clippy::cast_possible_truncation)]
            out.push((bits.wrapping_mul(0x0102_0408_1020_4080) >> 56) as u8);
        }
    }
    if out.len() < len {
        let start = n * ts;
        let rest = len - out.len();
        out.extend_from_slice(&block[start..start + rest]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blosc2;
    use crate::params::{Blocksize, Clevel, Codec, Params, SplitMode};
    use crate::search::GIVE_UP_PROBE;

    /// `n` elements of `ts` bytes: the low `noisy` bytes of each are noise,
    /// the others a slow staircase (what shuffling sorts apart).
    fn numbers(n: usize, ts: usize, noisy: usize, seed: u64) -> Vec<u8> {
        let mut x = seed | 1;
        let mut out = Vec::with_capacity(n * ts);
        for i in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            for j in 0..ts {
                out.push(if j < noisy {
                    (x >> (8 * j)) as u8
                } else {
                    (i / 512 + j) as u8
                });
            }
        }
        out
    }

    fn at_clevel_7(filter: Filter, blocksize: usize) -> Params {
        let mut p = Params::new(
            Codec::BloscLz,
            filter,
            Clevel::new(7).unwrap(),
            SplitMode::Never,
        );
        p.blocksize = Blocksize::Bytes(u32::try_from(blocksize).unwrap());
        p
    }

    #[test]
    fn the_head_gives_the_verdict_c_blosc2_gives_the_block() {
        const BLOCK: usize = 64 * 1024;
        let mut seen = [0usize; 2];
        for ts in [1, 2, 4, 8] {
            for noisy in 0..ts.min(3) + 1 {
                // The chunk's first block is noise, which every pipeline
                // stores raw: the chunk is stored raw if the second block is.
                let first = numbers(BLOCK / ts, ts, ts, 7);
                let second = numbers(BLOCK / ts, ts, noisy, 11);
                for filter in Filter::ALL {
                    if !filter.is_effective(ts) {
                        continue;
                    }
                    let head = filtered_head(filter, ts, &second, &first, GIVE_UP_PROBE);
                    let p = at_clevel_7(Filter::None, head.len());
                    let predicted = blosc2::compress(&head, 1, &p).unwrap().len() > head.len();
                    let chunk = [first.as_slice(), &second].concat();
                    let c = blosc2::compress(&chunk, ts, &at_clevel_7(filter, BLOCK)).unwrap();
                    let stored = c.len() > chunk.len();
                    assert_eq!(predicted, stored, "{filter:?} typesize {ts}, {noisy} noisy");
                    seen[usize::from(stored)] += 1;
                }
            }
        }
        // Both verdicts occur, so the comparison can fail either way.
        assert!(seen[0] > 0 && seen[1] > 0, "{seen:?}");
    }

    #[test]
    fn bitshuffled_heads_match_a_bit_by_bit_transpose() {
        for ts in [1, 2, 3, 4, 8] {
            let block = numbers(1000 / ts, ts, ts, 3);
            let n = block.len() / ts / 8 * 8;
            let mut naive: Vec<u8> = (0..8 * ts)
                .flat_map(|r| {
                    let block = &block;
                    (0..n / 8).map(move |m| {
                        (0..8).fold(0u8, |acc, b| {
                            acc | (((block[(8 * m + b) * ts + r / 8] >> (r % 8)) & 1) << b)
                        })
                    })
                })
                .collect();
            naive.extend_from_slice(&block[n * ts..]);
            for len in [1, 77, block.len()] {
                assert_eq!(
                    bitshuffled_head(&block, ts, len),
                    naive[..len],
                    "typesize {ts}, {len} bytes"
                );
            }
        }
    }

    #[test]
    fn layouts_match_the_filters_definitions() {
        let block: Vec<u8> = (0..64u8).collect();
        // Shuffle of 4-byte elements: byte 0 of every element first.
        assert_eq!(shuffled_head(&block, 4, 4), vec![0, 4, 8, 12]);
        // Bitshuffle of bytes: row 0 is bit 0 of elements 0..8, 8..16, ...
        let bits = bitshuffled_head(&block, 1, 2);
        assert_eq!(bits, vec![0b1010_1010, 0b1010_1010]);
        // Bytedelta of the shuffled stream 0, 4, 8, ...: the first byte, then 4s.
        let d = filtered_head(Filter::ShuffleBytedelta, 4, &block, &block, 4);
        assert_eq!(d, vec![0, 4, 4, 4]);
        // Delta against the chunk's start: a block equal to it is all zeros.
        let z = filtered_head(Filter::DeltaShuffle, 4, &block, &block, 8);
        assert_eq!(z, vec![0; 8]);
    }
}
