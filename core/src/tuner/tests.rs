use super::*;
use crate::clock::{RecordingClock, ReplayClock};
use crate::objective::PerfMode;
use crate::trace::TraceSink;

fn smooth_f64(n: usize, phase: f64) -> Vec<u8> {
    (0..n)
        .flat_map(|i| {
            (((i as f64) * 0.003 + phase).sin() * 1e4)
                .round()
                .to_le_bytes()
        })
        .collect()
}

/// The next value of a xorshift64 generator whose state is `x` (never 0).
fn xorshift(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

fn noise(n: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..n).map(|_| xorshift(&mut x) as u8).collect()
}

#[test]
fn every_chunk_round_trips_in_both_formats() {
    let tuner = Tuner::new(Config::default(), 8).unwrap();
    for k in 0..6 {
        let data = smooth_f64(40_000, f64::from(k));
        for format in [ChunkFormat::Chunk, ChunkFormat::Frame] {
            let c = tuner.compress(&data, format).unwrap();
            assert_eq!(blosc2::decompress(&c.bytes, 1).unwrap(), data);
        }
    }
    let st = tuner.stats();
    assert_eq!(st.chunks, 12);
    assert!(st.hards >= 1, "the first chunk runs a HARD readapt");
}

#[test]
fn first_chunk_explores_and_stores_the_winner() {
    let tuner = Tuner::new(Config::default(), 8).unwrap();
    let data = smooth_f64(131_072, 0.0);
    let c = tuner.compress(&data, ChunkFormat::Chunk).unwrap();
    assert_eq!(c.readapt, Readapt::Hard);
    assert_eq!(c.params, tuner.winner(), "the stored chunk uses the winner");
    assert!(c.tuning_time > 0.0);
}

#[test]
fn tradeoff_moves_the_choice() {
    let data = smooth_f64(262_144, 0.5);
    let ratio_of = |t: f64| {
        let c = Config {
            tradeoff: t,
            ..Config::default()
        };
        let tuner = Tuner::new(c, 8).unwrap();
        let out = tuner.compress(&data, ChunkFormat::Chunk).unwrap();
        data.len() as f64 / out.bytes.len() as f64
    };
    let (fast, small) = (ratio_of(0.0), ratio_of(1.0));
    assert!(small > fast * 1.1, "t=1 ratio {small} vs t=0 ratio {fast}");
}

#[test]
fn detects_a_change_in_the_data_and_re_explores() {
    let mut c = Config::default();
    c.behaviour.repeat_mode = RepeatMode::Stop;
    let tuner = Tuner::new(c, 8).unwrap();
    let mut readapts = Vec::new();
    // Runs of equal values: every candidate compresses them well, so the
    // change to noise shows whatever the (timing-driven) winner is.
    for k in 0..6u32 {
        let steps: Vec<u8> = (0..65_536u32)
            .flat_map(|i| f64::from(i / 64 + k).to_le_bytes())
            .collect();
        let c = tuner.compress(&steps, ChunkFormat::Chunk).unwrap();
        readapts.push(c.readapt);
    }
    let before = tuner.winner();
    for k in 0..4 {
        let c = tuner
            .compress(&noise(524_288, k + 1), ChunkFormat::Chunk)
            .unwrap();
        readapts.push(c.readapt);
    }
    assert!(tuner.stats().changes >= 1, "{readapts:?}");
    assert!(readapts[6..].contains(&Readapt::Hard), "{readapts:?}");
    assert_ne!(
        tuner.winner().format_key(),
        before.format_key(),
        "noise needs other parameters"
    );
}

#[test]
fn threads_stay_within_the_limit() {
    for max in [1u16, 2, 3] {
        let mut c = Config {
            max_threads: Threads::new(max).unwrap(),
            ..Config::default()
        };
        c.behaviour.nwaits_before_readapt = 0;
        let tuner = Tuner::new(c, 4).unwrap();
        for k in 0..5 {
            let data = smooth_f64(65_536, f64::from(k));
            let out = tuner.compress(&data, ChunkFormat::Chunk).unwrap();
            assert!(out.params.cthreads.get() <= max && out.params.cthreads.get() >= 1);
            assert!(out.params.dthreads.get() <= max && out.params.dthreads.get() >= 1);
        }
    }
}

#[test]
fn replaying_the_clock_replays_the_decisions() {
    let chunks: Vec<Vec<u8>> = (0..8u32)
        .map(|k| {
            if k < 4 {
                smooth_f64(32_768, f64::from(k))
            } else {
                noise(262_144, u64::from(k))
            }
        })
        .collect();
    let run = |clock: Arc<dyn Clock>| {
        let tuner = Tuner::with_parts(Config::default(), 8, clock, None).unwrap();
        chunks
            .iter()
            .map(|c| {
                let out = tuner.compress(c, ChunkFormat::Chunk).unwrap();
                (out.params, out.readapt)
            })
            .collect::<Vec<_>>()
    };
    let recorder = Arc::new(RecordingClock::new(Arc::new(MonotonicClock::new())));
    let first = run(recorder.clone());
    let second = run(Arc::new(ReplayClock::new(recorder.readings())));
    assert_eq!(first, second);
}

#[test]
fn propose_without_data_returns_the_winner() {
    let tuner = Tuner::new(Config::default(), 4).unwrap();
    let p = tuner.propose(None);
    assert_eq!(p.readapt, Readapt::None);
    assert_eq!(p.params, tuner.winner());
    tuner.report(
        p,
        &Outcome {
            nbytes: 0,
            cbytes: 32,
            ctime: 0.0,
            dtime: None,
        },
    );
    assert_eq!(tuner.stats().chunks, 1);
}

