//! The trace (`BTUNE_TRACE`): a header describing the tuner, then one row per
//! chunk in BTune's layout (DESIGN §7). It goes to stderr by default, never to
//! stdout, so it cannot mix with data a program writes there.

use std::fmt::Write as _;
use std::io::{self, Write};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::config::Config;
use crate::params::Params;
use crate::tuner::Inferred;

/// Where trace lines go.
#[derive(Clone)]
pub struct TraceSink(Arc<Mutex<Box<dyn Write + Send>>>);

impl TraceSink {
    /// The process's stderr.
    #[must_use]
    pub fn stderr() -> Self {
        TraceSink(Arc::new(Mutex::new(Box::new(io::stderr()))))
    }

    /// Any writer (a file, or a buffer in tests).
    #[must_use]
    pub fn writer(w: impl Write + Send + 'static) -> Self {
        TraceSink(Arc::new(Mutex::new(Box::new(w))))
    }

    /// A sink that keeps lines in memory, and the handle to read them.
    #[must_use]
    pub fn memory() -> (Self, MemoryTrace) {
        let buf = MemoryTrace::default();
        (TraceSink::writer(buf.clone()), buf)
    }

    fn line(&self, text: &str) {
        let mut w = self.0.lock();
        // A trace that cannot be written must not fail compression.
        let _ = writeln!(w, "{text}");
        let _ = w.flush();
    }
}

/// Trace lines kept in memory (see [`TraceSink::memory`]).
#[derive(Clone, Default)]
pub struct MemoryTrace(Arc<Mutex<Vec<u8>>>);

impl MemoryTrace {
    /// Everything written so far.
    #[must_use]
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock()).into_owned()
    }
}

impl Write for MemoryTrace {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// What the tuner did for one chunk, as one trace row shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceRow {
    /// Index of the chunk in this tuner's sequence.
    pub chunk: u64,
    /// The parameters the chunk was stored with.
    pub params: Params,
    /// Bytes per element.
    pub typesize: usize,
    /// The chunk's utility under the tuner's current range estimate.
    pub score: f64,
    /// The chunk's compression ratio.
    pub ratio: f64,
    /// The tuner's state after this chunk (`HARD`, `SOFT`, `WAIT`, `STOP`).
    pub state: &'static str,
    /// The readapt done while writing this chunk (`HARD`, `SOFT` or `-`).
    pub readapt: &'static str,
    /// Whether this chunk's parameters became the new winner.
    pub winner: bool,
    /// The model's prediction for this chunk, if inference chose its
    /// parameters: shown after the row's cells.
    pub inference: Option<Inferred>,
}

const COLUMNS: [(&str, usize); 13] = [
    ("Codec", 7),
    ("Filter", 17),
    ("Split", 6),
    ("C.Level", 7),
    ("Blocksize", 9),
    ("Shufflesize", 11),
    ("C.Threads", 9),
    ("D.Threads", 9),
    ("Score", 7),
    ("C.Ratio", 8),
    ("BTune State", 11),
    ("Readapt", 7),
    ("Winner", 6),
];

fn row(cells: &[String]) -> String {
    let mut s = String::from("|");
    for (cell, (_, width)) in cells.iter().zip(COLUMNS) {
        let _ = write!(s, " {cell:>width$} |");
    }
    s
}

/// The header: version, objective and behaviour, then the column names.
#[must_use]
pub fn header(config: &Config) -> String {
    let bandwidth = config
        .bandwidth
        .map_or_else(|| "none".to_owned(), |b| format!("{:.0} MB/s", b / 1e6));
    let names: Vec<String> = COLUMNS.iter().map(|(n, _)| (*n).to_owned()).collect();
    let models = match (&config.models_dir, config.use_inference) {
        (Some(dir), n) if n != 0 => format!("Models: {} (use_inference {n})\n", dir.display()),
        _ => String::new(),
    };
    format!(
        "BTune version: btune-rs {} (c-blosc2 {})\nPerformance Mode: {}, Compression tradeoff: {}, Bandwidth: {}\nBehaviour: {}\n{models}{}",
        env!("CARGO_PKG_VERSION"),
        crate::blosc2::version(),
        config.perf_mode,
        config.tradeoff,
        bandwidth,
        config.behaviour,
        row(&names)
    )
}

