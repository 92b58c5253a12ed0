//! The tuner: one per dataset, it picks the parameters of every chunk.
//!
//! Per chunk a front end asks for parameters ([`Tuner::propose`]), compresses,
//! and reports what it measured ([`Tuner::report`]); [`Tuner::compress`] does
//! all three. When a readapt is due, `propose` explores on samples of the
//! chunk (the same few pieces for every candidate, see `sample` and
//! `search`), never by storing
//! chunks with trial parameters: every stored chunk uses the best parameters
//! known at that moment.
//!
//! Readapts follow BTune's vocabulary ([`Behaviour`](crate::Behaviour)): a HARD readapt explores
//! codec x filter x split then clevel; a SOFT one refines clevel, split and
//! threads around the winner. The ratio of each stored chunk is watched: when
//! it departs from the recent ones, the data has changed and a HARD readapt
//! follows at once. Scheduled readapts are skipped while tuning work exceeds
//! [`Config::tuning_budget`] of compression time, so tuning stays a small
//! cost.
//!
//! Decisions are taken under a lock; exploration and compression run outside
//! it, so threads writing chunks of one dataset never wait for each other's
//! compression. All timings come from an injectable [`Clock`], so a run can be
//! replayed exactly.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::blosc2::{self, ChunkFormat};
use crate::clock::{Clock, MonotonicClock};
use crate::config::{Config, RepeatMode};
use crate::error::{CodecError, ConfigError, ParamsError};
use crate::features::Features;
use crate::filter_head;
use crate::model::{self, Model, Prediction};
use crate::objective::{Objective, Outcome, PerfMode, Ranges};
use crate::params::{Blocksize, Clevel, Codec, Filter, Params, SplitMode, Threads};
use crate::sample::{self, Sample};
use crate::search;
use crate::start;
use crate::trace::{Trace, TraceRow, TraceSink};

/// Readapts after a detected change wait while tuning work exceeds this
/// fraction: a change makes the winner suspect, so it may cost more than
/// routine readapts, but data that changes every chunk must not make tuning
/// dominate.
const CHANGE_BUDGET: f64 = 1.0;

/// A chunk whose ratio differs from the recent average by more than this
/// factor (in log terms, ~16%) signals changed data. Each false alarm (a
/// HARD readapt after a change that keeps the winner) doubles it for the
/// dataset: data whose ratio drifts must not make tuning dominate.
const CHANGE_THRESHOLD: f64 = 0.15;

/// The kind of readapt done for a chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Readapt {
    /// None: the chunk used the winner.
    None,
    /// Refinement around the winner.
    Soft,
    /// Full exploration.
    Hard,
    /// Parameters predicted by a model from the chunk's features.
    Inference,
}

impl Readapt {
    fn name(self) -> &'static str {
        match self {
            Readapt::None => "-",
            Readapt::Soft => "SOFT",
            Readapt::Hard => "HARD",
            Readapt::Inference => "INFER",
        }
    }
}

/// What [`Tuner::propose`] decided for one chunk; hand it back to
/// [`Tuner::report`] with the measurements.
#[derive(Clone, Debug)]
#[must_use = "report the outcome so the tuner can learn from it"]
pub struct Proposal {
    /// The parameters to compress the chunk with.
    pub params: Params,
    /// The readapt done while proposing.
    pub readapt: Readapt,
    /// Whether the readapt changed the winner.
    pub new_winner: bool,
    /// Time spent proposing (exploration included).
    pub tuning_time: Duration,
    /// The model's prediction, when the parameters came from inference.
    pub inference: Option<Inferred>,
}

/// A model's prediction for one chunk and what it cost.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Inferred {
    /// What the model predicted.
    pub prediction: Prediction,
    /// Time computing the chunk's features.
    pub feature_time: Duration,
    /// Time running the network.
    pub inference_time: Duration,
}

/// One compressed chunk and how it was made.
#[derive(Clone, Debug)]
pub struct Compressed {
    /// The compressed bytes in the requested format.
    pub bytes: Vec<u8>,
    /// The parameters used.
    pub params: Params,
    /// The readapt done for this chunk.
    pub readapt: Readapt,
    /// Seconds of tuning work (exploration and bookkeeping) for this chunk.
    pub tuning_time: f64,
    /// Seconds compressing the chunk itself.
    pub compress_time: f64,
}

/// Totals over the chunks a tuner has seen.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TunerStats {
    /// Chunks reported.
    pub chunks: u64,
    /// Uncompressed bytes reported.
    pub nbytes: u64,
    /// Compressed bytes reported.
    pub cbytes: u64,
    /// Seconds compressing chunks.
    pub compress_time: f64,
    /// Seconds of tuning work.
    pub tuning_time: f64,
    /// HARD readapts done.
    pub hards: u64,
    /// SOFT readapts done.
    pub softs: u64,
    /// Changes in the data detected.
    pub changes: u64,
    /// Trial compressions of samples run by readapts.
    pub trials: u64,
    /// Of those, how many were also decompressed (timed for DECOMP and
    /// BALANCED modes).
    pub trial_decompressions: u64,
    /// HARD readapts that checked whether blosclz stores the chunk's blocks
    /// (speed-first tradeoffs, data lz4 hardly compresses), and how many
    /// found, on the head of one block, that it does (the store then
    /// competes with the measured candidates).
    pub store_checks: (u64, u64),
    /// HARD readapts that checked whether blosclz after bitshuffle stores
    /// the chunk's blocks (byte data at speed-first tradeoffs where no
    /// unfiltered store was found), and how many found that it does, on
    /// the head of every block (the store then competes with the measured
    /// candidates).
    pub filtered_store_checks: (u64, u64),
    /// HARD readapts that measured lz4 with split on one of the chunk's
    /// blocks, for matches further apart than a sample's blocks reach
    /// (balanced tradeoffs, data that compresses).
    pub block_probes: u64,
    /// Chunks whose parameters a model predicted.
    pub inferences: u64,
    /// Seconds computing features for inference.
    pub feature_time: f64,
    /// Seconds running the model.
    pub inference_time: f64,
    /// Inferred chunks per predicted category (bounded by the model's
    /// categories, however many chunks a dataset has).
    pub predicted: HashMap<usize, u64>,
    /// Chunks per parameter set.
    pub usage: HashMap<Params, u64>,
}

impl TunerStats {
    /// The parameter set used for the most chunks and its chunk count (ties
    /// go to the smaller parameters, so the answer is deterministic).
    #[must_use]
    pub fn most_used(&self) -> Option<(Params, u64)> {
        self.usage
            .iter()
            .max_by_key(|(p, n)| (**n, std::cmp::Reverse(**p)))
            .map(|(p, n)| (*p, *n))
    }
}

/// One trial compression of a sample, or a prediction of one.
#[derive(Clone, Copy, Debug)]
struct Trial {
    params: Params,
    ratio: f64,
    /// Compression speed (bytes/s).
    cspeed: f64,
    /// Decompression speed, where the mode needs it.
    dspeed: Option<f64>,
    /// Whether it was measured on (or, for a blosclz store, judged from)
    /// one of the chunk's own blocks rather than a sample: a winner whose
    /// merit only whole blocks show has no neighbour a sample could judge.
    on_block: bool,
}

/// What one trial measured on a readapt's sample
/// ([`Tuner::measure_sample_trial`]), with the block sizes that tell how
/// far its speed may be from the chunk's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SampleTrial {
    /// Compression ratio on the sample.
    pub ratio: f64,
    /// Compression speed on the sample's timed blocks (bytes/s).
    pub cspeed: f64,
    /// Decompression speed (bytes/s), where the perf mode needs it.
    pub dspeed: Option<f64>,
    /// The block size of the trial: the chunk's, cut to half the sample.
    pub sample_blocksize: usize,
    /// The block size the parameters get on the whole chunk.
    pub chunk_blocksize: usize,
}

/// How much of a block [`Tuner::copy_seconds_per_byte`] copies. Faulting
/// in a fresh buffer for the whole block cost more than everything else in
/// a speed-first HARD (`hubble_u8` at t = 0.1: 270 us for a 256 KiB block
/// on a 2-core VM, against 100 us for its two trials); 32 KiB copies at the
/// block's speed (42 against 39 GB/s there), 16 KiB fits in L1 and reads
/// twice as fast.
const COPY_PROBE_BYTES: usize = 32 * 1024;

/// The most candidates [`Tuner::with_planes_checked`] checks in a HARD.
const MAX_PLANE_CHECKS: usize = 3;

/// The most candidates a HARD readapt measures after its anchors.
const MAX_VERIFIED: usize = 6;

/// How far a HARD readapt trusts a prediction: it verifies a candidate only
/// if the predicted gain in utility, times this, exceeds what the trial
/// costs in utility.
const VERIFY_CONFIDENCE: f64 = 0.5;

/// What a readapt found: its measured trials and the ranges of everything it
/// measured or predicted.
struct Exploration {
    trials: Vec<Trial>,
    ranges: Ranges,
    /// Trial compressions run (and how many were also decompressed).
    counts: TrialCounts,
    /// What a HARD readapt's block or chunk probes gained, for the SOFTs
    /// after it.
    gain: BlockGains,
}

