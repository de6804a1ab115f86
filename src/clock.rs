//! The time source for claim checks and the key cache.
//!
//! Injectable so that expiry, cooldowns and stale windows can be tested without waiting and
//! without depending on the wall clock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time, as a duration since the Unix epoch.
///
/// The default is [`SystemClock`]. Tests can use `scopegate::testing::ManualClock`
/// (feature `test-util`) to move time by hand.
pub trait Clock: Send + Sync + 'static {
    /// The time now, since 1970-01-01T00:00:00Z.
    fn now(&self) -> Duration;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        // A clock before 1970 is a broken machine; treating it as the epoch makes every token
        // look not-yet-valid or expired rather than panicking.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
    }
}