#[test]
fn many_threads_share_one_tuner() {
    let tuner = Arc::new(Tuner::new(Config::default(), 8).unwrap());
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let tuner = Arc::clone(&tuner);
            std::thread::spawn(move || {
                for k in 0..5 {
                    let data = smooth_f64(50_000, f64::from(t * 10 + k));
                    let c = tuner.compress(&data, ChunkFormat::Chunk).unwrap();
                    assert_eq!(blosc2::decompress(&c.bytes, 1).unwrap(), data);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(tuner.stats().chunks, 20);
}

#[test]
fn trace_prints_header_and_one_row_per_chunk() {
    let (sink, mem) = TraceSink::memory();
    let tuner = Tuner::with_parts(
        Config::default(),
        8,
        Arc::new(MonotonicClock::new()),
        Some(sink),
    )
    .unwrap();
    for k in 0..3 {
        // 320 KiB chunks: the first is large enough to explore.
        tuner
            .compress(&smooth_f64(40_000, f64::from(k)), ChunkFormat::Chunk)
            .unwrap();
    }
    let text = mem.text();
    assert!(text.starts_with("BTune version"));
    let rows: Vec<Vec<&str>> = text.lines().filter_map(crate::trace::row_cells).collect();
    assert_eq!(rows.len(), 3, "{text}");
    // Columns: ... BTune State, Readapt, Winner.
    let readapt: Vec<&str> = rows.iter().map(|r| r[11]).collect();
    assert_eq!(readapt, ["HARD", "-", "-"], "{text}");
    assert_eq!(rows[0][12], "W", "the first HARD picks a winner");
}

#[test]
fn invalid_typesize_is_refused() {
    assert!(Tuner::new(Config::default(), 0).is_err());
    assert!(Tuner::new(Config::default(), 256).is_err());
}

/// The readapt done for each of `n` chunks under `behaviour`, with the
/// tuning budget off so that the behaviour alone decides.
fn readapts(behaviour: crate::config::Behaviour, n: u32) -> Vec<Readapt> {
    let mut c = Config {
        tuning_budget: f64::INFINITY,
        ..Config::default()
    };
    c.behaviour = behaviour;
    let tuner = Tuner::new(c, 8).unwrap();
    // Same data every chunk (no change is ever detected), large enough to
    // explore from the first chunk on.
    let data = smooth_f64(32_768, 0.0);
    (0..n)
        .map(|_| tuner.compress(&data, ChunkFormat::Chunk).unwrap().readapt)
        .collect()
}

#[test]
fn behaviour_follows_btune_semantics() {
    use crate::config::Behaviour;
    use Readapt::{Hard as H, None as N, Soft as S};
    let b = |waits, softs, hards, repeat_mode| Behaviour {
        nwaits_before_readapt: waits,
        nsofts_before_hard: softs,
        nhards_before_stop: hards,
        repeat_mode,
    };
    assert_eq!(
        readapts(b(0, 1, 2, RepeatMode::Stop), 7),
        [H, S, H, S, N, N, N]
    );
    assert_eq!(
        readapts(b(1, 1, 1, RepeatMode::Stop), 6),
        [H, N, S, N, N, N]
    );
    assert_eq!(
        readapts(b(0, 1, 1, RepeatMode::RepeatSoft), 5),
        [H, S, S, S, S]
    );
    assert_eq!(
        readapts(b(0, 1, 1, RepeatMode::RepeatAll), 6),
        [H, S, H, S, H, S]
    );
    assert_eq!(readapts(b(0, 0, 2, RepeatMode::Stop), 4), [H, H, N, N]);
    assert_eq!(readapts(b(0, 0, 1, RepeatMode::RepeatSoft), 3), [H, S, S]);
}

#[test]
fn the_tuning_budget_holds_back_scheduled_readapts() {
    let mut c = Config {
        tuning_budget: 0.0,
        ..Config::default()
    };
    c.behaviour.nwaits_before_readapt = 0;
    c.behaviour.repeat_mode = RepeatMode::RepeatSoft;
    let tuner = Tuner::new(c, 8).unwrap();
    let data = smooth_f64(32_768, 0.0);
    let done: Vec<Readapt> = (0..4)
        .map(|_| tuner.compress(&data, ChunkFormat::Chunk).unwrap().readapt)
        .collect();
    assert_eq!(
        done,
        [Readapt::Hard, Readapt::None, Readapt::None, Readapt::None]
    );
}

#[test]
fn decompression_is_timed_only_when_the_mode_needs_it() {
    let data = smooth_f64(65_536, 0.3);
    for mode in [PerfMode::Comp, PerfMode::Decomp, PerfMode::Balanced] {
        let c = Config {
            perf_mode: mode,
            ..Config::default()
        };
        let tuner = Tuner::new(c, 8).unwrap();
        let out = tuner.compress(&data, ChunkFormat::Chunk).unwrap();
        assert_eq!(blosc2::decompress(&out.bytes, 1).unwrap(), data);
        let st = tuner.stats();
        assert_eq!(st.hards, 1);
        assert!(st.trials >= 5, "{mode}: {} trials", st.trials);
        let expected = if mode == PerfMode::Comp { 0 } else { st.trials };
        assert_eq!(st.trial_decompressions, expected, "{mode}");
    }
}

#[test]
fn bandwidth_model_prefers_smaller_output_on_slow_storage() {
    let data = smooth_f64(262_144, 0.7);
    let ratio_with = |bandwidth: Option<f64>| {
        let c = Config {
            tradeoff: 0.0,
            bandwidth,
            ..Config::default()
        };
        let tuner = Tuner::new(c, 8).unwrap();
        let out = tuner.compress(&data, ChunkFormat::Chunk).unwrap();
        data.len() as f64 / out.bytes.len() as f64
    };
    // At tradeoff 0 only speed counts; behind 1 MB/s storage, bytes cost
    // far more than compression time.
    let fast = ratio_with(None);
    let slow_disk = ratio_with(Some(1e6));
    assert!(
        slow_disk > fast,
        "ratio {slow_disk} behind 1 MB/s vs {fast} without"
    );
}

#[test]
fn small_datasets_use_the_default_until_exploring_can_pay() {
    // No budget: what is tested is the byte threshold, not timings.
    let config = Config {
        tuning_budget: f64::INFINITY,
        ..Config::default()
    };
    let tuner = Tuner::new(config, 4).unwrap();
    let chunk: Vec<u8> = (0..16_384u32).flat_map(|i| (i / 3).to_le_bytes()).collect();
    let mut readapts = Vec::new();
    for _ in 0..5 {
        let out = tuner.compress(&chunk, ChunkFormat::Chunk).unwrap();
        assert_eq!(blosc2::decompress(&out.bytes, 1).unwrap(), chunk);
        readapts.push(out.readapt);
    }
    // 64 KiB chunks: the fourth brings the dataset to 256 KiB.
    assert_eq!(
        readapts,
        [
            Readapt::None,
            Readapt::None,
            Readapt::None,
            Readapt::Hard,
            Readapt::None
        ]
    );
    assert_eq!(tuner.stats().chunks, 5);
}

/// A model directory whose network always prefers `category` of `cats`
/// (a single layer with zero weights and one positive bias).
fn fixed_model(cats: &[&str], category: usize) -> tempfile::TempDir {
    use crate::features::{FEATURE_NAMES, FEATURE_SET, NFEATURES};
    use crate::model::{Category, Dense, FeatureNorm, ModelMeta, Network};
    let dir = tempfile::tempdir().unwrap();
    let mut bias = vec![0.0; cats.len()];
    bias[category] = 5.0;
    let net = Network {
        layers: vec![Dense {
            inputs: NFEATURES + 1,
            outputs: cats.len(),
            weights: vec![0.0; cats.len() * (NFEATURES + 1)],
            bias,
        }],
    };
    let meta = ModelMeta {
        feature_set: FEATURE_SET.to_owned(),
        features: FEATURE_NAMES
            .iter()
            .map(|n| FeatureNorm {
                name: (*n).to_owned(),
                mean: 0.0,
                std: 1.0,
            })
            .collect(),
        categories: cats
            .iter()
            .map(|c| Category::of(&c.parse().unwrap()))
            .collect(),
        perf_mode: PerfMode::Comp,
        training: None,
    };
    crate::model::write(dir.path(), &net, &meta).unwrap();
    dir
}

fn with_models(dir: &std::path::Path, use_inference: i32) -> Config {
    Config {
        models_dir: Some(dir.to_owned()),
        use_inference,
        ..Config::default()
    }
}

#[test]
fn inference_on_every_chunk_stores_the_prediction_without_trials() {
    let dir = fixed_model(&["lz4/shuffle/1/always", "zstd/bitshuffle/3/never"], 1);
    let (sink, mem) = TraceSink::memory();
    let clock = Arc::new(MonotonicClock::new());
    let tuner = Tuner::with_parts(with_models(dir.path(), -1), 8, clock, Some(sink)).unwrap();
    for k in 0..5 {
        let data = smooth_f64(65_536, f64::from(k));
        let c = tuner.compress(&data, ChunkFormat::Chunk).unwrap();
        assert_eq!(c.readapt, Readapt::Inference);
        assert_eq!(c.params, "zstd/bitshuffle/3/never".parse().unwrap());
        assert_eq!(blosc2::decompress(&c.bytes, 1).unwrap(), data);
    }
    let st = tuner.stats();
    assert_eq!((st.inferences, st.hards, st.softs), (5, 0, 0));
    assert_eq!(st.predicted, HashMap::from([(1, 5)]));
    assert!(st.feature_time > 0.0 && st.inference_time > 0.0);
    let text = mem.text();
    assert!(text.contains("Models: "), "{text}");
    let rows: Vec<&str> = text.lines().filter(|l| l.contains("INFER")).collect();
    assert_eq!(rows.len(), 5, "{text}");
    assert!(
        rows[0].contains("category 1 (p=") && rows[0].contains("us, inference"),
        "{}",
        rows[0]
    );
}

#[test]
fn inference_on_the_first_chunks_then_tuning_goes_on_from_it() {
    let dir = fixed_model(&["blosclz/none/9/never", "lz4/bitshuffle/5/always"], 1);
    // No budget: the sequence of readapts is tested, not timings.
    let config = Config {
        tuning_budget: f64::INFINITY,
        behaviour: crate::config::Behaviour {
            nwaits_before_readapt: 0,
            ..crate::config::Behaviour::default()
        },
        ..with_models(dir.path(), 2)
    };
    let tuner = Tuner::new(config, 8).unwrap();
    let mut kinds = Vec::new();
    for k in 0..5 {
        let data = smooth_f64(131_072, f64::from(k));
        let c = tuner.compress(&data, ChunkFormat::Chunk).unwrap();
        if k < 2 {
            assert_eq!(c.params, "lz4/bitshuffle/5/always".parse().unwrap());
        }
        kinds.push(c.readapt);
    }
    // Tuning starts over from the prediction: a HARD readapt (measuring the
    // prediction beside its candidates), then SOFT refinements.
    assert_eq!(
        kinds[..4],
        [
            Readapt::Inference,
            Readapt::Inference,
            Readapt::Hard,
            Readapt::Soft
        ]
    );
    let st = tuner.stats();
    assert_eq!((st.inferences, st.hards), (2, 1));
    assert!(st.trials >= 6, "filters + the prediction: {}", st.trials);
}

#[test]
fn no_inference_without_models_or_when_switched_off() {
    let dir = fixed_model(&["lz4/shuffle/1/always"], 0);
    let tuner = Tuner::new(with_models(dir.path(), 0), 8).unwrap();
    let c = tuner
        .compress(&smooth_f64(131_072, 0.0), ChunkFormat::Chunk)
        .unwrap();
    assert_ne!(c.readapt, Readapt::Inference);
    assert_eq!(tuner.stats().inferences, 0);
}

#[test]
fn unusable_models_fail_tuner_creation_with_the_reason() {
    let missing = Tuner::new(
        with_models(std::path::Path::new("/nonexistent/models"), -1),
        8,
    );
    let Err(ConfigError::Model(e)) = missing else {
        panic!("expected a model error");
    };
    assert!(
        e.to_string()
            .contains("/nonexistent/models/model_comp.json"),
        "{e}"
    );
}

#[test]
fn trials_cost_utility_only_where_the_mode_counts_writing() {
    let trial = |codec, clevel, ratio, cspeed| Trial {
        params: Params::new(
            codec,
            Filter::Shuffle,
            Clevel::new(clevel).unwrap(),
            SplitMode::Never,
        ),
        ratio,
        cspeed,
        dspeed: Some(5e9),
        on_block: false,
    };
    let best = trial(Codec::Lz4, 1, 2.0, 2e9);
    let slow = trial(Codec::Zstd, 9, 3.0, 5e6);
    let quick = trial(Codec::Zstd, 1, 2.5, 5e8);
    let ranges = Ranges {
        ratio: (1.0, 4.0),
        speed: (1e6, 1e10),
    };
    let penalty = |mode, tradeoff, candidate: &Trial| {
        let config = Config {
            tradeoff,
            perf_mode: mode,
            ..Config::default()
        };
        let tuner = Tuner::new(config, 8).unwrap();
        tuner.trial_penalty(&best, candidate, 1 << 20, 32 << 10, &ranges)
    };
    // A slow trial costs more than a quick one, and less where speed
    // weighs less.
    let slow_comp = penalty(PerfMode::Comp, 0.5, &slow);
    assert!(slow_comp > penalty(PerfMode::Comp, 0.5, &quick));
    assert!(slow_comp > penalty(PerfMode::Comp, 0.9, &slow));
    assert!(penalty(PerfMode::Balanced, 0.5, &slow) > 0.0);
    // Tuning is done while writing: reading-only DECOMP does not pay it.
    assert_eq!(penalty(PerfMode::Decomp, 0.5, &slow), 0.0);
}

#[test]
fn speed_first_stores_what_the_store_probe_stores_after_one_trial() {
    let tuner_at = |tradeoff: f64, typesize: usize| {
        let c = Config {
            tradeoff,
            ..Config::default()
        };
        Tuner::new(c, typesize).unwrap()
    };
    let noisy = noise(1 << 20, 7);
    // Bytes too: no check for a store behind a filter follows a store
    // without one (on random bytes it cost a dozen times the trial).
    for typesize in [4, 1] {
        let fast = tuner_at(0.1, typesize);
        let out = fast.compress(&noisy, ChunkFormat::Chunk).unwrap();
        assert_eq!(blosc2::decompress(&out.bytes, 1).unwrap(), noisy);
        assert_eq!(out.readapt, Readapt::Hard);
        let st = fast.stats();
        assert_eq!(st.trials, 1, "typesize {typesize}: the store probe alone");
        assert_eq!(st.filtered_store_checks, (0, 0), "typesize {typesize}");
        assert_eq!(out.params.format_key(), search::store_probe().format_key());
    }
    // Data the probe compresses gets the whole search, and so does noise at
    // a tradeoff where ratio counts.
    let smooth = smooth_f64(131_072, 0.2);
    let fast = tuner_at(0.1, 4);
    fast.compress(&smooth, ChunkFormat::Chunk).unwrap();
    assert!(fast.stats().trials >= 5, "{} trials", fast.stats().trials);
    let balanced = tuner_at(0.5, 4);
    balanced.compress(&noisy, ChunkFormat::Chunk).unwrap();
    assert!(
        balanced.stats().trials >= 5,
        "{} trials",
        balanced.stats().trials
    );
}

/// Bytes from a small alphabet spread over the byte range: lz4 finds a
/// few percent of short matches in them (as in a noisy image), blosclz's
/// probe too few long ones, and it stores every block.
fn barely_compressible(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            // 14 values, no bit plane constant (bitshuffle gains nothing).
            #[allow(clippy::cast_possible_truncation)]
            let b = (((x >> 33) % 14) * 157 + 31) as u8;
            b
        })
        .collect()
}

#[test]
fn speed_first_checks_whether_blosclz_stores_the_blocks() {
    let data = barely_compressible(1 << 20, 3);
    let ratio = |spec: &str, data: &[u8], ts: usize| {
        let p: Params = spec.parse().unwrap();
        data.len() as f64 / blosc2::compress(data, ts, &p).unwrap().len() as f64
    };
    // The premises: lz4 compresses it a little, blosclz at clevel 9 stores
    // every block.
    let lz4 = ratio("lz4/none/1/never", &data, 1);
    assert!((1.02..search::GIVE_UP_RATIO).contains(&lz4), "lz4 {lz4}");
    let store = search::give_up_store(1, data.len());
    assert!(ratio(&store.to_string(), &data, 1) < 1.0);
    let run = |data: &[u8], ts: usize, tradeoff: f64| {
        let tuner = Tuner::new(
            Config {
                tradeoff,
                ..Config::default()
            },
            ts,
        )
        .unwrap();
        let out = tuner.compress(data, ChunkFormat::Chunk).unwrap();
        assert_eq!(blosc2::decompress(&out.bytes, 1).unwrap(), data);
        tuner.stats()
    };
    // Speed first (above `STORE_FIRST_BELOW`, where the whole search
    // runs): the head of a block is stored raw, so the store is a candidate.
    let st = run(&data, 1, 0.2);
    assert_eq!(st.store_checks, (1, 1));
    let searched = st.trials;
    // Below `STORE_FIRST_BELOW` the check follows the store probe and the
    // store it finds ends the readapt: the same store, fewer trials.
    let st = run(&data, 1, 0.1);
    assert_eq!(st.store_checks, (1, 1));
    assert_eq!(
        st.most_used().map(|(p, _)| p.format_key()),
        Some(store.format_key())
    );
    assert!(
        st.trials < searched,
        "{} trials, {searched} searching",
        st.trials
    );
    // Where ratio counts, no check.
    assert_eq!(run(&data, 1, 0.5).store_checks, (0, 0));
    // Nor on data lz4 compresses well.
    let smooth = smooth_f64(131_072, 0.2);
    assert!(ratio("lz4/none/1/never", &smooth, 8) > search::GIVE_UP_RATIO);
    assert_eq!(run(&smooth, 8, 0.2).store_checks, (0, 0));
}

/// `rows` copies of one row of `row_len` f64 values, a random walk with
/// random fractions: within a row, shuffle and lz4 find only the top
/// Words of random lowercase letters from a vocabulary of 300, repeated at
/// random: text that lz4 compresses (its words repeat) but whose low bits,
/// which bitshuffle puts first, are noise.
fn words(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed;
    let mut next = move |n: u64| {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (x >> 33) % n
    };
    #[allow(clippy::cast_possible_truncation)]
    let vocabulary: Vec<Vec<u8>> = (0..300)
        .map(|_| (0..3 + next(7)).map(|_| b'a' + next(26) as u8).collect())
        .collect();
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        #[allow(clippy::cast_possible_truncation)]
        out.extend_from_slice(&vocabulary[next(300) as usize]);
        out.push(if next(12) == 0 { b'\n' } else { b' ' });
    }
    out.truncate(len);
    out
}