struct State {
    winner: Params,
    next: Readapt,
    waits_left: u32,
    softs_done: u32,
    hards_done: u32,
    stopped: bool,
    exploring: bool,
    /// Ranges seen since the last HARD readapt (the data's current regime).
    ranges: Ranges,
    ratio_avg: Option<f64>,
    change_pending: bool,
    /// Chunks for which inference was started.
    inferred: u32,
    /// Whether the start is still to be picked from the first chunk seen
    /// (`start::uses_data`; small data keeps it).
    start_from_data: bool,
    /// Whether the winner is a model's prediction (a HARD readapt then
    /// measures it beside its own candidates).
    predicted_winner: bool,
    /// Whether the winner won on one of the chunk's blocks ([`Trial`]'s
    /// `on_block`): SOFT readapts leave it alone.
    block_winner: bool,
    /// What the last HARD readapt's block or chunk probes gained.
    block_gain: BlockGains,
    /// Whether the running HARD readapt answers a detected change.
    answering_change: bool,
    change_threshold: f64,
    stats: TunerStats,
}

/// Per-dataset tuner state. `Send + Sync`: share it (e.g. in an `Arc`) among
/// the threads writing one dataset.
pub struct Tuner {
    config: Config,
    objective: Objective,
    typesize: usize,
    clock: Arc<dyn Clock>,
    trace: Option<Trace>,
    /// The model for this perf mode, when inference is on.
    model: Option<Arc<Model>>,
    state: Mutex<State>,
}

/// At tradeoff 0.5, the first HARD readapt waits until the dataset has shown
/// this many bytes: on less, a handful of trials (each needing a new c-blosc2
/// context, 10 to 100 us) costs more than compressing the data. The objective
/// weighs speed by `1 - tradeoff` and what trials cost against it grows as
/// data shrinks, so the threshold goes with the square: at 0.9 a 10 KiB
/// dataset is worth exploring (its slow, ratio-first compression dwarfs the
/// trials), at 0.1 only one of 830 KiB or more.
pub const MIN_EXPLORE_BYTES: u64 = 256 * 1024;

/// [`MIN_EXPLORE_BYTES`] scaled for `tradeoff`.
fn min_explore_bytes(tradeoff: f64) -> u64 {
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let n = (MIN_EXPLORE_BYTES as f64 * (2.0 * (1.0 - tradeoff.clamp(0.0, 1.0))).powi(2)) as u64;
    n
}

impl Tuner {
    /// A tuner for elements of `typesize` bytes, timing with the system clock
    /// and tracing to stderr if `config.trace` is set.
    ///
    /// # Errors
    /// [`ConfigError`] if the configuration or typesize is invalid.
    pub fn new(config: Config, typesize: usize) -> Result<Tuner, ConfigError> {
        Tuner::with_clock(config, typesize, Arc::new(MonotonicClock::new()))
    }

    /// A tuner that reads time from `clock` (to replay a run exactly).
    ///
    /// # Errors
    /// As [`Tuner::new`].
    pub fn with_clock(
        config: Config,
        typesize: usize,
        clock: Arc<dyn Clock>,
    ) -> Result<Tuner, ConfigError> {
        let sink = config.trace.then(TraceSink::stderr);
        Tuner::with_parts(config, typesize, clock, sink)
    }

