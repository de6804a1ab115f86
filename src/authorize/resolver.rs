//! Grants held by the API's own services, looked up only when a requirement needs them.
//!
//! Over 400 lines because the cache, its single-flight calls, the per-principal budget and
//! the eviction order share one lock and one state; split apart, each would reach into the
//! others' fields.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet, VecDeque};
use std::fmt;
use std::hash::BuildHasher;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::watch;

use super::params::PathValues;
use crate::boxed::BoxFuture;
use crate::clock::Clock;
use crate::grant::ParamValue;
use crate::observe::{self, CallResult};
use crate::principal::Authenticated;

/// Supplies extra granted scopes from outside the token, for example from the service that
/// knows each room's settings ("members can read comments, admins can add comments").
///
/// Called only when the token's own grants do not meet a route's requirement and more scopes
/// would, with the verified claims and the path values that requirement binds: only the names it
/// uses (a comment `{id}` beside the `{room}` of `delete:comments-in-{room}` is left out), and
/// only values that pass the binding rules. A call taking longer than 5 s counts as failed.
///
/// # Caching
///
/// Answers are cached per issuer, `sub`, `client_id`, `azp` (each present or absent) and the
/// path values the requirement binds, for a bounded time and number of entries, so the other service
/// sees at most one call per user, client and route values per TTL, and one client's answer never
/// serves another client of the same user. An answer must therefore depend only on those claims
/// and the path values. A token naming neither `sub` nor `client_id` identifies nobody to cache
/// for: it is resolved on every request.
///
/// Concurrent requests for the same key share one call: the others wait for its answer (or its
/// failure). If the request making the call is cancelled, the call is dropped with it and a
/// waiting request makes a new one. When full, the cache evicts expired entries and those not
/// used since the last eviction pass before those in use.
///
/// # A bound per principal
///
/// One principal (issuer, `sub`, `client_id`, `azp`) may have at most 100 distinct keys (path
/// values) resolved per window; a window lasts the cache's TTL (at least 1 s) from the first key
/// resolved in it. Beyond that, further misses are not sent to the resolver: the request is
/// decided on the token's own grants alone (usually 403, never a pass it would not get without
/// a resolver), and one warning (target `scopegate`, naming the route pattern but no path value
/// or claim) is logged per principal and window. This keeps one signed-in user from turning every
/// request into a call by varying a path value (`/rooms/<random>/comments`). Answers already
/// cached keep being served, and keys resolved earlier in the window (a failure retried) do not
/// count again. Tokens naming neither `sub` nor `client_id` share one budget per issuer and
/// `azp`, and every call counts. At least 1024 principals (or the cache size, if larger) are
/// tracked at once; beyond that the oldest window is forgotten early, so memory stays bounded.
///
/// # Failures
///
/// A failing resolver never lets a request through: the request is answered 503 (the grants
/// are unavailable, not refused) and the error is logged. Failures are remembered for 5 seconds
/// (shared by concurrent requests) so an outage is not hammered.
///
/// ```
/// use scopegate::jwks::BoxFuture;
/// use scopegate::{GrantResolver, ResolveError, ResolveRequest};
///
/// struct RoomSettings;
///
/// impl GrantResolver for RoomSettings {
///     fn resolve<'a>(
///         &'a self,
///         request: ResolveRequest<'a>,
///     ) -> BoxFuture<'a, Result<Vec<String>, ResolveError>> {
///         Box::pin(async move {
///             let (Some(user), Some(room)) = (request.claims().subject(), request.param("room")) else {
///                 return Ok(Vec::new());
///             };
///             // Ask the rooms service what `user` may do in `room`...
///             Ok(vec![format!("read:comments-in-{room}")])
///         })
///     }
/// }
/// ```
pub trait GrantResolver: Send + Sync + 'static {
    /// The extra scopes `request`'s user holds for this route. Strings that are not scope-tokens
    /// are ignored.
    fn resolve<'a>(
        &'a self,
        request: ResolveRequest<'a>,
    ) -> BoxFuture<'a, Result<Vec<String>, ResolveError>>;
}

/// What a [`GrantResolver`] is asked about.
#[derive(Clone, Copy, Debug)]
pub struct ResolveRequest<'a> {
    auth: &'a Authenticated,
    params: &'a PathValues,
}

