//! Which candidates each stage of a readapt tries. Pure functions of the
//! current winner and what was measured, so the tuner's state machine stays
//! apart from the search space.
//!
//! A HARD readapt, on samples of one chunk:
//! 0. at speed-first tradeoffs, measures [`store_probe`] and stops if it
//!    stores the sample ([`STORE_FIRST_BELOW`]);
//! 1. measures every effective filter pipeline with lz4 at clevel 1 (cheap,
//!    and the ranking of filters carries over to other codecs), and
//!    [`store_probe`];
//! 2. at balanced tradeoffs ([`BLOCK_PROBE_TRADEOFFS`]), on data that
//!    compresses, measures [`block_probe`] on the sample and on one of the
//!    chunk's blocks: what that block gains over a sample of itself in the
//!    sample's blocks (far matches a sample's short blocks cannot show)
//!    goes to every candidate by how far its own blocks see ([`reach`]),
//!    except unfiltered candidates after a filtered probe, and the block's
//!    trial is a candidate; where ratio comes first ([`CHUNK_PROBE_FROM`]),
//!    [`chunk_probe`] does the same for each of the two best filters on
//!    the whole chunk;
//! 3. predicts every grid point (codec x clevel x split) for the two best
//!    filters by ratio from the nearest measured trial (same codec, else same
//!    family, else lz4) with a table of relative ratios and speeds
//!    ([`predict`]; on uniform bytes lz4 stored, [`UNIFORM_BITS`], no
//!    better than lz4), and measures the best predicted point while it
//!    could beat the best measured one by more than twice what its trial
//!    costs in utility (a few trials at most). Each measurement anchors the
//!    predictions of its neighbours;
//! 4. at speed-first tradeoffs, on data lz4 hardly compresses, checks
//!    whether blosclz stores the chunk's blocks ([`give_up_store`],
//!    [`GIVE_UP_BELOW`]) and, if so, adds that store as a candidate;
//! 5. from balanced tradeoffs on, where the best candidate's blocks put a
//!    filter's planes further apart than its codec sees
//!    ([`plane_distance_exceeds_window`]), checks on one of the chunk's
//!    blocks what that loses.
//!
//! At balanced tradeoffs, the choice among the measured candidates
//! (a HARD's or a SOFT's) compares them at the speeds the chunk's longer
//! blocks would give them ([`chooses_at_chunk_speeds`]).
//!
//! A SOFT readapt tries the winner again with clevel one up and one down, the
//! other split mode and, where more than one thread is allowed, other thread
//! counts, with the last HARD's block gain; it leaves a winner measured on a
//! block alone.

use crate::params::{Clevel, Codec, Filter, Params, SplitMode, Threads};

/// Per clevel {1, 3, 5, 7, 9}: (ratio gain, speed factor) for split
/// {always, never}.
type CodecRow = [[(f64, f64); 2]; 5];

/// What the grid's points give relative to lz4 at clevel 1 without split on
/// the same data and filter: (ratio gain, compression speed factor) per codec,
/// clevel {1, 3, 5, 7, 9} and split mode {always, never}. Medians over the
/// corpus's datasets, measured with c-blosc2 2.21 on 1 MiB chunks by this
/// project. Only ratios between two entries are used: a candidate is predicted
/// from a measured anchor of the same family, which cancels most of what
/// varies between datasets.
#[rustfmt::skip]
const RELATIVE: [(Codec, CodecRow); 5] = [
    (Codec::BloscLz, [
        [(0.941, 0.933), (0.950, 0.526)], [(0.962, 0.519), (0.967, 0.358)], [(0.970, 0.504), (0.937, 0.556)],
        [(0.962, 0.540), (0.868, 0.972)], [(0.975, 0.443), (0.897, 0.714)]]),
    (Codec::Lz4, [
        [(1.017, 0.952), (1.000, 1.000)], [(1.017, 1.014), (1.014, 1.017)], [(1.018, 0.999), (1.019, 1.015)],
        [(1.021, 1.046), (1.020, 1.019)], [(1.021, 1.065), (1.020, 1.036)]]),
    (Codec::Lz4Hc, [
        [(1.037, 0.218), (1.028, 0.320)], [(1.066, 0.086), (1.077, 0.084)], [(1.099, 0.060), (1.105, 0.061)],
        [(1.115, 0.042), (1.134, 0.040)], [(1.122, 0.026), (1.139, 0.021)]]),
    (Codec::Zlib, [
        [(1.050, 0.161), (1.026, 0.179)], [(1.316, 0.070), (1.319, 0.073)], [(1.356, 0.043), (1.342, 0.047)],
        [(1.383, 0.027), (1.374, 0.035)], [(1.393, 0.012), (1.383, 0.012)]]),
    (Codec::Zstd, [
        [(1.282, 0.436), (1.202, 0.493)], [(1.333, 0.141), (1.292, 0.167)], [(1.386, 0.075), (1.340, 0.085)],
        [(1.414, 0.019), (1.408, 0.038)], [(1.481, 0.003), (1.513, 0.004)]]),
];