    /// A tuner with an explicit clock and trace sink (`None`: no trace,
    /// whatever `config.trace` says).
    ///
    /// # Errors
    /// As [`Tuner::new`].
    pub fn with_parts(
        config: Config,
        typesize: usize,
        clock: Arc<dyn Clock>,
        trace: Option<TraceSink>,
    ) -> Result<Tuner, ConfigError> {
        config.validate()?;
        if !(1..=255).contains(&typesize) {
            return Err(ParamsError::Typesize(typesize).into());
        }
        let mut winner = config
            .cparams_hint
            .unwrap_or_else(|| start::without_data(config.tradeoff, typesize));
        winner.cthreads = winner.cthreads.min(config.max_threads);
        winner.dthreads = winner.dthreads.min(config.max_threads);
        let model = match (&config.models_dir, config.use_inference) {
            (Some(dir), n) if n != 0 => Some(model::load_shared(dir, config.perf_mode)?),
            _ => None,
        };
        let trace = trace.map(|sink| Trace::new(&config, sink));
        Ok(Tuner {
            model,
            objective: config.objective(),
            typesize,
            clock,
            trace,
            state: Mutex::new(State {
                winner,
                next: Readapt::Hard,
                waits_left: 0,
                softs_done: 0,
                hards_done: 0,
                stopped: false,
                exploring: false,
                ranges: Ranges::EMPTY,
                ratio_avg: None,
                change_pending: false,
                answering_change: false,
                change_threshold: CHANGE_THRESHOLD,
                inferred: 0,
                start_from_data: config.cparams_hint.is_none()
                    && start::uses_data(config.tradeoff, typesize),
                predicted_winner: false,
                block_winner: false,
                block_gain: BlockGains::default(),
                stats: TunerStats::default(),
            }),
            config,
        })
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The element size.
    #[must_use]
    pub fn typesize(&self) -> usize {
        self.typesize
    }

    /// The parameters the next chunk would get if no readapt were due.
    #[must_use]
    pub fn winner(&self) -> Params {
        self.state.lock().winner
    }

    /// Totals so far.
    #[must_use]
    pub fn stats(&self) -> TunerStats {
        self.state.lock().stats.clone()
    }

    fn now(&self) -> Duration {
        self.clock.now()
    }

    /// Tunes, compresses and reports one chunk: the whole per-chunk cycle.
    ///
    /// # Errors
    /// [`CodecError`] if c-blosc2 cannot compress the chunk; the tuner's state
    /// stays valid.
    pub fn compress(&self, chunk: &[u8], format: ChunkFormat) -> Result<Compressed, CodecError> {
        // Check the layout before proposing: a chunk refused here leaves
        // no proposal unreported.
        format.check(self.typesize, chunk.len())?;
        let proposal = self.propose(Some(chunk));
        let layout = blosc2::Layout::new(&proposal.params, self.typesize, chunk.len(), format)?;
        let t0 = self.now();
        let plain = blosc2::compress(chunk, self.typesize, &layout.params)?;
        let t1 = self.now();
        let cbytes = plain.len();
        let params = layout.params;
        let bytes = layout.package(plain, self.typesize)?;
        let compress_time = (t1 - t0).as_secs_f64();
        let outcome = Outcome {
            nbytes: chunk.len() as u64,
            cbytes: cbytes as u64,
            ctime: compress_time,
            dtime: None,
        };
        let readapt = proposal.readapt;
        let tuning_time = self.report(proposal, &outcome).as_secs_f64();
        Ok(Compressed {
            bytes,
            params,
            readapt,
            tuning_time,
            compress_time,
        })
    }

    /// Parameters for the next chunk. With `chunk` given and a readapt due,
    /// explores on samples of it first; with `None` (a caller that cannot show
    /// the data, e.g. a special chunk of zeros) it returns the winner.
    pub fn propose(&self, chunk: Option<&[u8]>) -> Proposal {
        let start = self.now();
        if let (Some(model), Some(c)) = (&self.model, chunk.filter(|c| !c.is_empty()))
            && self.reserve_inference()
        {
            match self.infer(model, c) {
                Ok(inferred) => return self.adopt_prediction(inferred, start),
                Err(e) => log::warn!("btune: model prediction failed ({e}); tuning without it"),
            }
        }
        let (readapt, winner, ranges, predicted, block_winner, gain, start_from) = {
            let mut s = self.state.lock();
            let readapt = match chunk {
                Some(c) if !c.is_empty() && !s.exploring => self.due_readapt(&mut s, c.len()),
                _ => Readapt::None,
            };
            // Data too small to explore (so far): its first chunk picks the
            // start, once.
            let start_from = chunk.filter(|c| {
                !c.is_empty()
                    && readapt == Readapt::None
                    && s.stats.hards == 0
                    && std::mem::take(&mut s.start_from_data)
            });
            if readapt != Readapt::None {
                s.exploring = true;
                if readapt == Readapt::Hard {
                    s.ranges = Ranges::EMPTY;
                }
            }
            (
                readapt,
                s.winner,
                s.ranges,
                s.predicted_winner,
                s.block_winner,
                s.block_gain.clone(),
                start_from,
            )
        };
        let started = start_from.map(|c| start::for_chunk(self.config.tradeoff, self.typesize, c));
        let found = match (readapt, chunk) {
            (Readapt::Hard, Some(c)) => {
                Some(self.explore_hard(c, ranges, predicted.then_some(winner)))
            }
            (Readapt::Soft, Some(c)) => Some(self.explore_soft(c, &winner, block_winner, &gain)),
            _ => None,
        };
        let mut s = self.state.lock();
        let mut new_winner = false;
        if readapt != Readapt::None {
            s.exploring = false;
        }
        if let Some(p) = started.filter(|_| s.stats.hards == 0) {
            let p = Params {
                cthreads: s.winner.cthreads,
                dthreads: s.winner.dthreads,
                ..p
            };
            new_winner = p != s.winner;
            s.winner = p;
        }
        if let Some(found) = found {
            s.stats.trials += found.counts.compressions;
            s.stats.trial_decompressions += found.counts.decompressions;
            s.stats.store_checks.0 += found.counts.store_checks.0;
            s.stats.store_checks.1 += found.counts.store_checks.1;
            s.stats.filtered_store_checks.0 += found.counts.filtered_store_checks.0;
            s.stats.filtered_store_checks.1 += found.counts.filtered_store_checks.1;
            s.stats.block_probes += found.counts.block_probes;
            if readapt == Readapt::Hard {
                s.block_gain = found.gain;
            }
            if !found.ranges.is_empty() {
                s.ranges.include(found.ranges.ratio.0, found.ranges.speed.0);
                s.ranges.include(found.ranges.ratio.1, found.ranges.speed.1);
            }
            let ranges = s.ranges;
            if let Some(best) = found
                .trials
                .iter()
                .max_by(|a, b| self.score(a, &ranges).total_cmp(&self.score(b, &ranges)))
            {
                new_winner = best.params != s.winner;
                if s.answering_change && best.params.format_key() == s.winner.format_key() {
                    s.change_threshold = (2.0 * s.change_threshold).min(2.0);
                }
                s.winner = best.params;
                s.block_winner = best.on_block;
                s.predicted_winner = false;
            }
            s.answering_change = false;
            self.advance(&mut s, readapt);
        }
        let params = s.winner;
        drop(s);
        Proposal {
            params,
            readapt,
            new_winner,
            tuning_time: self.now() - start,
            inference: None,
        }
    }

    /// Whether this chunk's parameters come from the model
    /// (`Config::use_inference`); counts it if so.
    fn reserve_inference(&self) -> bool {
        let mut s = self.state.lock();
        let n = self.config.use_inference;
        if n < 0 || s.inferred < n.unsigned_abs() {
            s.inferred += 1;
            true
        } else {
            false
        }
    }

    /// Features of `chunk` and the model's prediction, timed.
    fn infer(&self, model: &Model, chunk: &[u8]) -> Result<Inferred, String> {
        let t0 = self.now();
        let features = Features::of(chunk, self.typesize);
        let t1 = self.now();
        let prediction = model.predict(&features, self.config.tradeoff, self.typesize)?;
        let t2 = self.now();
        Ok(Inferred {
            prediction,
            feature_time: t1 - t0,
            inference_time: t2 - t1,
        })
    }

    /// Makes a prediction the winner. After the last of `use_inference = N`
    /// inferred chunks, tuning goes on from it: the readapt cycle starts
    /// over, its HARD readapt measuring the prediction beside its own
    /// candidates (a model trained on other data can be wrong about this
    /// data; the HARD keeps the prediction only if it measures best).
    fn adopt_prediction(&self, inferred: Inferred, start: Duration) -> Proposal {
        let mut s = self.state.lock();
        let params = inferred.prediction.params.with_threads(s.winner.cthreads);
        let new_winner = params != s.winner;
        s.winner = params;
        s.predicted_winner = true;
        s.block_winner = false;
        let st = &mut s.stats;
        st.inferences += 1;
        st.feature_time += inferred.feature_time.as_secs_f64();
        st.inference_time += inferred.inference_time.as_secs_f64();
        *st.predicted
            .entry(inferred.prediction.category)
            .or_insert(0) += 1;
        let n = self.config.use_inference;
        if n > 0 && s.inferred == n.unsigned_abs() {
            s.hards_done = 0;
            s.softs_done = 0;
            s.stopped = false;
            s.waits_left = 0;
            s.next = Readapt::Hard;
        }
        drop(s);
        Proposal {
            params,
            readapt: Readapt::Inference,
            new_winner,
            tuning_time: self.now() - start,
            inference: Some(inferred),
        }
    }

    /// Learns from a compressed chunk: totals, change detection, trace row.
    /// Returns the tuning time spent on this chunk (proposal included).
    pub fn report(&self, proposal: Proposal, outcome: &Outcome) -> Duration {
        let start = self.now();
        let ratio = outcome.ratio();
        let mut s = self.state.lock();
        if proposal.params == s.winner && outcome.nbytes > 0 {
            if let Some(avg) = s.ratio_avg
                && (ratio / avg).ln().abs() > s.change_threshold
                && !matches!(proposal.readapt, Readapt::Hard | Readapt::Inference)
                && !proposal.new_winner
            {
                s.change_pending = true;
                s.stats.changes += 1;
            }
            // New parameters change the ratio by themselves: it starts a
            // new baseline instead of signalling changed data.
            s.ratio_avg = Some(match (s.ratio_avg, proposal.readapt) {
                (Some(avg), Readapt::None | Readapt::Soft) if !proposal.new_winner => {
                    0.7 * avg + 0.3 * ratio
                }
                _ => ratio,
            });
        }
        // The score and state only go into the trace.
        let traced = self.trace.as_ref().map(|_| {
            let score = self
                .objective
                .score(ratio, self.objective.speed(outcome), &s.ranges);
            (score, self.state_name(&s))
        });
        let chunk_index = s.stats.chunks;
        let st = &mut s.stats;
        st.chunks += 1;
        st.nbytes += outcome.nbytes;
        st.cbytes += outcome.cbytes;
        st.compress_time += outcome.ctime;
        *st.usage.entry(proposal.params).or_insert(0) += 1;
        drop(s);
        if let (Some(trace), Some((score, state_name))) = (&self.trace, traced) {
            trace.row(&TraceRow {
                chunk: chunk_index,
                params: proposal.params,
                typesize: self.typesize,
                score,
                ratio,
                state: state_name,
                readapt: proposal.readapt.name(),
                winner: proposal.new_winner,
                inference: proposal.inference,
            });
        }
        let spent = proposal.tuning_time + (self.now() - start);
        self.state.lock().stats.tuning_time += spent.as_secs_f64();
        spent
    }

    fn state_name(&self, s: &State) -> &'static str {
        if s.change_pending {
            "HARD"
        } else if s.stopped {
            "STOP"
        } else if s.waits_left > 0 {
            "WAIT"
        } else {
            s.next.name()
        }
    }

    /// Whether a readapt is due for a chunk of `len` bytes, and which;
    /// counts waits.
    fn due_readapt(&self, s: &mut State, len: usize) -> Readapt {
        if s.stats.hards == 0
            && s.stats.nbytes + (len as u64) < min_explore_bytes(self.config.tradeoff)
        {
            return Readapt::None;
        }
        let st = &s.stats;
        let over = |budget: f64| st.chunks > 0 && st.tuning_time > budget * st.compress_time;
        if s.change_pending {
            if over(CHANGE_BUDGET) {
                return Readapt::None;
            }
            s.change_pending = false;
            s.answering_change = true;
            s.stopped = false;
            s.hards_done = 0;
            s.softs_done = 0;
            return Readapt::Hard;
        }
        if s.stopped {
            return Readapt::None;
        }
        if s.waits_left > 0 {
            s.waits_left -= 1;
            return Readapt::None;
        }
        // The first HARD readapt always runs: until it has, the winner is a
        // default or a model's guess.
        if s.stats.hards > 0 && over(self.config.tuning_budget) {
            return Readapt::None;
        }
        s.next
    }

    /// Moves the readapt cycle on after a readapt of `kind`.
    fn advance(&self, s: &mut State, kind: Readapt) {
        let b = &self.config.behaviour;
        match kind {
            Readapt::Hard => {
                s.hards_done += 1;
                s.softs_done = 0;
                s.stats.hards += 1;
            }
            Readapt::Soft => {
                s.softs_done += 1;
                s.stats.softs += 1;
            }
            Readapt::None | Readapt::Inference => return,
        }
        s.waits_left = b.nwaits_before_readapt;
        s.next = if s.softs_done < b.nsofts_before_hard {
            Readapt::Soft
        } else if s.hards_done < b.nhards_before_stop {
            Readapt::Hard
        } else {
            match b.repeat_mode {
                RepeatMode::Stop => {
                    s.stopped = true;
                    Readapt::None
                }
                RepeatMode::RepeatSoft => Readapt::Soft,
                RepeatMode::RepeatAll => {
                    s.hards_done = 0;
                    Readapt::Hard
                }
            }
        };
    }

    /// The objective's speed for a trial: per byte, the times its speeds imply.
    fn speed(&self, t: &Trial) -> f64 {
        const MB: f64 = 1e6;
        self.objective.speed(&Outcome {
            nbytes: 1_000_000,
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            cbytes: (MB / t.ratio.max(1e-9)).round() as u64,
            ctime: MB / t.cspeed.max(1.0),
            dtime: t.dspeed.map(|d| MB / d.max(1.0)),
        })
    }

    /// Seconds a trial of `t`'s parameters takes on `bytes` bytes, at its
    /// measured or predicted speeds, with a new context's set-up.
    fn trial_cost(&self, t: &Trial, bytes: usize) -> f64 {
        let n = bytes as f64;
        search::context_cost(t.params.codec)
            + n / t.cspeed.max(1.0)
            + t.dspeed.map_or(0.0, |d| n / d.max(1.0))
    }

