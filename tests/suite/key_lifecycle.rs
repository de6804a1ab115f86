//! The life of a key set (SECURITY-BAR §7, JWKS members §3): rotation, the refetch cooldown,
//! single-flight fetches, outages and the stale window, `Cache-Control`, and the transport rules
//! every fetch obeys.
//!
//! The cache measures its cooldown, lifetimes and stale window on the injected clock: each test
//! shares one `ManualClock` between the issuer and the validator and moves it with `advance`,
//! never by sleeping. Background refreshes are spawned tasks; their effects are awaited with
//! bounded polls, and "no fetch happened" is observed over a short bounded quiet period.

use crate::common;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Reply, app, send};
use http::StatusCode;
use scopegate::jwks::{BoxFuture, FetchError, JwksFetcher, MAX_DOCUMENT_BYTES, ReqwestFetcher};
use scopegate::testing::{ManualClock, TEST_ALGORITHMS, TestIssuer};
use scopegate::{Algorithm, Clock, ErrorKind, Validator};
use serde_json::{Value, json};

/// The documented defaults (see `ValidatorBuilder`).
const COOLDOWN: Duration = Duration::from_secs(30);
const DEFAULT_LIFETIME: Duration = Duration::from_secs(10 * 60);
const STALE_WINDOW: Duration = Duration::from_secs(60 * 60);
const REFRESH_AHEAD: Duration = Duration::from_secs(30);
/// Just past the refetch cooldown.
const PAST_COOLDOWN: Duration = Duration::from_secs(31);

/// The longest any bounded wait in this file may take.
const WAIT_LIMIT: Duration = Duration::from_secs(2);
/// How long "no fetch happens" is watched for. A refresh is a spawned task doing a loopback
/// HTTP request, so one that was started shows up within milliseconds.
const QUIET_PERIOD: Duration = Duration::from_millis(300);

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// An issuer whose tokens take their times from a manual clock, and that clock.
async fn clocked_issuer() -> (ManualClock, TestIssuer) {
    let clock = ManualClock::starting_now();
    let issuer = TestIssuer::start_with_clock(clock.clone()).await.unwrap();
    (clock, issuer)
}

/// A validator for `issuer` (keys through discovery) that reads time from `clock`.
fn validator_for(issuer: &TestIssuer, clock: &ManualClock) -> Validator {
    issuer.validator().clock(clock.clone()).build().unwrap()
}

/// A kid no issuer has published.
fn random_kid() -> String {
    format!(
        "unknown-{:016x}",
        RandomState::new().build_hasher().finish()
    )
}

/// A token really signed with the issuer's current key of `algorithm`, naming `kid` instead of
/// that key's own kid.
fn token_with_kid(issuer: &TestIssuer, algorithm: Algorithm, kid: &str) -> String {
    issuer
        .token()
        .algorithm(algorithm)
        .header("kid", kid)
        .sign()
}

fn assert_ok(reply: &Reply, context: &str) {
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{context}: expected 200, got {} ({})",
        reply.status,
        reply.challenge()
    );
}

fn assert_unavailable(reply: &Reply, context: &str) {
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{context}: expected 503, got {} ({})",
        reply.status,
        reply.challenge()
    );
}

/// Validates directly and returns the error kind; fails the test if the token was accepted.
async fn refusal(validator: &Validator, token: &str) -> ErrorKind {
    match validator.validate(token).await {
        Ok(auth) => panic!("the token was accepted: {auth:?}"),
        Err(error) => error.kind(),
    }
}