#[test]
fn speed_first_checks_whether_blosclz_stores_bitshuffled_bytes() {
    let data = words(1 << 20, 5);
    let ratio = |spec: &str| {
        let p: Params = spec.parse().unwrap();
        data.len() as f64 / blosc2::compress(&data, 1, &p).unwrap().len() as f64
    };
    // The premises: lz4 compresses the text well, blosclz after bitshuffle
    // stores it.
    assert!(ratio("lz4/none/1/never") > 1.3);
    let store = search::filtered_give_up_store(1).unwrap();
    assert!(ratio(&store.to_string()) < 1.0);
    assert!(search::filtered_give_up_store(2).is_none());
    let run = |tradeoff: f64| {
        let tuner = Tuner::new(
            Config {
                tradeoff,
                ..Config::default()
            },
            1,
        )
        .unwrap();
        let out = tuner.compress(&data, ChunkFormat::Chunk).unwrap();
        assert_eq!(blosc2::decompress(&out.bytes, 1).unwrap(), data);
        tuner.stats()
    };
    // Every block's head is given up on and the block timed: the store
    // competes (whether it wins depends on this machine's speeds).
    let st = run(0.1);
    assert_eq!(st.filtered_store_checks, (1, 1));
    // Above `FILTERED_GIVE_UP_BELOW`, no check.
    assert_eq!(run(0.2).filtered_store_checks, (0, 0));
    // Nor on data whose heads blosclz compresses: the check runs, finds none.
    let smooth: Vec<u8> = (0..1u32 << 20).map(|i| (i / 4096) as u8).collect();
    let tuner = Tuner::new(
        Config {
            tradeoff: 0.1,
            ..Config::default()
        },
        1,
    )
    .unwrap();
    let out = tuner.compress(&smooth, ChunkFormat::Chunk).unwrap();
    assert_eq!(blosc2::decompress(&out.bytes, 1).unwrap(), smooth);
    assert_eq!(tuner.stats().filtered_store_checks, (1, 0));
}