    /// What a trial of `candidate` on `sample_len` bytes costs in utility:
    /// the score `best` loses if the chunk's time (as the perf mode counts
    /// it) grows by the trial's. One chunk bears it (the dataset may have no
    /// more), so slow trials are worth it where the chunk is slow too, that
    /// is where ratio is what counts. Tuning is work done while writing, so
    /// in DECOMP mode, which counts only reading, trials cost nothing.
    fn trial_penalty(
        &self,
        best: &Trial,
        candidate: &Trial,
        chunk_len: usize,
        sample_len: usize,
        ranges: &Ranges,
    ) -> f64 {
        if self.objective.perf_mode == PerfMode::Decomp {
            return 0.0;
        }
        let speed = self.speed(best);
        let chunk_time = chunk_len as f64 / speed.max(1.0);
        let slowed = speed * chunk_time / (chunk_time + self.trial_cost(candidate, sample_len));
        self.score(best, ranges) - self.objective.score(best.ratio, slowed, ranges)
    }

    fn score(&self, t: &Trial, ranges: &Ranges) -> f64 {
        self.objective.score(t.ratio, self.speed(t), ranges)
    }

    fn ranges_of<'a>(&self, prior: Ranges, trials: impl IntoIterator<Item = &'a Trial>) -> Ranges {
        let mut r = prior;
        for t in trials {
            r.include(t.ratio, self.speed(t));
        }
        r
    }

    /// Measures `params` on the sample a readapt takes from `chunk`, as the
    /// tuner's own trials do. For calibrating what trials tell of a
    /// chunk: the `trial_speed` example of `btune-train` compares these
    /// speeds with the same parameters' speeds on whole chunks.
    ///
    /// ```
    /// use btune_core::{Clevel, Codec, Config, Filter, Params, SplitMode, Tuner};
    /// let chunk: Vec<u8> = (0..262_144u32).flat_map(|i| (i / 3).to_le_bytes()).collect();
    /// let tuner = Tuner::new(Config::default(), 4).unwrap();
    /// let p = Params::new(Codec::Zstd, Filter::Shuffle, Clevel::MIN, SplitMode::Always);
    /// let m = tuner.measure_sample_trial(&chunk, &p).unwrap();
    /// assert!(m.ratio > 4.0 && m.cspeed > 0.0);
    /// // The sample's blocks are cut short of the chunk's.
    /// assert!(m.sample_blocksize < m.chunk_blocksize);
    /// ```
    #[must_use]
    pub fn measure_sample_trial(&self, chunk: &[u8], params: &Params) -> Option<SampleTrial> {
        let sample = Sample::of(chunk, self.typesize, self.config.tradeoff);
        self.measure(&sample, params, &mut TrialBuffers::default())
    }

    /// A trial of `params` on `sample` ([`Tuner::measure`]).
    fn trial(
        &self,
        sample: &Sample<'_>,
        params: &Params,
        bufs: &mut TrialBuffers,
    ) -> Option<Trial> {
        let m = self.measure(sample, params, bufs)?;
        Some(Trial {
            params: *params,
            ratio: m.ratio,
            cspeed: m.cspeed,
            dspeed: m.dspeed,
            on_block: false,
        })
    }

    /// Compresses (and, if the mode needs it, decompresses) `sample` with
    /// `params`, with the blocks they would get on the whole chunk (cut to
    /// half the sample), timing with the tuner's clock.
    ///
    /// The first block is compressed on its own and untimed: a new c-blosc2
    /// context allocates its codec's state on first use (about 100 us for
    /// zstd), which a chunk compressed by a warm context never pays. Timing
    /// it would make every slow-to-start codec look several times slower on
    /// a small sample than it is on the chunk.
    fn measure(
        &self,
        sample: &Sample<'_>,
        params: &Params,
        bufs: &mut TrialBuffers,
    ) -> Option<SampleTrial> {
        let entered = self.now();
        let bytes = sample.bytes();
        let ts = self.typesize;
        let blocksize = sample.blocksize(params, ts);
        let chunk_blocksize = blosc2::auto_blocksize(params, ts, sample.chunk_len());
        let mut p = *params;
        p.blocksize = Blocksize::Bytes(u32::try_from(blocksize).unwrap_or(u32::MAX));
        // Warm-up block, then the rest; a sample of one block is timed cold.
        let (warm, timed) = if bytes.len() >= 2 * blocksize {
            bytes.split_at(blocksize)
        } else {
            (&bytes[..0], bytes)
        };
        let mut cbytes = 0;
        if !warm.is_empty() {
            blosc2::compress_into(warm, ts, &p, &mut bufs.compressed).ok()?;
            // One chunk header for the whole sample, as on the chunk.
            cbytes += bufs.compressed.len().saturating_sub(blosc2::HEADER_BYTES);
        }
        let t0 = self.now();
        blosc2::compress_into(timed, ts, &p, &mut bufs.compressed).ok()?;
        let t1 = self.now();
        cbytes += bufs.compressed.len();
        bufs.counts.compressions += 1;
        let dtime = if self.objective.perf_mode.needs_decompression() {
            bufs.counts.decompressions += 1;
            bufs.decompressed.resize(timed.len(), 0);
            let t2 = self.now();
            blosc2::decompress_into(&bufs.compressed, &mut bufs.decompressed, p.dthreads.as_c())
                .ok()?;
            Some((self.now() - t2).as_secs_f64())
        } else {
            None
        };
        let timed_outcome = Outcome {
            nbytes: timed.len() as u64,
            cbytes: cbytes as u64,
            ctime: (t1 - t0).as_secs_f64(),
            dtime,
        };
        let outcome = Outcome {
            nbytes: bytes.len() as u64,
            ..timed_outcome
        };
        log::debug!(
            "trial {params}: {} bytes, ratio {:.3}, {:.1} us for {} bytes, {:.1} us in all, blocks of {blocksize} bytes ({chunk_blocksize} on the chunk)",
            bytes.len(),
            outcome.ratio(),
            outcome.ctime * 1e6,
            timed.len(),
            (self.now() - entered).as_secs_f64() * 1e6,
        );
        Some(SampleTrial {
            ratio: outcome.ratio(),
            cspeed: timed_outcome.speed(PerfMode::Comp),
            dspeed: timed_outcome
                .dtime
                .map(|_| timed_outcome.speed(PerfMode::Decomp)),
            sample_blocksize: blocksize,
            chunk_blocksize,
        })
    }

    /// The compressed length of `bytes` as one block with `params`
    /// (longer than `bytes` if c-blosc2 stored them raw). Untimed: for
    /// what only a whole block's verdict or ratio tells.
    fn one_block(&self, bytes: &[u8], params: &Params, bufs: &mut TrialBuffers) -> Option<usize> {
        self.in_blocks(bytes, params, bytes.len(), bufs)
    }

    /// The compressed length of `bytes` in blocks of `blocksize` bytes
    /// with `params`. Untimed, as [`Tuner::one_block`].
    fn in_blocks(
        &self,
        bytes: &[u8],
        params: &Params,
        blocksize: usize,
        bufs: &mut TrialBuffers,
    ) -> Option<usize> {
        let mut p = *params;
        p.blocksize = Blocksize::Bytes(u32::try_from(blocksize).unwrap_or(u32::MAX));
        bufs.counts.compressions += 1;
        blosc2::compress_into(bytes, self.typesize, &p, &mut bufs.compressed).ok()?;
        Some(bufs.compressed.len())
    }

    /// The ratio of `bytes` compressed in blocks of `blocksize` bytes with
    /// `params` ([`Tuner::in_blocks`]).
    fn ratio_in_blocks(
        &self,
        bytes: &[u8],
        params: &Params,
        blocksize: usize,
        bufs: &mut TrialBuffers,
    ) -> Option<f64> {
        let cbytes = self.in_blocks(bytes, params, blocksize, bufs)?;
        #[allow(clippy::cast_precision_loss)]
        let ratio = bytes.len() as f64 / cbytes.max(1) as f64;
        Some(ratio)
    }

    /// `params`' ratio on a sample of `block` as large as `sample`, in the
    /// blocks `sample` gives `params`: what a block shows in a trial's
    /// short blocks, to set beside what it shows in its own length.
    fn ratio_on_sample_of(
        &self,
        block: &[u8],
        params: &Params,
        sample: &Sample<'_>,
        bufs: &mut TrialBuffers,
    ) -> Option<f64> {
        let of_block = Sample::of_bytes(block, self.typesize, sample.bytes().len());
        let blocksize = sample.blocksize(params, self.typesize);
        self.ratio_in_blocks(of_block.bytes(), params, blocksize, bufs)
    }

    /// Seconds per byte to copy `block`, its first [`COPY_PROBE_BYTES`]
    /// copied twice and timed the second time: a new buffer's first write
    /// faults its pages in, which a chunk's output does not pay.
    fn copy_seconds_per_byte(&self, block: &[u8], bufs: &mut TrialBuffers) -> f64 {
        let block = &block[..block.len().min(COPY_PROBE_BYTES)];
        bufs.decompressed.clear();
        bufs.decompressed.extend_from_slice(block);
        let t0 = self.now();
        bufs.decompressed.copy_from_slice(block);
        #[allow(clippy::cast_precision_loss)]
        let per_byte = (self.now() - t0).as_secs_f64() / block.len().max(1) as f64;
        per_byte
    }

    /// What blosclz storing the chunk's blocks would give
    /// ([`search::give_up_store`]), if it does. The verdict comes from the
    /// head of one of the chunk's blocks (what blosclz probes); the time from
    /// a model, since a sample's short blocks cannot show it and a whole
    /// block's trial costs a new context's buffers: a probe per stream (the
    /// head's time, less its copy) and two copies of every byte, one of each
    /// block and one of the whole chunk, which c-blosc2 writes as a copy
    /// when no block compressed. The copy is timed on the same block.
    fn give_up_trial(&self, chunk: &[u8], bufs: &mut TrialBuffers) -> Option<Trial> {
        let ts = self.typesize;
        let store = search::give_up_store(ts, chunk.len());
        let blocksize = blosc2::auto_blocksize(&store, ts, chunk.len());
        let block = sample::middle_block(chunk, blocksize);
        // c-blosc2 cuts a split block into `typesize` streams of equal
        // length (no filter: contiguous pieces) and blosclz probes the
        // head of each; compressed alone as one stream, a head gets the
        // verdict its stream gets.
        let streams = search::streams(&store, ts);
        let stream_len = block.len() / streams;
        let one_stream = Params {
            split: SplitMode::Never,
            ..store
        };
        bufs.counts.store_checks.0 += 1;
        let t0 = self.now();
        // A block blosclz compresses after all costs a millisecond: the
        // heads alone tell.
        let mut probed = 0;
        for k in 0..streams {
            let stream = &block[k * stream_len..(k + 1) * stream_len];
            let head = &stream[..stream.len().min(search::GIVE_UP_PROBE)];
            probed += head.len();
            // Stored raw means an output longer than the head.
            if self
                .one_block(head, &one_stream, bufs)
                .is_none_or(|n| n <= head.len())
            {
                return None;
            }
        }
        #[allow(clippy::cast_precision_loss)]
        let head_time = (self.now() - t0).as_secs_f64() / streams as f64;
        bufs.counts.store_checks.1 += 1;
        let copy_per_byte = self.copy_seconds_per_byte(block, bufs);
        let n = chunk.len() as f64;
        let probe = (head_time - (probed / streams) as f64 * copy_per_byte).max(0.0);
        let probes = search::give_up_probes(&store, ts, chunk.len()) as f64;
        let time = probes * probe + 2.0 * n * copy_per_byte;
        let speed = n / time.max(1e-9);
        log::debug!(
            "store check {store}: head stored raw in {:.1} us, copies at {:.1} GB/s: {:.2} GB/s predicted",
            head_time * 1e6,
            1e-9 / copy_per_byte.max(1e-15),
            speed / 1e9
        );
        Some(Trial {
            params: store,
            ratio: n / (n + blosc2::HEADER_BYTES as f64),
            cspeed: speed,
            // Reading a chunk stored as a copy is a copy.
            dspeed: self
                .objective
                .perf_mode
                .needs_decompression()
                .then(|| 1.0 / copy_per_byte.max(1e-15)),
            on_block: true,
        })
    }

    /// What blosclz after a filter storing the chunk's blocks gives
    /// ([`search::filtered_give_up_store`]), if the filter starts every
    /// block of the chunk with a head blosclz gives up on ([`filter_head`]);
    /// timed on the middle block compressed alone. The filter's own time is
    /// what no model predicts, and that block's context is the one the
    /// chunk then uses, so the timing costs two blocks at nearly copy
    /// speed; the heads, checked first, keep a block that blosclz
    /// compresses after all (a millisecond) from being timed.
    fn filtered_give_up_trial(&self, chunk: &[u8], bufs: &mut TrialBuffers) -> Option<Trial> {
        let ts = self.typesize;
        let store = search::filtered_give_up_store(ts)?;
        bufs.counts.filtered_store_checks.0 += 1;
        let probe = Params::new(
            Codec::BloscLz,
            Filter::None,
            search::FILTERED_GIVE_UP_CLEVEL,
            SplitMode::Never,
        );
        let t0 = self.now();
        // Every block's head: data whose blocks differ (an image's dark
        // border and its detail) may have one that blosclz compresses after
        // all, slowly.
        let blocksize = blosc2::auto_blocksize(&store, ts, chunk.len());
        // A chunk of one block is not checked: too small to pay for it.
        let gives_up = blocksize < chunk.len()
            && chunk.chunks(blocksize).all(|block| {
                let head = filter_head::filtered_head(
                    store.filter,
                    ts,
                    block,
                    chunk,
                    search::GIVE_UP_PROBE,
                );
                self.one_block(&head, &probe, bufs)
                    .is_some_and(|n| n > head.len())
            });
        if !gives_up {
            return None;
        }
        let heads = self.now() - t0;
        let block = sample::middle_block(chunk, blocksize);
        let cbytes = self.one_block(block, &store, bufs)?;
        if cbytes <= block.len() {
            log::debug!("filtered store check {store}: heads given up, block compressed");
            return None;
        }
        // Again, timed: a new context's first block faults its buffers in
        // (several times the block's own time at these speeds), which the
        // chunk, compressed by the same context, does not pay.
        let t1 = self.now();
        self.one_block(block, &store, bufs)?;
        let time = (self.now() - t1).as_secs_f64();
        log::debug!(
            "filtered store check {store}: heads in {:.1} us, block of {} bytes stored in {:.1} us",
            heads.as_secs_f64() * 1e6,
            block.len(),
            time * 1e6
        );
        bufs.counts.filtered_store_checks.1 += 1;
        let n = chunk.len() as f64;
        #[allow(clippy::cast_precision_loss)]
        let speed = block.len() as f64 / time.max(1e-9);
        Some(Trial {
            params: store,
            ratio: n / (n + blosc2::HEADER_BYTES as f64),
            cspeed: speed,
            // A chunk no block of which compressed is stored as a copy,
            // and read as one.
            dspeed: self
                .objective
                .perf_mode
                .needs_decompression()
                .then(|| 1.0 / self.copy_seconds_per_byte(block, bufs).max(1e-15)),
            on_block: true,
        })
    }

    /// Measures [`search::block_probe`] with `filter` on the sample and on
    /// the chunk's middle block, where the sample's lz4 with that filter
    /// compresses by at least [`search::BLOCK_PROBE_RATIO`] and a block is
    /// at most half the chunk (the block only for its ratio). If the block
    /// in its own length gained at least [`search::BLOCK_GAIN_MIN`] over a
    /// sample of it in the sample's blocks, the probe's trial joins
    /// `trials` with the sample's ratio times that gain (and the sample's
    /// speeds), and the answer is that gain; else the sample's trial joins
    /// them and there is no gain.
    fn block_gain(
        &self,
        chunk: &[u8],
        sample: &Sample<'_>,
        filter: Filter,
        bufs: &mut TrialBuffers,
        trials: &mut Vec<Trial>,
    ) -> Option<BlockGain> {
        let ts = self.typesize;
        let probe = search::block_probe(filter);
        let compresses = worth_probing(filter, trials);
        let blocksize = blosc2::auto_blocksize(&probe, ts, chunk.len());
        if ts < 2 || !compresses || 2 * blocksize > chunk.len() {
            return None;
        }
        bufs.counts.block_probes += 1;
        let short = self.trial(sample, &probe, bufs)?;
        // Only the block's ratio counts, so it is neither timed nor
        // decompressed: its speeds are the sample's, as every other
        // candidate's (the block's context would be new, and its first use
        // faults its buffers in: 2-3x slower than on the chunk).
        let block = sample::middle_block(chunk, blocksize);
        let long_ratio = self.ratio_in_blocks(block, &probe, block.len(), bufs)?;
        log::debug!(
            "block probe {probe}: ratio {long_ratio:.3} on a {blocksize}-byte block, {:.3} on the sample",
            short.ratio
        );
        // A few percent is what any longer block gains; it would only add
        // noise to the comparison of candidates that see different lengths.
        if long_ratio < search::BLOCK_GAIN_MIN * short.ratio {
            trials.push(short);
            return None;
        }
        // The middle block may just compress better than the sample's
        // pieces (`image_stack_u16`: an image's middle rows, 1.79 in its
        // 128 KiB block against 1.43 on the sample, but 1.76 in the
        // sample's 16 KiB blocks). What long blocks gain is measured on the
        // same bytes: a sample of the block as large as the chunk's, in the
        // sample's blocks. Checked only where the block seemed to gain, to
        // spare one compression where it did not.
        let short_blocks = sample.blocksize(&probe, ts);
        let block_short_ratio = self.ratio_on_sample_of(block, &probe, sample, bufs)?;
        log::debug!(
            "block probe {probe}: ratio {block_short_ratio:.3} on a sample of the block in {short_blocks}-byte blocks"
        );
        if long_ratio < search::BLOCK_GAIN_MIN * block_short_ratio {
            trials.push(short);
            return None;
        }
        let gain = BlockGain {
            filter,
            gain: long_ratio / block_short_ratio,
            short_reach: search::reach(&probe, ts, short_blocks),
            reach: search::reach(&probe, ts, blocksize),
        };
        trials.retain(|t| t.params != probe);
        trials.push(Trial {
            // The sample's ratio with the gain, as every other candidate's.
            ratio: short.ratio * gain.gain,
            on_block: true,
            ..short
        });
        Some(gain)
    }

    /// Measures [`search::chunk_probe`] with `filter` on the sample and on
    /// the whole chunk as one block (its ratio only), where the sample's
    /// lz4 with that filter compresses by at least
    /// [`search::BLOCK_PROBE_RATIO`] (`trials` hold its measure) and the
    /// chunk lets the probe see [`search::CHUNK_PROBE_REACH`] times as far
    /// as the sample does. The answer is what the chunk gained for
    /// `filter`.
    fn chunk_gain(
        &self,
        chunk: &[u8],
        sample: &Sample<'_>,
        filter: Filter,
        bufs: &mut TrialBuffers,
        trials: &[Trial],
    ) -> Option<BlockGain> {
        let ts = self.typesize;
        let probe = search::chunk_probe(filter);
        let compresses = worth_probing(filter, trials);
        let short_reach = search::reach(&probe, ts, sample.blocksize(&probe, ts));
        let reach = search::reach(&probe, ts, chunk.len());
        if !compresses || reach < search::CHUNK_PROBE_REACH * short_reach {
            return None;
        }
        bufs.counts.block_probes += 1;
        // Not a trial that joins the others: as an anchor it would move the
        // predictions of its filter's candidates off the table's, and the
        // verifications would follow them.
        let short = self.trial(sample, &probe, bufs)?;
        // As for the block probe: the chunk's ratio only, with the sample's
        // speeds (a new context's first use of its buffers would not time
        // what the chunk costs).
        let long_ratio = self.ratio_in_blocks(chunk, &probe, chunk.len(), bufs)?;
        log::debug!(
            "chunk probe {probe}: ratio {long_ratio:.3} on the chunk, {:.3} on the sample",
            short.ratio
        );
        Some(BlockGain {
            filter,
            gain: long_ratio / short.ratio,
            short_reach,
            reach,
        })
    }

    fn run_trials(
        &self,
        sample: &Sample<'_>,
        candidates: &[Params],
        bufs: &mut TrialBuffers,
        out: &mut Vec<Trial>,
    ) {
        for p in candidates {
            if out.iter().any(|t| t.params == *p) {
                continue;
            }
            if let Some(t) = self.trial(sample, p, bufs) {
                out.push(t);
            }
        }
    }

    /// A HARD readapt (stages in `search`): measure filters and anchors,
    /// predict the grid from them, then measure predicted candidates while
    /// one promises more than its trial costs (`trial_penalty`).
    fn explore_hard(&self, chunk: &[u8], prior: Ranges, seed: Option<Params>) -> Exploration {
        let sample = Sample::of(chunk, self.typesize, self.config.tradeoff);
        let mut bufs = TrialBuffers::default();
        let mut trials = Vec::new();
        // Exploration runs single-threaded; `with_threads` then tries more.
        let mut first = search::filter_stage(self.typesize);
        first.extend(seed.map(|p| p.with_threads(Threads::ONE)));
        // Speed first: data that the store probe stores is stored, without
        // the trials (stage 1 skipped leaves no filters, so no stage 2).
        // So is data the probe hardly compresses where blosclz gives the
        // chunk's blocks up.
        let mut give_up_checked = false;
        let stored = self.config.tradeoff < search::STORE_FIRST_BELOW && {
            self.run_trials(&sample, &[search::store_probe()], &mut bufs, &mut trials);
            match trials.first().map(|t| t.ratio) {
                Some(r) if search::stores(r) => true,
                Some(r) if search::hardly_compresses(r) && !sample.is_whole() => {
                    give_up_checked = true;
                    let store = self.give_up_trial(chunk, &mut bufs);
                    trials.extend(store);
                    store.is_some()
                }
                _ => false,
            }
        };
        if !stored {
            self.run_trials(&sample, &first, &mut bufs, &mut trials);
        }
        if trials.is_empty() {
            return Exploration {
                trials,
                ranges: prior,
                counts: bufs.counts,
                gain: BlockGains::default(),
            };
        }
        // The two best filters by ratio, as lz4 at clevel 1 measured them.
        let mut by_ratio: Vec<&Trial> = trials
            .iter()
            .filter(|t| t.params.clevel == Clevel::MIN && t.params.codec == Codec::Lz4)
            .collect();
        by_ratio.sort_by(|a, b| b.ratio.total_cmp(&a.ratio));
        let mut filters: Vec<Filter> = Vec::new();
        for t in by_ratio {
            if filters.len() < 2 && !filters.contains(&t.params.filter) {
                filters.push(t.params.filter);
            }
        }

        let candidates = search::grid_for(&filters);
        // Data that compresses: long blocks may find what a sample's short
        // ones cannot. At balanced tradeoffs one of the chunk's blocks shows
        // it (`search::block_probe`), where ratio comes first the whole
        // chunk does, for each filter (`search::chunk_probe`). Candidates
        // gain what the probe's block or chunk gained by how far they see.
        let t = self.config.tradeoff;
        let gains = if sample.is_whole() {
            BlockGains::default()
        } else if search::BLOCK_PROBE_TRADEOFFS.contains(&t) {
            BlockGains(
                filters
                    .first()
                    .and_then(|f| self.block_gain(chunk, &sample, *f, &mut bufs, &mut trials))
                    .into_iter()
                    .collect(),
            )
        } else if t >= search::CHUNK_PROBE_FROM {
            let probed: Vec<BlockGain> = filters
                .iter()
                .filter_map(|f| self.chunk_gain(chunk, &sample, *f, &mut bufs, &trials))
                .collect();
            // A few percent is what any longer block gains
            // (`search::BLOCK_GAIN_MIN`). Where one filter gains more, all
            // keep what they gained, so that filters compare on what the
            // chunk showed for each.
            let far = probed.iter().any(|g| g.gain >= search::BLOCK_GAIN_MIN);
            BlockGains(if far { probed } else { Vec::new() })
        } else {
            BlockGains::default()
        };
        // `trials` keep what the sample showed, since they anchor the
        // predictions, and those gain once; what is compared has gained.
        let gained = |t: Trial| gains.apply(t, self.typesize, chunk.len());

        // Uniform bytes that lz4 stores give an entropy coder nothing
        // either: the table's median gains (zstd 1.28x over lz4) would have
        // every slow codec verified on random bytes, 5 ms of trials for
        // data stored in 0.4 ms (`random_u8` at t = 0.9).
        let uniform = trials
            .iter()
            .any(|t| t.params == lz4_anchor(Filter::None) && search::stores(t.ratio))
            && sample::byte_entropy(sample.bytes()) >= search::UNIFORM_BITS;
        // What was measured, and every candidate not measured as predicted,
        // both with the probes' gains, and the ranges of both.
        let seen = |trials: &[Trial], calibration: Calibration| {
            let measured: Vec<Trial> = trials.iter().copied().map(gained).collect();
            let predictions: Vec<Trial> = candidates
                .iter()
                .filter(|p| !trials.iter().any(|t| t.params == **p))
                .filter_map(|p| predict_from(p, trials, calibration))
                .map(|t| {
                    if uniform {
                        stored_as_measured(t, trials)
                    } else {
                        t
                    }
                })
                .map(gained)
                .collect();
            let ranges = self.ranges_of(prior, measured.iter().chain(&predictions));
            (measured, predictions, ranges)
        };

        for _ in 0..MAX_VERIFIED {
            let (measured, predictions, ranges) = seen(&trials, Calibration::Table);
            // Verify the prediction whose expected gain most exceeds what
            // its trial costs; stop when none is worth its trial.
            let Some(best) = measured
                .iter()
                .max_by(|a, b| self.score(a, &ranges).total_cmp(&self.score(b, &ranges)))
                .copied()
            else {
                break;
            };
            let best_score = self.score(&best, &ranges);
            let worth = |p: &Trial| {
                self.score(p, &ranges)
                    - best_score
                    - self.trial_penalty(&best, p, chunk.len(), sample.bytes().len(), &ranges)
                        / VERIFY_CONFIDENCE
            };
            let top = predictions
                .iter()
                .map(|p| (worth(p), p))
                .max_by(|a, b| a.0.total_cmp(&b.0));
            if let Some((w, p)) = top {
                log::debug!(
                    "best {} (score {best_score:.3}); most worth verifying: {} predicted ratio {:.3} at {:.0} MB/s, score {:.3}, worth {w:.3}",
                    best.params,
                    p.params,
                    p.ratio,
                    p.cspeed / 1e6,
                    self.score(p, &ranges)
                );
            }
            let Some((_, next)) = top.filter(|(w, _)| *w > 0.0) else {
                break;
            };
            match self.trial(&sample, &next.params, &mut bufs) {
                Some(t) => trials.push(t),
                None => break,
            }
        }
        // The choice is made in ranges whose unmeasured candidates are
        // predicted as far off the table as the measured ones of their
        // codec turned out to be (`Calibration::Measured`). Verification
        // keeps the table's: a prediction that promises too much is what
        // gets a candidate measured, and calibrating those too lost at
        // t = 0.9 (benchmark corpus at --scale 0.25, three runs each: median
        // 0.020 -> 0.039, mean 0.027 -> 0.082). In the ranges alone it
        // moved nothing beyond noise on either corpus at 0.25, and at
        // --scale 1.0 took `regime_change_f64` at t = 0.9 from 0.134 to
        // 0.04 in two runs of two: zlib and zstd predicted 1.4-1.9x off
        // lz4 where they measured 1.27x had widened the ratio range enough
        // to hand the choice to lz4. Without the floor at a store that
        // choice stayed on a knife's edge (0.037-0.134 over five full
        // runs); with it, 0.039-0.045 over four, and the training
        // corpus's t = 0.9 mean went from 0.080-0.085 to 0.075-0.081.
        let (_, _, ranges) = seen(&trials, Calibration::Measured);
        let mut trials: Vec<Trial> = trials.into_iter().map(gained).collect();
        // Speed first, on data lz4 hardly compresses: blosclz may store the
        // chunk's blocks after one probe each (`search::GIVE_UP_BELOW`).
        // Data lz4 stores raw is left to lz4's stores, faster still.
        let plain = lz4_anchor(Filter::None);
        if self.config.tradeoff < search::GIVE_UP_BELOW
            && !give_up_checked
            && !sample.is_whole()
            && trials.iter().any(|t| {
                (t.params == plain || t.params == search::store_probe())
                    && search::hardly_compresses(t.ratio)
            })
            && let Some(t) = self.give_up_trial(chunk, &mut bufs)
        {
            trials.push(t);
        }
        // Speed first, on data that compresses: a filter may start its
        // blocks with bytes blosclz gives up on, and a store at several GB/s
        // beats compressing at a few hundred MB/s where speed weighs nine
        // times as much (`python_source_text` at t = 0.1). Data stored
        // without a filter is stored already: on random bytes the check
        // cost 0.3-0.7 ms a HARD (heads given up, a block timed) for a
        // store no faster than lz4's.
        if self.config.tradeoff < search::FILTERED_GIVE_UP_BELOW
            && !stored
            && !sample.is_whole()
            && !trials
                .iter()
                .any(|t| t.params.codec == Codec::BloscLz && t.on_block)
            && let Some(t) = self.filtered_give_up_trial(chunk, &mut bufs)
        {
            trials.push(t);
        }
        // The ranges keep the predicted extremes: the objective's ranges are
        // the whole grid's, most of which is predicted, not measured.
        let ranges = self.ranges_of(ranges, &trials);
        log::debug!(
            "HARD ranges: ratio {:.3}-{:.3}, speed {:.0}-{:.0} MB/s, after {} trials",
            ranges.ratio.0,
            ranges.ratio.1,
            ranges.speed.0 / 1e6,
            ranges.speed.1 / 1e6,
            trials.len()
        );
        let trials = self.with_threads(&sample, trials, &ranges, &mut bufs, &gained);
        let trials = self.at_chunk_speeds(&sample, trials);
        let trials = self.with_planes_checked(chunk, &sample, trials, &ranges, &mut bufs);
        Exploration {
            trials,
            ranges,
            counts: bufs.counts,
            gain: gains,
        }
    }

    /// Where ratio counts (from [`search::BLOCK_PROBE_TRADEOFFS`]'s start)
    /// and the best of `trials` would split the chunk's blocks into planes
    /// further apart than its codec sees
    /// ([`search::plane_distance_exceeds_window`]), measures what it
    /// loses: its ratio on the chunk's middle block against a sample of
    /// that block in the sample's blocks (untimed, as the block probe).
    /// Where the block loses more than [`search::PLANE_LOSS_MAX`], every
    /// trial of that codec and filter whose blocks do the same loses as
    /// much, and the choice falls to the next best.
    fn with_planes_checked(
        &self,
        chunk: &[u8],
        sample: &Sample<'_>,
        mut trials: Vec<Trial>,
        ranges: &Ranges,
        bufs: &mut TrialBuffers,
    ) -> Vec<Trial> {
        let ts = self.typesize;
        let at_risk = |p: &Params| {
            search::plane_distance_exceeds_window(p, ts, blosc2::auto_blocksize(p, ts, chunk.len()))
        };
        if self.config.tradeoff < search::BLOCK_PROBE_TRADEOFFS.start || sample.is_whole() {
            return trials;
        }
        // The next best may be at risk too, with another codec or filter.
        for _ in 0..MAX_PLANE_CHECKS {
            let Some(best) = trials
                .iter()
                .max_by(|a, b| self.score(a, ranges).total_cmp(&self.score(b, ranges)))
                .copied()
                .filter(|t| !t.on_block && at_risk(&t.params))
            else {
                break;
            };
            let Some(loss) = self.plane_loss(chunk, sample, &best.params, bufs) else {
                break;
            };
            if loss >= search::PLANE_LOSS_MAX {
                break;
            }
            let (codec, filter) = (best.params.codec, best.params.filter);
            for t in &mut trials {
                if (t.params.codec, t.params.filter) == (codec, filter)
                    && !t.on_block
                    && at_risk(&t.params)
                {
                    t.ratio *= loss;
                }
            }
        }
        trials
    }

    /// `params`' ratio on the chunk's middle block over its ratio on a
    /// sample of that block as large as `sample`, in `sample`'s blocks; 1
    /// without measuring the block where the sample's planes do not
    /// repeat each other: compressed apart (split), they compress within
    /// [`search::PLANE_LOSS_MAX`] of together (`lfw_f64`: 1.94 against
    /// 2.08 after bitshuffle; a 256 KiB block costs as much as the rest of
    /// the HARD).
    fn plane_loss(
        &self,
        chunk: &[u8],
        sample: &Sample<'_>,
        params: &Params,
        bufs: &mut TrialBuffers,
    ) -> Option<f64> {
        let ts = self.typesize;
        let p = params.with_threads(Threads::ONE);
        let blocksize = blosc2::auto_blocksize(&p, ts, chunk.len());
        // As for the block probe: a block of more than half the chunk
        // costs the chunk's compression, which the chunk alone bears.
        if 2 * blocksize > chunk.len() {
            return Some(1.0);
        }
        let short_blocks = sample.blocksize(&p, ts);
        let split = Params {
            split: SplitMode::Always,
            ..p
        };
        let together = self.in_blocks(sample.bytes(), &p, short_blocks, bufs)?;
        let apart = self.in_blocks(sample.bytes(), &split, short_blocks, bufs)?;
        log::debug!("planes check {p}: sample {together} bytes together, {apart} apart");
        #[allow(clippy::cast_precision_loss)]
        if apart as f64 * search::PLANE_LOSS_MAX <= together as f64 {
            return Some(1.0);
        }
        bufs.counts.block_probes += 1;
        let block = sample::middle_block(chunk, blocksize);
        let long = self.ratio_in_blocks(block, &p, blocksize, bufs)?;
        let short = self.ratio_on_sample_of(block, &p, sample, bufs)?;
        log::debug!(
            "planes check {p}: ratio {long:.3} on a {blocksize}-byte block, {short:.3} on a sample of it"
        );
        Some(long / short)
    }

    /// A SOFT readapt around `winner` (`on_block`: whether it won on one
    /// of the chunk's blocks), its trials gaining what the last HARD
    /// readapt's block probe found (`gain`).
    fn explore_soft(
        &self,
        chunk: &[u8],
        winner: &Params,
        on_block: bool,
        gain: &BlockGains,
    ) -> Exploration {
        let sample = Sample::of(chunk, self.typesize, self.config.tradeoff);
        let mut bufs = TrialBuffers::default();
        let mut trials = Vec::new();
        // A winner measured on one of the chunk's blocks has no neighbour a
        // sample could judge: a blosclz store costs a probe per short block
        // there, and what long blocks find, short ones miss, so the pick
        // would be noise or a loss. A change in the data calls a HARD
        // readapt instead.
        if on_block {
            return Exploration {
                trials,
                ranges: Ranges::EMPTY,
                counts: bufs.counts,
                gain: BlockGains::default(),
            };
        }
        self.run_trials(
            &sample,
            &search::soft_stage(winner, self.config.max_threads),
            &mut bufs,
            &mut trials,
        );
        // A short block's trial of a candidate that sees as far as the
        // probe did would miss what the probe found (a flip to a split
        // mode that sees less would look free).
        for t in &mut trials {
            *t = gain.apply(*t, self.typesize, chunk.len());
        }
        let trials = self.at_chunk_speeds(&sample, trials);
        let ranges = self.ranges_of(Ranges::EMPTY, &trials);
        Exploration {
            trials,
            ranges,
            counts: bufs.counts,
            gain: BlockGains::default(),
        }
    }

    /// The trials' compression speeds as the chunk's blocks would give
    /// them, where the choice uses those ([`search::chooses_at_chunk_speeds`]).
    /// Trials on one of the chunk's own blocks, and samples that are the
    /// whole chunk, already ran on the chunk's blocks.
    fn at_chunk_speeds(&self, sample: &Sample<'_>, mut trials: Vec<Trial>) -> Vec<Trial> {
        if !search::chooses_at_chunk_speeds(self.config.tradeoff) || sample.is_whole() {
            return trials;
        }
        let ts = self.typesize;
        for t in trials.iter_mut().filter(|t| !t.on_block) {
            t.cspeed *= search::chunk_speed_factor(
                &t.params,
                sample.blocksize(&t.params, ts),
                blosc2::auto_blocksize(&t.params, ts, sample.chunk_len()),
            );
        }
        trials
    }

    /// After a HARD readapt, the best candidate with more threads, where
    /// the caller allows them.
    fn with_threads(
        &self,
        sample: &Sample<'_>,
        mut trials: Vec<Trial>,
        ranges: &Ranges,
        bufs: &mut TrialBuffers,
        gained: &dyn Fn(Trial) -> Trial,
    ) -> Vec<Trial> {
        let max = self.config.max_threads;
        if max == Threads::ONE {
            return trials;
        }
        if let Some(best) = trials
            .iter()
            .max_by(|a, b| self.score(a, ranges).total_cmp(&self.score(b, ranges)))
            .copied()
        {
            // More threads change the speed, not the ratio: a winner
            // measured on a block keeps its block's ratio (already gained),
            // one measured on the sample gains as it did.
            let p = best.params.with_threads(max);
            if let Some(t) = self.trial(sample, &p, bufs) {
                trials.push(if best.on_block {
                    Trial {
                        ratio: best.ratio,
                        on_block: true,
                        ..t
                    }
                } else {
                    gained(t)
                });
            }
        }
        trials
    }
}