impl<'a> ResolveRequest<'a> {
    /// The verified token.
    pub fn claims(&self) -> &'a Authenticated {
        self.auth
    }

    /// A path value the requirement binds, percent-decoded. `None` when the requirement does not
    /// use that name, the value breaks the binding rules, or the route has the name more than
    /// once (nested routers).
    pub fn param(&self, name: &str) -> Option<&'a str> {
        match self.params.get(name) {
            ParamValue::Value(value) => Some(value),
            _ => None,
        }
    }

    /// Every path value the requirement binds.
    pub fn params(&self) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.params.iter()
    }
}

/// A resolver failure; its text goes to the log only.
#[derive(Debug)]
pub struct ResolveError(String);

impl ResolveError {
    /// A failure with this description.
    pub fn new(message: impl Into<String>) -> Self {
        ResolveError(message.into())
    }
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ResolveError {}

/// The longest one resolver call may take; past it the call counts as failed.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a failure is remembered.
const FAILURE_TTL: Duration = Duration::from_secs(5);

/// How many distinct keys one principal may have resolved per window, unless configured.
pub(crate) const DEFAULT_MAX_KEYS_PER_PRINCIPAL: usize = 100;

/// The shortest window of the per-principal bound: with a zero TTL nothing is cached, but the
/// bound must still mean something.
const MIN_BUDGET_WINDOW: Duration = Duration::from_secs(1);

/// Principals tracked for the bound at the least: with a tiny cache, a few other principals
/// must not be enough to reset someone's count.
const MIN_TRACKED_PRINCIPALS: usize = 1024;

/// Who a cached answer is for. Typed fields, so no value can stand in for another: `sub` "a"
/// without `client_id` never equals `client_id` "a" without `sub`.
#[derive(Debug, Hash, PartialEq, Eq)]
struct Principal {
    issuer: Box<str>,
    subject: Option<Box<str>>,
    client_id: Option<Box<str>>,
    authorized_party: Option<Box<str>>,
}

impl Principal {
    fn of(auth: &Authenticated) -> Self {
        Principal {
            issuer: auth.issuer().into(),
            subject: auth.subject().map(Box::from),
            client_id: auth.client_id().map(Box::from),
            authorized_party: auth.authorized_party().map(Box::from),
        }
    }

    /// Whether answers for this principal may be cached: it names a user or a client.
    fn identified(&self) -> bool {
        self.subject.is_some() || self.client_id.is_some()
    }
}

/// A principal and the matched route's path names and values, as a list of pairs.
#[derive(Debug, Hash, PartialEq, Eq)]
struct CacheKey {
    principal: Arc<Principal>,
    params: Box<[(Box<str>, Box<str>)]>,
}

/// What a resolution produced: the grants, or `None` for a failure.
type Outcome = Option<Arc<[Box<str>]>>;

/// A finished answer in the cache.
struct Entry {
    expires_at: Duration,
    outcome: Outcome,
    /// Hit since the eviction hand last passed: earns one more round (second chance).
    referenced: bool,
}

/// A resolution under way. Waiters hold a receiver; the leader holds the sender and publishes
/// `Some(outcome)`, or drops it unsent when cancelled, which wakes the waiters to try again.
struct Flight {
    id: u64,
    done: watch::Receiver<Option<Outcome>>,
}

/// Distinct keys one principal had resolved in the current window.
struct Budget {
    window_ends: Duration,
    /// Fingerprints of the keys resolved (keyed hashes: a collision only allows one more call).
    keys: HashSet<u64>,
    /// Calls for a principal whose answers are not cached: each one counts.
    uncached_calls: usize,
    warned: bool,
}

impl Budget {
    fn used(&self) -> usize {
        self.keys.len().saturating_add(self.uncached_calls)
    }
}

/// Everything behind the one lock; every operation on it is O(1) amortized, and no `.await`
/// happens while it is held.
#[derive(Default)]
struct State {
    /// Finished answers, at most `max_entries`, expired ones included until the hand reaches
    /// them.
    entries: HashMap<Arc<CacheKey>, Entry>,
    /// The keys of `entries`, each exactly once, in the order the clock hand visits them.
    hand: VecDeque<Arc<CacheKey>>,
    flights: HashMap<Arc<CacheKey>, Flight>,
    next_flight: u64,
    budgets: HashMap<Arc<Principal>, Budget>,
    /// The principals of `budgets` in window order; every window has the same length, so the
    /// front ends first. Stale records (a principal whose window was renewed) are skipped.
    budget_order: VecDeque<(Arc<Principal>, Duration)>,
}

/// A resolver with its bounded cache.
pub(crate) struct CachedResolver {
    resolver: Arc<dyn GrantResolver>,
    ttl: Duration,
    max_entries: usize,
    max_keys_per_principal: usize,
    state: Mutex<State>,
    /// Keys the budget fingerprints, so nobody can aim at collisions.
    hasher: RandomState,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for CachedResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedResolver")
            .field("ttl", &self.ttl)
            .field("max_entries", &self.max_entries)
            .field("max_keys_per_principal", &self.max_keys_per_principal)
            .finish_non_exhaustive()
    }
}

