//! Time as the tuner sees it. The clock is injectable so that a run can be
//! replayed exactly: record the readings of a real run with
//! [`RecordingClock`], feed them back with [`ReplayClock`], and the tuner makes
//! the same decisions.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// A monotonic clock: readings never go backwards.
pub trait Clock: Send + Sync {
    /// Time since an arbitrary fixed origin.
    fn now(&self) -> Duration;
}

/// The system's monotonic clock.
#[derive(Debug)]
pub struct MonotonicClock {
    origin: Instant,
}

impl MonotonicClock {
    /// A clock whose origin is now.
    #[must_use]
    pub fn new() -> Self {
        MonotonicClock {
            origin: Instant::now(),
        }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for MonotonicClock {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }
}

/// Wraps a clock and keeps every reading, to replay later.
pub struct RecordingClock {
    inner: Arc<dyn Clock>,
    readings: Mutex<Vec<Duration>>,
}

impl RecordingClock {
    /// Records the readings of `inner`.
    #[must_use]
    pub fn new(inner: Arc<dyn Clock>) -> Self {
        RecordingClock {
            inner,
            readings: Mutex::new(Vec::new()),
        }
    }

    /// The readings so far, in order.
    #[must_use]
    pub fn readings(&self) -> Vec<Duration> {
        self.readings.lock().clone()
    }
}

impl Clock for RecordingClock {
    fn now(&self) -> Duration {
        let t = self.inner.now();
        self.readings.lock().push(t);
        t
    }
}

/// Plays back recorded readings in order; once they run out it keeps
/// returning the last one advanced by one nanosecond per call, so it never
/// goes backwards.
pub struct ReplayClock {
    readings: Mutex<(VecDeque<Duration>, Duration)>,
}

impl ReplayClock {
    /// A clock that returns `readings` in order.
    #[must_use]
    pub fn new(readings: Vec<Duration>) -> Self {
        ReplayClock {
            readings: Mutex::new((readings.into(), Duration::ZERO)),
        }
    }
}

impl Clock for ReplayClock {
    fn now(&self) -> Duration {
        let mut g = self.readings.lock();
        let (queue, last) = &mut *g;
        *last = match queue.pop_front() {
            Some(t) => t.max(*last),
            None => *last + Duration::from_nanos(1),
        };
        *last
    }
}