/// bytes' runs; a row repeats at a distance no sample block reaches.
fn repeated_rows(row_len: usize, rows: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut walk = 1e5;
    let mut row = Vec::with_capacity(row_len * 8);
    for _ in 0..row_len {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        walk += ((x >> 40) % 7) as f64 - 3.0;
        let frac = (x >> 11) as f64 / (1u64 << 53) as f64;
        row.extend_from_slice(&(walk + frac).to_le_bytes());
    }
    row.repeat(rows)
}

#[test]
fn balanced_hards_measure_a_block_for_far_matches() {
    // Rows of 256 KiB: only blocks of 512 KiB hold two.
    let data = repeated_rows(32_768, 4);
    let ratio = |p: &Params, data: &[u8]| {
        data.len() as f64 / blosc2::compress(data, 8, p).unwrap().len() as f64
    };
    // The premises: short blocks compress it somewhat, the probe's long
    // ones find the repeated rows.
    let short = ratio(&"lz4/shuffle/1/never".parse().unwrap(), &data);
    assert!((search::BLOCK_PROBE_RATIO..1.6).contains(&short), "{short}");
    let probe = search::block_probe(Filter::Shuffle);
    assert!(ratio(&probe, &data) > 1.5 * short);
    let run = |data: &[u8], tradeoff: f64, chunks: usize| {
        let tuner = Tuner::new(
            Config {
                tradeoff,
                // Readapts as scheduled, however slow the test's HARD.
                tuning_budget: f64::INFINITY,
                ..Config::default()
            },
            8,
        )
        .unwrap();
        let ratios: Vec<f64> = (0..chunks)
            .map(|_| {
                let out = tuner.compress(data, ChunkFormat::Chunk).unwrap();
                assert_eq!(blosc2::decompress(&out.bytes, 1).unwrap(), data);
                data.len() as f64 / out.bytes.len() as f64
            })
            .collect();
        (tuner.stats(), ratios)
    };
    // At a balanced tradeoff, the HARD finds the far matches, and the SOFTs
    // after it (which see only the sample) keep them.
    let (st, ratios) = run(&data, 0.5, 10);
    assert_eq!(st.block_probes, 1);
    assert!(st.softs > 0);
    for r in ratios {
        assert!(r > 1.5 * short, "{r} vs {short}");
    }
    // Speed first, no probe; nor on data that short blocks do not
    // compress.
    assert_eq!(run(&data, 0.1, 1).0.block_probes, 0);
    assert_eq!(run(&noise(1 << 20, 5), 0.5, 1).0.block_probes, 0);
    assert_eq!(run(&noise(1 << 20, 5), 0.9, 1).0.block_probes, 0);
}