/// Chunk speed over trial speed per doubling of a candidate's block from
/// its trial's (cut to half the sample) to the chunk's, per codec, clevel
/// {1, 3, 5, 7, 9} and split mode {always, never}. Fitted by
/// `scripts/fit_trial_speed.py` on every grid point's trial beside its
/// speed on the whole chunk, first chunk of each of the training corpus's
/// arrays, c-blosc2 2.21, one thread (`bench-results/trial-speed-ab/`).
///
/// Short blocks misjudge codecs unevenly: zstd at clevel 1 with split
/// pays its per-call set-up on every short stream and looks 1.5-1.7x
/// slower than it is on the chunk, while lz4 hardly moves. On the
/// benchmark corpus, which the fit never saw, the factors cut how far a
/// trial's speed sits from its chunk's (log units, median) from 0.38 to
/// 0.30.
#[rustfmt::skip]
const SPEED_PER_DOUBLING: [(Codec, [[f64; 2]; 5]); 5] = [
    (Codec::BloscLz, [[1.035, 0.989], [1.069, 0.977], [1.102, 1.136], [1.184, 1.334], [1.135, 1.312]]),
    (Codec::Lz4, [[1.066, 1.087], [1.053, 1.013], [1.039, 1.020], [1.044, 1.014], [1.040, 1.019]]),
    (Codec::Lz4Hc, [[1.182, 1.094], [0.936, 0.849], [0.890, 0.840], [0.859, 0.833], [0.822, 0.810]]),
    (Codec::Zlib, [[1.084, 1.026], [1.131, 0.997], [1.048, 0.991], [1.000, 0.957], [0.921, 0.907]]),
    (Codec::Zstd, [[1.233, 1.219], [1.157, 1.109], [1.116, 1.070], [1.004, 1.023], [0.935, 0.936]]),
];

/// How much faster (or slower) `p` compresses the chunk, in blocks of
/// `chunk_blocksize` bytes, than its trial measured in blocks of
/// `trial_blocksize` ([`SPEED_PER_DOUBLING`]); 1 where the trial's blocks
/// are the chunk's.
pub(crate) fn chunk_speed_factor(
    p: &Params,
    trial_blocksize: usize,
    chunk_blocksize: usize,
) -> f64 {
    if trial_blocksize == 0 || chunk_blocksize <= trial_blocksize {
        return 1.0;
    }
    #[allow(clippy::cast_precision_loss)]
    let doublings = (chunk_blocksize as f64 / trial_blocksize as f64).log2();
    grid_entry(&SPEED_PER_DOUBLING, p, 1.0).powf(doublings)
}

/// Whether a readapt's choice at `tradeoff` compares its trials at the
/// speeds the chunk's blocks would give them ([`chunk_speed_factor`])
/// rather than as measured. Verification always uses the measured speeds:
/// correcting those too moved what gets verified and lost
/// (`bench-results/trial-speed-ab/`).
///
/// At balanced tradeoffs ([`BLOCK_PROBE_TRADEOFFS`]) only, where the
/// choice is often lz4 against zstd at a low level. There, alternating
/// runs on the training corpus took the median regret at t = 0.5 from
/// 0.081-0.084 to 0.067-0.074 and the first chunk's from 0.035-0.037 to
/// 0.018-0.029 (at 0.7 from 0.096-0.105 to 0.079-0.100), with the
/// benchmark corpus unchanged within noise at 0.3-0.7
/// (`bench-results/trial-speed-below-ab/`). Speed first, the choice is
/// between fast candidates a few percent apart and stores timed on the
/// chunk's own blocks, where a median factor moves nothing but ties
/// (`lfw_f64` at t = 0.1 went from lz4 at clevel 1 to 9, 0.080 -> 0.097).
/// Ratio first, it misjudged single datasets by more than the margins it
/// decides: zstd at clevel 9 runs 1.6x faster on `python_source_text`'s
/// chunk than on its trial, where the factor says 0.67x, and t = 0.9 lost
/// (`bench-results/trial-speed-in-choice-ab/`).
pub(crate) fn chooses_at_chunk_speeds(tradeoff: f64) -> bool {
    BLOCK_PROBE_TRADEOFFS.contains(&tradeoff)
}

/// (ratio gain, speed factor) of `p` relative to lz4 clevel 1 without split;
/// levels between the grid's take the lower neighbour's figures.
pub(crate) fn relative(p: &Params) -> (f64, f64) {
    grid_entry(&RELATIVE, p, (1.0, 1.0))
}

/// `p`'s entry in a table of figures per codec, clevel {1, 3, 5, 7, 9}
/// and split mode {always, never}; levels between the grid's take the
/// lower neighbour's, a codec the table lacks takes `missing`.
fn grid_entry<T: Copy>(table: &[(Codec, [[T; 2]; 5])], p: &Params, missing: T) -> T {
    table
        .iter()
        .find(|(c, _)| *c == p.codec)
        .map_or(missing, |(_, rows)| {
            rows[usize::from((p.clevel.get() - 1) / 2).min(4)]
                [usize::from(p.split == SplitMode::Never)]
        })
}

