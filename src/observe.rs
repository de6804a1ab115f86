//! Metrics through the [`metrics`](https://docs.rs/metrics) facade (feature `metrics`): the one
//! place their names, labels and label values live. Without the feature every function here is
//! empty and compiles to nothing.
//!
//! Like `error`, this module sits at the bottom of the crate: it imports nothing of scopegate,
//! and the layers above call it with plain values (`ErrorKind::name`, the configured issuer).
//!
//! | metric | type | unit | labels | counts or shows |
//! |---|---|---|---|---|
//! | `scopegate_requests_refused_total` | counter | requests | `kind`, `status` | refusals, as logged by `log_refusal`: `kind` is `ErrorKind::name` (`expired`, `insufficient_scope`, `dpop_proof_replayed`, ...), `status` the HTTP status (`401`, `403`, ...) |
//! | `scopegate_requests_accepted_total` | counter | requests | — | requests the `AuthLayer` let through to the service it wraps (a requirement further in may still refuse one: it is then also counted as refused) |
//! | `scopegate_jwks_fetches_total` | counter | fetches | `issuer`, `result` | finished key-set fetch attempts (discovery plus JWKS): `result` is `ok` or a `FetchErrorKind::name` (`connect_refused`, `timeout`, `status`, ...) |
//! | `scopegate_jwks_keys` | gauge | keys | `issuer` | keys in the usable key set: set at each successful fetch and at each status read (0 once the set is past its stale window) |
//! | `scopegate_jwks_age_seconds` | gauge | seconds | `issuer` | age of the last good key set: set to 0 at each successful fetch and to the current age at each status read (`Validator::key_status`, `Issuers::status`); between those it does not move, so prefer the timestamp below for alerts |
//! | `scopegate_jwks_fetched_timestamp_seconds` | gauge | seconds since the Unix epoch | `issuer` | when the last good key set was fetched (on the validator's clock): `time() - scopegate_jwks_fetched_timestamp_seconds` is the age, always current |
//! | `scopegate_token_cache_hits_total` | counter | lookups | — | tokens answered from the verified-token cache (re-checked, not verified again), refusals by time included |
//! | `scopegate_token_cache_misses_total` | counter | lookups | — | tokens not in the cache, or whose key changed: verified in full |
//! | `scopegate_token_cache_evictions_total` | counter | entries | — | entries the cache dropped to stay within its bytes (or refused as too large for it); expired entries dropped on a hit are not counted |
//! | `scopegate_grant_resolver_calls_total` | counter | calls | `result` | calls to the `GrantResolver`: `ok`, `error` or `timeout` (5 s) |
//! | `scopegate_grant_resolver_cache_hits_total` | counter | lookups | — | grants answered from the resolver's cache (a cached failure included), without a call |
//!
//! Label values are bounded: fixed names, HTTP statuses, and issuers as configured (for a
//! multi-tenant issuer, its template, never a token's `iss`). Nothing from a token or a request
//! path is ever a label.

use std::sync::Arc;
use std::time::Duration;

const REFUSED: &str = "scopegate_requests_refused_total";
const ACCEPTED: &str = "scopegate_requests_accepted_total";
const JWKS_FETCHES: &str = "scopegate_jwks_fetches_total";
const JWKS_KEYS: &str = "scopegate_jwks_keys";
const JWKS_AGE: &str = "scopegate_jwks_age_seconds";
const JWKS_FETCHED_AT: &str = "scopegate_jwks_fetched_timestamp_seconds";
const TOKEN_CACHE_HITS: &str = "scopegate_token_cache_hits_total";
const TOKEN_CACHE_MISSES: &str = "scopegate_token_cache_misses_total";
const TOKEN_CACHE_EVICTIONS: &str = "scopegate_token_cache_evictions_total";
const RESOLVER_CALLS: &str = "scopegate_grant_resolver_calls_total";
const RESOLVER_CACHE_HITS: &str = "scopegate_grant_resolver_cache_hits_total";

/// The `result` of a successful key-set fetch.
pub(crate) const FETCH_OK: &str = "ok";

/// How a grant resolver call ended: the `result` label.
#[derive(Debug, Clone, Copy)]
pub(crate) enum CallResult {
    Ok,
    Error,
    Timeout,
}