#[test]
fn ratio_first_hards_measure_the_whole_chunk_for_far_matches() {
    // Two rows of 512 KiB: only a block of the whole chunk holds both, so
    // no block probe of half the chunk can see them.
    let data = repeated_rows(65_536, 2);
    let ratio = |spec: &str| {
        let p: Params = spec.parse().unwrap();
        data.len() as f64 / blosc2::compress(&data, 8, &p).unwrap().len() as f64
    };
    // The premises: zstd's 512 KiB blocks (clevel 7) find nothing of it,
    // its 1 MiB blocks (clevel 9) the repeated row.
    let half = ratio("zstd/shuffle/7/never");
    assert!(ratio("zstd/shuffle/9/never") > 1.6 * half);
    let tuner = Tuner::new(
        Config {
            tradeoff: 0.9,
            tuning_budget: f64::INFINITY,
            ..Config::default()
        },
        8,
    )
    .unwrap();
    for _ in 0..3 {
        let out = tuner.compress(&data, ChunkFormat::Chunk).unwrap();
        assert_eq!(blosc2::decompress(&out.bytes, 1).unwrap(), data);
        let r = data.len() as f64 / out.bytes.len() as f64;
        assert!(r > 1.6 * half, "{r} vs {half} ({})", out.params);
    }
    // One probe a filter, on the first chunk's HARD.
    assert!((1..=2).contains(&tuner.stats().block_probes));
}