/// Decompression speed relative to lz4 on the same data and filter, per
/// codec: medians over every grid point (clevels, split modes) of the
/// datasets of the benchmark and training corpora, 1 MiB chunks, one
/// thread, measured by this project with c-blosc2 2.21. What a codec costs
/// to read hardly depends on its level, so one figure per codec (per-level
/// medians only add noise); between codecs it differs up to sevenfold,
/// which DECOMP and BALANCED modes must see before a candidate is measured.
pub(crate) fn decompression_factor(codec: Codec) -> f64 {
    match codec {
        Codec::BloscLz => 1.021,
        Codec::Lz4 => 1.0,
        Codec::Lz4Hc => 1.013,
        Codec::Zlib => 0.147,
        Codec::Zstd => 0.523,
    }
}

/// Predicts the decompression speed of `target` from a measured `anchor`
/// with [`decompression_factor`].
pub(crate) fn predict_dspeed(target: &Params, anchor: &Params, measured: f64) -> f64 {
    measured * decompression_factor(target.codec) / decompression_factor(anchor.codec)
}

/// Seconds a new c-blosc2 context takes to set up before its first block:
/// codec state and block buffers (measured by this project on a 2-core
/// x86-64 machine with c-blosc2 2.21; a trial pays it once).
pub(crate) fn context_cost(codec: Codec) -> f64 {
    match codec {
        Codec::BloscLz | Codec::Lz4 => 15e-6,
        Codec::Lz4Hc => 30e-6,
        Codec::Zstd => 70e-6,
        Codec::Zlib => 100e-6,
    }
}

/// The anchor family of a codec: candidates are predicted from a measured
/// trial of the same family (LZ-only codecs from lz4, entropy-coding ones
/// from zstd at clevel 1).
pub(crate) fn family_anchor(p: &Params) -> Params {
    let codec = match p.codec {
        Codec::BloscLz | Codec::Lz4 | Codec::Lz4Hc => Codec::Lz4,
        Codec::Zlib | Codec::Zstd => Codec::Zstd,
    };
    Params::new(codec, p.filter, Clevel::MIN, SplitMode::Never).with_threads(p.cthreads)
}

/// Predicts (ratio, compression speed) of `target` from a measured
/// `anchor` (ratio, speed) with the relative table.
pub(crate) fn predict(target: &Params, anchor: &Params, measured: (f64, f64)) -> (f64, f64) {
    let (gt, st) = relative(target);
    let (ga, sa) = relative(anchor);
    (measured.0 * gt / ga, measured.1 * st / sa)
}

/// Every grid point (codec x clevel x split) for these filters: the
/// candidates a HARD readapt predicts.
pub(crate) fn grid_for(filters: &[Filter]) -> Vec<Params> {
    let mut out = Vec::new();
    for &filter in filters {
        for codec in Codec::ALL {
            for &c in &crate::grid::GRID_CLEVELS {
                for split in SplitMode::ALL {
                    if let Some(clevel) = Clevel::new(c) {
                        out.push(Params::new(codec, filter, clevel, split));
                    }
                }
            }
        }
    }
    out
}

/// Stage 1 of a HARD readapt: lz4 at clevel 1 with every effective filter,
/// then [`store_probe`].
pub(crate) fn filter_stage(typesize: usize) -> Vec<Params> {
    let mut out: Vec<Params> = Filter::ALL
        .into_iter()
        .filter(|f| f.is_effective(typesize))
        .map(|f| Params::new(Codec::Lz4, f, Clevel::MIN, SplitMode::Never))
        .collect();
    out.push(store_probe());
    out
}

/// The candidate that stores data it cannot compress at nearly memcpy
/// speed: lz4 at clevel 9 uses large blocks and gives up on a block early
/// when its start does not compress. On hard-to-compress data and a
/// speed-first tradeoff, storing is what wins (on 47 of the 81 corpus and
/// training datasets at t = 0.1 the oracle has a ratio below 1.02, and this
/// is the grid point that comes closest most often); nothing predicts that
/// speed from lz4 at clevel 1, so it is measured.
pub(crate) fn store_probe() -> Params {
    Params::new(Codec::Lz4, Filter::None, Clevel::MAX, SplitMode::Never)
}

