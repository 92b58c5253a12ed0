//! Cheap, deterministic features of a chunk, the input of the models that
//! predict compression parameters (DESIGN §7: BTune's network sees a cheap
//! LZ-style probe of the chunk; ours sees the statistics below).
//!
//! # Sample
//!
//! Features are computed on a sample of at most 2 KiB, so their cost does
//! not grow with the chunk: 4 pieces of 512 bytes (whole elements) centred
//! at 1/8, 3/8, 5/8 and 7/8 of the chunk, or the whole chunk when it holds
//! no more than 2 KiB. Four pieces see most of a chunk whose statistics
//! drift (a regime change, a sparse tail) while the chunk's edges, often
//! atypical (borders of an image), weigh no more than its middle. Elements
//! over 64 bytes get pieces of 8 elements (one bitshuffle group) and fewer
//! of them. The sample, every histogram and the hash table stay in L1 cache.
//!
//! Why 2 KiB: the cost is about 2 µs per KiB of sample plus 2-3 µs of fixed
//! work (scans of the histograms), and the budget is 2% of compressing the
//! chunk with lz4 clevel 1 + shuffle, 6-7 µs for a 1 MiB chunk of fast data.
//! A 4 KiB sample (4 x 1 KiB) cost 10 µs; on the corpus its entropies
//! differed from the 2 KiB ones by up to a few tenths of a bit (fewer
//! samples per bin read lower) and its LZ estimates by a few hundredths;
//! where the pieces sit mattered more than their size. Measured with
//! `examples/feature_cost.rs`: median 1.6% of lz4 on 1 MiB chunks (the
//! per-KiB figures above are from an earlier machine; on the benchmark
//! corpus at `--scale 0.25` a later 2-core machine took 11-31 µs, median
//! 19 µs, against lz4's 1.1 ms: still 1.6%, as both slowed alike). Small
//! chunks cost relatively more, as the sample does not shrink with them
//! (a 4 KiB chunk: features ~6-8 µs, lz4 ~1.5 µs).
//!
//! # Features
//!
//! Entropies are order-0 Shannon entropies in bits per byte (0..=8),
//! estimated from counts (so small samples read a little low); fractions are
//! in 0..=1; sizes are log2. "Lane" k is byte k of every element, the stream
//! that byte shuffle makes; elements longer than 8 bytes fold byte k onto
//! lane `k % 8`, because such elements are nearly always made of 8-byte or
//! smaller numbers (complex128, records) whose byte k and k + 8 play the
//! same role. Lane entropies are the mean over lanes, weighted by their
//! sizes: what an entropy coder sees that compresses each shuffled stream
//! apart (split mode). Differences are taken within a piece only.
//!
//! | name | what | why |
//! |---|---|---|
//! | `log2_typesize` | log2 of the element size | shuffle, bitshuffle and split act per element byte |
//! | `log2_chunk_bytes` | log2 of the chunk length | block size, and the reach of matches, grow with it |
//! | `entropy_raw` | entropy of the bytes as they are | what Huffman coding (zstd, zlib) gains without a filter |
//! | `entropy_shuffle` | lane entropy | what it gains after byte shuffle |
//! | `entropy_bitshuffle` | entropy after bitshuffle (8 elements' bit planes per byte) | what it gains after bitshuffle |
//! | `entropy_bytedelta` | lane entropy of byte differences with the previous element | what it gains after shuffle + bytedelta (smooth data); also the signal for delta + shuffle |
//! | `lz_raw` | output / input of an lz4-like greedy parse (literals + 3 bytes per match) | the redundancy an LZ codec finds without a filter, and the token cost of its matches |
//! | `lz_shuffle` | the same on the byte-shuffled sample | the redundancy an LZ codec finds after shuffle |
//! | `zero_fraction` | fraction of zero bytes | sparse data |
//! | `lane_repeat_fraction` | fraction of element bytes equal to the previous element's | slowly varying data: runs in shuffled streams |
//! | `bitplane_constant_fraction` | fraction of bitshuffled bytes that are 0x00 or 0xFF | constant bit planes: the runs LZ codecs take after bitshuffle |
//!
//! Left out after measuring: the entropy of each byte XOR the previous
//! element's (an imitation of the delta filter) followed `entropy_bytedelta`
//! closely on every corpus dataset and cost a third more histogram work;
//! c-blosc2's delta filter XORs against the chunk's first block anyway, which
//! a small sample cannot imitate.

