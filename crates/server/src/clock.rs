//! The clock, injectable: the core never reads it, the server reads it once per request.

use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};

/// Where "now" comes from.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        to_micros(Timestamp::now())
    }
}

/// Drops sub-microsecond digits: the database keeps microseconds, so every copy of a time agrees.
fn to_micros(at: Timestamp) -> Timestamp {
    Timestamp::from_microsecond(at.as_microsecond()).unwrap_or(at)
}

/// A clock that runs at real speed from a time that tests set (`--test-clock`).
#[derive(Debug, Default)]
pub struct TestClock {
    offset: Mutex<SignedDuration>,
}

impl TestClock {
    /// Moves the clock so that it reads `now` at this instant and runs on from there.
    pub fn set(&self, now: Timestamp) {
        let offset = now.duration_since(Timestamp::now());
        if let Ok(mut guard) = self.offset.lock() {
            *guard = offset;
        }
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        let offset = self.offset.lock().map(|g| *g).unwrap_or_default();
        to_micros(
            Timestamp::now()
                .checked_add(offset)
                .unwrap_or_else(|_| Timestamp::now()),
        )
    }
}