/// Below this tradeoff a HARD readapt measures [`store_probe`] first, and
/// stops there if the probe stores the sample ([`stores`]): when speed
/// counts nine times as much as ratio, nothing that compresses such data
/// pays for the trials that would find it. In the benchmark and training
/// corpora, on the 28 of 81 datasets where the probe stores, storing is the
/// oracle's choice at tradeoff 0.1 with a median regret of 0. Six of the
/// seven that lose more than 0.03 are blosclz stores, which no trial on a
/// sample sees: blosclz gives a block up after probing its first 16 KiB, so
/// only large blocks store fast. At 0.2 the median is already 0.018 and 13
/// of them lose more than 0.03.
///
/// Where the probe hardly compresses the sample ([`GIVE_UP_RATIO`]), the
/// check whether blosclz stores the chunk's blocks ([`give_up_store`])
/// follows at once, and a store it finds also ends the readapt: at these
/// tradeoffs a store at several GB/s beats anything that gains a few
/// percent, and the trials it saves are most of the tuning work
/// (`hubble_u8` at 0.1: 0.65 to 0.33 ms of 1.3 ms compression, regret
/// 0.07 to 0.04, same parameters).
pub(crate) const STORE_FIRST_BELOW: f64 = 0.15;

/// Below this tradeoff a HARD readapt also checks [`give_up_store`] on
/// data that lz4 hardly compresses ([`GIVE_UP_RATIO`]). blosclz at clevel
/// 2 and above estimates a block's ratio from its first 16 KiB (c-blosc2
/// 2.21, `blosclz.c`) and stores the block if the estimate is low: on a
/// block of 256 KiB or more that costs one probe and a copy, faster than
/// any codec that compresses, which is what a speed-first tradeoff wants
/// of data that barely compresses. A sample's short blocks cost a probe
/// each and cannot show that speed, so the verdict is read from the heads
/// of one of the chunk's own blocks and the speed is predicted.
pub(crate) const GIVE_UP_BELOW: f64 = 0.25;

/// Data whose sample lz4 without filter (at clevel 1, or the store probe
/// where only it ran) compresses less than this, but does compress, is
/// data that blosclz gives up on. The margin matters: a block that
/// blosclz compresses after all costs its whole slow compression (a
/// millisecond for 256 KiB), while the stores this looks for are of data
/// lz4 compresses by a few percent (images, noisy fields: 1.00-1.08 on the
/// corpus; data with 1.3 or more is compressed).
pub(crate) const GIVE_UP_RATIO: f64 = 1.1;

/// Whether lz4's ratio on a sample marks data blosclz may give up on: it
/// compresses, by less than [`GIVE_UP_RATIO`].
pub(crate) fn hardly_compresses(ratio: f64) -> bool {
    (1.0..GIVE_UP_RATIO).contains(&ratio)
}

/// How much of a block blosclz at clevel 7 and above probes before it
/// gives the block up: compressing this head of a block gives the block's
/// verdict (for one stream a block) at a fraction of a whole block's cost
/// where blosclz compresses after all.
pub(crate) const GIVE_UP_PROBE: usize = 16 * 1024;

/// The blosclz candidate that gives up on the fewest probes for a chunk
/// of `chunk_len` bytes: clevel 9 (the largest blocks) with the split mode
/// whose blocks hold fewer streams to probe. Split mode probes every
/// stream of a block apart ([`streams`]), and its blocks are larger, so it
/// wins for bytes and short elements and loses for wide ones.
pub(crate) fn give_up_store(typesize: usize, chunk_len: usize) -> Params {
    let at = |split| Params::new(Codec::BloscLz, Filter::None, Clevel::MAX, split);
    let (always, never) = (at(SplitMode::Always), at(SplitMode::Never));
    if give_up_probes(&always, typesize, chunk_len) < give_up_probes(&never, typesize, chunk_len) {
        always
    } else {
        never
    }
}

/// The clevel of [`filtered_give_up_store`]: the lowest at which blosclz
/// probes a block's head (below 7 it probes from the middle on), and one
/// that gives up on estimates below 1.15 (clevel 9 only below 1.0).
pub(crate) const FILTERED_GIVE_UP_CLEVEL: Clevel = match Clevel::new(7) {
    Some(c) => c,
    None => Clevel::MAX,
};

/// Below this tradeoff a HARD readapt on byte data checks
/// [`filtered_give_up_store`] where no store without a filter was found.
/// Side by side on the benchmark corpus (three runs each, 14 datasets),
/// `python_source_text` at t = 0.1 went from 0.19 to 0.06 while nothing
/// else moved by more than 0.01; at 0.2 the text gained 0.03 and
/// `retina_u8` lost 0.07, its first chunk's blocks all given up and later
/// chunks' not. Wider elements (shuffle and bytedelta stores) lost more
/// than they won at both: `noisy_field_f32` 0.01 to 0.09, `timestamps_i64`
/// 0.03 to 0.045, `lfw_f64` 0.07 to 0.16 (heads checked, no store found).
pub(crate) const FILTERED_GIVE_UP_BELOW: f64 = STORE_FIRST_BELOW;