use std::sync::OnceLock;

/// Identifies this feature definition; stored in model metadata so a model
/// made for other features is refused.
pub const FEATURE_SET: &str = "btune-rs-features-1";

/// Number of features.
pub const NFEATURES: usize = 11;

/// Names, in order (stored in model metadata, shown in errors). The module
/// documentation defines each.
pub const FEATURE_NAMES: [&str; NFEATURES] = [
    "log2_typesize",
    "log2_chunk_bytes",
    "entropy_raw",
    "entropy_shuffle",
    "entropy_bitshuffle",
    "entropy_bytedelta",
    "lz_raw",
    "lz_shuffle",
    "zero_fraction",
    "lane_repeat_fraction",
    "bitplane_constant_fraction",
];

/// Number of pieces in a sample.
const PIECES: usize = 4;

/// Target size of one piece, in bytes (rounded down to whole elements).
const PIECE_BYTES: usize = 512;

/// The largest sample: a chunk up to this size is its own sample. At least
/// 8 elements of 255 bytes.
const SAMPLE_BYTES: usize = PIECES * PIECE_BYTES;

/// Histogram slots per statistic. Byte k of an element counts in lane
/// `k % SLOTS`; lanes of fewer than `SLOTS` bytes are spread over several
/// copies (by element index) so that consecutive increments of a constant
/// stream do not wait for each other, and the copies are added up before
/// the entropy is taken.
const SLOTS: usize = 8;

/// log2 of the number of slots of the match finder's hash table.
const HASH_LOG: u32 = 11;

/// Fixed-point scale of the `c log2 c` table: integer sums are exact, so
/// features do not depend on summation order.
const LOG_SCALE: f64 = 65_536.0;

/// A histogram of bytes.
type Hist = [u16; 256];

/// A chunk's features, in the order of [`FEATURE_NAMES`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Features(pub [f32; NFEATURES]);