/// How [`predict_from`] takes a candidate's ratio from an lz4 anchor
/// across codecs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Calibration {
    /// As the relative table has it ([`search::predict`]).
    Table,
    /// The table's, times how far it missed for the candidate's codec on
    /// the filters where that codec was measured ([`codec_calibration`]),
    /// and never below 1: c-blosc2 stores what it cannot compress, so no
    /// parameter set gives less than a store (the table's blosclz, 0.94x
    /// lz4, predicted 0.935 on `regime_change_f64`, whose grid's lowest
    /// ratio is 0.99997).
    Measured,
}

/// A prediction for `p` from the measured trial nearest to it: the same codec
/// and filter (same split and closest clevel first), else its family's
/// anchor (`search::family_anchor`), else lz4 at clevel 1 with its filter.
fn predict_from(p: &Params, trials: &[Trial], calibration: Calibration) -> Option<Trial> {
    // What a chunk's block showed does not carry over to a sample's blocks.
    let anchors = || trials.iter().filter(|t| !t.on_block);
    let same_codec = anchors()
        .filter(|t| t.params.codec == p.codec && t.params.filter == p.filter)
        .min_by_key(|t| {
            (
                t.params.split != p.split,
                t.params.clevel.get().abs_diff(p.clevel.get()),
            )
        });
    let anchor = same_codec
        .or_else(|| measured_on_sample(trials, &search::family_anchor(p)))
        .or_else(|| measured_on_sample(trials, &lz4_anchor(p.filter)))?;
    let (mut ratio, cspeed) = search::predict(p, &anchor.params, (anchor.ratio, anchor.cspeed));
    if calibration == Calibration::Measured {
        if anchor.params.codec == Codec::Lz4 && p.codec != Codec::Lz4 {
            ratio *= codec_calibration(p, trials);
        }
        ratio = ratio.max(1.0);
    }
    Some(Trial {
        params: *p,
        ratio,
        cspeed,
        dspeed: anchor
            .dspeed
            .map(|d| search::predict_dspeed(p, &anchor.params, d)),
        on_block: false,
    })
}