/// The filtered store a speed-first HARD readapt checks on byte data
/// (typesize 1, else none): blosclz at [`FILTERED_GIVE_UP_CLEVEL`], no
/// split, after bitshuffle, which puts the low bits of every byte first.
/// Where those are noise (text, images' low bits) blosclz gives each block
/// up after its head, and c-blosc2 stores a chunk of such blocks as a
/// copy: the oracle at t = 0.1 of `python_source_text`, at several GB/s
/// where lz4 compresses the text 2.5x at a few hundred MB/s.
pub(crate) fn filtered_give_up_store(typesize: usize) -> Option<Params> {
    (typesize == 1).then(|| {
        Params::new(
            Codec::BloscLz,
            Filter::Bitshuffle,
            FILTERED_GIVE_UP_CLEVEL,
            SplitMode::Never,
        )
    })
}

/// The streams c-blosc2 cuts each block into with `p`: `typesize` with
/// split mode (without a filter, contiguous pieces of equal length), else
/// one. blosclz probes each apart.
pub(crate) fn streams(p: &Params, typesize: usize) -> usize {
    if p.split == SplitMode::Always {
        typesize.max(1)
    } else {
        1
    }
}

/// How many probes blosclz runs on a chunk of `chunk_len` bytes with `p`
/// (automatic block size): one per stream of every block.
pub(crate) fn give_up_probes(p: &Params, typesize: usize, chunk_len: usize) -> usize {
    let b = crate::blosc2::auto_blocksize(p, typesize, chunk_len).max(1);
    chunk_len.div_ceil(b) * streams(p, typesize)
}

/// The tradeoffs at which a HARD readapt measures [`block_probe`]: from
/// where the speed-first checks end ([`GIVE_UP_BELOW`]) to where the
/// winners are entropy coders at high levels. Those see far already
/// (their blocks are long), and gain more from far matches than lz4 does
/// (`smooth_field_f64`: zstd 1.8x, lz4 1.6x), so lz4's gain would rank
/// them below it; at t = 0.9 the probe cost 0.06-0.07 on
/// `smooth_field_f64` and `image_stack_u16` (four runs each on the
/// benchmark corpus) and won 0.04 on `sparse_hits_f32`.
pub(crate) const BLOCK_PROBE_TRADEOFFS: std::ops::Range<f64> = GIVE_UP_BELOW..0.75;

/// The candidate a HARD readapt at a balanced tradeoff
/// ([`BLOCK_PROBE_TRADEOFFS`]) measures on one of the chunk's own blocks: lz4 at
/// clevel 5 with split, whose blocks hold 64 KiB a stream (512 KiB for
/// 8-byte elements), lz4's whole window. A sample's blocks (16 KiB at
/// most) cannot show matches further apart than that, and scientific
/// arrays have them: a 2-D field whose rows repeat the previous ones
/// (`smooth_field_f64`: 1.2 on any block up to 256 KiB, 1.85 on this
/// one). The grid's points with long blocks are predicted from short
/// ones, so without this the tuner never sees that gain.
pub(crate) fn block_probe(filter: Filter) -> Params {
    Params::new(
        Codec::Lz4,
        filter,
        Clevel::new(5).unwrap_or(Clevel::MIN),
        SplitMode::Always,
    )
}

/// The tradeoff from which a HARD readapt measures [`chunk_probe`] instead
/// of [`block_probe`]: where ratio comes first, the winners are entropy
/// coders at high levels whose blocks are the whole chunk (zstd at clevel 9
/// on 1 MiB chunks), and half a chunk does not show what they find.
/// `image_stack_u16` is a stack of similar images: zstd/shuffle gains 1.1x
/// from 16 KiB to 512 KiB blocks and 1.3x to 1 MiB; `retina_u8` and
/// `python_source_text` gain 1.2x.
pub(crate) const CHUNK_PROBE_FROM: f64 = BLOCK_PROBE_TRADEOFFS.end;

/// The candidate a HARD readapt where ratio comes first
/// ([`CHUNK_PROBE_FROM`]) measures on the sample and on the whole chunk as
/// one block: zstd at clevel 4 (zstd's level 7) without split, whose
/// 2 MiB window sees all of a chunk up to that size at 10-30 ms a MiB;
/// clevel 9 (zstd's 22) sees as far but takes a second or more. What the
/// chunk gains over the sample goes to every candidate with `filter` by
/// how far it sees ([`reach`]). Lower levels find fewer of the far
/// matches that clevel 9 does: on `labels_u8` without a filter, 1 MiB
/// gains 1.05x over 16 KiB blocks at clevel 3, 1.30x at 4, 1.27x at 9.
pub(crate) fn chunk_probe(filter: Filter) -> Params {
    Params::new(
        Codec::Zstd,
        filter,
        Clevel::new(4).unwrap_or(Clevel::MIN),
        SplitMode::Never,
    )
}

/// How many times as far as the sample's blocks a [`chunk_probe`] must see
/// on the chunk: 512 KiB and more for a sample's 16 KiB blocks. On shorter
/// chunks it gained nothing on the benchmark corpus at t = 0.9
/// (`dem_i16`, `mri_u16` and `membrane_f32`, 48-277 KB, the HARD's choice
/// the same or worse) and cost 0.01-0.02 in utility: a probe costs about
/// one chunk's compression, which the one chunk of such data bears alone.
pub(crate) const CHUNK_PROBE_REACH: usize = 32;