impl Features {
    /// Features of `chunk` whose elements are `typesize` bytes (1..=255; a
    /// value outside is clamped into it). Never panics, any length including
    /// 0; every value is finite. Bytes after the last whole element are not
    /// sampled; a chunk shorter than one element has zero entropies and
    /// fractions, and `lz_*` of 1.
    ///
    /// ```
    /// use btune_core::features::{FEATURE_NAMES, Features};
    /// // A smooth float64 ramp: bytedelta removes most of its entropy.
    /// let data: Vec<u8> = (0..100_000u32)
    ///     .flat_map(|i| (f64::from(i) * 0.001).to_le_bytes())
    ///     .collect();
    /// let f = Features::of(&data, 8);
    /// let get = |name| f.0[FEATURE_NAMES.iter().position(|&n| n == name).unwrap()];
    /// assert_eq!(get("log2_typesize"), 3.0);
    /// assert!(get("entropy_bytedelta") < get("entropy_raw") / 2.0);
    /// assert!(f.0.iter().all(|x| x.is_finite()));
    /// // Deterministic: the same bytes give the same features.
    /// assert_eq!(f, Features::of(&data, 8));
    /// ```
    #[must_use]
    pub fn of(chunk: &[u8], typesize: usize) -> Features {
        let ts = typesize.clamp(1, 255);
        let (pieces, npieces) = sample_pieces(chunk, ts);
        let pieces = &pieces[..npieces];
        let lanes = ts.min(SLOTS);

        // The raw sample, contiguous, and its byte-shuffled copy: lane k of
        // a piece of n elements at the piece's offset + k * n. Histograms of
        // the bytes and of their differences with the previous element's.
        let mut raw = [0u8; SAMPLE_BYTES];
        let mut shuffled = [0u8; SAMPLE_BYTES];
        let mut bytes = [[0u16; 256]; SLOTS];
        let mut bytedelta = [[0u16; 256]; SLOTS];
        let mut len = 0;
        for piece in pieces {
            let (raw_piece, shuffled_piece) = (
                &mut raw[len..len + piece.len()],
                &mut shuffled[len..len + piece.len()],
            );
            raw_piece.copy_from_slice(piece);
            // Constant typesizes let the compiler unroll the lanes.
            match ts {
                1 => lane_pass(piece, 1, shuffled_piece, &mut bytes, &mut bytedelta),
                2 => lane_pass(piece, 2, shuffled_piece, &mut bytes, &mut bytedelta),
                4 => lane_pass(piece, 4, shuffled_piece, &mut bytes, &mut bytedelta),
                8 => lane_pass(piece, 8, shuffled_piece, &mut bytes, &mut bytedelta),
                _ => lane_pass(piece, ts, shuffled_piece, &mut bytes, &mut bytedelta),
            }
            len += piece.len();
        }
        let raw = &raw[..len];
        let shuffled = &shuffled[..len];

        // Bitshuffle: bit planes of 8 consecutive bytes of each lane.
        let streams = if ts == 1 { raw } else { shuffled };
        let mut bits = [[0u16; 256]; 8];
        let mut offset = 0;
        for piece in pieces {
            let n = piece.len() / ts;
            for stream in streams[offset..offset + piece.len()].chunks_exact(n.max(1)) {
                bitshuffle_histogram(stream, &mut bits);
            }
            offset += piece.len();
        }

        let table = clog2c_table();
        let raw_hist = merge(&bytes);
        let bits_hist = merge(&bits);
        let n_bits: u32 = bits_hist.iter().sum();
        let n_delta: u32 = merge(&bytedelta).iter().sum();
        let lane_repeat: u32 = bytedelta.iter().map(|h| u32::from(h[0])).sum();
        let lz_raw = lz_estimate(raw);
        let lz_shuffle = if ts == 1 {
            lz_raw
        } else {
            lz_estimate(shuffled)
        };

        Features([
            log2(ts),
            log2(chunk.len()),
            entropy(&raw_hist, table),
            lane_entropy(&bytes, lanes, table),
            entropy(&bits_hist, table),
            lane_entropy(&bytedelta, lanes, table),
            lz_raw,
            lz_shuffle,
            fraction(raw_hist[0], len),
            fraction(lane_repeat, n_delta as usize),
            fraction(bits_hist[0] + bits_hist[255], n_bits as usize),
        ])
    }
}

/// log2 of `n`, 0 for 0.
fn log2(n: usize) -> f32 {
    if n == 0 {
        0.0
    } else {
        (n as f64).log2() as f32
    }
}

/// `count / total`, 0 when `total` is 0.
fn fraction(count: u32, total: usize) -> f32 {
    if total == 0 {
        0.0
    } else {
        (f64::from(count) / total as f64) as f32
    }
}

/// The pieces of `chunk` to sample (whole elements of `ts` bytes, 1..=255)
/// and how many there are.
fn sample_pieces(chunk: &[u8], ts: usize) -> ([&[u8]; PIECES], usize) {
    let mut pieces: [&[u8]; PIECES] = [&[]; PIECES];
    let nelem = chunk.len() / ts;
    if nelem == 0 {
        return (pieces, 0);
    }
    if nelem * ts <= SAMPLE_BYTES {
        pieces[0] = &chunk[..nelem * ts];
        return (pieces, 1);
    }
    // At least one bitshuffle group a piece, and no more than SAMPLE_BYTES
    // in all (8 * 255 <= SAMPLE_BYTES). Then nelem > count * per_piece:
    // pieces neither overlap nor leave the chunk.
    let per_piece = (PIECE_BYTES / ts).max(8);
    let count = (SAMPLE_BYTES / (per_piece * ts)).clamp(1, PIECES);
    for (p, piece) in pieces.iter_mut().take(count).enumerate() {
        let center = (2 * p + 1) * nelem / (2 * count);
        let start = center.saturating_sub(per_piece / 2).min(nelem - per_piece);
        *piece = &chunk[start * ts..(start + per_piece) * ts];
    }
    (pieces, count)
}