/// `predicted` with the ratio its filter's lz4 anchor measured where that
/// anchor stored its sample: on uniform bytes no codec finds what lz4 did
/// not.
fn stored_as_measured(predicted: Trial, trials: &[Trial]) -> Trial {
    match measured_on_sample(trials, &lz4_anchor(predicted.params.filter)) {
        Some(anchor) if search::stores(anchor.ratio) => Trial {
            ratio: predicted.ratio.min(anchor.ratio),
            ..predicted
        },
        _ => predicted,
    }
}

/// lz4 at clevel 1 without split after `filter`: the first stage's trial,
/// which anchors predictions across codecs.
fn lz4_anchor(filter: Filter) -> Params {
    Params::new(Codec::Lz4, filter, Clevel::MIN, SplitMode::Never)
}

/// The trial of `trials` that measured `p` (threads aside) on the sample,
/// not on one of the chunk's blocks.
fn measured_on_sample<'a>(trials: &'a [Trial], p: &Params) -> Option<&'a Trial> {
    trials
        .iter()
        .find(|t| !t.on_block && t.params.format_key() == p.format_key())
}

/// How far the table's ratio gain over lz4 at clevel 1 missed for `p`'s
/// codec on the other filters where it was measured: the geometric mean,
/// over `trials` of that codec with another filter, of the measured ratio
/// over the one predicted from that filter's lz4 anchor. 1 where there is
/// none. The table holds medians over many datasets; on one, an entropy
/// coder gains far less or far more over lz4 than the median, and does so
/// after every filter alike (noisy floats: zstd/bitshuffle/9 measured
/// 0.67x its prediction).
fn codec_calibration(p: &Params, trials: &[Trial]) -> f64 {
    let misses: Vec<f64> = trials
        .iter()
        .filter(|t| !t.on_block && t.params.codec == p.codec && t.params.filter != p.filter)
        .filter_map(|t| {
            let a = measured_on_sample(trials, &lz4_anchor(t.params.filter))?;
            let (predicted, _) = search::predict(&t.params, &a.params, (a.ratio, a.cspeed));
            Some((t.ratio / predicted).ln())
        })
        .collect();
    if misses.is_empty() {
        1.0
    } else {
        (misses.iter().sum::<f64>() / misses.len() as f64).exp()
    }
}