/// How far apart, in bytes of the chunk, two pieces of data can be for
/// `p` to find one from the other on blocks of `block` bytes: the
/// codec's window within one stream of a block. A byte-shuffling filter
/// puts an element's bytes in separate planes, so a distance between
/// elements shrinks by the typesize within a plane; split mode then
/// compresses each plane apart (without a filter, each contiguous
/// `1/typesize` of the block). Windows: 64 KiB for the LZ codecs, 32 KiB
/// for zlib; zstd's grows with its level (c-blosc2 runs zstd at level
/// `2 * clevel - 1`, 20 at clevel 8 and 22 at 9; zstd's parameters for
/// inputs over 256 KiB give 512 KiB at level 1, 2 MiB up to 13 and 8 MiB
/// above) and never exceeds the block it is given.
pub(crate) fn reach(p: &Params, typesize: usize, block: usize) -> usize {
    let window = window(p);
    if p.filter == Filter::None {
        // Contiguous streams: a distance stays what it is.
        window.min(block / streams(p, typesize))
    } else {
        // Planes of 1/typesize of the block, one stream or each apart.
        window.saturating_mul(typesize.max(1)).min(block)
    }
}

/// How far back `p`'s codec finds a match ([`reach`] has the figures).
fn window(p: &Params) -> usize {
    match p.codec {
        Codec::BloscLz | Codec::Lz4 | Codec::Lz4Hc => 64 << 10,
        Codec::Zlib => 32 << 10,
        Codec::Zstd => match p.clevel.get() {
            0 | 1 => 512 << 10,
            2..=7 => 2 << 20,
            _ => 8 << 20,
        },
    }
}

/// Whether `p` on blocks of `block` bytes puts a block's planes further
/// apart than its codec sees: a byte-shuffling filter without split
/// writes each byte (or bit) position's plane, `block / typesize` bytes
/// long, one after another in one stream, so the first and the last are
/// `typesize - 1` planes apart. Data whose planes repeat each other (an
/// 8-bit image stored as 16-bit or float: bytes equal or constant)
/// compresses on a sample's short blocks and loses those matches on the
/// chunk's long ones (`sk_camera_u16`, lz4 after bitshuffle: 2.71 in 16
/// KiB blocks, 1.38 in 128 KiB; `sk_astronaut_f32`, lz4 after
/// shuffle-bytedelta: 2.46 in 32 KiB, 2.04 in 128 KiB, 1.41 in 256 KiB).
pub(crate) fn plane_distance_exceeds_window(p: &Params, typesize: usize, block: usize) -> bool {
    p.filter != Filter::None
        && p.split == SplitMode::Never
        && typesize >= 2
        && block / typesize * (typesize - 1) >= window(p)
}

/// The least loss of a chunk's block against a sample of it, in the
/// sample's blocks, that counts as planes lost
/// ([`plane_distance_exceeds_window`]): the inverse of
/// [`BLOCK_GAIN_MIN`].
pub(crate) const PLANE_LOSS_MAX: f64 = 1.0 / BLOCK_GAIN_MIN;

/// The ratio the sample's lz4 at clevel 1 with a filter must reach before
/// [`block_probe`] is measured with it: data that hardly compresses in
/// short blocks (noise) has no long-range matches to find either, and the
/// probe costs a block's compression.
pub(crate) const BLOCK_PROBE_RATIO: f64 = 1.1;

/// The least gain of [`block_probe`]'s block over its sample that counts
/// as far matches. Longer blocks gain a few percent on most data (fewer
/// block starts; `dem_i16`: 6%); spreading that over candidates by how far
/// they see only adds noise to their comparison, while the matches this
/// looks for gain far more (`smooth_field_f64`: 63%).
pub(crate) const BLOCK_GAIN_MIN: f64 = 1.1;

/// Bits per byte of a sample's order-0 entropy from which its bytes count
/// as uniform: nothing an entropy coder can shorten. Uniformly random
/// bytes read 7.99 on a 32 KiB sample and 7.95 on 4 KiB (the estimate's
/// bias, 255 / (2 n ln 2)); the benchmark corpus's other data reads 7.4
/// and less (`random_u8` only).
pub(crate) const UNIFORM_BITS: f64 = 7.9;

/// Whether a trial stored its sample: a ratio under 1.02 (one chunk header
/// on an incompressible sample gives 0.99-1.0).
pub(crate) fn stores(ratio: f64) -> bool {
    ratio < 1.02
}