/// One pass over `piece` (whole elements of `ts` bytes): byte-shuffles it
/// into `shuffled` (byte k of element i to `k * n + i`; not for `ts` 1,
/// where it is the identity) and counts its bytes and its byte differences
/// with the previous element in slot `k % SLOTS + lanes * copy` (see
/// [`SLOTS`]). Inlined, so that a constant `ts` unrolls the loops.
#[inline(always)]
fn lane_pass(
    piece: &[u8],
    ts: usize,
    shuffled: &mut [u8],
    bytes: &mut [Hist; SLOTS],
    bytedelta: &mut [Hist; SLOTS],
) {
    if SLOTS.is_multiple_of(ts) {
        // Slot k + ts * (i % copies) is simply the byte's index % SLOTS.
        let mut groups = piece.chunks_exact(SLOTS);
        for group in &mut groups {
            for (h, &b) in bytes.iter_mut().zip(group) {
                h[usize::from(b)] += 1;
            }
        }
        for (h, &b) in bytes.iter_mut().zip(groups.remainder()) {
            h[usize::from(b)] += 1;
        }
        let next = piece.get(ts..).unwrap_or_default();
        let (mut groups, mut prevs) = (next.chunks_exact(SLOTS), piece.chunks_exact(SLOTS));
        for (group, prev) in (&mut groups).zip(&mut prevs) {
            for ((h, &b), &p) in bytedelta.iter_mut().zip(group).zip(prev) {
                h[usize::from(b.wrapping_sub(p))] += 1;
            }
        }
        let prev = &piece[next.len() - groups.remainder().len()..];
        for ((h, &b), &p) in bytedelta.iter_mut().zip(groups.remainder()).zip(prev) {
            h[usize::from(b.wrapping_sub(p))] += 1;
        }
    } else {
        let lanes = ts.min(SLOTS);
        let copies = copies(lanes);
        let mut prev: &[u8] = &[];
        for (i, element) in piece.chunks_exact(ts).enumerate() {
            let base = lanes * (i & (copies - 1));
            for (k, &b) in element.iter().enumerate() {
                bytes[(base + k) % SLOTS][usize::from(b)] += 1;
            }
            for (k, (&b, &p)) in element.iter().zip(prev).enumerate() {
                bytedelta[(base + k) % SLOTS][usize::from(b.wrapping_sub(p))] += 1;
            }
            prev = element;
        }
    }
    if ts > 1 {
        let n = piece.len() / ts;
        for (k, stream) in shuffled.chunks_exact_mut(n.max(1)).enumerate() {
            for (s, element) in stream.iter_mut().zip(piece.chunks_exact(ts)) {
                *s = element.get(k).copied().unwrap_or_default();
            }
        }
    }
}

/// Adds the bitshuffle of one lane stream to `hists`: each group of 8 bytes
/// (byte k of 8 consecutive elements, as c-blosc2's bitshuffle groups them)
/// becomes 8 bytes, one per bit plane, counted in `hists[plane]`. A tail
/// shorter than 8 is left out, as bitshuffle leaves it unfiltered.
fn bitshuffle_histogram(stream: &[u8], hists: &mut [Hist; 8]) {
    for group in stream.chunks_exact(8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(group);
        let planes = transpose_bits(u64::from_le_bytes(word)).to_le_bytes();
        for (h, b) in hists.iter_mut().zip(planes) {
            h[usize::from(b)] += 1;
        }
    }
}

/// Transposes the 8x8 bit matrix whose rows are the bytes of `x`: byte j of
/// the result holds bit j of every input byte.
const fn transpose_bits(mut x: u64) -> u64 {
    let t = (x ^ (x >> 7)) & 0x00AA_00AA_00AA_00AA;
    x ^= t ^ (t << 7);
    let t = (x ^ (x >> 14)) & 0x0000_CCCC_0000_CCCC;
    x ^= t ^ (t << 14);
    let t = (x ^ (x >> 28)) & 0x0000_0000_F0F0_F0F0;
    x ^ t ^ (t << 28)
}

/// How many copies of each lane's histograms `lanes` lanes get in
/// [`SLOTS`] slots: a power of two, so that the copy is a mask.
const fn copies(lanes: usize) -> usize {
    match lanes {
        0 | 1 => 8,
        2 => 4,
        3 | 4 => 2,
        _ => 1,
    }
}

/// The sum of histograms.
fn merge<const N: usize>(hists: &[Hist; N]) -> [u32; 256] {
    let mut out = [0u32; 256];
    for h in hists {
        for (o, &c) in out.iter_mut().zip(h) {
            *o += u32::from(c);
        }
    }
    out
}