#[test]
fn chunk_gains_go_to_their_own_filter() {
    const K: usize = 1024;
    let at = |filter: Filter, gain: f64| BlockGain {
        filter,
        gain,
        short_reach: 16 * K,
        reach: 1024 * K,
    };
    let gains = BlockGains(vec![at(Filter::Shuffle, 2.0), at(Filter::Bitshuffle, 1.0)]);
    let ratio_of = |spec: &str| {
        let t = Trial {
            params: spec.parse().unwrap(),
            ratio: 1.5,
            cspeed: 1e9,
            dspeed: None,
            on_block: false,
        };
        gains.apply(t, 8, 1 << 20).ratio
    };
    // zstd at clevel 9 without split: one block of the whole chunk, all of
    // its filter's gain.
    assert_eq!(ratio_of("zstd/shuffle/9/never"), 3.0);
    assert_eq!(ratio_of("zstd/bitshuffle/9/never"), 1.5);
    // A filter no probe ran with takes the best filter's; the unfiltered
    // bytes do not take what a filter's planes gained.
    assert_eq!(ratio_of("zstd/delta-shuffle/9/never"), 3.0);
    assert_eq!(ratio_of("zstd/none/9/never"), 1.5);
    // What the unfiltered bytes gained, every filter's candidates take.
    let unfiltered = BlockGains(vec![at(Filter::None, 2.0)]);
    let t = Trial {
        params: "zstd/bitshuffle/9/never".parse().unwrap(),
        ratio: 1.5,
        cspeed: 1e9,
        dspeed: None,
        on_block: false,
    };
    assert_eq!(unfiltered.apply(t, 8, 1 << 20).ratio, 3.0);
    // No probe, no gain.
    let t = Trial {
        params: "zstd/shuffle/9/never".parse().unwrap(),
        ratio: 1.5,
        cspeed: 1e9,
        dspeed: None,
        on_block: false,
    };
    assert_eq!(BlockGains::default().apply(t, 8, 1 << 20).ratio, 1.5);
}

#[test]
fn a_block_gain_goes_to_candidates_by_how_far_they_see() {
    const K: usize = 1024;
    let g = BlockGain {
        filter: Filter::Shuffle,
        gain: 4.0,
        short_reach: 16 * K,
        reach: 256 * K,
    };
    let ratio_of = |spec: &str, on_block: bool| {
        let t = Trial {
            params: spec.parse().unwrap(),
            ratio: 1.5,
            cspeed: 1e9,
            dspeed: None,
            on_block,
        };
        g.apply(t, 8, 1 << 20).ratio
    };
    // lz4 at clevel 1 without split: 16 KiB blocks, nothing gained.
    assert_eq!(ratio_of("lz4/shuffle/1/never", false), 1.5);
    // 512 KiB blocks see 512 KiB, past the probe: all of it.
    assert_eq!(ratio_of("lz4/shuffle/5/always", false), 6.0);
    // 64 KiB blocks (clevel 3), halfway on a log scale: half of it.
    assert!((ratio_of("lz4/shuffle/3/never", false) - 3.0).abs() < 1e-9);
    // What a block measured is not gained again.
    assert_eq!(ratio_of("lz4/shuffle/5/always", true), 1.5);
}

#[test]
fn more_threads_on_a_block_winner_keep_its_ratio() {
    let data = repeated_rows(32_768, 4);
    let tuner = Tuner::new(
        Config {
            tradeoff: 0.5,
            max_threads: Threads::new(2).unwrap(),
            ..Config::default()
        },
        8,
    )
    .unwrap();
    let sample = Sample::of(&data, 8, 0.5);
    let block = Trial {
        params: search::block_probe(Filter::Shuffle),
        ratio: 6.0,
        cspeed: 1e9,
        dspeed: None,
        on_block: true,
    };
    let gain = BlockGain {
        filter: Filter::Shuffle,
        gain: 4.0,
        short_reach: 16 << 10,
        reach: 512 << 10,
    };
    let ranges = tuner.ranges_of(Ranges::EMPTY, &[block]);
    let mut bufs = TrialBuffers::default();
    let gained = |t: Trial| gain.apply(t, 8, data.len());
    let trials = tuner.with_threads(&sample, vec![block], &ranges, &mut bufs, &gained);
    // Tried again with two threads (on the sample, for its speed), it keeps
    // the block's ratio: the block's gain is in it already.
    let threaded = trials
        .iter()
        .find(|t| t.params == block.params.with_threads(Threads::new(2).unwrap()))
        .unwrap();
    assert_eq!(threaded.ratio, 6.0);
    assert!(threaded.on_block);
}

