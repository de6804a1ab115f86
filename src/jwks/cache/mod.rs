//! The key cache: lock-free reads, one fetch at a time, bounded staleness.
//!
//! Requests read the current key set through an `ArcSwap`; a refresh builds a whole new set and
//! swaps it in, so removed keys disappear at once and readers never wait on a lock. The small
//! mutex guards only the bookkeeping of who is fetching and when the last attempt was; it is
//! never held across an `.await`.

mod load;
mod policy;
mod status;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use http::Uri;
use jsonwebtoken::Algorithm;
use tokio::sync::watch;

pub(crate) use self::policy::CachePolicy;
pub use self::status::KeyStatus;
use super::error::KeyError;
use super::failure::FetchError;
use super::fetch::JwksFetcher;
use crate::clock::Clock;
use crate::jose::{AlgorithmSet, KeyRules, KeySet, Lookup, VerifyingKey};

/// Where keys come from.
pub(crate) enum Remote {
    /// `{issuer}/.well-known/openid-configuration`, whose `issuer` must equal ours.
    Discovery { url: Uri, issuer: Arc<str> },
    /// A JWKS URL given directly.
    Jwks(Uri),
}

/// A key set and the times that govern it.
struct Snapshot {
    keys: KeySet,
    /// Which set this is: unique to it in the process, so that a key found in it need not be
    /// looked up again while it is the current one.
    generation: u64,
    refresh_at: Duration,
    stale_until: Duration,
    /// When it was fetched; `None` for a fixed set.
    fetched_at: Option<Duration>,
}

/// A new snapshot's generation: never 0, never repeated.
fn next_generation() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The generation of the key set a cached token's key was last found in, kept with the cached
/// token: while that set is the current one, the key is known to be in it.
#[derive(Debug, Default)]
pub(crate) struct KeySeenIn(AtomicU64);

#[derive(Default)]
struct RefreshState {
    in_flight: bool,
    last_attempt: Option<Duration>,
    /// The `jwks_uri` from the last good discovery document.
    discovered_jwks: Option<Uri>,
    last_error: Option<FetchError>,
}

/// What a request learns from the cache without waiting.
pub(crate) enum Immediate {
    Key(Arc<VerifyingKey>),
    Rejected(KeyError),
    /// A fetch is (or may now be) under way that could supply the key: wait for it.
    AwaitRefetch,
}

pub(crate) struct KeyCache {
    /// The configured issuer (a template's template): for logs, metrics and the status.
    issuer: Arc<str>,
    snapshot: ArcSwapOption<Snapshot>,
    state: Mutex<RefreshState>,
    /// Bumped after every fetch attempt; waiters subscribe while the fetch is in flight.
    attempts: watch::Sender<u64>,
    /// When the cooldown after the last attempt ends, in ms since the epoch: read without the
    /// lock on the hot path.
    next_attempt_millis: AtomicU64,
    remote: Option<(Remote, Arc<dyn JwksFetcher>)>,
    policy: CachePolicy,
    clock: Arc<dyn Clock>,
    rules: KeyRules,
}

impl KeyCache {
    /// A cache over a fixed key set that never expires and never fetches.
    pub(crate) fn fixed(issuer: Arc<str>, keys: KeySet, clock: Arc<dyn Clock>) -> Self {
        let snapshot = Snapshot {
            keys,
            generation: next_generation(),
            refresh_at: Duration::MAX,
            stale_until: Duration::MAX,
            fetched_at: None,
        };
        KeyCache {
            issuer,
            snapshot: ArcSwapOption::from_pointee(snapshot),
            state: Mutex::default(),
            attempts: watch::channel(0).0,
            next_attempt_millis: AtomicU64::new(0),
            remote: None,
            policy: CachePolicy::default(),
            clock,
            // Only fetched sets are filtered here; a fixed set was filtered when it was built.
            rules: KeyRules::allowing(AlgorithmSet::default()),
        }
    }

    /// A cache filled lazily from `remote`.
    pub(crate) fn remote(
        issuer: Arc<str>,
        remote: Remote,
        fetcher: Arc<dyn JwksFetcher>,
        policy: CachePolicy,
        clock: Arc<dyn Clock>,
        rules: KeyRules,
    ) -> Self {
        KeyCache {
            issuer,
            snapshot: ArcSwapOption::empty(),
            state: Mutex::default(),
            attempts: watch::channel(0).0,
            next_attempt_millis: AtomicU64::new(0),
            remote: Some((remote, fetcher)),
            policy,
            clock,
            rules,
        }
    }