/// `c * log2(c) * LOG_SCALE` for every count a histogram of a sample can
/// hold, computed once (its 4097 logarithms would cost tens of microseconds
/// per call).
fn clog2c_table() -> &'static [u32; SAMPLE_BYTES + 1] {
    static TABLE: OnceLock<Box<[u32; SAMPLE_BYTES + 1]>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = Box::new([0u32; SAMPLE_BYTES + 1]);
        for (c, v) in t.iter_mut().enumerate().skip(2) {
            let c = c as f64;
            // At most 4096 * 12 * 65536 < 2^32.
            *v = (c * c.log2() * LOG_SCALE).round() as u32;
        }
        t
    })
}

/// `c * log2(c) * LOG_SCALE` from the table (counts never exceed the
/// sample size; a larger one would read the last entry).
fn clog2c(table: &[u32; SAMPLE_BYTES + 1], c: u32) -> u64 {
    u64::from(table[(c as usize).min(SAMPLE_BYTES)])
}

/// The sum of `c log2 c` (scaled) and the total count of a histogram.
fn clog2c_sum(hist: impl IntoIterator<Item = u32>, table: &[u32; SAMPLE_BYTES + 1]) -> (u64, u64) {
    hist.into_iter()
        .fold((0, 0), |(s, n), c| (s + clog2c(table, c), n + u64::from(c)))
}

/// Entropy in bits per byte from the scaled sums:
/// `(N log2 N - sum(c log2 c)) / N`, over one histogram or several.
fn entropy_of(n_log_n: u64, sum: u64, n: u64) -> f32 {
    if n == 0 {
        return 0.0;
    }
    let h = n_log_n.saturating_sub(sum) as f64 / LOG_SCALE / n as f64;
    h.clamp(0.0, 8.0) as f32
}

/// Order-0 entropy of one histogram, in bits per byte.
fn entropy(hist: &[u32; 256], table: &[u32; SAMPLE_BYTES + 1]) -> f32 {
    let (sum, n) = clog2c_sum(hist.iter().copied(), table);
    entropy_of(clog2c(table, n as u32), sum, n)
}

/// Mean entropy of the first `lanes` lanes (copies added up, as laid out by
/// [`lane_pass`]), weighted by their sizes:
/// `(sum over lanes of N_l log2 N_l - sum(c log2 c)) / N`.
fn lane_entropy(hists: &[Hist; SLOTS], lanes: usize, table: &[u32; SAMPLE_BYTES + 1]) -> f32 {
    let lanes = lanes.clamp(1, SLOTS);
    let copies = copies(lanes);
    let (mut sum, mut n_log_n, mut n) = (0, 0, 0);
    for lane in 0..lanes {
        let (s, nl) = if copies == 1 {
            clog2c_sum(hists[lane].iter().map(|&c| u32::from(c)), table)
        } else {
            let mut merged = [0u32; 256];
            for h in hists.iter().skip(lane).step_by(lanes).take(copies) {
                for (m, &c) in merged.iter_mut().zip(h) {
                    *m += u32::from(c);
                }
            }
            clog2c_sum(merged, table)
        };
        sum += s;
        n_log_n += clog2c(table, nl as u32);
        n += nl;
    }
    entropy_of(n_log_n, sum, n)
}

/// Estimated output / input of lz4 on `buf`: literals plus 3 bytes (token
/// and offset) per match, for matches of at least 4 bytes found by an
/// lz4-like greedy parse: a hash table of the last position of each 4-byte
/// sequence, one probe per position, and lz4's acceleration (after 64
/// misses in a row the step grows by one every 64 misses), so that
/// incompressible data is crossed quickly, as lz4 does. 1 for fewer than
/// 8 bytes.
fn lz_estimate(buf: &[u8]) -> f32 {
    let n = buf.len();
    if n < 8 {
        return 1.0;
    }
    let read4 = |i: usize| u32::from_le_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]);
    let mut table = [0u16; 1 << HASH_LOG];
    let (mut i, mut covered, mut matches, mut misses) = (0, 0, 0, 0);
    while i + 4 <= n {
        let v = read4(i);
        let h = (v.wrapping_mul(2_654_435_761) >> (32 - HASH_LOG)) as usize;
        let cand = usize::from(table[h]);
        // Positions are below SAMPLE_BYTES <= u16::MAX.
        table[h] = i as u16;
        if cand < i && read4(cand) == v {
            let len = 4 + common_prefix(buf, cand + 4, i + 4);
            covered += len;
            matches += 1;
            i += len;
            misses = 0;
        } else {
            misses += 1;
            i += 1 + (misses >> 6);
        }
    }
    ((n - covered + 3 * matches) as f64 / n as f64) as f32
}