/// One row in the header's column layout.
#[must_use]
pub fn format_row(r: &TraceRow) -> String {
    let p = &r.params;
    row(&[
        p.codec.to_string(),
        p.filter.to_string(),
        p.split.to_string(),
        p.clevel.get().to_string(),
        p.blocksize.to_string(),
        r.typesize.to_string(),
        p.cthreads.get().to_string(),
        p.dthreads.get().to_string(),
        format!("{:.3}", r.score),
        format!("{:.3}", r.ratio),
        r.state.to_owned(),
        r.readapt.to_owned(),
        if r.winner { "W" } else { "-" }.to_owned(),
    ]) + &r.inference.map_or_else(String::new, |i| {
        format!(
            " category {} (p={:.2}), features {:.1} us, inference {:.1} us",
            i.prediction.category,
            i.prediction.probability,
            i.feature_time.as_secs_f64() * 1e6,
            i.inference_time.as_secs_f64() * 1e6
        )
    })
}

/// The cells of a trace row (`None` for the header and other lines), in the
/// header's column order: for tests and tools that read traces.
///
/// ```
/// let cells = btune_core::trace::row_cells("| zstd | shuffle | never | 1 |").unwrap();
/// assert_eq!(cells, ["zstd", "shuffle", "never", "1"]);
/// assert!(btune_core::trace::row_cells("|   Codec |  Filter |").is_none());
/// ```
#[must_use]
pub fn row_cells(line: &str) -> Option<Vec<&str>> {
    if !line.starts_with("| ") || line.contains("Codec |") {
        return None;
    }
    Some(
        line.split('|')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect(),
    )
}

/// A tuner's trace output: prints the header before the first row.
pub struct Trace {
    sink: TraceSink,
    header: String,
    started: Mutex<bool>,
}

impl Trace {
    /// A trace for a tuner with `config`, written to `sink`.
    #[must_use]
    pub fn new(config: &Config, sink: TraceSink) -> Self {
        Trace {
            sink,
            header: header(config),
            started: Mutex::new(false),
        }
    }

    /// Writes one row (and the header first, once).
    pub fn row(&self, r: &TraceRow) {
        let mut started = self.started.lock();
        if !*started {
            self.sink.line(&self.header);
            *started = true;
        }
        self.sink.line(&format_row(r));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::{Clevel, Codec, Filter, SplitMode};

    #[test]
    fn header_then_rows() {
        let (sink, mem) = TraceSink::memory();
        let t = Trace::new(&Config::default(), sink);
        let r = TraceRow {
            chunk: 0,
            params: Params::new(
                Codec::Zstd,
                Filter::Shuffle,
                Clevel::new(3).unwrap(),
                SplitMode::Never,
            ),
            typesize: 8,
            score: 0.5,
            ratio: 3.25,
            state: "SOFT",
            readapt: "HARD",
            winner: true,
            inference: None,
        };
        t.row(&r);
        t.row(&r);
        let text = mem.text();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("BTune version: btune-rs"));
        assert!(lines[1].contains("Performance Mode: COMP") && lines[1].contains("tradeoff: 0.5"));
        assert!(lines[2].starts_with("Behaviour:"));
        assert!(lines[3].contains("Codec |") && lines[3].ends_with("Winner |"));
        assert_eq!(lines.len(), 6, "one header, two rows: {text}");
        assert!(
            lines[4].contains("zstd") && lines[4].contains("3.250") && lines[4].contains(" W |")
        );
        assert_eq!(lines[3].len(), lines[4].len(), "rows align with the header");
    }
}