impl CallResult {
    #[cfg(feature = "metrics")]
    fn name(self) -> &'static str {
        match self {
            CallResult::Ok => "ok",
            CallResult::Error => "error",
            CallResult::Timeout => "timeout",
        }
    }
}

/// A request refused with `status`, for the reason `kind` names.
#[inline]
pub(crate) fn request_refused(kind: &'static str, status: u16) {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(REFUSED, "kind" => kind, "status" => status_label(status)).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (kind, status, REFUSED);
}

/// A request let through by the `AuthLayer`.
// Called by the auth service once it is wired there.
#[inline]
pub(crate) fn request_accepted() {
    #[cfg(feature = "metrics")]
    per_request::increment(|counters| &counters.accepted);
    #[cfg(not(feature = "metrics"))]
    let _ = ACCEPTED;
}

/// A key-set fetch attempt of `issuer` ended with `result` ([`FETCH_OK`] or a fetch error kind's
/// name).
#[inline]
pub(crate) fn jwks_fetched(issuer: &Arc<str>, result: &'static str) {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(JWKS_FETCHES, "issuer" => issuer.clone(), "result" => result).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (issuer, result, JWKS_FETCHES);
}

/// `issuer` has a new key set of `keys` keys, fetched at `now` (since the epoch).
#[inline]
pub(crate) fn jwks_loaded(issuer: &Arc<str>, keys: usize, now: Duration) {
    #[cfg(feature = "metrics")]
    {
        ::metrics::gauge!(JWKS_KEYS, "issuer" => issuer.clone()).set(keys as f64);
        ::metrics::gauge!(JWKS_AGE, "issuer" => issuer.clone()).set(0.0);
        ::metrics::gauge!(JWKS_FETCHED_AT, "issuer" => issuer.clone()).set(now.as_secs_f64());
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (issuer, keys, now, JWKS_FETCHED_AT);
}

/// A status read of `issuer`: `keys` usable keys, the last good set `age` old (if any).
#[inline]
pub(crate) fn jwks_observed(issuer: &Arc<str>, keys: usize, age: Option<Duration>) {
    #[cfg(feature = "metrics")]
    {
        ::metrics::gauge!(JWKS_KEYS, "issuer" => issuer.clone()).set(keys as f64);
        if let Some(age) = age {
            ::metrics::gauge!(JWKS_AGE, "issuer" => issuer.clone()).set(age.as_secs_f64());
        }
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (issuer, keys, age, JWKS_KEYS, JWKS_AGE);
}

/// A token answered from the verified-token cache.
#[inline]
pub(crate) fn token_cache_hit() {
    #[cfg(feature = "metrics")]
    per_request::increment(|counters| &counters.token_cache_hits);
    #[cfg(not(feature = "metrics"))]
    let _ = TOKEN_CACHE_HITS;
}

/// A token the verified-token cache could not answer.
#[inline]
pub(crate) fn token_cache_miss() {
    #[cfg(feature = "metrics")]
    per_request::increment(|counters| &counters.token_cache_misses);
    #[cfg(not(feature = "metrics"))]
    let _ = TOKEN_CACHE_MISSES;
}

/// `count` entries evicted from the verified-token cache.
#[inline]
pub(crate) fn token_cache_evicted(count: u64) {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(TOKEN_CACHE_EVICTIONS).increment(count);
    #[cfg(not(feature = "metrics"))]
    let _ = (count, TOKEN_CACHE_EVICTIONS);
}

/// A grant resolver call ended with `result`.
#[inline]
pub(crate) fn grant_resolver_called(result: CallResult) {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(RESOLVER_CALLS, "result" => result.name()).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = (result, RESOLVER_CALLS);
}

/// Grants answered from the resolver's cache.
#[inline]
pub(crate) fn grant_resolver_cache_hit() {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(RESOLVER_CACHE_HITS).increment(1);
    #[cfg(not(feature = "metrics"))]
    let _ = RESOLVER_CACHE_HITS;
}

/// The `status` label: the statuses refusals use need no allocation.
#[cfg(feature = "metrics")]
fn status_label(status: u16) -> ::metrics::SharedString {
    let fixed = match status {
        400 => "400",
        401 => "401",
        403 => "403",
        500 => "500",
        503 => "503",
        other => return other.to_string().into(),
    };
    fixed.into()
}

/// Registers the description and unit of every scopegate metric with the installed recorder
/// (feature `metrics`), for exporters that publish them (Prometheus `# HELP`). Call it once,
/// after installing the recorder; the metrics are recorded whether or not it is called.
///
/// The metrics, their types and labels are listed in the README ("Metrics").
#[cfg(feature = "metrics")]
pub fn describe_metrics() {
    use ::metrics::{Unit, describe_counter, describe_gauge};
    describe_counter!(
        REFUSED,
        Unit::Count,
        "Requests refused, by ErrorKind name and HTTP status"
    );
    describe_counter!(ACCEPTED, Unit::Count, "Requests the AuthLayer let through");
    describe_counter!(
        JWKS_FETCHES,
        Unit::Count,
        "Key-set fetch attempts, by configured issuer and result (ok or the failure kind)"
    );
    describe_gauge!(
        JWKS_KEYS,
        Unit::Count,
        "Keys in the usable key set, set at each fetch and status read"
    );
    describe_gauge!(
        JWKS_AGE,
        Unit::Seconds,
        "Age of the last good key set, set at each fetch and status read"
    );
    describe_gauge!(
        JWKS_FETCHED_AT,
        Unit::Seconds,
        "When the last good key set was fetched, in seconds since the Unix epoch"
    );
    describe_counter!(
        TOKEN_CACHE_HITS,
        Unit::Count,
        "Tokens answered from the verified-token cache"
    );
    describe_counter!(
        TOKEN_CACHE_MISSES,
        Unit::Count,
        "Tokens verified in full after a verified-token cache lookup"
    );
    describe_counter!(
        TOKEN_CACHE_EVICTIONS,
        Unit::Count,
        "Entries evicted from the verified-token cache to stay within its size"
    );
    describe_counter!(
        RESOLVER_CALLS,
        Unit::Count,
        "Grant resolver calls, by result (ok, error, timeout)"
    );
    describe_counter!(
        RESOLVER_CACHE_HITS,
        Unit::Count,
        "Grants answered from the grant resolver's cache"
    );
}

/// The counters nearly every request moves, registered once per recorder and thread: a
/// recorder's registry lookup cost about 500 instructions a counter, a fifth of a cache hit.
#[cfg(feature = "metrics")]
mod per_request {
    use std::cell::RefCell;

    use metrics::{Counter, Key, Level, Metadata, Recorder};

    pub(super) struct Counters {
        /// The recorder these were registered with, by address: another recorder (one
        /// installed later, or a thread's local one) registers its own.
        recorder: *const (),
        pub(super) accepted: Counter,
        pub(super) token_cache_hits: Counter,
        pub(super) token_cache_misses: Counter,
    }

    thread_local! {
        static COUNTERS: RefCell<Option<Counters>> = const { RefCell::new(None) };
    }

    fn register(recorder: &dyn Recorder, name: &'static str) -> Counter {
        static METADATA: Metadata<'static> =
            Metadata::new(module_path!(), Level::INFO, Some(module_path!()));
        recorder.register_counter(&Key::from_static_name(name), &METADATA)
    }

    /// Adds one to the counter `which` picks, in the recorder in effect.
    pub(super) fn increment(which: fn(&Counters) -> &Counter) {
        ::metrics::with_recorder(|recorder| {
            let address = recorder as *const dyn Recorder as *const ();
            COUNTERS.with_borrow_mut(|counters| {
                let current = match counters {
                    Some(counters) if counters.recorder == address => counters,
                    _ => counters.insert(Counters {
                        recorder: address,
                        accepted: register(recorder, super::ACCEPTED),
                        token_cache_hits: register(recorder, super::TOKEN_CACHE_HITS),
                        token_cache_misses: register(recorder, super::TOKEN_CACHE_MISSES),
                    }),
                };
                which(current).increment(1);
            });
        });
    }
}

#[cfg(all(test, feature = "metrics"))]
mod tests {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    use super::*;

    #[test]
    fn every_function_records_under_its_name_and_labels() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let issuer: Arc<str> = Arc::from("https://issuer.example/");
        ::metrics::with_local_recorder(&recorder, || {
            describe_metrics();
            request_refused("expired", 401);
            request_refused("expired", 401);
            request_refused("teapot", 418);
            request_accepted();
            jwks_fetched(&issuer, FETCH_OK);
            jwks_loaded(&issuer, 3, Duration::from_secs(1_700_000_000));
            jwks_observed(&issuer, 2, Some(Duration::from_secs(90)));
            token_cache_hit();
            token_cache_miss();
            token_cache_evicted(4);
            grant_resolver_called(CallResult::Timeout);
            grant_resolver_cache_hit();
        });
        let mut seen = Vec::new();
        for (key, unit, description, value) in snapshotter.snapshot().into_vec() {
            let key = key.key();
            let mut labels: Vec<String> = key
                .labels()
                .map(|label| format!("{}={}", label.key(), label.value()))
                .collect();
            labels.sort();
            let value = match value {
                DebugValue::Counter(count) => count as f64,
                DebugValue::Gauge(gauge) => gauge.into_inner(),
                DebugValue::Histogram(_) => f64::NAN,
            };
            assert!(unit.is_some() && description.is_some(), "{}", key.name());
            seen.push(format!("{}{{{}}} {value}", key.name(), labels.join(",")));
        }
        seen.sort();
        let issuer = "issuer=https://issuer.example/";
        let mut expected = vec![
            "scopegate_requests_refused_total{kind=expired,status=401} 2".to_owned(),
            "scopegate_requests_refused_total{kind=teapot,status=418} 1".to_owned(),
            "scopegate_requests_accepted_total{} 1".to_owned(),
            format!("scopegate_jwks_fetches_total{{{issuer},result=ok}} 1"),
            format!("scopegate_jwks_keys{{{issuer}}} 2"),
            format!("scopegate_jwks_age_seconds{{{issuer}}} 90"),
            format!("scopegate_jwks_fetched_timestamp_seconds{{{issuer}}} 1700000000"),
            "scopegate_token_cache_hits_total{} 1".to_owned(),
            "scopegate_token_cache_misses_total{} 1".to_owned(),
            "scopegate_token_cache_evictions_total{} 4".to_owned(),
            "scopegate_grant_resolver_calls_total{result=timeout} 1".to_owned(),
            "scopegate_grant_resolver_cache_hits_total{} 1".to_owned(),
        ];
        expected.sort();
        assert_eq!(seen, expected);
    }

    /// The per-request counters are registered per recorder: counts go to the recorder in
    /// effect, also after another one was used on the same thread.
    #[test]
    fn per_request_counters_follow_the_recorder_in_effect() {
        let (first, second) = (DebuggingRecorder::new(), DebuggingRecorder::new());
        let counted = |recorder: &DebuggingRecorder| -> Vec<(String, u64)> {
            let mut counts: Vec<(String, u64)> = recorder
                .snapshotter()
                .snapshot()
                .into_vec()
                .into_iter()
                .filter_map(|(key, _, _, value)| match value {
                    DebugValue::Counter(count) => Some((key.key().name().to_owned(), count)),
                    _ => None,
                })
                .collect();
            counts.sort();
            counts
        };
        ::metrics::with_local_recorder(&first, || {
            request_accepted();
            request_accepted();
            token_cache_hit();
        });
        ::metrics::with_local_recorder(&second, || {
            request_accepted();
            token_cache_miss();
        });
        ::metrics::with_local_recorder(&first, token_cache_miss);
        assert_eq!(
            counted(&first),
            [
                ("scopegate_requests_accepted_total".to_owned(), 2),
                ("scopegate_token_cache_hits_total".to_owned(), 1),
                ("scopegate_token_cache_misses_total".to_owned(), 1),
            ]
        );
        // Registered together, the three show from the first count on, at 0 until moved.
        assert_eq!(
            counted(&second),
            [
                ("scopegate_requests_accepted_total".to_owned(), 1),
                ("scopegate_token_cache_hits_total".to_owned(), 0),
                ("scopegate_token_cache_misses_total".to_owned(), 1),
            ]
        );
    }

    #[test]
    fn call_results_have_fixed_names() {
        assert_eq!(CallResult::Ok.name(), "ok");
        assert_eq!(CallResult::Error.name(), "error");
        assert_eq!(CallResult::Timeout.name(), "timeout");
    }
}