/// Length of the common prefix of `buf[a..]` and `buf[b..]` (`a < b`), eight
/// bytes at a time.
fn common_prefix(buf: &[u8], a: usize, b: usize) -> usize {
    let read8 = |i: usize| {
        let bytes: [u8; 8] = buf[i..i + 8].try_into().unwrap_or_default();
        u64::from_le_bytes(bytes)
    };
    let mut len = 0;
    while b + len + 8 <= buf.len() {
        let diff = read8(a + len) ^ read8(b + len);
        if diff != 0 {
            return len + (diff.trailing_zeros() / 8) as usize;
        }
        len += 8;
    }
    while b + len < buf.len() && buf[a + len] == buf[b + len] {
        len += 1;
    }
    len
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(f: &Features, name: &str) -> f32 {
        f.0[FEATURE_NAMES.iter().position(|&n| n == name).unwrap()]
    }

    /// xorshift64: deterministic pseudo-random bytes.
    fn random_bytes(len: usize, mut seed: u64) -> Vec<u8> {
        (0..len)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                (seed >> 56) as u8
            })
            .collect()
    }

    fn ramp_f64(n: u32) -> Vec<u8> {
        (0..n)
            .flat_map(|i| (1000.0 + f64::from(i) * 0.01).to_le_bytes())
            .collect()
    }

    #[test]
    fn names_are_unique() {
        for (i, a) in FEATURE_NAMES.iter().enumerate() {
            assert!(!FEATURE_NAMES[i + 1..].contains(a), "{a}");
        }
    }

    #[test]
    fn deterministic() {
        let data = random_bytes(300_000, 7);
        assert_eq!(Features::of(&data, 4), Features::of(&data, 4));
        let ramp = ramp_f64(100_000);
        assert_eq!(Features::of(&ramp, 8), Features::of(&ramp.clone(), 8));
    }

    #[test]
    fn constant_data() {
        for len in [1000, 4096, 1 << 20] {
            let f = Features::of(&vec![42u8; len], 4);
            for name in ["entropy_raw", "entropy_shuffle", "entropy_bytedelta"] {
                assert!(get(&f, name).abs() < 1e-4, "{name} {f:?}");
            }
            // 42 = 0b0010_1010: bit planes of 0x00 and 0xFF bytes, 3:5.
            assert!((get(&f, "entropy_bitshuffle") - 0.954).abs() < 1e-3);
            assert_eq!(get(&f, "bitplane_constant_fraction"), 1.0);
            assert!(get(&f, "lz_raw") < 0.01, "{f:?}");
            assert!(get(&f, "lz_shuffle") < 0.01, "{f:?}");
            assert!(get(&f, "lane_repeat_fraction") > 0.99, "{f:?}");
            assert!(get(&f, "zero_fraction") == 0.0);
        }
        let zeros = Features::of(&[0u8; 10_000], 2);
        assert_eq!(get(&zeros, "zero_fraction"), 1.0);
    }

    #[test]
    fn random_data() {
        let data = random_bytes(1 << 20, 12345);
        for ts in [1, 2, 4, 8] {
            let f = Features::of(&data, ts);
            // 2048 bytes in 256 bins read a little under 8 bits.
            assert!(get(&f, "entropy_raw") > 7.85, "{ts} {f:?}");
            assert!(get(&f, "entropy_bitshuffle") > 7.85, "{ts} {f:?}");
            // Lanes hold fewer bytes each (256 for typesize 8), so they
            // read lower.
            assert!(get(&f, "entropy_shuffle") > 7.0, "{ts} {f:?}");
            assert!(get(&f, "entropy_bytedelta") > 7.0, "{ts} {f:?}");
            assert!(get(&f, "lz_raw") > 0.99, "{ts} {f:?}");
            assert!(get(&f, "lz_shuffle") > 0.99, "{ts} {f:?}");
            assert!(get(&f, "zero_fraction") < 0.02, "{ts} {f:?}");
            assert!(get(&f, "bitplane_constant_fraction") < 0.02, "{ts} {f:?}");
        }
    }

    #[test]
    fn smooth_ramp_shuffles_well() {
        let f = Features::of(&ramp_f64(131_072), 8);
        let raw = get(&f, "entropy_raw");
        assert!(raw > 4.0, "{f:?}");
        assert!(get(&f, "entropy_shuffle") < raw * 0.75, "{f:?}");
        assert!(get(&f, "entropy_bytedelta") < raw * 0.5, "{f:?}");
        assert!(get(&f, "entropy_bitshuffle") < raw, "{f:?}");
        assert!(get(&f, "lz_shuffle") < get(&f, "lz_raw"), "{f:?}");
        // Steps of 0.01 change the low 5 bytes of each element.
        assert!(get(&f, "lane_repeat_fraction") > 0.3, "{f:?}");
    }

    #[test]
    fn odd_lengths_and_typesizes() {
        let data = random_bytes(70_000, 3);
        for len in [
            0, 1, 7, 8, 9, 255, 256, 1023, 4095, 4096, 4097, 5000, 70_000,
        ] {
            for ts in [0, 1, 2, 3, 4, 7, 8, 9, 16, 17, 100, 255, 256, 1000] {
                let f = Features::of(&data[..len], ts);
                assert!(
                    f.0.iter().all(|x| x.is_finite() && x.abs() <= 64.0),
                    "{len} {ts} {f:?}"
                );
            }
        }
        let empty = Features::of(&[], 4);
        assert_eq!(get(&empty, "log2_typesize"), 2.0);
        for (name, x) in FEATURE_NAMES.iter().zip(empty.0).skip(1) {
            let expected = if name.starts_with("lz_") { 1.0 } else { 0.0 };
            assert_eq!(x, expected, "{name}");
        }
    }

    #[test]
    fn sample_is_centred_whole_elements() {
        let chunk: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let base = chunk.as_ptr() as usize;
        let (pieces, n) = sample_pieces(&chunk, 3);
        assert_eq!(n, PIECES);
        let mut end = 0;
        for (p, piece) in pieces.iter().enumerate() {
            let start = piece.as_ptr() as usize - base;
            assert_eq!(piece.len(), PIECE_BYTES / 3 * 3);
            assert_eq!(start % 3, 0);
            assert!(start >= end);
            let center = (start + piece.len() / 2) as f64 / chunk.len() as f64;
            assert!(
                (center - (2 * p + 1) as f64 / 8.0).abs() < 0.01,
                "{p} {center}"
            );
            end = start + piece.len();
        }
        // Large elements: pieces of 8 elements, fewer of them.
        let (pieces, n) = sample_pieces(&chunk, 255);
        assert_eq!((n, pieces[0].len()), (1, 8 * 255));
        let (pieces, n) = sample_pieces(&chunk, 100);
        assert_eq!((n, pieces[1].len()), (2, 800));
        // Small chunks are their own sample, up to the last whole element.
        let (pieces, n) = sample_pieces(&chunk[..2000], 3);
        assert_eq!((n, pieces[0]), (1, &chunk[..1998]));
    }

    #[test]
    fn bit_transpose_is_a_transpose() {
        let x = 0x0123_4567_89AB_CDEFu64;
        let t = transpose_bits(x);
        for row in 0..8 {
            for col in 0..8 {
                assert_eq!((x >> (8 * row + col)) & 1, (t >> (8 * col + row)) & 1);
            }
        }
    }

    #[test]
    fn match_finder_sees_repeats_only() {
        let mut buf = random_bytes(2048, 9);
        buf.extend_from_within(..2048);
        // The second half is one match (or a few).
        let m = lz_estimate(&buf);
        assert!((0.49..0.52).contains(&m), "{m}");
        assert_eq!(lz_estimate(&[1, 2, 3]), 1.0);
    }
}
