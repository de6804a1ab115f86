//! The metrics (feature `metrics`) move as requests, fetches and caches do. Each test installs a
//! `metrics-util` debugging recorder for its own thread (a current-thread runtime: the test body,
//! the layer, the issuer and the fetch tasks all run there), so tests do not see each other's
//! counts. A snapshot of that recorder drains it: counters read as what was added since the last
//! snapshot, so each test takes one snapshot per checkpoint.
#![cfg(feature = "metrics")]

use crate::common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use common::{app, send, send_with};
use http::StatusCode;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use scopegate::jwks::BoxFuture;
use scopegate::testing::{ManualClock, TEST_ALGORITHMS, TestIssuer};
use scopegate::{
    AuthLayer, Clock, GrantResolver, Issuers, ResolveError, ResolveRequest, RouterExt, scope,
};
use tower::ServiceExt;

/// Every metric recorded since the last snapshot, as `name{label=value,...}` (labels sorted) →
/// value (counters: what was added since; gauges: the value set since, or 0).
fn recorded(snapshotter: &Snapshotter) -> BTreeMap<String, f64> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            let mut labels: Vec<String> = key
                .labels()
                .map(|label| format!("{}={}", label.key(), label.value()))
                .collect();
            labels.sort();
            let value = match value {
                DebugValue::Counter(count) => count as f64,
                DebugValue::Gauge(gauge) => gauge.into_inner(),
                DebugValue::Histogram(values) => values.len() as f64,
            };
            (format!("{}{{{}}}", key.name(), labels.join(",")), value)
        })
        .collect()
}

/// The value of one metric in a snapshot, 0 when absent.
fn value(recorded: &BTreeMap<String, f64>, metric: &str) -> f64 {
    recorded.get(metric).copied().unwrap_or(0.0)
}

#[tokio::test]
async fn refusals_are_counted_by_kind_and_status() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _recording = metrics::set_default_local_recorder(&recorder);

    let issuer = TestIssuer::start().await.unwrap();
    let app = app(issuer.validator().build().unwrap());
    assert_eq!(
        send(&app, "not-a-token").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send(&app, "still.not.one").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send_with(&app, "/me", &[]).await.status,
        StatusCode::UNAUTHORIZED
    );
    let expired = issuer.token().expires_in(-3600).sign();
    assert_eq!(send(&app, &expired).await.status, StatusCode::UNAUTHORIZED);

    let all = recorded(&snapshotter);
    let refused: BTreeMap<&str, f64> = all
        .iter()
        .filter(|(name, _)| name.starts_with("scopegate_requests_refused_total"))
        .map(|(name, value)| (name.as_str(), *value))
        .collect();
    assert_eq!(
        refused,
        BTreeMap::from([
            (
                "scopegate_requests_refused_total{kind=expired,status=401}",
                1.0
            ),
            (
                "scopegate_requests_refused_total{kind=malformed_token,status=401}",
                2.0
            ),
            (
                "scopegate_requests_refused_total{kind=missing_credentials,status=401}",
                1.0
            ),
        ])
    );
    // Nothing of the token or the path is a label.
    assert!(
        all.keys()
            .all(|name| !name.contains("not-a-token") && !name.contains("/me"))
    );
}

#[tokio::test]
async fn accepted_requests_are_counted() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _recording = metrics::set_default_local_recorder(&recorder);

    let issuer = TestIssuer::start().await.unwrap();
    let app = app(issuer.validator().build().unwrap());
    assert_eq!(
        send(&app, &issuer.token().sign()).await.status,
        StatusCode::OK
    );
    assert_eq!(
        value(
            &recorded(&snapshotter),
            "scopegate_requests_accepted_total{}"
        ),
        1.0
    );
}

#[tokio::test]
async fn fetches_are_counted_by_result_and_the_key_set_is_gauged() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _recording = metrics::set_default_local_recorder(&recorder);

    let clock = ManualClock::starting_now();
    let issuer = TestIssuer::start_with_clock(clock.clone()).await.unwrap();
    let validator = issuer.validator().clock(clock.clone()).build().unwrap();
    let label = format!("issuer={}", issuer.issuer());
    validator.ready().await.unwrap();
    let after_fetch = recorded(&snapshotter);
    let metric = |name: &str| format!("{name}{{{label}}}");
    assert_eq!(
        value(
            &after_fetch,
            &format!("scopegate_jwks_fetches_total{{{label},result=ok}}")
        ),
        1.0
    );
    assert_eq!(
        value(&after_fetch, &metric("scopegate_jwks_keys")),
        TEST_ALGORITHMS.len() as f64
    );
    assert_eq!(
        value(&after_fetch, &metric("scopegate_jwks_age_seconds")),
        0.0
    );
    assert_eq!(
        value(
            &after_fetch,
            &metric("scopegate_jwks_fetched_timestamp_seconds")
        ),
        clock.now().as_secs_f64()
    );

    // A status read brings the age and the key count up to date.
    clock.advance(std::time::Duration::from_secs(120));
    validator.key_status();
    let after_read = recorded(&snapshotter);
    assert_eq!(
        value(&after_read, &metric("scopegate_jwks_age_seconds")),
        120.0
    );
    assert_eq!(
        value(&after_read, &metric("scopegate_jwks_keys")),
        TEST_ALGORITHMS.len() as f64
    );

    // A failed refetch is counted under its kind.
    issuer.set_down(true);
    let unknown = issuer.token().header("kid", "not-published").sign();
    assert!(validator.validate(&unknown).await.is_err());
    let after_failure = recorded(&snapshotter);
    assert_eq!(
        value(
            &after_failure,
            &format!("scopegate_jwks_fetches_total{{{label},result=status}}")
        ),
        1.0
    );
    assert_eq!(
        value(
            &after_failure,
            &format!("scopegate_jwks_fetches_total{{{label},result=ok}}")
        ),
        0.0,
        "nothing else was fetched"
    );
}

