//! Remembering DPoP proof ids (`jti`) so that a proof is accepted once (RFC 9449 §11.1).

use std::time::Duration;

use crate::boxed::BoxFuture;

/// Where the ids of accepted DPoP proofs are remembered for the proof window, so that a
/// captured proof cannot be replayed. One store shared by every replica of an API makes the
/// rule hold across replicas.
///
/// scopegate calls [`first_use`](Self::first_use) once per proof that passed every other
/// check, with a key derived from the proof's key thumbprint and `jti` (43 characters of
/// base64url, never request text as such).
///
/// Two come with scopegate: [`MemoryReplayStore`](super::MemoryReplayStore), bounded and in
/// this process (one replica), and `RedisReplayStore` (feature `redis`), shared by replicas.
/// Your own must keep the rules of [`first_use`](Self::first_use).
pub trait ReplayStore: Send + Sync + 'static {
    /// Records `key` for `ttl`. `Ok(true)` when `key` was not recorded (the proof is fresh),
    /// `Ok(false)` when it already was (a replay). An error refuses the request with 503:
    /// a proof is never accepted unchecked.
    ///
    /// - **Atomic.** Of concurrent calls with one key, exactly one sees `Ok(true)`, on every
    ///   replica that shares the store.
    /// - **ttl.** The key must be remembered for at least `ttl` (until the proof's `iat`
    ///   plus the proof window, when the proof stops being acceptable) and may be forgotten
    ///   after it. A store that cannot record a key (full,
    ///   unreachable) answers an error rather than forgetting another one early.
    /// - **Errors** name what failed for the operator's log, never the key.
    fn first_use<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, ReplayStoreError>>;
}

/// A replay store that could not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayStoreError(String);

impl ReplayStoreError {
    /// An error with a description for the operator's log (never request content).
    pub fn new(message: impl Into<String>) -> Self {
        ReplayStoreError(message.into())
    }
}

impl std::fmt::Display for ReplayStoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DPoP replay store: {}", self.0)
    }
}

impl std::error::Error for ReplayStoreError {}

/// A ttl as stores count it: whole milliseconds, rounded up, at least one (Redis's `PX`).
pub(crate) fn ttl_millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_nanos().div_ceil(1_000_000))
        .unwrap_or(u64::MAX)
        .max(1)
}
