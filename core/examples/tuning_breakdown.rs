//! Scratch: per-chunk readapt and tuning time of a tuner over one raw file.
use btune_core::{ChunkFormat, Config, Tuner};
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let data = std::fs::read(&a[1]).unwrap();
    let ts: usize = a[2].parse().unwrap();
    let t: f64 = a[3].parse().unwrap();
    let tuner = Tuner::new(
        Config {
            tradeoff: t,
            ..Config::default()
        },
        ts,
    )
    .unwrap();
    let (mut tun, mut comp) = (0.0, 0.0);
    for (i, c) in data.chunks(1 << 20).enumerate() {
        let r = tuner.compress(c, ChunkFormat::Chunk).unwrap();
        tun += r.tuning_time;
        comp += r.compress_time;
        println!(
            "{i:3} {:?} {} tuning {:.0} us compress {:.0} us",
            r.readapt,
            r.params,
            r.tuning_time * 1e6,
            r.compress_time * 1e6
        );
    }
    println!(
        "total tuning {:.0} us compress {:.0} us ({:.1}%) stats {:?}",
        tun * 1e6,
        comp * 1e6,
        100.0 * tun / comp,
        {
            let s = tuner.stats();
            (s.hards, s.softs, s.changes, s.trials)
        }
    );
}