/// Whether the sample's lz4 at clevel 1 with `filter` (in `trials`)
/// compresses by at least [`search::BLOCK_PROBE_RATIO`]: data that hardly
/// compresses in short blocks has no far matches for a block or chunk
/// probe to find.
fn worth_probing(filter: Filter, trials: &[Trial]) -> bool {
    let anchor = lz4_anchor(filter);
    trials
        .iter()
        .any(|t| t.params == anchor && t.ratio >= search::BLOCK_PROBE_RATIO)
}

/// What [`search::block_probe`] gained on one of the chunk's blocks (or
/// [`search::chunk_probe`] on the whole chunk) over the sample, and how
/// far ([`search::reach`]) it saw on each. A candidate's ratio, measured
/// or predicted on the sample, gains as much of it as its own blocks on
/// the chunk see: all from the probe's reach on, none up to the sample's,
/// geometrically between (two points of a curve whose shape the data
/// decides: a 2-D field's rows repeat at one distance, most data gains a
/// little at every one).
#[derive(Clone, Copy, Debug)]
struct BlockGain {
    /// The filter the probe ran with.
    filter: Filter,
    gain: f64,
    short_reach: usize,
    reach: usize,
}

impl BlockGain {
    fn apply(self, t: Trial, typesize: usize, chunk_len: usize) -> Trial {
        let block = blosc2::auto_blocksize(&t.params, typesize, chunk_len);
        let r = search::reach(&t.params, typesize, block);
        if t.on_block || r <= self.short_reach || self.reach <= self.short_reach {
            return t;
        }
        let share = ((r as f64 / self.short_reach as f64).ln()
            / (self.reach as f64 / self.short_reach as f64).ln())
        .min(1.0);
        Trial {
            ratio: t.ratio * self.gain.powf(share),
            ..t
        }
    }
}