    fn state(&self) -> MutexGuard<'_, RefreshState> {
        // The guarded data stays consistent even if a holder panicked: every write is a single
        // assignment.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn cooled_down(&self, state: &RefreshState, now: Duration) -> bool {
        state
            .last_attempt
            .is_none_or(|last| now.saturating_sub(last) >= self.policy.cooldown)
    }

    /// The hot path: a lock-free read, plus at most a background refresh kick-off.
    pub(crate) fn lookup(self: &Arc<Self>, kid: Option<&str>, algorithm: Algorithm) -> Immediate {
        let now = self.clock.now();
        let guard = self.snapshot.load();
        if let Some(snapshot) = guard.as_ref().filter(|snapshot| now < snapshot.stale_until) {
            if now >= snapshot.refresh_at {
                self.refresh_in_background(now);
            }
            match snapshot.keys.lookup(kid, algorithm) {
                Lookup::Found(key) => return Immediate::Key(key.clone()),
                Lookup::Ambiguous => return Immediate::Rejected(KeyError::Ambiguous),
                Lookup::UnknownKid => {}
            }
        }
        if self.fetch_possible(now) {
            return Immediate::AwaitRefetch;
        }
        // A fetch may have stored a new set between the read above and the check: look again
        // before refusing, or a request racing a completed rotation would be refused.
        match self.current_answer(kid, algorithm) {
            Ok(key) => Immediate::Key(key),
            Err(kind) => Immediate::Rejected(kind),
        }
    }

    /// Whether the current key set still holds `key` for `kid`, for a token verified before, at
    /// `now` (the clock's reading for the whole recheck). Like [`lookup`](Self::lookup) it starts
    /// a due refresh; it never waits and clones nothing. Looks the key up only when the set has
    /// changed since `seen`, and remembers the set it was found in.
    pub(crate) fn still_holds(
        self: &Arc<Self>,
        kid: Option<&str>,
        algorithm: Algorithm,
        key: &Arc<VerifyingKey>,
        now: Duration,
        seen: &KeySeenIn,
    ) -> bool {
        let guard = self.snapshot.load();
        let Some(snapshot) = guard.as_ref().filter(|snapshot| now < snapshot.stale_until) else {
            return false;
        };
        if now >= snapshot.refresh_at {
            self.refresh_in_background(now);
        }
        // A set never changes once built: the key found in it before is in it still.
        if seen.0.load(Ordering::Relaxed) == snapshot.generation {
            return true;
        }
        let holds = matches!(snapshot.keys.lookup(kid, algorithm), Lookup::Found(current) if Arc::ptr_eq(current, key));
        if holds {
            seen.0.store(snapshot.generation, Ordering::Relaxed);
        }
        holds
    }

    /// Waits for the in-flight fetch, or starts one if the cooldown allows, then looks again.
    /// Never starts more than one fetch per cooldown, however many requests wait.
    pub(crate) async fn lookup_after_refetch(
        self: &Arc<Self>,
        kid: Option<&str>,
        algorithm: Algorithm,
    ) -> Result<Arc<VerifyingKey>, KeyError> {
        self.wait_for_attempt().await;
        self.current_answer(kid, algorithm)
    }

    /// The answer the current key set gives, with no fetch left to wait for.
    fn current_answer(
        &self,
        kid: Option<&str>,
        algorithm: Algorithm,
    ) -> Result<Arc<VerifyingKey>, KeyError> {
        let now = self.clock.now();
        let guard = self.snapshot.load();
        let Some(snapshot) = guard.as_ref().filter(|snapshot| now < snapshot.stale_until) else {
            return Err(KeyError::Unavailable);
        };
        match snapshot.keys.lookup(kid, algorithm) {
            Lookup::Found(key) => Ok(key.clone()),
            Lookup::Ambiguous => Err(KeyError::Ambiguous),
            Lookup::UnknownKid => Err(KeyError::Unknown),
        }
    }

    /// Fetches now unless a usable key set is cached; waits for a fetch already in flight.
    pub(crate) async fn ready(self: &Arc<Self>) -> Result<(), FetchError> {
        let now = self.clock.now();
        let usable = self
            .snapshot
            .load()
            .as_ref()
            .is_some_and(|snapshot| now < snapshot.stale_until);
        if usable {
            return Ok(());
        }
        self.wait_for_attempt().await;
        let now = self.clock.now();
        match self.snapshot.load().as_ref() {
            Some(snapshot) if now < snapshot.stale_until => Ok(()),
            _ => Err(self.state().last_error.clone().unwrap_or_else(|| {
                FetchError::new("no key set has been fetched yet (refetch cooldown)")
            })),
        }
    }

    /// Joins the fetch in flight or starts one, and waits for it to end; never longer than the
    /// fetch timeout (plus a margin), whatever happens to the fetch task.
    async fn wait_for_attempt(self: &Arc<Self>) {
        if let Some(mut attempt_done) = self.join_or_start_fetch() {
            let limit = self
                .policy
                .fetch_timeout
                .saturating_add(Duration::from_secs(1));
            // An error means the sender is gone, which cannot happen while `self` lives.
            let _ = tokio::time::timeout(limit, attempt_done.changed()).await;
        }
    }

    /// Whether a fetch is under way or the cooldown would allow one now: for a key replaced in
    /// place, as for an unknown `kid`.
    pub(crate) fn refetch_possible(&self) -> bool {
        self.fetch_possible(self.clock.now())
    }

    fn fetch_possible(&self, now: Duration) -> bool {
        if self.remote.is_none() {
            return false;
        }
        let state = self.state();
        state.in_flight || self.cooled_down(&state, now)
    }

    /// Subscribes to the fetch in flight, or starts one when the cooldown allows.
    /// `None`: nothing to wait for.
    fn join_or_start_fetch(self: &Arc<Self>) -> Option<watch::Receiver<u64>> {
        self.remote.as_ref()?;
        let now = self.clock.now();
        let mut state = self.state();
        if state.in_flight {
            return Some(self.attempts.subscribe());
        }
        if !self.begin_attempt(&mut state, now) {
            return None;
        }
        // Subscribed before the fetch can finish, so its completion cannot be missed.
        let receiver = self.attempts.subscribe();
        drop(state);
        self.spawn_fetch();
        Some(receiver)
    }

    fn refresh_in_background(self: &Arc<Self>, now: Duration) {
        // Past `refresh_at`, every request comes here until a refresh succeeds (an hour, with the
        // issuer down): answer "not yet" without the lock while the cooldown runs.
        if (now.as_millis() as u64) < self.next_attempt_millis.load(Ordering::Relaxed) {
            return;
        }
        let mut state = self.state();
        if state.in_flight || !self.begin_attempt(&mut state, now) {
            return;
        }
        drop(state);
        self.spawn_fetch();
    }

    /// Claims the next attempt if the cooldown allows (no attempt may be in flight). The three
    /// writes go together: `next_attempt_millis` mirrors `last_attempt` for lock-free readers.
    fn begin_attempt(&self, state: &mut RefreshState, now: Duration) -> bool {
        if !self.cooled_down(state, now) {
            return false;
        }
        state.in_flight = true;
        state.last_attempt = Some(now);
        self.next_attempt_millis.store(
            now.saturating_add(self.policy.cooldown).as_millis() as u64,
            Ordering::Relaxed,
        );
        true
    }

    /// Runs the fetch as its own task, so a caller that gives up does not cancel it for the
    /// others waiting on it.
    fn spawn_fetch(self: &Arc<Self>) {
        // Made before the task: if the task is dropped unpolled (runtime shutting down), the
        // guard still ends the attempt, so `in_flight` can never stay set.
        let done = AttemptGuard(Arc::clone(self));
        let task = async move {
            let cache = &done.0;
            let result = cache.fetch_once().await;
            cache.record(result);
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(task);
            }
            // Dropping the task drops its guard, which ends the attempt.
            Err(_) => {
                tracing::warn!(target: "scopegate", issuer = %self.issuer, "no tokio runtime to fetch keys on")
            }
        }
    }

    fn finish_attempt(&self) {
        let mut state = self.state();
        state.in_flight = false;
        // Sent under the lock: a waiter of the next attempt subscribes only after this, so it is
        // never woken by this attempt's end.
        self.attempts.send_modify(|count| *count += 1);
        drop(state);
    }
}

/// Ends an attempt even if the fetch task is dropped mid-way (runtime shutdown).
struct AttemptGuard(Arc<KeyCache>);

impl Drop for AttemptGuard {
    fn drop(&mut self) {
        self.0.finish_attempt();
    }
}
