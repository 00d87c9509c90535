//! The simulated clock shared by every backend.
//!
//! Time is kept as nanoseconds since the Unix epoch (`i64`, valid until 2262).
//! In [`ClockMode::Manual`] the clock starts at a fixed instant
//! ([`MANUAL_EPOCH`]) and only moves through [`Clock::advance`]; in
//! [`ClockMode::Real`] it starts at the wall-clock time of `start()` and follows
//! wall time (manual advances are added on top).

use std::sync::Mutex;
use std::time::Instant;

use super::ClockMode;

/// 2026-01-01T10:00:00Z: the start of simulated time for a manual clock.
pub const MANUAL_EPOCH_NS: i64 = 1_767_261_600 * NS_PER_SEC;

pub(crate) const NS_PER_MS: i64 = 1_000_000;
pub(crate) const NS_PER_SEC: i64 = 1_000_000_000;

#[derive(Debug)]
pub struct Clock {
    mode: ClockMode,
    start_ns: i64,
    real_start: Instant,
    offset_ns: Mutex<i64>,
}

impl Clock {
    pub fn new(mode: ClockMode) -> Self {
        let start_ns = match mode {
            ClockMode::Manual => MANUAL_EPOCH_NS,
            ClockMode::Real => chrono::Utc::now()
                .timestamp_nanos_opt()
                .unwrap_or(MANUAL_EPOCH_NS),
        };
        Clock {
            mode,
            start_ns,
            real_start: Instant::now(),
            offset_ns: Mutex::new(0),
        }
    }

    pub fn mode(&self) -> ClockMode {
        self.mode
    }

    /// Simulated instant at which the simulator started.
    pub(crate) fn start_ns(&self) -> i64 {
        self.start_ns
    }

    /// Current simulated time.
    pub(crate) fn now_ns(&self) -> i64 {
        let offset = *self.offset_ns.lock().unwrap_or_else(|e| e.into_inner());
        let real = match self.mode {
            ClockMode::Manual => 0,
            ClockMode::Real => {
                i64::try_from(self.real_start.elapsed().as_nanos()).unwrap_or(i64::MAX / 4)
            }
        };
        self.start_ns + real + offset
    }

    /// Moves simulated time forward (never backwards).
    pub fn advance(&self, ns: i64) -> i64 {
        let mut off = self.offset_ns.lock().unwrap_or_else(|e| e.into_inner());
        *off += ns.max(0);
        drop(off);
        self.now_ns()
    }
}

/// `2026-01-01T10:00:00.123456Z`: UTC, nanoseconds with trailing zeros trimmed
/// (0 to 9 fraction digits).
pub(crate) fn fmt_ns(ns: i64) -> String {
    let secs = ns.div_euclid(NS_PER_SEC);
    let frac = ns.rem_euclid(NS_PER_SEC);
    let dt = chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default();
    let mut s = dt.format("%Y-%m-%dT%H:%M:%S").to_string();
    if frac != 0 {
        let f = format!("{frac:09}");
        s.push('.');
        s.push_str(f.trim_end_matches('0'));
    }
    s.push('Z');
    s
}

/// Spring's error timestamp style: `2026-01-01T10:00:00.000+00:00`.
pub(crate) fn fmt_spring(ns: i64) -> String {
    let secs = ns.div_euclid(NS_PER_SEC);
    let ms = ns.rem_euclid(NS_PER_SEC) / NS_PER_MS;
    let dt = chrono::DateTime::from_timestamp(secs, 0).unwrap_or_default();
    format!("{}.{ms:03}+00:00", dt.format("%Y-%m-%dT%H:%M:%S"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_fractions() {
        assert_eq!(fmt_ns(MANUAL_EPOCH_NS), "2026-01-01T10:00:00Z");
        assert_eq!(
            fmt_ns(MANUAL_EPOCH_NS + 120_000_000),
            "2026-01-01T10:00:00.12Z"
        );
        assert_eq!(
            fmt_ns(MANUAL_EPOCH_NS + 1),
            "2026-01-01T10:00:00.000000001Z"
        );
        assert_eq!(fmt_spring(MANUAL_EPOCH_NS), "2026-01-01T10:00:00.000+00:00");
    }

    #[test]
    fn manual_clock_moves_only_on_advance() {
        let c = Clock::new(ClockMode::Manual);
        assert_eq!(c.now_ns(), MANUAL_EPOCH_NS);
        c.advance(5 * NS_PER_SEC);
        assert_eq!(c.now_ns(), MANUAL_EPOCH_NS + 5 * NS_PER_SEC);
    }
}
