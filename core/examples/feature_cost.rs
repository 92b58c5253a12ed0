//! Benchmark: the cost of `btune_core::features::Features::of` against
//! compressing the same chunk with lz4 clevel 1 + shuffle (the cheapest
//! setting the tuner commonly picks), on every dataset of a corpus cut into
//! chunks. Both times are the minimum over repetitions, interleaved so that
//! machine noise hits both alike; per dataset the medians over its chunks
//! are printed, then the medians over datasets.
//!
//! ```sh
//! cargo run --release -p btune-core --example feature_cost -- target/corpus-0.25/manifest.json
//! ```
//!
//! Options: `--chunk-bytes N` (default 1048576, rounded down to whole
//! elements), `--reps N` (default 20), `--show` (also print each dataset's
//! features, averaged over its chunks), `--json` (instead of the tables,
//! one JSON object per dataset: its features averaged over its chunks and
//! the median times, for `scripts/fit_small_start.py`).

use std::hint::black_box;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use btune_core::features::{FEATURE_NAMES, Features, NFEATURES};
use btune_core::{Params, blosc2};

struct Args {
    manifest: String,
    chunk_bytes: usize,
    reps: usize,
    show: bool,
    json: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        manifest: "target/corpus-0.25/manifest.json".to_owned(),
        chunk_bytes: 1 << 20,
        reps: 20,
        show: false,
        json: false,
    };
    let mut it = std::env::args().skip(1);
    let number = |flag: &str, v: Option<String>| -> Result<usize, String> {
        v.and_then(|v| v.parse().ok())
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("{flag} needs a positive number"))
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--chunk-bytes" => args.chunk_bytes = number(&a, it.next())?,
            "--reps" => args.reps = number(&a, it.next())?,
            "--show" => args.show = true,
            "--json" => args.json = true,
            "-h" | "--help" => {
                return Err(
                    "usage: feature_cost [MANIFEST] [--chunk-bytes N] [--reps N] [--show] [--json]"
                        .to_owned(),
                );
            }
            _ if !a.starts_with('-') => args.manifest = a,
            _ => return Err(format!("unknown option {a}")),
        }
    }
    Ok(args)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let text = match std::fs::read_to_string(&args.manifest) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("cannot read {}: {e}", args.manifest);
            return ExitCode::FAILURE;
        }
    };
    let manifest: serde_json::Value = serde_json::from_str(&text).expect("manifest JSON");
    let dir = Path::new(&args.manifest)
        .parent()
        .unwrap_or(Path::new("."))
        .to_owned();
    let params: Params = "lz4/shuffle/1/always".parse().expect("params");
    let mut out = Vec::with_capacity(args.chunk_bytes + blosc2::MAX_OVERHEAD);
    // The first call builds a table once; keep it out of the timings.
    black_box(Features::of(&[0; 16], 1));

    if !args.json {
        println!(
            "{:<20} {:>3} {:>6} {:>11} {:>10} {:>9}",
            "dataset", "ts", "chunks", "feature us", "lz4 us", "feat/lz4"
        );
    }
    let (mut all_feat, mut all_lz4, mut all_ratio) = (vec![], vec![], vec![]);
    let mut shown = vec![];
    for d in manifest["datasets"].as_array().expect("datasets") {
        let name = d["name"].as_str().unwrap_or("?");
        let typesize = d["typesize"].as_u64().unwrap_or(1) as usize;
        let file = dir.join(d["file"].as_str().expect("file"));
        let data = match std::fs::read(&file) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("skipping {name}: cannot read {}: {e}", file.display());
                continue;
            }
        };
        let step = (args.chunk_bytes / typesize).max(1) * typesize;
        let (mut feat, mut lz4) = (vec![], vec![]);
        let mut sum = [0f64; NFEATURES];
        for chunk in data.chunks(step) {
            let (mut best_feat, mut best_lz4) = (f64::INFINITY, f64::INFINITY);
            let mut f = Features::of(chunk, typesize);
            for _ in 0..args.reps {
                let t = Instant::now();
                f = black_box(Features::of(black_box(chunk), typesize));
                best_feat = best_feat.min(t.elapsed().as_secs_f64());
                let t = Instant::now();
                blosc2::compress_into(chunk, typesize, &params, &mut out).expect("compress");
                best_lz4 = best_lz4.min(t.elapsed().as_secs_f64());
            }
            for (s, x) in sum.iter_mut().zip(f.0) {
                *s += f64::from(x);
            }
            feat.push(best_feat * 1e6);
            lz4.push(best_lz4 * 1e6);
        }
        let nchunks = feat.len();
        let (f, l) = (median(&mut feat), median(&mut lz4));
        let mean = sum.map(|s| s / nchunks.max(1) as f64);
        if args.json {
            let features: serde_json::Map<String, serde_json::Value> = FEATURE_NAMES
                .iter()
                .zip(mean)
                .map(|(n, x)| ((*n).to_owned(), x.into()))
                .collect();
            let row = serde_json::json!({
                "dataset": name, "typesize": typesize, "nbytes": data.len(),
                "feature_us": f, "lz4_us": l, "features": features,
            });
            println!("{row}");
            continue;
        }
        println!(
            "{name:<20} {typesize:>3} {nchunks:>6} {f:>11.2} {l:>10.1} {:>8.2}%",
            100.0 * f / l
        );
        all_feat.push(f);
        all_lz4.push(l);
        all_ratio.push(100.0 * f / l);
        shown.push((name.to_owned(), mean));
    }
    if args.json {
        return ExitCode::SUCCESS;
    }
    println!(
        "{:<20} {:>3} {:>6} {:>11.2} {:>10.1} {:>8.2}%",
        "median",
        "",
        "",
        median(&mut all_feat),
        median(&mut all_lz4),
        median(&mut all_ratio)
    );
    if args.show {
        println!();
        print!("{:<20}", "dataset");
        for n in FEATURE_NAMES {
            print!(" {:>7}", abbreviate(n));
        }
        println!();
        for (name, f) in shown {
            print!("{name:<20}");
            for x in f {
                print!(" {x:>7.3}");
            }
            println!();
        }
    }
    ExitCode::SUCCESS
}

/// A feature name cut to a column: `entropy_bytedelta` -> `e_byted`.
fn abbreviate(name: &str) -> String {
    let mut parts = name.splitn(2, '_');
    let head = parts.next().unwrap_or("");
    let tail = parts.next().unwrap_or("");
    let mut s: String = head.chars().take(1).collect();
    s.push('_');
    s.extend(tail.chars().take(5));
    s
}