#[tokio::test]
async fn the_token_cache_counts_hits_misses_and_evictions() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _recording = metrics::set_default_local_recorder(&recorder);

    let issuer = TestIssuer::start().await.unwrap();
    let issuers = Issuers::from(issuer.validator().build().unwrap());
    let token = issuer.token().sign();
    issuers.validate(&token).await.unwrap();
    issuers.validate(&token).await.unwrap();
    issuers.validate(&token).await.unwrap();
    let counts = recorded(&snapshotter);
    assert_eq!(value(&counts, "scopegate_token_cache_misses_total{}"), 1.0);
    assert_eq!(value(&counts, "scopegate_token_cache_hits_total{}"), 2.0);
    assert_eq!(
        value(&counts, "scopegate_token_cache_evictions_total{}"),
        0.0
    );

    // A cache of a few entries: distinct tokens push each other out.
    let small = issuers.with_token_cache(16 * 1024);
    for n in 0..100 {
        let token = issuer.token().subject(&format!("user-{n}")).sign();
        small.validate(&token).await.unwrap();
    }
    let counts = recorded(&snapshotter);
    assert_eq!(
        value(&counts, "scopegate_token_cache_misses_total{}"),
        100.0
    );
    assert!(value(&counts, "scopegate_token_cache_evictions_total{}") > 0.0);
}

/// Through the layer, the header's token is looked up once; a miss is counted once, when the
/// token is validated, and a header refused before its token is read counts nothing. A token
/// joined to another by a comma is read (the comma is looked for once it is refused): a miss.
#[tokio::test]
async fn the_layer_counts_one_lookup_per_token_and_none_for_a_refused_header() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _recording = metrics::set_default_local_recorder(&recorder);

    let issuer = TestIssuer::start().await.unwrap();
    let app = app(issuer.validator().build().unwrap());
    let token = issuer.token().sign();
    assert_eq!(send(&app, &token).await.status, StatusCode::OK);
    assert_eq!(send(&app, &token).await.status, StatusCode::OK);
    let fresh = issuer.token().subject("someone-else").sign();
    let bearer = format!("Bearer {fresh}");
    for refused in [&[&*bearer, &*bearer][..], &[&format!("Bearer\t{fresh}")]] {
        assert_eq!(
            send_with(&app, "/me", refused).await.status,
            StatusCode::BAD_REQUEST
        );
    }
    let joined = format!("Bearer {fresh},x");
    assert_eq!(
        send_with(&app, "/me", &[&joined]).await.status,
        StatusCode::BAD_REQUEST
    );
    // The first token and the joined one; not the two refused headers.
    let counts = recorded(&snapshotter);
    assert_eq!(value(&counts, "scopegate_token_cache_misses_total{}"), 2.0);
    assert_eq!(value(&counts, "scopegate_token_cache_hits_total{}"), 1.0);
}

/// Grants `read:comments-in-<room>`, or fails for the room `down`; counts calls.
#[derive(Clone, Default)]
struct Rooms(Arc<AtomicUsize>);

impl GrantResolver for Rooms {
    fn resolve<'a>(
        &'a self,
        request: ResolveRequest<'a>,
    ) -> BoxFuture<'a, Result<Vec<String>, ResolveError>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            match request.param("room") {
                Some("down") => Err(ResolveError::new("the rooms service is down")),
                room => Ok(vec![format!(
                    "read:comments-in-{}",
                    room.unwrap_or_default()
                )]),
            }
        })
    }
}

#[tokio::test]
async fn grant_resolver_calls_are_counted_by_result_and_cache_hits_too() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _recording = metrics::set_default_local_recorder(&recorder);

    let issuer = TestIssuer::start().await.unwrap();
    let layer =
        AuthLayer::new(issuer.validator().build().unwrap()).grant_resolver(Rooms::default());
    let app: Router = Router::new()
        .route_requiring(
            "/rooms/{room}/comments",
            get(|| async { "comments" }),
            scope!("read:comments-in-{room}"),
        )
        .layer(layer);
    let token = issuer.token().sign();
    let get = |room: &str| {
        http::Request::get(format!("/rooms/{room}/comments"))
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    for _ in 0..3 {
        let response = app.clone().oneshot(get("lobby")).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let response = app.clone().oneshot(get("down")).await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);

    let counts = recorded(&snapshotter);
    assert_eq!(
        value(&counts, "scopegate_grant_resolver_calls_total{result=ok}"),
        1.0
    );
    assert_eq!(
        value(
            &counts,
            "scopegate_grant_resolver_calls_total{result=error}"
        ),
        1.0
    );
    assert_eq!(
        value(&counts, "scopegate_grant_resolver_cache_hits_total{}"),
        2.0
    );
    assert_eq!(
        value(
            &counts,
            "scopegate_requests_refused_total{kind=grants_unavailable,status=503}"
        ),
        1.0
    );
}