/// What a request does after looking at the shared state.
enum Step {
    Done(Outcome),
    Wait(watch::Receiver<Option<Outcome>>),
    Lead(u64, watch::Sender<Option<Outcome>>),
    /// Over the principal's bound: decided on the token's own grants.
    Refused,
}

impl CachedResolver {
    /// A cache in front of `resolver`: answers live `ttl` (failures at most 5 s), at most
    /// `max_entries` of them (at least 1), and each principal may have
    /// [`DEFAULT_MAX_KEYS_PER_PRINCIPAL`] distinct keys resolved per window (see
    /// [`max_keys_per_principal`](Self::max_keys_per_principal)).
    pub(crate) fn new(
        resolver: Arc<dyn GrantResolver>,
        ttl: Duration,
        max_entries: usize,
        clock: Arc<dyn Clock>,
    ) -> Self {
        CachedResolver {
            resolver,
            ttl,
            max_entries: max_entries.max(1),
            max_keys_per_principal: DEFAULT_MAX_KEYS_PER_PRINCIPAL,
            state: Mutex::default(),
            hasher: RandomState::new(),
            clock,
        }
    }

    /// How many distinct keys (path values) one principal may have resolved per window of the
    /// TTL (at least 1 s); at least 1. Further misses are decided on the token's own grants.
    pub(crate) fn max_keys_per_principal(mut self, limit: usize) -> Self {
        self.max_keys_per_principal = limit.max(1);
        self
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state stays consistent between statements; a panic elsewhere must not disable
        // authorization.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The extra grants for this token and route: cached, shared with a call under way, or
    /// resolved now. `Err` means the grants are unavailable (503); a principal over its bound
    /// gets no extra grants.
    pub(crate) async fn grants(
        &self,
        auth: &Authenticated,
        params: &PathValues,
    ) -> Result<Arc<[Box<str>]>, ()> {
        let principal = Arc::new(Principal::of(auth));
        if !principal.identified() {
            // The guard is a temporary of this statement: released before the call below.
            let admitted = self.admit(&mut self.state(), &principal, None, params);
            if !admitted {
                return Ok(no_grants());
            }
            return self.call(auth, params).await.ok_or(());
        }
        let key = Arc::new(CacheKey {
            principal,
            params: params
                .iter()
                .map(|(name, value)| (name.into(), value.into()))
                .collect(),
        });
        loop {
            let step = self.look_up(&key, params);
            let outcome = match step {
                Step::Done(outcome) => outcome,
                Step::Refused => return Ok(no_grants()),
                Step::Wait(mut done) => match done.wait_for(Option::is_some).await {
                    Ok(outcome) => outcome.clone().flatten(),
                    // The leader was dropped before it finished: look again, and perhaps lead.
                    Err(_) => continue,
                },
                Step::Lead(id, sender) => {
                    let flight = FlightGuard {
                        cache: self,
                        key: &key,
                        id,
                        sender: Some(sender),
                    };
                    let outcome = self.call(auth, params).await;
                    flight.finish(outcome.clone());
                    outcome
                }
            };
            return outcome.ok_or(());
        }
    }

    /// One call to the resolver, bounded by [`RESOLVE_TIMEOUT`]: requests waiting on the same
    /// key must not hang with it. Failures are logged here, once per call.
    async fn call(&self, auth: &Authenticated, params: &PathValues) -> Outcome {
        let call = self.resolver.resolve(ResolveRequest { auth, params });
        let (result, outcome) = match tokio::time::timeout(RESOLVE_TIMEOUT, call).await {
            Ok(Ok(grants)) => (CallResult::Ok, Some(grants)),
            Ok(Err(error)) => {
                tracing::error!(
                    target: "scopegate",
                    %error,
                    "the grant resolver failed; refusing with 503"
                );
                (CallResult::Error, None)
            }
            Err(_) => {
                tracing::error!(
                    target: "scopegate",
                    timeout = ?RESOLVE_TIMEOUT,
                    "the grant resolver did not answer in time; refusing with 503"
                );
                (CallResult::Timeout, None)
            }
        };
        observe::grant_resolver_called(result);
        outcome.map(|grants| grants.into_iter().map(Box::from).collect())
    }

    /// A fresh answer, a call to wait for, or the lead of a new call (if the bound allows).
    fn look_up(&self, key: &Arc<CacheKey>, params: &PathValues) -> Step {
        let now = self.clock.now();
        let mut state = self.state();
        if let Some(entry) = state.entries.get_mut(key)
            && now < entry.expires_at
        {
            entry.referenced = true;
            observe::grant_resolver_cache_hit();
            return Step::Done(entry.outcome.clone());
        }
        if let Some(flight) = state.flights.get(key) {
            return Step::Wait(flight.done.clone());
        }
        let fingerprint = self.hasher.hash_one(&**key);
        if !self.admit(&mut state, &key.principal, Some(fingerprint), params) {
            return Step::Refused;
        }
        let id = state.next_flight;
        state.next_flight = id.wrapping_add(1);
        let (sender, done) = watch::channel(None);
        state.flights.insert(key.clone(), Flight { id, done });
        Step::Lead(id, sender)
    }

    /// Whether `principal` may have one more key resolved (`None`: an uncached call), counting
    /// it if so.
    fn admit(
        &self,
        state: &mut State,
        principal: &Arc<Principal>,
        fingerprint: Option<u64>,
        params: &PathValues,
    ) -> bool {
        let now = self.clock.now();
        let limit = self.max_keys_per_principal;
        let renew = state
            .budgets
            .get(principal)
            .is_none_or(|budget| budget.window_ends <= now);
        if renew {
            self.open_window(state, principal, now);
        }
        let Some(budget) = state.budgets.get_mut(principal) else {
            // open_window always leaves one; if not, fail closed: no extra grants.
            return false;
        };
        if let Some(fingerprint) = fingerprint
            && budget.keys.contains(&fingerprint)
        {
            // Resolved before in this window (a failure expired, an entry was evicted, a
            // leader was cancelled): not a new key.
            return true;
        }
        if budget.used() >= limit {
            if !budget.warned {
                budget.warned = true;
                // No path values and no claims: only what the deployment configured.
                tracing::warn!(
                    target: "scopegate",
                    limit,
                    route = params.route().unwrap_or(""),
                    "a principal reached the grant resolver's bound of distinct path values per window; \
                     further requests are decided on the token's own grants until the window ends"
                );
            }
            return false;
        }
        match fingerprint {
            Some(fingerprint) => {
                budget.keys.insert(fingerprint);
            }
            None => budget.uncached_calls = budget.uncached_calls.saturating_add(1),
        }
        true
    }

    /// Starts a new window for `principal`, dropping ended windows and, when the table is full
    /// (`max_entries`, at least 1024 principals), the oldest one: that principal's count starts
    /// over, and memory stays bounded.
    fn open_window(&self, state: &mut State, principal: &Arc<Principal>, now: Duration) {
        let window_ends = now.saturating_add(self.ttl.max(MIN_BUDGET_WINDOW));
        let max_principals = self.max_entries.max(MIN_TRACKED_PRINCIPALS);
        while let Some((front, ends)) = state.budget_order.front() {
            let current = state
                .budgets
                .get(front)
                .is_some_and(|budget| budget.window_ends == *ends);
            let full =
                state.budgets.len() >= max_principals && !state.budgets.contains_key(principal);
            if current && *ends > now && !full {
                break;
            }
            if let Some((front, _)) = state.budget_order.pop_front()
                && current
            {
                state.budgets.remove(&front);
            }
        }
        state.budgets.insert(
            principal.clone(),
            Budget {
                window_ends,
                keys: HashSet::new(),
                uncached_calls: 0,
                warned: false,
            },
        );
        state
            .budget_order
            .push_back((principal.clone(), window_ends));
    }

    /// Stores an outcome, evicting with a clock hand when full: an entry hit since the hand last
    /// passed goes round once more, an expired or unused one goes. Each step evicts or clears a
    /// mark a hit set, so inserts are O(1) amortized.
    fn insert(&self, state: &mut State, key: &Arc<CacheKey>, outcome: Outcome) {
        let now = self.clock.now();
        let ttl = if outcome.is_some() {
            self.ttl
        } else {
            FAILURE_TTL.min(self.ttl)
        };
        let entry = Entry {
            expires_at: now.saturating_add(ttl),
            outcome,
            referenced: false,
        };
        if let Some(existing) = state.entries.get_mut(key) {
            // Already in the hand's round: replace in place.
            *existing = Entry {
                referenced: true,
                ..entry
            };
            return;
        }
        while state.entries.len() >= self.max_entries {
            let Some(front) = state.hand.pop_front() else {
                break;
            };
            match state.entries.get_mut(&front) {
                Some(old) if old.referenced && now < old.expires_at => {
                    old.referenced = false;
                    state.hand.push_back(front);
                }
                _ => {
                    state.entries.remove(&front);
                }
            }
        }
        state.entries.insert(key.clone(), entry);
        state.hand.push_back(key.clone());
    }
}

/// No extra grants.
fn no_grants() -> Arc<[Box<str>]> {
    Arc::from(Vec::new())
}

/// The leader's hold on an in-flight key. Dropped unfinished (the request was cancelled), it
/// clears the key, and dropping the sender wakes the waiters to look again, so a key is never
/// stuck in flight.
struct FlightGuard<'c> {
    cache: &'c CachedResolver,
    key: &'c Arc<CacheKey>,
    id: u64,
    sender: Option<watch::Sender<Option<Outcome>>>,
}