#[test]
fn small_data_picks_its_start_from_the_first_chunk_once() {
    // 16 KiB chunks of 8-byte elements at t = 0.7: too small to explore
    // (under 92 KiB), so the first chunk's features choose the start, and
    // it stays.
    let tuner = Tuner::new(
        Config {
            tradeoff: 0.7,
            ..Config::default()
        },
        8,
    )
    .unwrap();
    let staircase: Vec<u8> = (0..2048u32)
        .flat_map(|i| f64::from(i / 16).to_le_bytes())
        .collect();
    // Before any data: shuffle + bytedelta, what most small numeric data wants.
    assert_eq!(tuner.winner().filter, Filter::ShuffleBytedelta);
    // Random bytes: shuffling finds nothing, so no filter.
    let noise = noise(staircase.len(), 7);
    let first = tuner.compress(&noise, ChunkFormat::Chunk).unwrap();
    assert_eq!(first.readapt, Readapt::None);
    assert_eq!(blosc2::decompress(&first.bytes, 1).unwrap(), noise);
    assert_eq!(
        (first.params.codec, first.params.filter),
        (Codec::Zstd, Filter::None)
    );
    let second = tuner.compress(&staircase, ChunkFormat::Chunk).unwrap();
    assert_eq!(blosc2::decompress(&second.bytes, 1).unwrap(), staircase);
    assert_eq!(
        (
            second.params.codec,
            second.params.filter,
            second.params.clevel
        ),
        (first.params.codec, first.params.filter, first.params.clevel)
    );
    assert_eq!(tuner.stats().hards, 0);
    // The same staircase first: the filter it wants.
    let tuner = Tuner::new(tuner.config().clone(), 8).unwrap();
    let out = tuner.compress(&staircase, ChunkFormat::Chunk).unwrap();
    assert_eq!(out.params.filter, Filter::ShuffleBytedelta);
}

#[test]
fn measured_calibration_carries_a_codecs_miss_to_its_other_filters() {
    let at = |codec, filter, clevel| {
        Params::new(
            codec,
            filter,
            Clevel::new(clevel).unwrap(),
            SplitMode::Never,
        )
    };
    let trial = |codec, filter, clevel, ratio| Trial {
        params: at(codec, filter, clevel),
        ratio,
        cspeed: 1e9,
        dspeed: None,
        on_block: false,
    };
    // Noisy floats: lz4 gets 1.25 after either filter, and zstd at clevel
    // 9 measured no better after bitshuffle, where the table promises 1.5x.
    let trials = [
        trial(Codec::Lz4, Filter::Shuffle, 1, 1.25),
        trial(Codec::Lz4, Filter::Bitshuffle, 1, 1.25),
        trial(Codec::Zstd, Filter::Bitshuffle, 9, 1.25),
    ];
    let candidate = at(Codec::Zstd, Filter::Shuffle, 5);
    let table = predict_from(&candidate, &trials, Calibration::Table).unwrap();
    let measured = predict_from(&candidate, &trials, Calibration::Measured).unwrap();
    let (zstd9, _) = search::relative(&trials[2].params);
    assert!(table.ratio > 1.5, "{}", table.ratio);
    assert!((measured.ratio / table.ratio - 1.0 / zstd9).abs() < 1e-9);
    // Speeds are the table's either way.
    assert_eq!(measured.cspeed, table.cspeed);
    // Another codec, with nothing measured, is left as predicted; so is a
    // candidate anchored on its own codec.
    for unchanged in [
        at(Codec::Zlib, Filter::Shuffle, 5),
        at(Codec::Zstd, Filter::Bitshuffle, 5),
    ] {
        let ratio = |c| predict_from(&unchanged, &trials, c).unwrap().ratio;
        assert_eq!(
            ratio(Calibration::Measured),
            ratio(Calibration::Table),
            "{unchanged}"
        );
    }
}

#[test]
fn measured_predictions_never_fall_below_a_store() {
    let lz4_store = Trial {
        params: Params::new(Codec::Lz4, Filter::None, Clevel::MIN, SplitMode::Never),
        ratio: 0.999,
        cspeed: 5e9,
        dspeed: None,
        on_block: false,
    };
    let blosclz = Params::new(Codec::BloscLz, Filter::None, Clevel::MIN, SplitMode::Never);
    let table = predict_from(&blosclz, &[lz4_store], Calibration::Table).unwrap();
    let measured = predict_from(&blosclz, &[lz4_store], Calibration::Measured).unwrap();
    // The table's blosclz is 0.94x lz4, below what any store gives.
    assert!(table.ratio < 0.95, "{}", table.ratio);
    assert_eq!(measured.ratio, 1.0);
}

#[test]
fn the_choice_sees_chunk_speeds_at_balanced_tradeoffs() {
    // A 1 MiB chunk: a zstd/1 candidate with split gets 16 KiB blocks on
    // the sample and 128 KiB ones on the chunk.
    let data = smooth_f64(131_072, 0.25);
    let zstd1 = Params::new(Codec::Zstd, Filter::Shuffle, Clevel::MIN, SplitMode::Always);
    let trial = |on_block| Trial {
        params: zstd1,
        ratio: 2.0,
        cspeed: 4e8,
        dspeed: None,
        on_block,
    };
    let speeds_at = |tradeoff: f64| {
        let tuner = Tuner::new(
            Config {
                tradeoff,
                ..Config::default()
            },
            8,
        )
        .unwrap();
        let sample = Sample::of(&data, 8, tradeoff);
        let factor = search::chunk_speed_factor(
            &zstd1,
            sample.blocksize(&zstd1, 8),
            blosc2::auto_blocksize(&zstd1, 8, data.len()),
        );
        let corrected = tuner.at_chunk_speeds(&sample, vec![trial(false), trial(true)]);
        (factor, corrected[0].cspeed, corrected[1].cspeed)
    };
    let (factor, sampled, on_block) = speeds_at(0.5);
    assert!(factor > 1.5, "zstd/1's short streams look slow: {factor}");
    assert!((sampled - 4e8 * factor).abs() < 1.0, "{sampled}");
    assert_eq!(on_block, 4e8, "a trial on the chunk's block is left alone");
    for (tradeoff, side) in [(0.1, "speed"), (0.9, "ratio")] {
        let (_, sampled, _) = speeds_at(tradeoff);
        assert_eq!(sampled, 4e8, "{side} first: measured speeds");
    }
}