/// A SOFT readapt's candidates around `winner` (the winner itself first, so
/// that every comparison is on the same sample).
pub(crate) fn soft_stage(winner: &Params, max_threads: Threads) -> Vec<Params> {
    let mut out = vec![*winner];
    for step in [-1i8, 1] {
        let c = winner.clevel.offset(step);
        if c != winner.clevel {
            out.push(winner.with_clevel(c));
        }
    }
    let mut flipped = *winner;
    flipped.split = match winner.split {
        SplitMode::Always => SplitMode::Never,
        SplitMode::Never => SplitMode::Always,
    };
    out.push(flipped);
    let t = winner.cthreads.get();
    for n in [t / 2, t.saturating_mul(2).min(max_threads.get())] {
        if let Some(threads) = Threads::new(n)
            && threads != winner.cthreads
        {
            out.push(winner.with_threads(threads));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_speeds_follow_the_blocks() {
        let zstd1 = Params::new(Codec::Zstd, Filter::Shuffle, Clevel::MIN, SplitMode::Always);
        // The trial's blocks are the chunk's: nothing to correct.
        assert_eq!(chunk_speed_factor(&zstd1, 16384, 16384), 1.0);
        assert_eq!(chunk_speed_factor(&zstd1, 16384, 8192), 1.0);
        assert_eq!(chunk_speed_factor(&zstd1, 0, 8192), 1.0);
        // zstd at clevel 1 with split: 1.233 per doubling, three doublings.
        let f = chunk_speed_factor(&zstd1, 16384, 131_072);
        assert!((f - 1.233f64.powi(3)).abs() < 1e-9, "{f}");
        // High zstd levels run slower on long blocks, lz4 barely moves:
        // the factors rank zstd/1 up against lz4, zstd/9 down.
        let zstd9 = Params::new(Codec::Zstd, Filter::Shuffle, Clevel::MAX, SplitMode::Never);
        let lz4 = Params::new(Codec::Lz4, Filter::Shuffle, Clevel::MIN, SplitMode::Never);
        assert!(chunk_speed_factor(&zstd9, 16384, 1 << 20) < 1.0);
        let lz4_factor = chunk_speed_factor(&lz4, 16384, 131_072);
        assert!(lz4_factor > 1.0 && lz4_factor < f);
        for codec in Codec::ALL {
            for c in 1..=9 {
                for split in SplitMode::ALL {
                    let p = Params::new(codec, Filter::None, Clevel::new(c).unwrap(), split);
                    // blosclz at high levels gives long blocks up sooner:
                    // up to 8x faster on the chunk than on its trial.
                    let f = chunk_speed_factor(&p, 4096, 1 << 20);
                    assert!(f.is_finite() && f > 0.1 && f < 12.0, "{p}: {f}");
                }
            }
        }
    }

    #[test]
    fn the_choice_uses_chunk_speeds_at_balanced_tradeoffs() {
        assert!(!chooses_at_chunk_speeds(0.0));
        assert!(!chooses_at_chunk_speeds(0.1));
        assert!(chooses_at_chunk_speeds(0.3));
        assert!(chooses_at_chunk_speeds(0.5));
        assert!(chooses_at_chunk_speeds(0.7));
        assert!(!chooses_at_chunk_speeds(CHUNK_PROBE_FROM));
        assert!(!chooses_at_chunk_speeds(1.0));
    }

    #[test]
    fn predictions_follow_the_table() {
        let lz4 = Params::new(Codec::Lz4, Filter::Shuffle, Clevel::MIN, SplitMode::Never);
        assert_eq!(predict(&lz4, &lz4, (2.0, 1e9)), (2.0, 1e9));
        let zstd9 = Params::new(Codec::Zstd, Filter::Shuffle, Clevel::MAX, SplitMode::Never);
        let anchor = family_anchor(&zstd9);
        assert_eq!(anchor.codec, Codec::Zstd);
        assert_eq!(anchor.clevel, Clevel::MIN);
        let (r, s) = predict(&zstd9, &anchor, (3.0, 5e8));
        assert!(
            r > 3.0 && s < 5e7,
            "higher levels: better ratio, much slower ({r}, {s})"
        );
        for codec in Codec::ALL {
            for c in 1..=9 {
                for split in SplitMode::ALL {
                    let (g, f) = relative(&Params::new(
                        codec,
                        Filter::None,
                        Clevel::new(c).unwrap(),
                        split,
                    ));
                    assert!(g > 0.5 && f > 0.0 && f < 2.0);
                }
            }
        }
        assert_eq!(
            grid_for(&[Filter::None, Filter::Shuffle]).len(),
            2 * 5 * 5 * 2
        );
    }

    #[test]
    fn decompression_predictions_cross_codecs_only() {
        let at = |codec, clevel| {
            Params::new(
                codec,
                Filter::Shuffle,
                Clevel::new(clevel).unwrap(),
                SplitMode::Never,
            )
        };
        let lz4 = at(Codec::Lz4, 1);
        // Entropy coders read slower than lz4, zlib much slower than zstd.
        let zstd = predict_dspeed(&at(Codec::Zstd, 5), &lz4, 4e9);
        let zlib = predict_dspeed(&at(Codec::Zlib, 5), &lz4, 4e9);
        assert!(zlib < zstd && zstd < 4e9, "{zlib} {zstd}");
        // Within a codec, the level does not change what it costs to read.
        assert_eq!(
            predict_dspeed(&at(Codec::Zstd, 9), &at(Codec::Zstd, 1), 2e9),
            2e9
        );
    }

    #[test]
    fn give_up_stores_probe_the_fewest_streams() {
        let mib = 1 << 20;
        // Bytes: split blocks are 512 KiB (2 probes) against 256 KiB (4).
        assert_eq!(give_up_store(1, mib).split, SplitMode::Always);
        assert_eq!(give_up_store(2, mib).split, SplitMode::Always);
        // Four streams in each of one 1 MiB block: a tie goes to no split.
        assert_eq!(give_up_store(4, mib).split, SplitMode::Never);
        // Eight streams against four blocks.
        assert_eq!(give_up_store(8, mib).split, SplitMode::Never);
        let p = give_up_store(8, mib);
        assert_eq!(
            (p.codec, p.filter, p.clevel),
            (Codec::BloscLz, Filter::None, Clevel::MAX)
        );
    }

    #[test]
    fn filter_stage_skips_identities() {
        assert_eq!(filter_stage(8).len(), 6);
        assert_eq!(filter_stage(1).len(), 4);
    }

    #[test]
    fn soft_threads_never_zero_nor_above_limit() {
        let w = Params::new(
            Codec::Lz4,
            Filter::Shuffle,
            Clevel::new(5).unwrap(),
            SplitMode::Never,
        );
        for max in [1u16, 2, 3, 8] {
            let limit = Threads::new(max).unwrap();
            for p in soft_stage(&w.with_threads(Threads::new(max).unwrap()), limit) {
                assert!(p.cthreads.get() >= 1 && p.cthreads <= limit, "{p}");
            }
        }
        let one = soft_stage(&w, Threads::ONE);
        assert_eq!(one[0], w);
        assert!(one.iter().all(|p| p.cthreads == Threads::ONE));
    }

    #[test]
    fn planes_beyond_the_window_only_without_split_after_a_filter() {
        // (candidate, typesize, block KiB, planes beyond the window)
        let cases = [
            // lz4 sees 64 KiB: 2-byte planes of a 128 KiB block are that far.
            ("lz4/bitshuffle/5/never", 2, 128, true),
            ("lz4/bitshuffle/1/never", 2, 16, false),
            ("lz4/bitshuffle/5/always", 2, 128, false),
            ("lz4/none/9/never", 2, 256, false),
            ("lz4/shuffle/9/never", 1, 256, false),
            // 4-byte planes of 128 KiB: the first and last 96 KiB apart.
            ("lz4/shuffle/5/never", 4, 128, true),
            ("lz4/shuffle/5/never", 4, 64, false),
            // zlib sees 32 KiB, zstd at clevel 1 512 KiB.
            ("zlib/shuffle/7/never", 4, 128, true),
            ("zstd/shuffle/1/never", 2, 512, false),
        ];
        for (spec, typesize, kib, beyond) in cases {
            let p: Params = spec.parse().unwrap();
            assert_eq!(
                plane_distance_exceeds_window(&p, typesize, kib * 1024),
                beyond,
                "{spec}, typesize {typesize}, {kib} KiB blocks"
            );
        }
    }

    #[test]
    fn reach_is_the_window_within_a_stream() {
        let at = |spec: &str| spec.parse::<Params>().unwrap();
        const K: usize = 1024;
        // The probe for 8-byte elements: 512 KiB blocks, planes of 64 KiB,
        // lz4's whole window in each.
        let probe = block_probe(Filter::Shuffle);
        let block = crate::blosc2::auto_blocksize(&probe, 8, 1 << 20);
        assert_eq!(block, 512 * K);
        assert_eq!(reach(&probe, 8, block), 512 * K);
        // A sample's 16 KiB blocks see no further than themselves.
        assert_eq!(reach(&probe, 8, 16 * K), 16 * K);
        // Without a filter, split streams are contiguous eighths.
        assert_eq!(reach(&at("lz4/none/5/always"), 8, 512 * K), 64 * K);
        assert_eq!(reach(&at("lz4/none/5/never"), 8, 512 * K), 64 * K);
        // zlib's window is shorter, zstd's longer.
        assert_eq!(reach(&at("zlib/none/5/never"), 8, 512 * K), 32 * K);
        assert_eq!(reach(&at("zstd/none/1/never"), 8, 1 << 20), 512 * K);
        assert_eq!(reach(&at("zstd/none/9/never"), 8, 1 << 20), 1 << 20);
        // The chunk probe sees all of a 1 MiB chunk as one block, with or
        // without a filter, 64 times as far as a sample's 16 KiB blocks.
        for f in [Filter::None, Filter::Shuffle] {
            assert_eq!(reach(&chunk_probe(f), 8, 1 << 20), 1 << 20);
            assert!(reach(&chunk_probe(f), 8, 16 * K) * CHUNK_PROBE_REACH <= 1 << 20);
        }
    }
}