/// What a HARD readapt's probes gained ([`BlockGain`]): one a filter, the
/// first (the best filter's) for candidates of a filter no probe ran with,
/// except candidates without a filter after a probe with one. Far matches
/// of raw bytes are far matches of their shuffled planes too, but planes
/// also match where only the high bytes of numbers repeat: on
/// `smooth_field_f64` shuffle-bytedelta gains 1.66x from 11 KiB to 512 KiB
/// blocks, the unfiltered bytes nothing (1.005 on the chunk), and lz4
/// without a filter, credited with a share of that gain, won at t = 0.3
/// with regret 0.25 (`bench-results/block-gain-filters-ab/`).
#[derive(Clone, Debug, Default)]
struct BlockGains(Vec<BlockGain>);

impl BlockGains {
    fn apply(&self, t: Trial, typesize: usize, chunk_len: usize) -> Trial {
        let own = self.0.iter().find(|g| g.filter == t.params.filter);
        let carried = || {
            self.0
                .first()
                .filter(|g| g.filter == Filter::None || t.params.filter != Filter::None)
        };
        own.or_else(carried)
            .map_or(t, |g| g.apply(t, typesize, chunk_len))
    }
}

#[derive(Default)]
struct TrialBuffers {
    compressed: Vec<u8>,
    decompressed: Vec<u8>,
    counts: TrialCounts,
}

#[derive(Clone, Copy, Debug, Default)]
struct TrialCounts {
    compressions: u64,
    decompressions: u64,
    /// As [`TunerStats::store_checks`].
    store_checks: (u64, u64),
    /// As [`TunerStats::filtered_store_checks`].
    filtered_store_checks: (u64, u64),
    /// As [`TunerStats::block_probes`].
    block_probes: u64,
}

#[cfg(test)]
mod tests;
