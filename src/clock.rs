//! The monotonic clock as plain nanoseconds, and a `sock_wait_msg` deadline on it: a wait
//! reads the clock once and compares integers, where `Instant` arithmetic (checked timespec
//! sums and differences) cost a request/response loop a measurable share of its time.

use std::time::{Duration, Instant};

/// CLOCK_MONOTONIC, the clock `Instant` reads, in nanoseconds.
pub(crate) fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC exists on every Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

/// `at` (in `now_ns` terms) as an `Instant`, for the waits that take one.
pub(crate) fn instant_of(at: u64) -> Instant {
    Instant::now() + Duration::from_nanos(at.saturating_sub(now_ns()))
}

/// `at` (an `Instant`) in `now_ns` terms.
pub(crate) fn ns_of(at: Instant) -> u64 {
    let left = at.saturating_duration_since(Instant::now()).as_nanos();
    now_ns().saturating_add(u64::try_from(left).unwrap_or(u64::MAX))
}

/// When a wait ends, and how long it had left when this was worked out.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    /// In `now_ns` terms.
    pub at: u64,
    /// The time left when it was set or renewed: a first poll waits this long without
    /// reading the clock again.
    pub budget: Duration,
}

impl Deadline {
    pub(crate) fn after(budget: Duration) -> Deadline {
        let ns = u64::try_from(budget.as_nanos()).unwrap_or(u64::MAX);
        Deadline {
            at: now_ns().saturating_add(ns),
            budget,
        }
    }

    /// The same deadline, with the time left now as its budget.
    pub(crate) fn renewed(self) -> Deadline {
        Deadline {
            budget: self.left(),
            ..self
        }
    }

    pub(crate) fn left(self) -> Duration {
        Duration::from_nanos(self.at.saturating_sub(now_ns()))
    }

    pub(crate) fn passed(self) -> bool {
        now_ns() >= self.at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_and_conversions_agree_with_instant() {
        let ten = Duration::from_secs(10);
        let nine = 9_000_000_000;
        assert!(ns_of(Instant::now() + ten) > now_ns() + nine);
        assert!(instant_of(now_ns() + 10_000_000_000) > Instant::now() + Duration::from_secs(9));
        assert!(
            instant_of(0) <= Instant::now(),
            "a past deadline is now or earlier"
        );
        let d = Deadline::after(ten);
        assert!(!d.passed());
        assert!(d.left() <= ten && d.left() > Duration::from_secs(9));
        assert!(d.renewed().budget <= ten);
        let gone = Deadline::after(Duration::ZERO);
        assert!(gone.passed());
        assert_eq!(gone.renewed().budget, Duration::ZERO);
    }
}