#[test]
fn a_block_that_only_compresses_better_than_the_sample_gains_nothing() {
    // 2-byte elements: the probe's blocks are 128 KiB and the middle one,
    // 512-640 KiB of a 1 MiB chunk, holds none of the sample's pieces. A
    // noisy walk around it, a calmer one in it: short blocks compress
    // either as well as long ones do.
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut walk = 30_000i32;
    let chunk: Vec<u8> = (0..1usize << 19)
        .flat_map(|i| {
            let r = xorshift(&mut x);
            let step = if (1 << 18..5 << 16).contains(&i) {
                3
            } else {
                33
            };
            walk += (r % step) as i32 - (step / 2) as i32;
            (walk as u16).to_le_bytes()
        })
        .collect();
    let tuner = Tuner::new(
        Config {
            tradeoff: 0.5,
            ..Config::default()
        },
        2,
    )
    .unwrap();
    let sample = Sample::of(&chunk, 2, 0.5);
    let mut bufs = TrialBuffers::default();
    let anchor = lz4_anchor(Filter::Shuffle);
    let mut trials = vec![tuner.trial(&sample, &anchor, &mut bufs).unwrap()];
    // The premises: the sample compresses enough to probe, and the middle
    // block far better than the sample, in long blocks and in short.
    let probe = search::block_probe(Filter::Shuffle);
    let blocksize = blosc2::auto_blocksize(&probe, 2, chunk.len());
    assert_eq!(blocksize, 128 * 1024);
    let block = sample::middle_block(&chunk, blocksize);
    let ratio = |bytes: &[u8], blocksize: usize| {
        tuner
            .ratio_in_blocks(bytes, &probe, blocksize, &mut TrialBuffers::default())
            .unwrap()
    };
    let sampled = trials[0].ratio;
    assert!(sampled >= search::BLOCK_PROBE_RATIO, "{sampled}");
    let long = ratio(block, blocksize);
    assert!(long > 1.3 * sampled, "{long} vs {sampled}");
    let short = ratio(block, sample.blocksize(&probe, 2));
    assert!(long < search::BLOCK_GAIN_MIN * short, "{long} vs {short}");
    // So the probe ran, found no gain, and its trial is the sample's.
    assert!(
        tuner
            .block_gain(&chunk, &sample, Filter::Shuffle, &mut bufs, &mut trials)
            .is_none()
    );
    assert_eq!(bufs.counts.block_probes, 1);
    let probed = trials.iter().find(|t| t.params == probe).unwrap();
    assert!(!probed.on_block);
    assert!(probed.ratio < 1.5 * sampled);
}

#[test]
fn the_copy_probe_copies_a_bounded_piece_of_the_block() {
    let tuner = Tuner::new(Config::default(), 1).unwrap();
    let block = noise(256 * 1024, 9);
    let mut bufs = TrialBuffers::default();
    let per_byte = tuner.copy_seconds_per_byte(&block, &mut bufs);
    assert!(per_byte.is_finite() && per_byte >= 0.0, "{per_byte}");
    // Only the probe's piece was copied (and its pages faulted in).
    assert_eq!(bufs.decompressed, block[..COPY_PROBE_BYTES]);
    // A shorter block is copied whole.
    tuner.copy_seconds_per_byte(&block[..1000], &mut bufs);
    assert_eq!(bufs.decompressed, block[..1000]);
}

#[test]
fn uniform_bytes_verify_no_slow_codec() {
    // Random bytes: lz4 stores every filter's sample, and no codec does
    // better, however much the table's median gains promise.
    let chunk = noise(1 << 20, 11);
    assert!(sample::byte_entropy(&chunk) >= search::UNIFORM_BITS);
    for tradeoff in [0.5, 0.9] {
        let tuner = Tuner::new(
            Config {
                tradeoff,
                ..Config::default()
            },
            1,
        )
        .unwrap();
        let out = tuner.compress(&chunk, ChunkFormat::Chunk).unwrap();
        assert_eq!(blosc2::decompress(&out.bytes, 1).unwrap(), chunk);
        // The first stage's lz4 trials and at most one verification.
        let first_stage = search::filter_stage(1).len() as u64;
        let st = tuner.stats();
        assert!(
            st.trials <= first_stage + 1,
            "{} trials at {tradeoff}",
            st.trials
        );
        assert_ne!(tuner.winner().codec, Codec::Zstd);
    }
}

#[test]
fn planes_that_long_blocks_part_are_checked_on_a_block() {
    // An 8-bit walk stored as 16-bit by scaling by 257: both bytes of every
    // element equal, so a filter's planes repeat each other. lz4 without
    // split finds that within 16 KiB blocks and loses it in 128 KiB ones,
    // where the planes lie 64 KiB apart; a sample's short blocks show
    // every clevel alike.
    let mut x = 0x853c_49e6_748f_ea9bu64;
    let mut v = 128i32;
    let chunk: Vec<u8> = (0..1usize << 19)
        .flat_map(|_| {
            v = (v + (xorshift(&mut x) % 7) as i32 - 3).clamp(0, 255);
            (v as u16 * 257).to_le_bytes()
        })
        .collect();
    let ratio = |spec: &str| {
        let p: Params = spec.parse().unwrap();
        chunk.len() as f64 / blosc2::compress(&chunk, 2, &p).unwrap().len() as f64
    };
    let short = ratio("lz4/bitshuffle/1/never");
    let long = ratio("lz4/bitshuffle/5/never");
    assert!(long * 1.5 < short, "{long} vs {short}");
    let tuner = Tuner::new(
        Config {
            tradeoff: 0.5,
            ..Config::default()
        },
        2,
    )
    .unwrap();
    let out = tuner.compress(&chunk, ChunkFormat::Chunk).unwrap();
    assert_eq!(blosc2::decompress(&out.bytes, 1).unwrap(), chunk);
    let stored = chunk.len() as f64 / out.bytes.len() as f64;
    assert!(
        stored > 0.9 * short,
        "{} stored {stored}, {short} possible",
        out.params
    );
}
