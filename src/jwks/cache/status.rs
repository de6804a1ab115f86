//! [`KeyStatus`]: what an operator may want to know of one issuer's keys, read without waiting
//! and without fetching.

use std::sync::Arc;
use std::time::Duration;

use super::KeyCache;
use crate::jwks::failure::{FetchError, FetchErrorKind};
use crate::observe;

/// The state of one issuer's verification keys, as [`Validator::key_status`] and
/// [`Issuers::status`] report it: for a status page, a readiness probe or a log line.
///
/// Times are measured on the validator's [`Clock`](crate::Clock).
///
/// [`Validator::key_status`]: crate::Validator::key_status
/// [`Issuers::status`]: crate::Issuers::status
#[derive(Debug, Clone)]
pub struct KeyStatus {
    issuer: Arc<str>,
    loaded: bool,
    key_count: usize,
    age: Option<Duration>,
    since_last_attempt: Option<Duration>,
    last_error: Option<FetchError>,
}

impl KeyStatus {
    /// The configured issuer (for a multi-tenant issuer, its template).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Whether a usable key set is held: fetched, and not past its lifetime plus the stale
    /// window. Tokens can be verified only while this holds.
    pub fn is_loaded(&self) -> bool {
        self.loaded
    }

    /// How many keys the usable key set holds; 0 when none is loaded.
    pub fn key_count(&self) -> usize {
        self.key_count
    }

    /// How long ago the last good key set was fetched, even if it is now past the stale window.
    /// `None` before the first successful fetch, and for keys given as a document (never
    /// fetched).
    pub fn age(&self) -> Option<Duration> {
        self.age
    }

    /// How long ago the last fetch attempt started (successful or not); `None` if none has.
    pub fn since_last_attempt(&self) -> Option<Duration> {
        self.since_last_attempt
    }

    /// Why the last finished attempt failed; `None` if it succeeded or none has finished.
    pub fn last_error(&self) -> Option<&FetchError> {
        self.last_error.as_ref()
    }

    /// The kind of [`last_error`](Self::last_error).
    pub fn last_error_kind(&self) -> Option<FetchErrorKind> {
        self.last_error.as_ref().map(FetchError::kind)
    }
}

impl KeyCache {
    /// The state of the keys now. With the `metrics` feature, also brings the issuer's key
    /// count and age gauges up to date.
    pub(crate) fn status(&self) -> KeyStatus {
        let now = self.clock.now();
        let snapshot = self.snapshot.load();
        let snapshot = snapshot.as_ref();
        let usable = snapshot.filter(|snapshot| now < snapshot.stale_until);
        let state = self.state();
        let status = KeyStatus {
            issuer: self.issuer.clone(),
            loaded: usable.is_some(),
            key_count: usable.map_or(0, |snapshot| snapshot.keys.len()),
            age: snapshot
                .and_then(|snapshot| snapshot.fetched_at)
                .map(|at| now.saturating_sub(at)),
            since_last_attempt: state.last_attempt.map(|at| now.saturating_sub(at)),
            last_error: state.last_error.clone(),
        };
        drop(state);
        if self.remote.is_some() {
            observe::jwks_observed(&self.issuer, status.key_count, status.age);
        }
        status
    }

    /// Whether a usable key set is held; if not, starts a fetch in the background when the
    /// cooldown allows. Never waits.
    pub(crate) fn loaded_or_start(self: &Arc<Self>) -> bool {
        let now = self.clock.now();
        let loaded = self
            .snapshot
            .load()
            .as_ref()
            .is_some_and(|snapshot| now < snapshot.stale_until);
        if !loaded && self.remote.is_some() {
            self.refresh_in_background(now);
        }
        loaded
    }
}