/// Polls `done` every 10 ms until it holds; fails after `limit`.
async fn wait_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting until {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits until the issuer has been asked for its JWKS exactly `expected` times.
async fn wait_for_jwks_fetches(issuer: &TestIssuer, expected: usize) {
    wait_until(WAIT_LIMIT, &format!("{expected} JWKS fetches"), || {
        issuer.jwks_fetches() >= expected
    })
    .await;
    assert_eq!(
        issuer.jwks_fetches(),
        expected,
        "more JWKS fetches than expected"
    );
}

/// Asserts that the JWKS fetch count stays at `expected` for the quiet period.
async fn assert_no_jwks_fetch(issuer: &TestIssuer, expected: usize, context: &str) {
    let start = Instant::now();
    loop {
        assert_eq!(
            issuer.jwks_fetches(),
            expected,
            "{context}: unexpected JWKS fetch"
        );
        if start.elapsed() >= QUIET_PERIOD {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Waits for the fetch in flight, if any, without starting one: inside the cooldown a token
/// with an unknown kid joins the fetch in flight, or is refused at once when there is none.
async fn join_fetch_in_flight(validator: &Validator, issuer: &TestIssuer) {
    let token = token_with_kid(issuer, Algorithm::RS256, "barrier-kid");
    let kind = tokio::time::timeout(WAIT_LIMIT, refusal(validator, &token))
        .await
        .expect("the fetch in flight did not finish");
    assert!(
        matches!(kind, ErrorKind::UnknownKey | ErrorKind::KeysUnavailable),
        "{kind:?}"
    );
}

/// `{"keys":[...]}` padded with trailing JSON whitespace to exactly `len` bytes.
fn jwks_padded_to(keys: &[Value], len: usize) -> Vec<u8> {
    let mut body = json!({ "keys": keys }).to_string().into_bytes();
    assert!(body.len() <= len);
    body.resize(len, b' ');
    body
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A copy of `base` with `changes` applied (`Value::Null` removes a member).
fn altered(base: &Value, changes: &[(&str, Value)]) -> Value {
    let mut member = base.clone();
    let object = member.as_object_mut().unwrap();
    for (name, value) in changes {
        if value.is_null() {
            object.remove(*name);
        } else {
            object.insert((*name).to_owned(), value.clone());
        }
    }
    member
}

// ---------------------------------------------------------------------------------------------
// Rotation and the refetch cooldown
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_key_verifies_on_first_request_and_removed_keys_disappear() {
    let (clock, issuer) = clocked_issuer().await;
    let app = app(validator_for(&issuer, &clock));

    let old_kid = issuer.kid(Algorithm::RS256).unwrap();
    let old_token = issuer.token().sign();
    assert_ok(&send(&app, &old_token).await, "before rotation");
    assert_eq!(issuer.jwks_fetches(), 1);

    // The issuer rotates some time after the last fetch (the cooldown limits every refetch).
    clock.advance(PAST_COOLDOWN);
    issuer.rotate_keys().unwrap();
    let new_kid = issuer.kid(Algorithm::RS256).unwrap();
    assert_ne!(old_kid, new_kid);

    let new_token = issuer.token().sign();
    assert_ok(
        &send(&app, &new_token).await,
        "first request with the new kid",
    );
    assert_eq!(issuer.jwks_fetches(), 2, "exactly one extra JWKS fetch");

    // The whole set was swapped: the old key is gone, although the old token has not expired.
    send(&app, &old_token)
        .await
        .assert_invalid_token(ErrorKind::UnknownKey);
    assert_no_jwks_fetch(&issuer, 2, "old kid inside the cooldown").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_kid_flood_causes_one_fetch_per_cooldown_and_all_get_401() {
    let (clock, issuer) = clocked_issuer().await;
    let app = app(validator_for(&issuer, &clock));
    assert_ok(&send(&app, &issuer.token().sign()).await, "warm-up");
    assert_eq!(issuer.jwks_fetches(), 1);

    clock.advance(PAST_COOLDOWN);
    // Keep the refetch in flight while the flood arrives.
    issuer.set_delay(Duration::from_millis(100));
    let tokens: Vec<String> = (0..200)
        .map(|_| token_with_kid(&issuer, Algorithm::ES256, &random_kid()))
        .collect();
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let app = app.clone();
            tokio::spawn(async move { send(&app, &token).await })
        })
        .collect();
    for task in tasks {
        task.await
            .unwrap()
            .assert_invalid_token(ErrorKind::UnknownKey);
    }
    assert_eq!(
        issuer.jwks_fetches(),
        2,
        "200 unknown kids inside one cooldown must cause exactly one refetch"
    );
    assert_no_jwks_fetch(&issuer, 2, "after the flood").await;

    // The cached key still works, without a fetch.
    issuer.set_delay(Duration::ZERO);
    assert_ok(&send(&app, &issuer.token().sign()).await, "after the flood");

    // Past the cooldown, one more unknown kid causes exactly one more fetch.
    clock.advance(PAST_COOLDOWN);
    send(
        &app,
        &token_with_kid(&issuer, Algorithm::ES256, &random_kid()),
    )
    .await
    .assert_invalid_token(ErrorKind::UnknownKey);
    assert_eq!(issuer.jwks_fetches(), 3);
    assert_no_jwks_fetch(&issuer, 3, "after the next cooldown").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_kid_inside_the_cooldown_is_refused_at_once_without_a_fetch() {
    let (clock, issuer) = clocked_issuer().await;
    let app = app(validator_for(&issuer, &clock));
    assert_ok(&send(&app, &issuer.token().sign()).await, "warm-up");
    assert_eq!(issuer.jwks_fetches(), 1);

    // A fetch, if one were made, would hang for 5 s.
    issuer.set_delay(Duration::from_secs(5));
    clock.advance(COOLDOWN - Duration::from_secs(1));
    let token = token_with_kid(&issuer, Algorithm::RS256, &random_kid());
    let reply = tokio::time::timeout(WAIT_LIMIT, send(&app, &token))
        .await
        .expect("an unknown kid inside the cooldown must be answered at once");
    reply.assert_invalid_token(ErrorKind::UnknownKey);
    assert_no_jwks_fetch(&issuer, 1, "unknown kid inside the cooldown").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cold_cache_concurrent_first_requests_share_one_discovery_and_one_jwks_fetch() {
    let (clock, issuer) = clocked_issuer().await;
    // Keep the first fetch in flight while the other requests arrive.
    issuer.set_delay(Duration::from_millis(100));
    let app = app(validator_for(&issuer, &clock));
    let tokens: Vec<String> = (0..50)
        .map(|index| {
            issuer
                .token()
                .algorithm(Algorithm::ES256)
                .subject(&format!("user-{index}"))
                .sign()
        })
        .collect();
    let tasks: Vec<_> = tokens
        .into_iter()
        .map(|token| {
            let app = app.clone();
            tokio::spawn(async move { send(&app, &token).await })
        })
        .collect();
    for (index, task) in tasks.into_iter().enumerate() {
        let reply = task.await.unwrap();
        assert_ok(&reply, &format!("request {index}"));
        assert_eq!(reply.body, format!("user-{index}"));
    }
    assert_eq!(issuer.discovery_fetches(), 1);
    assert_eq!(issuer.jwks_fetches(), 1);
}

// ---------------------------------------------------------------------------------------------
// Outages
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuer_outage_keeps_cached_keys_through_the_stale_window_then_503() {
    let (clock, issuer) = clocked_issuer().await;
    let validator = validator_for(&issuer, &clock);
    let app = app(validator.clone());
    assert_ok(&send(&app, &issuer.token().sign()).await, "keys fetched");
    assert_eq!(issuer.jwks_fetches(), 1);

    issuer.set_down(true);
    // Past the lifetime, inside the stale window.
    clock.advance(DEFAULT_LIFETIME + Duration::from_secs(60));
    assert_ok(
        &send(&app, &issuer.token().sign()).await,
        "expired set inside the stale window",
    );
    // That request started a background refresh, which the issuer answers 503.
    wait_for_jwks_fetches(&issuer, 2).await;
    join_fetch_in_flight(&validator, &issuer).await;
    assert_ok(
        &send(&app, &issuer.token().sign()).await,
        "after the failed refresh the last good set is kept",
    );

    // The last minute of the stale window.
    clock.advance(STALE_WINDOW - Duration::from_secs(120));
    assert_ok(
        &send(&app, &issuer.token().sign()).await,
        "end of the stale window",
    );

    // Past lifetime + stale window: never let through.
    clock.advance(Duration::from_secs(61));
    let token = issuer.token().sign();
    assert_unavailable(&send(&app, &token).await, "past the stale window");
    assert_unavailable(&send(&app, &token).await, "past the stale window, again");
    assert_eq!(
        refusal(&validator, &token).await,
        ErrorKind::KeysUnavailable
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issuer_down_at_startup_gives_503_and_not_ready_until_it_recovers() {
    let (clock, issuer) = clocked_issuer().await;
    issuer.set_down(true);
    let validator = issuer
        .validator()
        .clock(clock.clone())
        .build()
        .expect("build must not need the issuer");
    assert_eq!(issuer.discovery_fetches(), 0, "build must not fetch");
    let app = app(validator.clone());

    let token = issuer.token().sign();
    assert_unavailable(&send(&app, &token).await, "issuer down");
    assert_eq!(
        refusal(&validator, &token).await,
        ErrorKind::KeysUnavailable
    );
    assert!(validator.ready().await.is_err());

    issuer.set_down(false);
    clock.advance(PAST_COOLDOWN);
    assert_ok(&send(&app, &issuer.token().sign()).await, "issuer back");
    validator.ready().await.expect("ready once keys are cached");
    assert_eq!(issuer.jwks_fetches(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_issuer_does_not_delay_requests_whose_key_is_cached() {
    let (clock, issuer) = clocked_issuer().await;
    let validator = validator_for(&issuer, &clock);
    let app = app(validator.clone());
    assert_ok(&send(&app, &issuer.token().sign()).await, "keys fetched");
    assert_eq!(issuer.jwks_fetches(), 1);

    issuer.set_delay(Duration::from_secs(5));
    // Into the refresh-ahead window (it ends 30 s before expiry), before the expiry itself.
    clock.advance(DEFAULT_LIFETIME - Duration::from_secs(25));
    let token = issuer.token().sign();
    let reply = tokio::time::timeout(WAIT_LIMIT, send(&app, &token))
        .await
        .expect("the request that starts the refresh must not wait for it");
    assert_ok(&reply, "request starting the refresh");

    // The refresh now hangs in the issuer; requests with cached keys are still answered.
    wait_for_jwks_fetches(&issuer, 2).await;
    for algorithm in TEST_ALGORITHMS {
        let token = issuer.token().algorithm(algorithm).sign();
        let reply = tokio::time::timeout(WAIT_LIMIT, send(&app, &token))
            .await
            .expect("a request with a cached key must not wait for the hanging refresh");
        assert_ok(&reply, &format!("{algorithm:?} during the hanging refresh"));
    }
    let direct = tokio::time::timeout(WAIT_LIMIT, validator.validate(&token))
        .await
        .expect("validate() with a cached key must not wait for the hanging refresh");
    assert!(direct.is_ok(), "{:?}", direct.err());
}

// ---------------------------------------------------------------------------------------------
// Cache-Control
// ---------------------------------------------------------------------------------------------

/// With `cache_control` on the JWKS, the key set must live `lifetime`: a background refresh
/// is due between `lifetime - refresh_ahead - lifetime/10` (jitter) and
/// `lifetime - refresh_ahead`. So: no fetch at half the lifetime nor at
/// `0.85 * lifetime - refresh_ahead`, and a fetch by `lifetime - refresh_ahead`.
async fn assert_key_set_lifetime(cache_control: &str, lifetime: Duration) {
    let (clock, issuer) = clocked_issuer().await;
    issuer.set_cache_control(Some(cache_control));
    let app = app(validator_for(&issuer, &clock));
    let start = clock.now();
    assert_ok(&send(&app, &issuer.token().sign()).await, "keys fetched");
    assert_eq!(issuer.jwks_fetches(), 1);

    for at in [lifetime / 2, lifetime.mul_f64(0.85) - REFRESH_AHEAD] {
        clock.set(start + at);
        let context = format!("{cache_control:?}, {}s after the fetch", at.as_secs());
        assert_ok(&send(&app, &issuer.token().sign()).await, &context);
        assert_no_jwks_fetch(&issuer, 1, &context).await;
    }

    let due = lifetime - REFRESH_AHEAD;
    clock.set(start + due);
    assert_ok(&send(&app, &issuer.token().sign()).await, "refresh due");
    wait_until(
        WAIT_LIMIT,
        &format!(
            "a background refresh {}s after the fetch with {cache_control:?}",
            due.as_secs()
        ),
        || issuer.jwks_fetches() >= 2,
    )
    .await;
    assert_eq!(issuer.jwks_fetches(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_control_max_age_sets_the_key_set_lifetime() {
    assert_key_set_lifetime("public, max-age=3600", Duration::from_secs(3600)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_max_age_is_clamped_up_to_five_minutes() {
    assert_key_set_lifetime("max-age=10", Duration::from_secs(5 * 60)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_store_counts_as_the_five_minute_minimum() {
    assert_key_set_lifetime("no-store", Duration::from_secs(5 * 60)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_max_age_is_clamped_down_to_24_hours() {
    assert_key_set_lifetime("max-age=999999999", Duration::from_secs(24 * 60 * 60)).await;
}

// ---------------------------------------------------------------------------------------------
// Transport rules
// ---------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_redirect_is_not_followed_and_gives_503() {
    let (clock, issuer) = clocked_issuer().await;
    issuer.set_redirect_jwks(true);
    let validator = validator_for(&issuer, &clock);
    let app = app(validator.clone());

    assert_unavailable(&send(&app, &issuer.token().sign()).await, "redirected JWKS");
    assert_eq!(
        issuer.jwks_fetches(),
        1,
        "the 302 (pointing at /jwks again) must not be followed"
    );
    assert!(validator.ready().await.is_err());

    clock.advance(PAST_COOLDOWN);
    assert_unavailable(&send(&app, &issuer.token().sign()).await, "second attempt");
    assert_eq!(issuer.jwks_fetches(), 2, "one hit per attempt");

    // Control: the same issuer without the redirect works.
    issuer.set_redirect_jwks(false);
    clock.advance(PAST_COOLDOWN);
    assert_ok(&send(&app, &issuer.token().sign()).await, "redirect off");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_over_64_kib_is_refused_with_503() {
    let (clock, issuer) = clocked_issuer().await;
    let jwk = issuer.public_jwk(Algorithm::ES256).unwrap();
    issuer.set_jwks_body(Some(jwks_padded_to(&[jwk], MAX_DOCUMENT_BYTES + 1)));
    let validator = validator_for(&issuer, &clock);
    let app = app(validator.clone());

    let token = issuer.token().algorithm(Algorithm::ES256).sign();
    assert_unavailable(&send(&app, &token).await, "JWKS one byte over the cap");
    assert_eq!(issuer.jwks_fetches(), 1);
    assert!(validator.ready().await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_just_under_64_kib_is_accepted() {
    let (clock, issuer) = clocked_issuer().await;
    let jwk = issuer.public_jwk(Algorithm::ES256).unwrap();
    issuer.set_jwks_body(Some(jwks_padded_to(&[jwk], MAX_DOCUMENT_BYTES - 1)));
    let app = app(validator_for(&issuer, &clock));

    let token = issuer.token().algorithm(Algorithm::ES256).sign();
    assert_ok(&send(&app, &token).await, "JWKS one byte under the cap");
    assert_eq!(issuer.jwks_fetches(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_jwks_members_are_skipped_and_the_real_keys_verify() {
    let (clock, issuer) = clocked_issuer().await;
    let rs = issuer.public_jwk(Algorithm::RS256).unwrap();
    let es = issuer.public_jwk(Algorithm::ES256).unwrap();
    let ed = issuer.public_jwk(Algorithm::EdDSA).unwrap();
    let ps = issuer.public_jwk(Algorithm::PS256).unwrap();
    let es_x = URL_SAFE_NO_PAD.decode(es["x"].as_str().unwrap()).unwrap();

    // Each bad member that is a real key in disguise carries its own kid: a token naming it
    // would verify if the member had been used.
    let garbage = vec![
        json!({"kty": "oct", "kid": "hmac", "alg": "HS256", "k": b64([7u8; 32])}),
        altered(&ed, &[("kid", json!(123))]),
        altered(&rs, &[("kid", json!("rs-enc")), ("use", json!("enc"))]),
        altered(
            &es,
            &[
                ("kid", json!("es-encrypt")),
                ("key_ops", json!(["encrypt"])),
            ],
        ),
        json!({"kty": "RSA", "kid": "rsa-1024", "alg": "RS256", "use": "sig",
               "n": b64([0xC5u8; 128]), "e": "AQAB"}),
        altered(
            &es,
            &[("kid", json!("ec-short")), ("x", json!(b64(&es_x[1..])))],
        ),
        altered(&ed, &[("kid", json!("okp-no-kty")), ("kty", Value::Null)]),
        json!("not a key"),
    ];
    let mut keys = garbage;
    keys.extend([rs, es, ed, ps]);
    issuer.set_jwks_body(Some(json!({ "keys": keys }).to_string().into_bytes()));
    let app = app(validator_for(&issuer, &clock));

    for algorithm in TEST_ALGORITHMS {
        let token = issuer.token().algorithm(algorithm).sign();
        assert_ok(
            &send(&app, &token).await,
            &format!("real {algorithm:?} key"),
        );
    }
    for (algorithm, kid) in [
        (Algorithm::EdDSA, "123"),
        (Algorithm::RS256, "rs-enc"),
        (Algorithm::ES256, "es-encrypt"),
        (Algorithm::RS256, "rsa-1024"),
        (Algorithm::ES256, "ec-short"),
        (Algorithm::EdDSA, "okp-no-kty"),
    ] {
        let token = token_with_kid(&issuer, algorithm, kid);
        let reply = send(&app, &token).await;
        assert_ne!(
            reply.status,
            StatusCode::OK,
            "skipped member {kid:?} was used"
        );
        reply.assert_invalid_token(ErrorKind::UnknownKey);
    }
    assert_eq!(issuer.jwks_fetches(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_with_zero_usable_keys_is_a_failed_fetch() {
    let (clock, issuer) = clocked_issuer().await;
    let unusable = [
        json!({ "keys": [] }),
        json!({ "keys": [
            {"kty": "oct", "kid": "hmac", "k": b64([7u8; 32])},
            {"kty": "RSA", "kid": "rsa-1024", "n": b64([0xC5u8; 128]), "e": "AQAB"},
        ] }),
    ];
    for (index, document) in unusable.iter().enumerate() {
        issuer.set_jwks_body(Some(document.to_string().into_bytes()));
        let validator = validator_for(&issuer, &clock);
        let token = issuer.token().sign();
        assert_unavailable(
            &send(&app(validator.clone()), &token).await,
            &format!("document {index}"),
        );
        assert_eq!(issuer.jwks_fetches(), index + 1);
        assert!(
            validator.ready().await.is_err(),
            "document {index}: ready() with no usable key"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refetch_with_zero_usable_keys_keeps_the_previous_set() {
    let (clock, issuer) = clocked_issuer().await;
    let app = app(validator_for(&issuer, &clock));
    assert_ok(&send(&app, &issuer.token().sign()).await, "keys fetched");
    assert_eq!(issuer.jwks_fetches(), 1);

    issuer.set_jwks_body(Some(br#"{"keys":[]}"#.to_vec()));
    clock.advance(PAST_COOLDOWN);
    // An unknown kid makes the validator refetch; the empty set it gets is a failure.
    send(
        &app,
        &token_with_kid(&issuer, Algorithm::RS256, &random_kid()),
    )
    .await
    .assert_invalid_token(ErrorKind::UnknownKey);
    assert_eq!(issuer.jwks_fetches(), 2);
    for algorithm in TEST_ALGORITHMS {
        let token = issuer.token().algorithm(algorithm).sign();
        assert_ok(
            &send(&app, &token).await,
            &format!("{algorithm:?} after the empty refetch"),
        );
    }
    assert_eq!(issuer.jwks_fetches(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_naming_another_issuer_makes_keys_unusable() {
    let (clock, issuer) = clocked_issuer().await;
    let ours = issuer.issuer().to_owned();
    let others = [
        format!("{ours}/"),
        ours.replace("127.0.0.1", "localhost"),
        "https://evil.example".to_owned(),
    ];
    for other in &others {
        issuer.set_discovery_issuer(Some(other));
        let validator = validator_for(&issuer, &clock);
        let token = issuer.token().sign();
        assert_unavailable(&send(&app(validator.clone()), &token).await, other);
        assert!(validator.ready().await.is_err(), "{other}");
    }
    assert_eq!(issuer.discovery_fetches(), others.len());
    assert_eq!(
        issuer.jwks_fetches(),
        0,
        "keys must not be fetched from a document naming another issuer"
    );

    // Control: the identical issuer works.
    issuer.set_discovery_issuer(None);
    let app = app(validator_for(&issuer, &clock));
    assert_ok(&send(&app, &issuer.token().sign()).await, "matching issuer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_answering_503_at_first_fetch_gives_503() {
    let (clock, issuer) = clocked_issuer().await;
    issuer.set_down(true);
    let validator = issuer
        .validator()
        .jwks_url(issuer.jwks_url())
        .clock(clock.clone())
        .build()
        .unwrap();
    let token = issuer.token().sign();
    assert_unavailable(&send(&app(validator.clone()), &token).await, "JWKS 503");
    assert_eq!(
        refusal(&validator, &token).await,
        ErrorKind::KeysUnavailable
    );
    assert_eq!(issuer.jwks_fetches(), 1);
    assert_eq!(issuer.discovery_fetches(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_url_bypasses_discovery() {
    let (clock, issuer) = clocked_issuer().await;
    // Discovery would be unusable: the keys must come from the configured URL alone.
    issuer.set_discovery_issuer(Some("https://evil.example"));
    let validator = issuer
        .validator()
        .jwks_url(issuer.jwks_url())
        .clock(clock.clone())
        .build()
        .unwrap();
    let app = app(validator.clone());
    for algorithm in TEST_ALGORITHMS {
        let token = issuer.token().algorithm(algorithm).sign();
        assert_ok(&send(&app, &token).await, &format!("{algorithm:?}"));
    }
    validator.ready().await.unwrap();
    assert_eq!(issuer.jwks_fetches(), 1);
    assert_eq!(issuer.discovery_fetches(), 0);
}

/// Records every GET and delegates to the real HTTP fetcher.
struct RecordingFetcher {
    inner: ReqwestFetcher,
    calls: Arc<Mutex<Vec<(String, usize)>>>,
}

impl JwksFetcher for RecordingFetcher {
    fn get<'a>(
        &'a self,
        url: &'a http::Uri,
        max_body_bytes: usize,
    ) -> BoxFuture<'a, Result<http::Response<Vec<u8>>, FetchError>> {
        self.calls
            .lock()
            .unwrap()
            .push((url.to_string(), max_body_bytes));
        self.inner.get(url, max_body_bytes)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_fetcher_is_used_instead_of_the_default() {
    let (clock, issuer) = clocked_issuer().await;
    let calls = Arc::new(Mutex::new(Vec::new()));
    let fetcher = RecordingFetcher {
        inner: ReqwestFetcher::new().unwrap(),
        calls: calls.clone(),
    };
    let validator = issuer
        .validator()
        .fetcher(fetcher)
        .clock(clock.clone())
        .build()
        .unwrap();
    let app = app(validator);
    assert_ok(&send(&app, &issuer.token().sign()).await, "custom fetcher");

    let discovery_url = format!("{}/.well-known/openid-configuration", issuer.issuer());
    assert_eq!(
        *calls.lock().unwrap(),
        vec![
            (discovery_url.clone(), MAX_DOCUMENT_BYTES),
            (issuer.jwks_url(), MAX_DOCUMENT_BYTES)
        ]
    );
    // Exactly those two requests reached the issuer: nothing else fetched on the side.
    assert_eq!(issuer.discovery_fetches(), 1);
    assert_eq!(issuer.jwks_fetches(), 1);

    // A refetch for an unknown kid goes through it too, and never carries the kid.
    clock.advance(PAST_COOLDOWN);
    send(
        &app,
        &token_with_kid(&issuer, Algorithm::RS256, "kid-must-not-leak"),
    )
    .await
    .assert_invalid_token(ErrorKind::UnknownKey);
    let calls = calls.lock().unwrap().clone();
    let refetch = &calls[2..];
    // (Discovering again before the JWKS would be allowed; anything else is not.)
    assert!(
        refetch.iter().all(|(url, max)| {
            (*url == discovery_url || *url == issuer.jwks_url()) && *max == MAX_DOCUMENT_BYTES
        }),
        "{calls:?}"
    );
    assert_eq!(
        refetch.last().map(|(url, _)| url.clone()),
        Some(issuer.jwks_url()),
        "{calls:?}"
    );
    assert!(
        !calls
            .iter()
            .any(|(url, _)| url.contains("kid-must-not-leak")),
        "{calls:?}"
    );
    assert_eq!(issuer.jwks_fetches(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_timeout_bounds_the_first_request_when_the_issuer_hangs() {
    let (clock, issuer) = clocked_issuer().await;
    issuer.set_delay(Duration::from_secs(5));
    let validator = issuer
        .validator()
        .fetch_timeout(Duration::from_millis(300))
        .clock(clock.clone())
        .build()
        .unwrap();
    let app = app(validator.clone());
    let token = issuer.token().sign();
    let reply = tokio::time::timeout(WAIT_LIMIT, send(&app, &token))
        .await
        .expect("the first request must give up with the fetch timeout");
    assert_unavailable(&reply, "issuer hanging past the fetch timeout");
    assert_eq!(issuer.discovery_fetches(), 1);
}

// ---------------------------------------------------------------------------------------------
// Dropping things mid-fetch
// ---------------------------------------------------------------------------------------------

/// Names of threads that panicked while the hook below was installed.
static PANICKED_THREADS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Records the name of every panicking thread (then runs the previous hook). Panics inside
/// spawned tasks are otherwise swallowed by the runtime.
fn record_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let name = std::thread::current().name().unwrap_or("").to_owned();
            PANICKED_THREADS
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(name);
            previous(info);
        }));
    });
}

fn panics_on(thread_name: &str) -> Vec<String> {
    PANICKED_THREADS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .iter()
        .filter(|name| name.as_str() == thread_name)
        .cloned()
        .collect()
}

fn runtime(thread_name: &'static str) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(thread_name)
        .enable_all()
        .build()
        .unwrap()
}

/// The real fetcher, raising a flag when dropped (that is, when the key cache is freed).
struct DropFlagFetcher {
    inner: ReqwestFetcher,
    dropped: Arc<AtomicBool>,
}

impl JwksFetcher for DropFlagFetcher {
    fn get<'a>(
        &'a self,
        url: &'a http::Uri,
        max_body_bytes: usize,
    ) -> BoxFuture<'a, Result<http::Response<Vec<u8>>, FetchError>> {
        self.inner.get(url, max_body_bytes)
    }
}

impl Drop for DropFlagFetcher {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

#[test]
fn dropping_the_validator_mid_fetch_neither_panics_nor_leaks_the_cache() {
    const THREADS: &str = "kl-drop-validator";
    record_panics();
    let runtime = runtime(THREADS);
    runtime.block_on(async {
        let issuer = TestIssuer::start().await.unwrap();
        issuer.set_delay(Duration::from_millis(300));
        let dropped = Arc::new(AtomicBool::new(false));
        let validator = issuer
            .validator()
            .fetcher(DropFlagFetcher {
                inner: ReqwestFetcher::new().unwrap(),
                dropped: dropped.clone(),
            })
            .build()
            .unwrap();
        let token = issuer.token().sign();
        let request = tokio::spawn({
            let validator = validator.clone();
            async move { validator.validate(&token).await.map(drop) }
        });
        wait_until(WAIT_LIMIT, "the fetch is in flight", || {
            issuer.discovery_fetches() == 1
        })
        .await;

        // Give up on the request and drop every handle on the validator mid-fetch.
        request.abort();
        let _ = request.await;
        drop(validator);

        wait_until(
            Duration::from_secs(5),
            "the key cache is freed after the validator was dropped",
            || dropped.load(Ordering::SeqCst),
        )
        .await;
    });
    drop(runtime);
    assert_eq!(
        panics_on(THREADS),
        Vec::<String>::new(),
        "a runtime thread panicked"
    );
}

#[test]
fn runtime_shutdown_mid_fetch_does_not_leave_the_fetch_stuck() {
    const THREADS: &str = "kl-shutdown";
    record_panics();
    let clock = ManualClock::starting_now();
    // The issuer lives on its own runtime, which outlives the validator's first runtime.
    let issuer_runtime = runtime(THREADS);
    let issuer = issuer_runtime
        .block_on(TestIssuer::start_with_clock(clock.clone()))
        .unwrap();
    issuer.set_delay(Duration::from_secs(30));
    let validator = issuer.validator().clock(clock.clone()).build().unwrap();

    let first = runtime(THREADS);
    first.block_on(async {
        let token = issuer.token().sign();
        let waiting = validator.clone();
        tokio::spawn(async move {
            let _ = waiting.validate(&token).await;
        });
        wait_until(WAIT_LIMIT, "the fetch is in flight", || {
            issuer.discovery_fetches() == 1
        })
        .await;
    });
    // The fetch task is dropped mid-way.
    drop(first);

    issuer.set_delay(Duration::ZERO);
    clock.advance(PAST_COOLDOWN);
    let second = runtime(THREADS);
    second.block_on(async {
        let token = issuer.token().sign();
        let result = tokio::time::timeout(Duration::from_secs(5), validator.validate(&token))
            .await
            .expect("the cut-off fetch still counts as in flight: requests wait forever");
        assert!(result.is_ok(), "{:?}", result.err());
    });
    assert_eq!(issuer.discovery_fetches(), 2);
    assert_eq!(issuer.jwks_fetches(), 1);

    drop(second);
    drop(validator);
    drop(issuer);
    issuer_runtime.shutdown_background();
    assert_eq!(
        panics_on(THREADS),
        Vec::<String>::new(),
        "a runtime thread panicked"
    );
}

// ---------------------------------------------------------------------------------------------
// Requests racing the end of a fetch
// ---------------------------------------------------------------------------------------------

/// Serves `first` on the first GET and `later` on every other, without any network, so that a
/// fetch completes within microseconds of starting.
struct ScriptedJwks {
    first: Vec<u8>,
    later: Vec<u8>,
    calls: std::sync::atomic::AtomicUsize,
}

impl JwksFetcher for ScriptedJwks {
    fn get<'a>(
        &'a self,
        _url: &'a http::Uri,
        _max_body_bytes: usize,
    ) -> BoxFuture<'a, Result<http::Response<Vec<u8>>, FetchError>> {
        let body = match self.calls.fetch_add(1, Ordering::SeqCst) {
            0 => self.first.clone(),
            _ => self.later.clone(),
        };
        Box::pin(async move { Ok(http::Response::new(body)) })
    }
}

/// What the readers saw over all cycles.
#[derive(Debug, Default)]
struct RaceReport {
    cycles: usize,
    /// Valid tokens answered with anything but 200: status and challenge.
    refused: Vec<String>,
    /// Cycles in which a reader never got its 200.
    stuck: usize,
}

/// Runs up to `cycles` rounds (at most `time_limit` in all). Each round `prepare` builds a
/// validator whose cache will fetch the key of `token` on the next request; several threads
/// then send `token` through the layer in a tight loop, each polling every response once,
/// until each has been answered 200. A first fetch completes while other requests are in the
/// middle of their cache lookup; every answer must be 200 or still pending.
fn race_requests_against_fetch_completion(
    runtime: &tokio::runtime::Runtime,
    prepare: impl Fn() -> Validator,
    token: &str,
    cycles: usize,
    time_limit: Duration,
) -> RaceReport {
    use std::future::Future;
    use std::sync::Barrier;
    use std::task::{Context, Poll, Waker};
    use tower::{Layer, Service};

    const READERS: usize = 6;
    const MAX_CALLS_PER_CYCLE: usize = 200_000;
    let current: Arc<Mutex<Option<Validator>>> = Arc::new(Mutex::new(None));
    let start = Arc::new(Barrier::new(READERS + 1));
    let end = Arc::new(Barrier::new(READERS + 1));
    let stop = Arc::new(AtomicBool::new(false));
    let report = Arc::new(Mutex::new(RaceReport::default()));
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let (current, start, end, stop, report) = (
                current.clone(),
                start.clone(),
                end.clone(),
                stop.clone(),
                report.clone(),
            );
            let authorization = format!("Bearer {token}");
            // Fetches are spawned on the runtime of whoever triggers them.
            let handle = runtime.handle().clone();
            std::thread::spawn(move || {
                let _runtime = handle.enter();
                let mut cx = Context::from_waker(Waker::noop());
                loop {
                    start.wait();
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let validator = current.lock().unwrap().clone().unwrap();
                    let mut service = scopegate::AuthLayer::new(validator).layer(
                        tower::service_fn(|_request: http::Request<()>| async {
                            Ok::<_, std::convert::Infallible>(http::Response::new(()))
                        }),
                    );
                    let mut answered = false;
                    for _ in 0..MAX_CALLS_PER_CYCLE {
                        let request = http::Request::get("/")
                            .header(http::header::AUTHORIZATION, authorization.as_str())
                            .body(())
                            .unwrap();
                        let future = service.call(request);
                        let mut future = std::pin::pin!(future);
                        // Pending: waiting for the fetch; dropped, and the next call looks again.
                        if let Poll::Ready(result) = future.as_mut().poll(&mut cx) {
                            let response = result.unwrap();
                            if response.status() == StatusCode::OK {
                                answered = true;
                                break;
                            }
                            let challenge = response
                                .headers()
                                .get(http::header::WWW_AUTHENTICATE)
                                .and_then(|value| value.to_str().ok())
                                .unwrap_or("")
                                .to_owned();
                            let refusal = format!("{} {challenge}", response.status().as_u16());
                            report.lock().unwrap().refused.push(refusal);
                        }
                    }
                    if !answered {
                        report.lock().unwrap().stuck += 1;
                    }
                    end.wait();
                }
            })
        })
        .collect();

    let began = Instant::now();
    for _ in 0..cycles {
        *current.lock().unwrap() = Some(prepare());
        start.wait();
        end.wait();
        report.lock().unwrap().cycles += 1;
        if began.elapsed() > time_limit {
            break;
        }
    }
    stop.store(true, Ordering::SeqCst);
    start.wait();
    for reader in readers {
        reader.join().unwrap();
    }
    std::mem::take(&mut *report.lock().unwrap())
}

#[test]
fn requests_racing_a_fetch_completion_are_never_refused() {
    const THREADS: &str = "kl-race";
    let runtime = runtime(THREADS);
    let issuer = runtime.block_on(TestIssuer::start()).unwrap();
    let jwks_of = |jwk: Value| json!({ "keys": [jwk] }).to_string().into_bytes();
    let old_jwks = jwks_of(issuer.public_jwk(Algorithm::ES256).unwrap());
    let old_token = issuer.token().algorithm(Algorithm::ES256).sign();
    issuer.rotate_keys().unwrap();
    let new_jwks = jwks_of(issuer.public_jwk(Algorithm::ES256).unwrap());
    let new_token = issuer.token().algorithm(Algorithm::ES256).sign();
    let builder = |first: &[u8], later: &[u8]| {
        issuer
            .validator()
            .jwks_url(issuer.jwks_url())
            .fetcher(ScriptedJwks {
                first: first.to_vec(),
                later: later.to_vec(),
                calls: Default::default(),
            })
    };

    // Cold cache: the first fetch brings the key.
    let cold = race_requests_against_fetch_completion(
        &runtime,
        || builder(&new_jwks, &new_jwks).build().unwrap(),
        &new_token,
        2000,
        Duration::from_secs(8),
    );

    // Rotation: keys cached, cooldown over, the refetch for the new kid brings it.
    let rotation = race_requests_against_fetch_completion(
        &runtime,
        || {
            let clock = ManualClock::starting_now();
            let validator = builder(&old_jwks, &new_jwks)
                .clock(clock.clone())
                .build()
                .unwrap();
            runtime
                .block_on(validator.validate(&old_token))
                .expect("warm-up with the old key");
            clock.advance(PAST_COOLDOWN);
            validator
        },
        &new_token,
        2000,
        Duration::from_secs(8),
    );

    runtime.shutdown_background();
    let mut failures = Vec::new();
    for (scenario, report) in [("cold cache", &cold), ("rotation", &rotation)] {
        assert!(report.cycles > 0);
        if report.stuck > 0 || !report.refused.is_empty() {
            let mut kinds = report.refused.clone();
            kinds.sort();
            kinds.dedup();
            failures.push(format!(
                "{scenario}: {} valid tokens refused (as {kinds:?}) and {} readers \
                 never answered 200, over {} fetches",
                report.refused.len(),
                report.stuck,
                report.cycles
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("; "));
}

// --- a key replaced in place ----------------------------------------------------------------

/// A development issuer that restarts keeps its `kid`s but not their key material. A token
/// signed with the new key fails with the cached one: that may cause one refetch (within the
/// cooldown that limits unknown kids), after which the new key verifies it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_replaced_in_place_verifies_after_one_refetch_within_the_cooldown() {
    let (clock, issuer) = clocked_issuer().await;
    let app = app(validator_for(&issuer, &clock));
    let kid = issuer.kid(Algorithm::RS256).unwrap();
    assert_ok(
        &send(&app, &issuer.token().sign()).await,
        "before the restart",
    );
    assert_eq!(issuer.jwks_fetches(), 1);

    // The restart: new key material, published under the old kid.
    issuer.rotate_keys().unwrap();
    let mut replaced = issuer.public_jwk(Algorithm::RS256).unwrap();
    replaced["kid"] = kid.clone().into();
    issuer.set_jwks_body(Some(json!({"keys": [replaced]}).to_string().into_bytes()));
    let new_token = token_with_kid(&issuer, Algorithm::RS256, &kid);

    // Inside the cooldown: refused at once, no fetch.
    send(&app, &new_token)
        .await
        .assert_invalid_token(ErrorKind::InvalidSignature);
    assert_eq!(issuer.jwks_fetches(), 1);

    clock.advance(PAST_COOLDOWN);
    assert_ok(&send(&app, &new_token).await, "after one refetch");
    assert_eq!(issuer.jwks_fetches(), 2, "exactly one refetch");

    // A forged signature under the same kid right after: refused without another fetch.
    let forged = format!("{}AAAA", &new_token[..new_token.len() - 4]);
    send(&app, &forged)
        .await
        .assert_invalid_token(ErrorKind::InvalidSignature);
    assert_no_jwks_fetch(&issuer, 2, "forged signature inside the cooldown").await;
}

/// RFC 8259 §8.1 lets a parser ignore a byte order mark, and some servers prepend one to the
/// documents they serve: a key set served with one works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_set_served_with_a_byte_order_mark_is_read() {
    let (clock, issuer) = clocked_issuer().await;
    let jwks = json!({"keys": [issuer.public_jwk(Algorithm::RS256).unwrap()]}).to_string();
    issuer.set_jwks_body(Some([&b"\xEF\xBB\xBF"[..], jwks.as_bytes()].concat()));
    let app = app(validator_for(&issuer, &clock));
    assert_ok(&send(&app, &issuer.token().sign()).await, "JWKS with a BOM");
}