impl FlightGuard<'_> {
    /// Caches `outcome`, ends the flight, then wakes the waiters with it.
    fn finish(mut self, outcome: Outcome) {
        {
            let mut state = self.cache.state();
            self.end_flight(&mut state);
            self.cache.insert(&mut state, self.key, outcome.clone());
        }
        if let Some(sender) = self.sender.take() {
            sender.send_replace(Some(outcome));
        }
    }

    fn end_flight(&self, state: &mut State) {
        if state
            .flights
            .get(self.key)
            .is_some_and(|flight| flight.id == self.id)
        {
            state.flights.remove(self.key);
        }
    }
}

impl Drop for FlightGuard<'_> {
    fn drop(&mut self) {
        if self.sender.is_some() {
            self.end_flight(&mut self.cache.state());
            // The sender drops after this, unsent: waiters see the channel closed and retry.
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    use super::*;
    use crate::principal::VerifiedToken;

    fn token(
        subject: Option<&str>,
        client_id: Option<&str>,
        authorized_party: Option<&str>,
    ) -> Authenticated {
        Authenticated::new(VerifiedToken {
            issuer: "https://issuer.example".into(),
            subject: subject.map(str::to_owned),
            client_id: client_id.map(str::to_owned),
            authorized_party: authorized_party.map(str::to_owned),
            ..VerifiedToken::for_tests("{}")
        })
    }

    fn room(value: &str) -> PathValues {
        PathValues::new([("room", value)], Some("/rooms/{room}"))
    }

    struct Millis(AtomicU64);

    impl Clock for Millis {
        fn now(&self) -> Duration {
            Duration::from_millis(self.0.load(Ordering::SeqCst))
        }
    }

    /// Grants `ok`; counts calls.
    #[derive(Default)]
    struct Counting(AtomicUsize);

    impl GrantResolver for Counting {
        fn resolve<'a>(
            &'a self,
            _: ResolveRequest<'a>,
        ) -> BoxFuture<'a, Result<Vec<String>, ResolveError>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Ok(vec!["ok".to_owned()]) })
        }
    }

    fn cache(max_entries: usize) -> (Arc<Counting>, CachedResolver) {
        let resolver = Arc::new(Counting::default());
        let clock = Arc::new(Millis(AtomicU64::new(1_000_000)));
        let cached = CachedResolver::new(
            resolver.clone(),
            Duration::from_secs(60),
            max_entries,
            clock,
        );
        (resolver, cached)
    }

    #[test]
    fn principals_differ_by_every_part_and_by_presence() {
        let tokens = [
            token(Some("a"), None, None),
            token(None, Some("a"), None),
            token(None, None, Some("a")),
            token(Some("a"), Some("a"), None),
            token(Some("a"), Some("b"), None),
            token(Some("a"), Some("b"), Some("c")),
            token(Some("a"), Some(""), None),
        ];
        let principals: HashSet<Principal> = tokens.iter().map(Principal::of).collect();
        assert_eq!(principals.len(), tokens.len());
        assert!(!Principal::of(&token(None, None, Some("a"))).identified());
    }

    #[tokio::test]
    async fn the_state_stays_bounded_under_a_flood() {
        let (resolver, cached) = cache(3);
        let cached = cached.max_keys_per_principal(usize::MAX);
        for n in 0..2000 {
            let auth = token(Some(&format!("user-{}", n % 1500)), Some("app"), None);
            let granted = cached.grants(&auth, &room(&format!("r{n}"))).await;
            assert_eq!(granted.map(|grants| grants.len()), Ok(1));
        }
        assert_eq!(resolver.0.load(Ordering::SeqCst), 2000);
        let state = cached.state();
        assert!(state.entries.len() <= 3, "{}", state.entries.len());
        assert_eq!(state.hand.len(), state.entries.len());
        assert!(state.flights.is_empty());
        assert_eq!(state.budgets.len(), MIN_TRACKED_PRINCIPALS);
        assert_eq!(state.budget_order.len(), MIN_TRACKED_PRINCIPALS);
    }

    #[tokio::test]
    async fn an_entry_hit_between_inserts_outlives_a_flood() {
        let (resolver, cached) = cache(2);
        let auth = token(Some("user"), Some("app"), None);
        for n in 0..50 {
            assert!(cached.grants(&auth, &room("hot")).await.is_ok());
            assert!(cached.grants(&auth, &room(&format!("r{n}"))).await.is_ok());
        }
        assert_eq!(resolver.0.load(Ordering::SeqCst), 51, "hot resolved once");
    }

    /// Never answers.
    #[cfg(feature = "metrics")]
    struct Hanging;

    #[cfg(feature = "metrics")]
    impl GrantResolver for Hanging {
        fn resolve<'a>(
            &'a self,
            _: ResolveRequest<'a>,
        ) -> BoxFuture<'a, Result<Vec<String>, ResolveError>> {
            Box::pin(std::future::pending())
        }
    }

    /// Paused time: the 5 s limit passes as soon as nothing else can run, without waiting.
    #[cfg(feature = "metrics")]
    #[tokio::test(start_paused = true)]
    async fn a_call_past_the_limit_is_counted_as_a_timeout() {
        use metrics_util::debugging::{DebugValue, DebuggingRecorder};

        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let _recording = metrics::set_default_local_recorder(&recorder);
        let clock = Arc::new(Millis(AtomicU64::new(1_000_000)));
        let cached = CachedResolver::new(Arc::new(Hanging), Duration::from_secs(60), 10, clock);
        let auth = token(Some("user"), Some("app"), None);
        assert!(cached.grants(&auth, &room("a")).await.is_err());
        // The failure is cached (5 s): the second ask is a cache hit, not a call.
        assert!(cached.grants(&auth, &room("a")).await.is_err());
        let counts: HashMap<String, u64> = snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .filter_map(|(key, _, _, value)| match value {
                DebugValue::Counter(count) => {
                    let labels: Vec<String> = key
                        .key()
                        .labels()
                        .map(|label| label.value().to_owned())
                        .collect();
                    Some((format!("{}{:?}", key.key().name(), labels), count))
                }
                _ => None,
            })
            .collect();
        assert_eq!(
            counts,
            HashMap::from([
                (
                    r#"scopegate_grant_resolver_calls_total["timeout"]"#.to_owned(),
                    1
                ),
                ("scopegate_grant_resolver_cache_hits_total[]".to_owned(), 1),
            ])
        );
    }

    #[tokio::test]
    async fn the_bound_counts_distinct_keys_not_repeats() {
        let (resolver, cached) = cache(100);
        let cached = cached.max_keys_per_principal(2);
        let auth = token(Some("user"), Some("app"), None);
        for value in ["a", "b", "a", "b", "c", "a"] {
            assert!(cached.grants(&auth, &room(value)).await.is_ok());
        }
        assert_eq!(resolver.0.load(Ordering::SeqCst), 2);
        // "c" was over the bound: no extra grants, and nothing cached for it.
        assert_eq!(
            cached.grants(&auth, &room("c")).await.map(|g| g.len()),
            Ok(0)
        );
        assert_eq!(resolver.0.load(Ordering::SeqCst), 2);
        // Another client of the same user has its own budget.
        let other = token(Some("user"), Some("other-app"), None);
        assert_eq!(
            cached.grants(&other, &room("c")).await.map(|g| g.len()),
            Ok(1)
        );
        assert_eq!(resolver.0.load(Ordering::SeqCst), 3);
    }
}
