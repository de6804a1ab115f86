//! DPoP (RFC 9449) through the layer, rule by rule: the happy path for every proof key type,
//! each check of §4.3 refused one at a time (with its `ErrorKind` and its exact challenge),
//! replay (sequential, after the window, concurrent), the binding rules between `cnf` and the
//! scheme, the three modes and their challenges, an unavailable replay store, forwarded
//! origins, nested routers, configuration errors, and that no refusal echoes the token or the
//! proof.
//!
//! Tokens are really signed by the in-process issuer on 127.0.0.1 and fetched over HTTP;
//! proofs are really signed by the client keys of `scopegate::testing`, or by a P-256 key of
//! the test's own (`RawEcKey`) where the JSON must be written by hand. Every refusal is asserted
//! with its precise `ErrorKind` (through a renderer that names it), so no test passes because a
//! request was refused for another reason; most refusals have a positive twin.

use crate::common::dpop_kit as kit;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Method, Request, StatusCode};
use kit::{
    ORIGIN, RawEcKey, Renderer, Reply, b64, htu, kind_renderer, read, send, send_bearer, send_dpop,
    sha256_b64, unb64,
};
use scopegate::dpop::{Dpop, ReplayStore, ReplayStoreError};
use scopegate::testing::{DpopKey, ManualClock, TEST_AUDIENCE, TestIssuer};
use scopegate::{
    Algorithm, AuthLayer, Authenticated, BoxFuture, Clock, ErrorKind, OnRejection, ProblemJson,
    RouterExt, SystemClock, scope,
};
use serde_json::{Value, json};
use tower::ServiceExt;

// --- the app and its helpers -----------------------------------------------------------------

/// A fixed point in time for the clocked tests.
const T0: u64 = 1_700_000_000;

/// The proof algorithms the challenge names by default.
const DEFAULT_ALGS: &str = "ES256 ES384 EdDSA Ed25519 RS256 PS256";

/// The subject and the key the token is bound to, as the handler saw them.
async fn whoami(auth: Authenticated) -> String {
    format!(
        "{} {}",
        auth.subject().unwrap_or(""),
        auth.key_thumbprint().unwrap_or("unbound")
    )
}

/// `/me` (GET and POST), `/things/{id}`, and `/rooms/{room}` requiring `read:rooms-in-{room}`.
fn app<R: OnRejection<Body>>(layer: AuthLayer<R>) -> Router {
    Router::new()
        .route("/me", get(whoami).post(whoami))
        .route("/things/{id}", get(whoami))
        .route_requiring("/rooms/{room}", get(whoami), scope!("read:rooms-in-{room}"))
        .layer(layer)
}

async fn start() -> TestIssuer {
    TestIssuer::start().await.unwrap()
}

/// The layer for `issuer` on the public origin, refusals naming their kind; no DPoP yet.
fn layer(issuer: &TestIssuer) -> AuthLayer<Renderer> {
    AuthLayer::new(issuer.validator().build().unwrap())
        .on_rejection(kind_renderer as Renderer)
        .public_origin(ORIGIN)
        .unwrap()
}

fn app_with(issuer: &TestIssuer, dpop: Dpop) -> Router {
    app(layer(issuer).dpop(dpop).unwrap())
}

/// An app accepting both schemes with the default settings.
fn accepted_app(issuer: &TestIssuer) -> Router {
    app_with(issuer, Dpop::accepted())
}

/// An issuer and a layer sharing a manual clock frozen at `T0`.
async fn clocked(dpop: Dpop) -> (TestIssuer, ManualClock, Router) {
    let clock = ManualClock::new(Duration::from_secs(T0));
    let issuer = TestIssuer::start_with_clock(clock.clone()).await.unwrap();
    let validator = issuer.validator().clock(clock.clone()).build().unwrap();
    let layer = AuthLayer::new(validator)
        .on_rejection(kind_renderer as Renderer)
        .public_origin(ORIGIN)
        .unwrap()
        .dpop(dpop)
        .unwrap();
    (issuer, clock, app(layer))
}

fn es256() -> DpopKey {
    DpopKey::generate(Algorithm::ES256).unwrap()
}

/// A token granting `read:rooms-in-r1`, bound to `key`.
fn bound_token(issuer: &TestIssuer, key: &DpopKey) -> String {
    issuer
        .token()
        .scope("read:rooms-in-r1")
        .bound_to(key)
        .sign()
}

/// A valid proof for `method path` carrying `token`'s hash, issued now.
fn proof(key: &DpopKey, method: &str, path: &str, token: &str) -> String {
    key.proof(method, &htu(path)).access_token(token).sign()
}

fn now() -> i64 {
    SystemClock.now().as_secs() as i64
}

/// The claims of a valid proof for `GET path`, as JSON text, for hand-written proofs.
fn claims_json(path: &str, token: &str, jti: &str) -> String {
    json!({
        "jti": jti,
        "htm": "GET",
        "htu": htu(path),
        "iat": now(),
        "ath": sha256_b64(token),
    })
    .to_string()
}

// --- expected challenges -----------------------------------------------------------------------

/// `error="<code>", error_description="<kind's description>"`.
fn error(code: &str, kind: ErrorKind) -> String {
    format!(
        r#"error="{code}", error_description="{}""#,
        kind.description()
    )
}

fn bearer_challenge(error: Option<&str>) -> String {
    match error {
        None => format!(r#"Bearer realm="{TEST_AUDIENCE}""#),
        Some(error) => format!(r#"Bearer realm="{TEST_AUDIENCE}", {error}"#),
    }
}

fn dpop_challenge_with(error: Option<&str>, algs: &str) -> String {
    match error {
        None => format!(r#"DPoP realm="{TEST_AUDIENCE}", algs="{algs}""#),
        Some(error) => format!(r#"DPoP realm="{TEST_AUDIENCE}", {error}, algs="{algs}""#),
    }
}

fn dpop_challenge(error: Option<&str>) -> String {
    dpop_challenge_with(error, DEFAULT_ALGS)
}

/// Both challenges, as a layer accepting both schemes sends them.
fn both(bearer_error: Option<&str>, dpop_error: Option<&str>) -> String {
    format!(
        "{}, {}",
        bearer_challenge(bearer_error),
        dpop_challenge(dpop_error)
    )
}

#[track_caller]
fn assert_accepted(reply: &Reply, key: &DpopKey) {
    assert_eq!(
        reply.status,
        StatusCode::OK,
        "{} / {}",
        reply.kind(),
        reply.challenge()
    );
    assert_eq!(reply.body, format!("user-1 {}", key.thumbprint()));
}

#[track_caller]
fn assert_kind(reply: &Reply, status: StatusCode, kind: ErrorKind) {
    assert_eq!(
        (reply.status, reply.kind()),
        (status, format!("{kind:?}").as_str()),
        "{}",
        reply.challenge()
    );
}

/// 401 `invalid_dpop_proof` for `kind`, on the DPoP challenge only (both schemes accepted).
#[track_caller]
fn assert_proof_refused(reply: &Reply, kind: ErrorKind) {
    assert_kind(reply, StatusCode::UNAUTHORIZED, kind);
    let error = error("invalid_dpop_proof", kind);
    assert_eq!(reply.challenge(), both(None, Some(&error)));
    assert_eq!(reply.challenge_count(), 1);
}

/// 401 `invalid_token` for `kind` on the DPoP challenge (a DPoP request, both schemes accepted).
#[track_caller]
fn assert_dpop_token_refused(reply: &Reply, kind: ErrorKind) {
    assert_kind(reply, StatusCode::UNAUTHORIZED, kind);
    let error = error("invalid_token", kind);
    assert_eq!(reply.challenge(), both(None, Some(&error)));
}

/// 401 `invalid_token` for `kind` on the Bearer challenge (a Bearer request, both accepted).
#[track_caller]
fn assert_bearer_token_refused(reply: &Reply, kind: ErrorKind) {
    assert_kind(reply, StatusCode::UNAUTHORIZED, kind);
    let error = error("invalid_token", kind);
    assert_eq!(reply.challenge(), both(Some(&error), None));
}

// --- 1. the happy path -------------------------------------------------------------------------

#[tokio::test]
async fn a_valid_proof_is_accepted_for_every_key_type() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    for algorithm in [
        Algorithm::ES256,
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::EdDSA,
    ] {
        let key = DpopKey::generate(algorithm).unwrap();
        assert_eq!(key.thumbprint().len(), 43, "{algorithm:?}");
        let token = bound_token(&issuer, &key);
        let proof = proof(&key, "GET", "/me", &token);
        let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
        assert_accepted(&reply, &key);
    }
}

#[tokio::test]
async fn the_fully_specified_ed25519_alg_name_is_accepted() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let key = DpopKey::generate(Algorithm::EdDSA).unwrap();
    let token = bound_token(&issuer, &key);
    let proof = key
        .proof("GET", &htu("/me"))
        .access_token(&token)
        .header("alg", "Ed25519")
        .sign();
    let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
    assert_accepted(&reply, &key);
}

#[tokio::test]
async fn a_post_proof_is_accepted_on_a_post() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let key = es256();
    let token = bound_token(&issuer, &key);
    let proof = proof(&key, "POST", "/me", &token);
    let reply = send_dpop(&app, Method::POST, "/me", &token, &proof).await;
    assert_accepted(&reply, &key);
}

#[tokio::test]
async fn the_dpop_scheme_name_is_case_insensitive() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let key = es256();
    let token = bound_token(&issuer, &key);
    for scheme in ["DPoP", "dpop", "DPOP"] {
        let proof = proof(&key, "GET", "/me", &token);
        let authorization = format!("{scheme} {token}");
        let reply = send(
            &app,
            Method::GET,
            "/me",
            &[("authorization", &authorization), ("dpop", &proof)],
        )
        .await;
        assert_accepted(&reply, &key);
    }
}

/// The kit's thumbprints are RFC 7638 ones, computed here from the public JWK independently.
#[tokio::test]
async fn test_kit_thumbprints_follow_rfc_7638() {
    for algorithm in [
        Algorithm::ES256,
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::EdDSA,
    ] {
        let key = DpopKey::generate(algorithm).unwrap();
        let jwk = key.jwk();
        assert!(jwk.get("d").is_none(), "{algorithm:?}: private member");
        let member = |name: &str| jwk[name].as_str().unwrap().to_owned();
        let canonical = match member("kty").as_str() {
            "EC" => format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                member("crv"),
                member("x"),
                member("y")
            ),
            "RSA" => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                member("e"),
                member("n")
            ),
            "OKP" => format!(
                r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#,
                member("crv"),
                member("x")
            ),
            other => panic!("unexpected kty {other}"),
        };
        assert_eq!(key.thumbprint(), sha256_b64(canonical), "{algorithm:?}");
    }
}

/// The positive twin of every hand-written proof below: the raw signer and its thumbprint
/// are right, so a refusal of a hand-written proof is the fault put into it.
#[tokio::test]
async fn a_hand_written_proof_is_accepted() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let key = RawEcKey::generate();
    let token = issuer
        .token()
        .claim("cnf", json!({ "jkt": key.thumbprint() }))
        .sign();
    let proof = key.sign(&key.header(), &claims_json("/me", &token, "raw-1"));
    let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.challenge());
    assert_eq!(reply.body, format!("user-1 {}", key.thumbprint()));
}

// --- 2. each check of RFC 9449 §4.3 ------------------------------------------------------------

#[tokio::test]
async fn a_dpop_request_without_a_proof_is_refused() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let key = es256();
    let token = bound_token(&issuer, &key);
    let authorization = format!("DPoP {token}");
    let reply = send(
        &app,
        Method::GET,
        "/me",
        &[("authorization", &authorization)],
    )
    .await;
    assert_proof_refused(&reply, ErrorKind::MissingDpopProof);
}

#[tokio::test]
async fn two_proof_headers_are_invalid_request() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let key = es256();
    let token = bound_token(&issuer, &key);
    let first = proof(&key, "GET", "/me", &token);
    let second = proof(&key, "GET", "/me", &token);
    let authorization = format!("DPoP {token}");
    // Two valid proofs, and the same one twice: either way the header is repeated.
    for (a, b) in [(&first, &second), (&first, &first)] {
        let reply = send(
            &app,
            Method::GET,
            "/me",
            &[("authorization", &authorization), ("dpop", a), ("dpop", b)],
        )
        .await;
        assert_kind(
            &reply,
            StatusCode::BAD_REQUEST,
            ErrorKind::MultipleDpopProofs,
        );
        let error = error("invalid_request", ErrorKind::MultipleDpopProofs);
        assert_eq!(reply.challenge(), both(None, Some(&error)));
    }
    // Neither proof was recorded: the first is still good on its own.
    let reply = send_dpop(&app, Method::GET, "/me", &token, &first).await;
    assert_accepted(&reply, &key);
}

#[tokio::test]
async fn a_proof_that_is_not_a_compact_jws_is_refused() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let key = es256();
    let token = bound_token(&issuer, &key);
    let good = proof(&key, "GET", "/me", &token);
    let segments: Vec<&str> = good.split('.').collect();
    let raw = RawEcKey::generate();
    let cases = [
        ("empty", String::new()),
        ("one word", "not-a-jws".to_owned()),
        ("two segments", format!("{}.{}", segments[0], segments[1])),
        ("four segments", format!("{good}.{}", segments[2])),
        (
            "a character outside base64url",
            format!("{}*.{}.{}", segments[0], segments[1], segments[2]),
        ),
        (
            "padding",
            format!("{}=.{}.{}", segments[0], segments[1], segments[2]),
        ),
        ("a JWE", format!("{good}.{}.{}", segments[1], segments[2])),
        (
            "a header that is not JSON",
            format!("{}.{}.{}", b64("not json"), segments[1], segments[2]),
        ),
        (
            "a header that is an array",
            format!("{}.{}.{}", b64("[]"), segments[1], segments[2]),
        ),
        // Signed, so only the claims' syntax is at fault.
        (
            "claims that are not JSON",
            raw.sign(&raw.header(), "not json"),
        ),
        ("claims that are an array", raw.sign(&raw.header(), "[1,2]")),
        // Longer than the 8 KiB cap, however well formed.
        (
            "over the size cap",
            key.proof("GET", &htu("/me"))
                .access_token(&token)
                .claim("pad", "x".repeat(9000))
                .sign(),
        ),
        ("bytes outside ASCII", format!("{good}\u{e9}")),
    ];
    for (case, proof) in cases {
        let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
        assert_eq!(reply.kind(), "MalformedDpopProof", "{case}");
        assert_proof_refused(&reply, ErrorKind::MalformedDpopProof);
    }
}

#[tokio::test]
async fn a_proof_without_the_dpop_jwt_type_is_refused() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let key = es256();
    let token = bound_token(&issuer, &key);
    for typ in [
        Some(json!("jwt")),
        Some(json!("JWT")),
        Some(json!("at+jwt")),
        Some(json!("dpop")),
        Some(json!("dpop+jwt ")),
        Some(json!(["dpop+jwt"])),
        Some(json!(7)),
        None,
    ] {
        let builder = key.proof("GET", &htu("/me")).access_token(&token);
        let proof = match &typ {
            Some(typ) => builder.header("typ", typ.clone()),
            None => builder.without_header("typ"),
        }
        .sign();
        let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
        assert_eq!(reply.kind(), "MalformedDpopProof", "typ {typ:?}");
        assert_proof_refused(&reply, ErrorKind::MalformedDpopProof);
    }
    // Positive twins: a media type is case-insensitive and may carry its `application/` prefix.
    for typ in ["application/dpop+jwt", "DPoP+JWT"] {
        let proof = key
            .proof("GET", &htu("/me"))
            .access_token(&token)
            .header("typ", typ)
            .sign();
        let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
        assert_accepted(&reply, &key);
    }
}

#[tokio::test]
async fn none_missing_or_unknown_algorithms_are_refused() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let key = es256();
    let token = bound_token(&issuer, &key);
    for alg in [
        Some(json!("none")),
        Some(json!("None")),
        Some(json!("es256")),
        Some(json!("ES512")),
        Some(json!("ed25519")),
        Some(json!(["ES256"])),
        None,
    ] {
        let builder = key.proof("GET", &htu("/me")).access_token(&token);
        let proof = match &alg {
            Some(alg) => builder.header("alg", alg.clone()),
            None => builder.without_header("alg"),
        }
        .sign();
        let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
        assert_eq!(reply.kind(), "DpopAlgorithmNotAllowed", "alg {alg:?}");
        assert_proof_refused(&reply, ErrorKind::DpopAlgorithmNotAllowed);
    }
    // `alg: none` with the empty signature an unsecured JWS has.
    let unsecured = key
        .proof("GET", &htu("/me"))
        .access_token(&token)
        .header("alg", "none")
        .sign();
    // An empty segment is no compact JWS: refused before the algorithm is read.
    let (signing_input, _) = unsecured.rsplit_once('.').unwrap();
    let reply = send_dpop(
        &app,
        Method::GET,
        "/me",
        &token,
        &format!("{signing_input}."),
    )
    .await;
    assert_proof_refused(&reply, ErrorKind::MalformedDpopProof);
}

#[tokio::test]
async fn an_hmac_proof_is_refused() {
    use aws_lc_rs::hmac;
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let secret = b"a secret both sides would share!";
    let oct = json!({ "kty": "oct", "k": b64(secret) });
    let ec = RawEcKey::generate();
    let ec_jwk: Value = serde_json::from_str(&ec.jwk_json()).unwrap();
    for (jkt, jwk) in [
        (
            sha256_b64(format!(r#"{{"k":"{}","kty":"oct"}}"#, b64(secret))),
            oct,
        ),
        (ec.thumbprint(), ec_jwk),
    ] {
        let token = issuer.token().claim("cnf", json!({ "jkt": jkt })).sign();
        let header = json!({ "typ": "dpop+jwt", "alg": "HS256", "jwk": jwk }).to_string();
        let signing_input = format!("{}.{}", b64(header), b64(claims_json("/me", &token, "h")));
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, secret),
            signing_input.as_bytes(),
        );
        let proof = format!("{signing_input}.{}", b64(tag.as_ref()));
        let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
        assert_proof_refused(&reply, ErrorKind::DpopAlgorithmNotAllowed);
    }
}

#[tokio::test]
async fn an_algorithm_outside_the_configured_allowlist_is_refused() {
    let issuer = start().await;
    let dpop = Dpop::accepted().algorithms([Algorithm::ES256]).unwrap();
    let app = app_with(&issuer, dpop);
    let expected = |error: &str| {
        format!(
            "{}, {}",
            bearer_challenge(None),
            dpop_challenge_with(Some(error), "ES256")
        )
    };
    for algorithm in [Algorithm::RS256, Algorithm::PS256, Algorithm::EdDSA] {
        let key = DpopKey::generate(algorithm).unwrap();
        let token = bound_token(&issuer, &key);
        let proof = proof(&key, "GET", "/me", &token);
        let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
        assert_kind(
            &reply,
            StatusCode::UNAUTHORIZED,
            ErrorKind::DpopAlgorithmNotAllowed,
        );
        let error = error("invalid_dpop_proof", ErrorKind::DpopAlgorithmNotAllowed);
        assert_eq!(reply.challenge(), expected(&error), "{algorithm:?}");
    }
    // `Ed25519` names EdDSA, so it is outside the list too.
    let key = DpopKey::generate(Algorithm::EdDSA).unwrap();
    let token = bound_token(&issuer, &key);
    let ed25519 = key
        .proof("GET", &htu("/me"))
        .access_token(&token)
        .header("alg", "Ed25519")
        .sign();
    let reply = send_dpop(&app, Method::GET, "/me", &token, &ed25519).await;
    assert_kind(
        &reply,
        StatusCode::UNAUTHORIZED,
        ErrorKind::DpopAlgorithmNotAllowed,
    );
    // Positive twin: the listed algorithm.
    let key = es256();
    let token = bound_token(&issuer, &key);
    let proof = proof(&key, "GET", "/me", &token);
    let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
    assert_accepted(&reply, &key);
}

/// A key may describe itself, as long as what it says allows this use: its own `alg` the
/// proof's, `use` `sig`, `key_ops` with `verify` (the negative cases are in the test below).
#[tokio::test]
async fn an_embedded_key_that_describes_itself_consistently_is_accepted() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let key = es256();
    let mut jwk = key.jwk().clone();
    jwk["alg"] = json!("ES256");
    jwk["use"] = json!("sig");
    jwk["key_ops"] = json!(["verify"]);
    let token = bound_token(&issuer, &key);
    let proof = key
        .proof("GET", &htu("/me"))
        .access_token(&token)
        .header("jwk", jwk)
        .sign();
    let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
    assert_accepted(&reply, &key);
}

#[tokio::test]
async fn a_missing_or_unusable_embedded_key_is_refused() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let ec = es256();
    let rsa = DpopKey::generate(Algorithm::RS256).unwrap();
    let ed = DpopKey::generate(Algorithm::EdDSA).unwrap();
    let with = |key: &DpopKey, name: &str, value: Value| {
        let mut jwk = key.jwk().clone();
        jwk[name] = value;
        jwk
    };
    // An RSA modulus of 1024 bits: the first half of a 2048-bit one (its top bit is set).
    let short_n = b64(&unb64(rsa.jwk()["n"].as_str().unwrap())[..128]);
    // (key that signs, header alg, jwk member or None to drop it, case)
    let cases: Vec<(&DpopKey, &str, Option<Value>, &str)> = vec![
        (&ec, "ES256", None, "no jwk"),
        (
            &ec,
            "ES256",
            Some(with(&ec, "alg", json!("RS256"))),
            "its own alg another",
        ),
        (
            &ec,
            "ES256",
            Some(with(&ec, "use", json!("enc"))),
            "use enc",
        ),
        (
            &ec,
            "ES256",
            Some(with(&ec, "key_ops", json!(["sign"]))),
            "key_ops without verify",
        ),
        (&ec, "ES256", Some(json!("a key")), "a string"),
        (&ec, "ES256", Some(json!([ec.jwk()])), "an array"),
        (&ec, "ES256", Some(Value::Null), "null"),
        (
            &ec,
            "ES256",
            Some(with(&ec, "d", json!(b64([7u8; 32])))),
            "EC with d",
        ),
        (
            &rsa,
            "RS256",
            Some(with(&rsa, "d", json!(b64([7u8; 256])))),
            "RSA with d",
        ),
        (
            &rsa,
            "RS256",
            Some(with(&rsa, "p", json!(b64([7u8; 128])))),
            "RSA with p",
        ),
        (
            &ed,
            "EdDSA",
            Some(with(&ed, "d", json!(b64([7u8; 32])))),
            "OKP with d",
        ),
        (
            &ec,
            "ES256",
            Some(json!({ "kty": "oct", "k": b64(b"0123456789abcdef") })),
            "oct",
        ),
        (
            &rsa,
            "RS256",
            Some(with(&rsa, "n", json!(short_n))),
            "RSA of 1024 bits",
        ),
        (&ec, "RS256", Some(ec.jwk().clone()), "an EC key with RS256"),
        (
            &rsa,
            "ES256",
            Some(rsa.jwk().clone()),
            "an RSA key with ES256",
        ),
        (
            &ed,
            "ES256",
            Some(ed.jwk().clone()),
            "an OKP key with ES256",
        ),
        (&ec, "EdDSA", Some(ec.jwk().clone()), "an EC key with EdDSA"),
        (
            &ec,
            "ES384",
            Some(ec.jwk().clone()),
            "a P-256 key with ES384",
        ),
        (
            &ec,
            "ES256",
            Some(with(&ec, "crv", json!("P-384"))),
            "a P-256 key named P-384",
        ),
        (
            &ec,
            "ES256",
            Some(with(&ec, "kty", json!("RSA"))),
            "EC members under kty RSA",
        ),
        (&ec, "ES256", Some(with(&ec, "y", Value::Null)), "no y"),
        (
            &ec,
            "ES256",
            Some(with(&ec, "x", json!("not base64!"))),
            "x not base64url",
        ),
    ];
    for (key, alg, jwk, case) in cases {
        let token = bound_token(&issuer, key);
        let builder = key
            .proof("GET", &htu("/me"))
            .access_token(&token)
            .header("alg", alg);
        let proof = match jwk {
            Some(jwk) => builder.header("jwk", jwk),
            None => builder.without_header("jwk"),
        }
        .sign();
        let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
        assert_eq!(reply.kind(), "InvalidDpopKey", "{case}");
        assert_proof_refused(&reply, ErrorKind::InvalidDpopKey);
    }
}

#[tokio::test]
async fn a_repeated_member_is_refused() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let key = RawEcKey::generate();
    let token = issuer
        .token()
        .claim("cnf", json!({ "jkt": key.thumbprint() }))
        .sign();
    let jwk = key.jwk_json();
    let claims = claims_json("/me", &token, "dup-1");
    let header_twice = format!(r#"{{"typ":"dpop+jwt","alg":"ES256","alg":"ES256","jwk":{jwk}}}"#);
    let typ_twice = format!(r#"{{"typ":"dpop+jwt","typ":"jwt","alg":"ES256","jwk":{jwk}}}"#);
    let jwk_twice = format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{jwk},"jwk":{jwk}}}"#);
    for header in [header_twice, typ_twice, jwk_twice] {
        let reply = send_dpop(
            &app,
            Method::GET,
            "/me",
            &token,
            &key.sign(&header, &claims),
        )
        .await;
        assert_proof_refused(&reply, ErrorKind::MalformedDpopProof);
    }
    // A member repeated inside the embedded key.
    let inner = jwk.replacen(r#""kty":"EC""#, r#""kty":"EC","kty":"EC""#, 1);
    let header = format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{inner}}}"#);
    let reply = send_dpop(
        &app,
        Method::GET,
        "/me",
        &token,
        &key.sign(&header, &claims),
    )
    .await;
    assert_proof_refused(&reply, ErrorKind::InvalidDpopKey);
    // A claim repeated, once with each value, and once with the same value.
    let ath = sha256_b64(&token);
    let now = now();
    for claims in [
        format!(
            r#"{{"jti":"dup-2","htm":"POST","htm":"GET","htu":"{}","iat":{now},"ath":"{ath}"}}"#,
            htu("/me")
        ),
        format!(
            r#"{{"jti":"dup-3","jti":"dup-3","htm":"GET","htu":"{}","iat":{now},"ath":"{ath}"}}"#,
            htu("/me")
        ),
        format!(
            r#"{{"jti":"dup-4","htm":"GET","htu":"{}","iat":{now},"iat":{now},"ath":"{ath}"}}"#,
            htu("/me")
        ),
    ] {
        let reply = send_dpop(
            &app,
            Method::GET,
            "/me",
            &token,
            &key.sign(&key.header(), &claims),
        )
        .await;
        assert_proof_refused(&reply, ErrorKind::MalformedDpopProof);
    }
}

#[tokio::test]
async fn a_crit_header_is_refused() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let key = es256();
    let token = bound_token(&issuer, &key);
    for crit in [json!(["exp"]), json!([]), json!("exp"), Value::Null] {
        let proof = key
            .proof("GET", &htu("/me"))
            .access_token(&token)
            .header("crit", crit.clone())
            .sign();
        let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
        assert_eq!(reply.kind(), "MalformedDpopProof", "crit {crit}");
        assert_proof_refused(&reply, ErrorKind::MalformedDpopProof);
    }
}

#[tokio::test]
async fn a_bad_signature_is_refused() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    for algorithm in [Algorithm::ES256, Algorithm::RS256, Algorithm::EdDSA] {
        let key = DpopKey::generate(algorithm).unwrap();
        let token = bound_token(&issuer, &key);
        let good = proof(&key, "GET", "/me", &token);
        let (signing_input, signature) = good.rsplit_once('.').unwrap();
        let mut flipped = unb64(signature);
        flipped[10] ^= 0x01;
        let other = proof(&key, "GET", "/things/a", &token);
        let (_, other_signature) = other.rsplit_once('.').unwrap();
        // The same claims signed by another key, while the header names this one.
        let impostor = DpopKey::generate(algorithm).unwrap();
        let signed_by_another = impostor
            .proof("GET", &htu("/me"))
            .access_token(&token)
            .header("jwk", key.jwk().clone())
            .sign();
        for (case, proof) in [
            (
                "a flipped bit",
                format!("{signing_input}.{}", b64(&flipped)),
            ),
            (
                "another proof's signature",
                format!("{signing_input}.{other_signature}"),
            ),
            ("signed by another key", signed_by_another),
        ] {
            let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
            assert_eq!(
                reply.kind(),
                "InvalidDpopSignature",
                "{algorithm:?}: {case}"
            );
            assert_proof_refused(&reply, ErrorKind::InvalidDpopSignature);
        }
        // Positive twin: the untouched proof.
        let reply = send_dpop(&app, Method::GET, "/me", &token, &good).await;
        assert_accepted(&reply, &key);
    }
}

#[tokio::test]
async fn an_empty_or_wrong_length_signature_is_refused() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let key = es256();
    let token = bound_token(&issuer, &key);
    let good = proof(&key, "GET", "/me", &token);
    let (signing_input, signature) = good.rsplit_once('.').unwrap();
    // An empty signature segment: no compact JWS.
    let reply = send_dpop(
        &app,
        Method::GET,
        "/me",
        &token,
        &format!("{signing_input}."),
    )
    .await;
    assert_proof_refused(&reply, ErrorKind::MalformedDpopProof);
    // A signature of the wrong length (63 bytes, or 65) for ES256.
    let bytes = unb64(signature);
    let longer = [bytes.as_slice(), &[0]].concat();
    for wrong in [&bytes[..63], longer.as_slice()] {
        let proof = format!("{signing_input}.{}", b64(wrong));
        let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
        assert_proof_refused(&reply, ErrorKind::InvalidDpopSignature);
    }
}

#[tokio::test]
async fn each_required_claim_missing_is_refused() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let key = es256();
    let token = bound_token(&issuer, &key);
    for claim in ["jti", "htm", "htu", "iat", "ath"] {
        let proof = key
            .proof("GET", &htu("/me"))
            .access_token(&token)
            .without_claim(claim)
            .sign();
        let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
        assert_eq!(reply.kind(), "MalformedDpopProof", "without {claim}");
        assert_proof_refused(&reply, ErrorKind::MalformedDpopProof);
    }
}

#[tokio::test]
async fn each_claim_of_the_wrong_type_is_refused() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let key = es256();
    let token = bound_token(&issuer, &key);
    let cases = [
        ("jti", json!(7)),
        ("jti", json!("")),
        ("jti", json!(["a"])),
        ("jti", Value::Null),
        ("jti", json!("j".repeat(257))),
        ("htm", json!(["GET"])),
        ("htm", json!(1)),
        ("htm", json!("")),
        ("htu", json!({ "href": htu("/me") })),
        ("htu", json!("")),
        ("htu", Value::Null),
        ("iat", json!(now().to_string())),
        ("iat", json!(true)),
        ("iat", Value::Null),
        ("iat", json!([now()])),
        ("ath", json!(5)),
        ("ath", json!("")),
        ("ath", json!([sha256_b64(&token)])),
    ];
    for (claim, value) in cases {
        let proof = key
            .proof("GET", &htu("/me"))
            .access_token(&token)
            .claim(claim, value.clone())
            .sign();
        let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
        assert_eq!(reply.kind(), "MalformedDpopProof", "{claim}: {value}");
        assert_proof_refused(&reply, ErrorKind::MalformedDpopProof);
    }
    // Positive twin: a `jti` of 256 bytes is as long as it may be.
    let proof = key
        .proof("GET", &htu("/me"))
        .access_token(&token)
        .claim("jti", "j".repeat(256))
        .sign();
    let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
    assert_accepted(&reply, &key);
}

#[tokio::test]
async fn htm_must_be_the_request_method_exactly() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let key = es256();
    let token = bound_token(&issuer, &key);
    for (htm, method) in [
        ("POST", Method::GET),
        ("get", Method::GET),
        ("Get", Method::GET),
        ("GET ", Method::GET),
        ("GET", Method::POST),
    ] {
        let proof = proof(&key, htm, "/me", &token);
        let reply = send_dpop(&app, method.clone(), "/me", &token, &proof).await;
        assert_eq!(
            reply.kind(),
            "DpopMethodMismatch",
            "htm {htm:?} on {method}"
        );
        assert_proof_refused(&reply, ErrorKind::DpopMethodMismatch);
    }
}

#[tokio::test]
async fn htu_must_name_the_request_uri_on_the_public_origin() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let key = es256();
    let token = bound_token(&issuer, &key);
    for (htu, request) in [
        ("https://other.example/things/a", "/things/a"),
        ("http://rooms.example/things/a", "/things/a"),
        ("https://rooms.example:8443/things/a", "/things/a"),
        ("https://rooms.example/things/b", "/things/a"),
        ("https://rooms.example/things/a/", "/things/a"),
        ("https://rooms.example/Things/a", "/things/a"),
        ("https://rooms.example/things/%2Fa", "/things/a"),
        ("https://rooms.example.evil/things/a", "/things/a"),
        ("https://user@rooms.example/things/a", "/things/a"),
        ("/things/a", "/things/a"),
        ("rooms.example/things/a", "/things/a"),
        ("wss://rooms.example/things/a", "/things/a"),
        ("https://rooms.example:99999/things/a", "/things/a"),
        ("https://rooms.example:65979/things/a", "/things/a"),
        ("https://rooms.example:abc/things/a", "/things/a"),
        ("https://rooms.example:443:443/things/a", "/things/a"),
    ] {
        let proof = key.proof("GET", htu).access_token(&token).sign();
        let reply = send_dpop(&app, Method::GET, request, &token, &proof).await;
        assert_eq!(reply.kind(), "DpopUriMismatch", "htu {htu} for {request}");
        assert_proof_refused(&reply, ErrorKind::DpopUriMismatch);
    }
}

#[tokio::test]
async fn htu_ignores_query_and_fragment_and_normalizes_the_uri() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let key = es256();
    let token = bound_token(&issuer, &key);
    for (htu, request) in [
        ("https://rooms.example/things/a?x=1", "/things/a"),
        ("https://rooms.example/things/a#part", "/things/a"),
        ("https://rooms.example/things/a?x=1#part", "/things/a?y=2"),
        ("https://rooms.example/things/a", "/things/a?y=2"),
        ("https://rooms.example/things/%61", "/things/a"),
        ("https://rooms.example/things/a", "/things/%61"),
        ("https://rooms.example/things/%7e", "/things/~"),
        ("https://ROOMS.Example/things/a", "/things/a"),
        ("HTTPS://rooms.example/things/a", "/things/a"),
        ("https://rooms.example:443/things/a", "/things/a"),
    ] {
        let proof = key.proof("GET", htu).access_token(&token).sign();
        let reply = send_dpop(&app, Method::GET, request, &token, &proof).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "htu {htu} for {request}: {}",
            reply.kind()
        );
        assert_eq!(reply.body, format!("user-1 {}", key.thumbprint()));
    }
}

#[tokio::test]
async fn iat_is_accepted_exactly_up_to_the_window_either_way() {
    let window = 60;
    let (issuer, _clock, app) = clocked(Dpop::accepted()).await;
    let key = es256();
    let token = bound_token(&issuer, &key);
    let t0 = T0 as i64;
    for iat in [t0 - window, t0 + window, t0] {
        let proof = key
            .proof("GET", &htu("/me"))
            .access_token(&token)
            .issued_at(iat)
            .sign();
        let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
        assert_accepted(&reply, &key);
    }
    for iat in [t0 - window - 1, t0 + window + 1, 0, i64::MAX] {
        let proof = key
            .proof("GET", &htu("/me"))
            .access_token(&token)
            .issued_at(iat)
            .sign();
        let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
        assert_eq!(reply.kind(), "DpopProofExpired", "iat {iat}");
        assert_proof_refused(&reply, ErrorKind::DpopProofExpired);
    }
    // A fractional NumericDate counts as the second it lies in.
    let proof = key
        .proof("GET", &htu("/me"))
        .access_token(&token)
        .claim("iat", json!(t0 as f64 + 0.5))
        .sign();
    let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
    assert_accepted(&reply, &key);
}

#[tokio::test]
async fn a_configured_proof_window_is_honoured() {
    let dpop = Dpop::accepted()
        .proof_window(Duration::from_secs(10))
        .unwrap();
    let (issuer, _clock, app) = clocked(dpop).await;
    let key = es256();
    let token = bound_token(&issuer, &key);
    let t0 = T0 as i64;
    for (iat, accepted) in [
        (t0 - 10, true),
        (t0 + 10, true),
        (t0 - 11, false),
        (t0 + 11, false),
    ] {
        let proof = key
            .proof("GET", &htu("/me"))
            .access_token(&token)
            .issued_at(iat)
            .sign();
        let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
        if accepted {
            assert_accepted(&reply, &key);
        } else {
            assert_proof_refused(&reply, ErrorKind::DpopProofExpired);
        }
    }
}

#[tokio::test]
async fn ath_must_be_the_hash_of_the_token_sent() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let key = es256();
    let token = bound_token(&issuer, &key);
    let other_token = bound_token(&issuer, &key);
    for ath in [
        sha256_b64(&other_token),
        // The right hash, but padded or in standard base64.
        format!("{}=", sha256_b64(&token)),
        sha256_b64(&token).replace('-', "+").replace('_', "/") + "+",
        sha256_b64(format!("DPoP {token}")),
    ] {
        let proof = key
            .proof("GET", &htu("/me"))
            .claim("ath", ath.clone())
            .sign();
        let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
        assert_eq!(reply.kind(), "DpopTokenHashMismatch", "ath {ath}");
        assert_proof_refused(&reply, ErrorKind::DpopTokenHashMismatch);
    }
    // A proof made for the other token is good for it, not for this one.
    let for_other = proof(&key, "GET", "/me", &other_token);
    let reply = send_dpop(&app, Method::GET, "/me", &token, &for_other).await;
    assert_proof_refused(&reply, ErrorKind::DpopTokenHashMismatch);
    let reply = send_dpop(&app, Method::GET, "/me", &other_token, &for_other).await;
    assert_accepted(&reply, &key);
}

#[tokio::test]
async fn a_proof_by_another_key_than_the_bound_one_is_refused() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let bound = es256();
    let token = bound_token(&issuer, &bound);
    for algorithm in [Algorithm::ES256, Algorithm::EdDSA] {
        let attacker = DpopKey::generate(algorithm).unwrap();
        // A valid proof in every other respect, by the attacker's own key.
        let proof = proof(&attacker, "GET", "/me", &token);
        let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
        assert_proof_refused(&reply, ErrorKind::DpopKeyMismatch);
    }
    let proof = proof(&bound, "GET", "/me", &token);
    let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
    assert_accepted(&reply, &bound);
}

// --- 3. replay ------------------------------------------------------------------------------

#[tokio::test]
async fn the_same_proof_is_accepted_once() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let key = es256();
    let token = bound_token(&issuer, &key);
    let proof = proof(&key, "GET", "/me", &token);
    let first = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
    assert_accepted(&first, &key);
    for _ in 0..2 {
        let again = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
        assert_proof_refused(&again, ErrorKind::DpopProofReplayed);
    }
    // A fresh proof (new jti) for the same request is fine.
    let fresh = self::proof(&key, "GET", "/me", &token);
    let reply = send_dpop(&app, Method::GET, "/me", &token, &fresh).await;
    assert_accepted(&reply, &key);
}

/// The proof names its request: replayed on another path, it fails the `htu` check, which
/// comes before the replay check.
#[tokio::test]
async fn a_used_proof_on_another_path_is_refused_for_its_htu() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let key = es256();
    let token = bound_token(&issuer, &key);
    let proof = proof(&key, "GET", "/things/a", &token);
    let first = send_dpop(&app, Method::GET, "/things/a", &token, &proof).await;
    assert_accepted(&first, &key);
    let elsewhere = send_dpop(&app, Method::GET, "/things/b", &token, &proof).await;
    assert_proof_refused(&elsewhere, ErrorKind::DpopUriMismatch);
}

/// Only a proof that passed every check is recorded: a proof refused for its method can
/// still be used for the request it names.
#[tokio::test]
async fn a_refused_proof_is_not_recorded() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let key = es256();
    let token = bound_token(&issuer, &key);
    let proof = proof(&key, "GET", "/me", &token);
    let wrong = send_dpop(&app, Method::POST, "/me", &token, &proof).await;
    assert_proof_refused(&wrong, ErrorKind::DpopMethodMismatch);
    let right = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
    assert_accepted(&right, &key);
}

/// Proof ids are remembered per key: two clients may pick the same `jti`.
#[tokio::test]
async fn the_same_jti_from_two_keys_is_no_replay() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    for _ in 0..2 {
        let key = es256();
        let token = bound_token(&issuer, &key);
        let proof = key
            .proof("GET", &htu("/me"))
            .access_token(&token)
            .claim("jti", "shared-jti")
            .sign();
        let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
        assert_accepted(&reply, &key);
    }
}

/// A `jti` is remembered for as long as its proof is acceptable: until the proof's `iat` plus
/// the window (a second more). A proof issued a window ahead keeps its id for two windows.
/// Only after that may a new proof from the same key reuse the id, once.
#[tokio::test]
async fn a_jti_is_remembered_while_its_proof_is_acceptable() {
    let (issuer, clock, app) = clocked(Dpop::accepted()).await;
    let key = es256();
    let token = bound_token(&issuer, &key);
    let proof_at = |jti: &str, issued_after_t0: u64| {
        key.proof("GET", &htu("/me"))
            .access_token(&token)
            .claim("jti", jti)
            .issued_at((T0 + issued_after_t0) as i64)
            .sign()
    };
    let first = proof_at("reused-jti", 0);
    assert_accepted(
        &send_dpop(&app, Method::GET, "/me", &token, &first).await,
        &key,
    );
    // At the window's last second the proof is still acceptable: a replay.
    clock.set(Duration::from_secs(T0 + 60));
    let reply = send_dpop(&app, Method::GET, "/me", &token, &first).await;
    assert_proof_refused(&reply, ErrorKind::DpopProofReplayed);
    let reply = send_dpop(
        &app,
        Method::GET,
        "/me",
        &token,
        &proof_at("reused-jti", 60),
    )
    .await;
    assert_proof_refused(&reply, ErrorKind::DpopProofReplayed);
    // Then the first proof is too old, and its id may be used again, once.
    clock.set(Duration::from_secs(T0 + 61));
    let reply = send_dpop(&app, Method::GET, "/me", &token, &first).await;
    assert_proof_refused(&reply, ErrorKind::DpopProofExpired);
    let again = proof_at("reused-jti", 61);
    assert_accepted(
        &send_dpop(&app, Method::GET, "/me", &token, &again).await,
        &key,
    );
    let reply = send_dpop(&app, Method::GET, "/me", &token, &again).await;
    assert_proof_refused(&reply, ErrorKind::DpopProofReplayed);

    // A proof issued a window ahead is acceptable for two windows: its id is kept that long.
    clock.set(Duration::from_secs(T0 + 200));
    let ahead = proof_at("ahead-jti", 260);
    assert_accepted(
        &send_dpop(&app, Method::GET, "/me", &token, &ahead).await,
        &key,
    );
    clock.set(Duration::from_secs(T0 + 320));
    let reply = send_dpop(&app, Method::GET, "/me", &token, &ahead).await;
    assert_proof_refused(&reply, ErrorKind::DpopProofReplayed);
    clock.set(Duration::from_secs(T0 + 321));
    let reply = send_dpop(
        &app,
        Method::GET,
        "/me",
        &token,
        &proof_at("ahead-jti", 321),
    )
    .await;
    assert_accepted(&reply, &key);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_proof_sent_twenty_times_at_once_gets_through_once() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let key = es256();
    let token = bound_token(&issuer, &key);
    // The keys are fetched first, so that the requests race at the replay check.
    let warm = proof(&key, "GET", "/me", &token);
    assert_accepted(
        &send_dpop(&app, Method::GET, "/me", &token, &warm).await,
        &key,
    );

    let proof = proof(&key, "GET", "/me", &token);
    let start = Arc::new(tokio::sync::Barrier::new(20));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (app, start) = (app.clone(), start.clone());
        let request = Request::get("/me")
            .header("authorization", format!("DPoP {token}"))
            .header("dpop", &proof)
            .body(Body::empty())
            .unwrap();
        tasks.spawn(async move {
            start.wait().await;
            read(app.oneshot(request).await.unwrap()).await
        });
    }
    let mut accepted = 0;
    let mut replayed = 0;
    while let Some(reply) = tasks.join_next().await {
        let reply = reply.unwrap();
        match reply.status {
            StatusCode::OK => accepted += 1,
            _ => {
                assert_proof_refused(&reply, ErrorKind::DpopProofReplayed);
                replayed += 1;
            }
        }
    }
    assert_eq!((accepted, replayed), (1, 19));
}

// --- 4. binding rules ----------------------------------------------------------------------

/// A token bound with `cnf.jkt` is no bearer token: refused with the Bearer scheme, whether
/// DPoP is off, accepted or required.
#[tokio::test]
async fn a_bound_token_sent_as_bearer_is_refused_in_every_mode() {
    let issuer = start().await;
    let key = es256();
    let token = bound_token(&issuer, &key);
    let bound_error = error("invalid_token", ErrorKind::BoundTokenAsBearer);

    // No DPoP at all (and no public origin either).
    let plain =
        app(AuthLayer::new(issuer.validator().build().unwrap())
            .on_rejection(kind_renderer as Renderer));
    let reply = send_bearer(&plain, "/me", &token).await;
    assert_kind(
        &reply,
        StatusCode::UNAUTHORIZED,
        ErrorKind::BoundTokenAsBearer,
    );
    assert_eq!(reply.challenge(), bearer_challenge(Some(&bound_error)));

    // Accepted: the error is on the Bearer challenge.
    let reply = send_bearer(&accepted_app(&issuer), "/me", &token).await;
    assert_bearer_token_refused(&reply, ErrorKind::BoundTokenAsBearer);

    // Required: the same `invalid_token`, on the only challenge there is (DPoP), so the client
    // learns that this token needs its proof.
    let reply = send_bearer(&app_with(&issuer, Dpop::required()), "/me", &token).await;
    assert_kind(
        &reply,
        StatusCode::UNAUTHORIZED,
        ErrorKind::BoundTokenAsBearer,
    );
    assert_eq!(reply.challenge(), dpop_challenge(Some(&bound_error)));
}

/// The verified-token cache does not change the rule: a bound token that got in with its
/// proof is still refused as a bearer token afterwards.
#[tokio::test]
async fn a_bound_token_used_with_its_proof_is_still_refused_as_bearer() {
    let issuer = start().await;
    let key = es256();
    let token = bound_token(&issuer, &key);
    for app in [accepted_app(&issuer), app_with(&issuer, Dpop::required())] {
        let reply = send_dpop(
            &app,
            Method::GET,
            "/me",
            &token,
            &proof(&key, "GET", "/me", &token),
        )
        .await;
        assert_accepted(&reply, &key);
        let reply = send_bearer(&app, "/me", &token).await;
        assert_kind(
            &reply,
            StatusCode::UNAUTHORIZED,
            ErrorKind::BoundTokenAsBearer,
        );
        let reply = send_dpop(
            &app,
            Method::GET,
            "/me",
            &token,
            &proof(&key, "GET", "/me", &token),
        )
        .await;
        assert_accepted(&reply, &key);
    }
}

/// The opt-out lets key-bound tokens through as bearer tokens where nothing here can check the
/// binding; a DPoP-bound token still needs its proof wherever the layer accepts DPoP.
#[tokio::test]
async fn bound_tokens_as_bearer_lets_them_through_unless_dpop_can_check_them() {
    let issuer = start().await;
    let key = es256();
    let token = bound_token(&issuer, &key);
    let mtls = issuer
        .token()
        .claim("cnf", json!({ "x5t#S256": key.thumbprint() }))
        .sign();
    let plain = app(AuthLayer::new(issuer.validator().build().unwrap())
        .on_rejection(kind_renderer as Renderer)
        .bound_tokens_as_bearer(true));
    assert_accepted(&send_bearer(&plain, "/me", &token).await, &key);
    let reply = send_bearer(&plain, "/me", &mtls).await;
    assert_eq!(reply.status, StatusCode::OK);

    let accepted = app(layer(&issuer)
        .dpop(Dpop::accepted())
        .unwrap()
        .bound_tokens_as_bearer(true));
    let reply = send_bearer(&accepted, "/me", &token).await;
    assert_kind(
        &reply,
        StatusCode::UNAUTHORIZED,
        ErrorKind::BoundTokenAsBearer,
    );
    let reply = send_bearer(&accepted, "/me", &mtls).await;
    assert_eq!(reply.status, StatusCode::OK);

    // Where DPoP is required, the Bearer scheme stays refused.
    let required = app(layer(&issuer)
        .bound_tokens_as_bearer(true)
        .dpop(Dpop::required())
        .unwrap());
    let reply = send_bearer(&required, "/me", &mtls).await;
    assert_kind(
        &reply,
        StatusCode::UNAUTHORIZED,
        ErrorKind::SchemeNotAccepted,
    );
    // And switched off again, the default holds.
    let off = app(layer(&issuer)
        .bound_tokens_as_bearer(true)
        .bound_tokens_as_bearer(false));
    let reply = send_bearer(&off, "/me", &token).await;
    assert_kind(
        &reply,
        StatusCode::UNAUTHORIZED,
        ErrorKind::BoundTokenAsBearer,
    );
}

#[tokio::test]
async fn a_binding_scopegate_cannot_check_is_refused_with_either_scheme() {
    let issuer = start().await;
    let plain =
        app(AuthLayer::new(issuer.validator().build().unwrap())
            .on_rejection(kind_renderer as Renderer));
    let accepted = accepted_app(&issuer);
    let key = es256();
    let jkt = key.thumbprint().to_owned();
    let cnfs = [
        json!({ "x5t#S256": jkt }),
        json!({ "jwk": key.jwk() }),
        json!({ "jkt": jkt, "x5t#S256": jkt }),
        json!({ "jkt": jkt, "kid": "k1" }),
        Value::Null,
        json!({}),
        json!([jkt]),
        json!(jkt),
        json!({ "jkt": &jkt[..42] }),
        json!({ "jkt": format!("{jkt}A") }),
        json!({ "jkt": format!("{}=", &jkt[..42]) }),
        json!({ "jkt": format!("{}+", &jkt[..42]) }),
        json!({ "jkt": 43 }),
        json!({ "jkt": null }),
    ];
    for cnf in cnfs {
        let token = issuer.token().claim("cnf", cnf.clone()).sign();
        let reply = send_bearer(&plain, "/me", &token).await;
        assert_kind(
            &reply,
            StatusCode::UNAUTHORIZED,
            ErrorKind::UnsupportedConfirmation,
        );
        let reply = send_bearer(&accepted, "/me", &token).await;
        assert_eq!(reply.kind(), "UnsupportedConfirmation", "Bearer, cnf {cnf}");
        assert_bearer_token_refused(&reply, ErrorKind::UnsupportedConfirmation);
        let proof = proof(&key, "GET", "/me", &token);
        let reply = send_dpop(&accepted, Method::GET, "/me", &token, &proof).await;
        assert_eq!(reply.kind(), "UnsupportedConfirmation", "DPoP, cnf {cnf}");
        assert_dpop_token_refused(&reply, ErrorKind::UnsupportedConfirmation);
    }
}

#[tokio::test]
async fn an_unbound_token_with_the_dpop_scheme_is_refused() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let key = es256();
    let token = issuer.token().scope("read:rooms-in-r1").sign();
    let proof = proof(&key, "GET", "/me", &token);
    let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
    assert_dpop_token_refused(&reply, ErrorKind::UnboundToken);
    // Positive twin: the same token is a fine bearer token.
    let reply = send_bearer(&app, "/me", &token).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, "user-1 unbound")
    );
}

#[tokio::test]
async fn a_token_fault_with_the_dpop_scheme_is_invalid_token_on_the_dpop_challenge() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let key = es256();
    let cases = [
        (
            issuer
                .token()
                .bound_to(&key)
                .audience("https://elsewhere.example")
                .sign(),
            ErrorKind::AudienceMismatch,
        ),
        (
            issuer.token().bound_to(&key).expires_in(-600).sign(),
            ErrorKind::Expired,
        ),
        ("not.a.token".to_owned(), ErrorKind::MalformedToken),
    ];
    for (token, kind) in cases {
        let proof = proof(&key, "GET", "/me", &token);
        let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
        assert_dpop_token_refused(&reply, kind);
    }
}

// --- 5. modes and challenges ----------------------------------------------------------------

/// `allow_anonymous` lets in requests without credentials, never a DPoP request whose proof
/// or token fails.
#[tokio::test]
async fn a_failed_dpop_request_is_never_anonymous() {
    let issuer = start().await;
    let maybe = |auth: Option<Authenticated>| async move {
        auth.map_or("anonymous".to_owned(), |auth| {
            auth.key_thumbprint().unwrap_or("unbound").to_owned()
        })
    };
    let app = Router::new().route("/me", get(maybe)).layer(
        layer(&issuer)
            .allow_anonymous()
            .dpop(Dpop::accepted())
            .unwrap(),
    );
    let key = es256();
    let token = bound_token(&issuer, &key);
    let authorization = format!("DPoP {token}");
    let reply = send(
        &app,
        Method::GET,
        "/me",
        &[("authorization", &authorization)],
    )
    .await;
    assert_proof_refused(&reply, ErrorKind::MissingDpopProof);
    let reply = send_dpop(
        &app,
        Method::GET,
        "/me",
        &token,
        &proof(&key, "POST", "/me", &token),
    )
    .await;
    assert_proof_refused(&reply, ErrorKind::DpopMethodMismatch);
    let unbound = issuer.token().sign();
    let reply = send_dpop(
        &app,
        Method::GET,
        "/me",
        &unbound,
        &proof(&key, "GET", "/me", &unbound),
    )
    .await;
    assert_dpop_token_refused(&reply, ErrorKind::UnboundToken);
    // Positive twins: no credentials at all get in anonymously, a good proof with its key.
    let reply = send(&app, Method::GET, "/me", &[]).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, "anonymous")
    );
    let reply = send_dpop(
        &app,
        Method::GET,
        "/me",
        &token,
        &proof(&key, "GET", "/me", &token),
    )
    .await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, key.thumbprint())
    );
}

#[tokio::test]
async fn bearer_only_refuses_the_dpop_scheme_with_a_bare_bearer_challenge() {
    let issuer = start().await;
    let key = es256();
    let token = bound_token(&issuer, &key);
    let proof = proof(&key, "GET", "/me", &token);
    let base = || {
        AuthLayer::new(issuer.validator().build().unwrap()).on_rejection(kind_renderer as Renderer)
    };
    let apps = [
        app(base()),
        app(base().public_origin(ORIGIN).unwrap()),
        // Never anonymous: the request did bring credentials.
        app(base().allow_anonymous()),
    ];
    for app in &apps {
        let reply = send_dpop(app, Method::GET, "/me", &token, &proof).await;
        assert_kind(
            &reply,
            StatusCode::UNAUTHORIZED,
            ErrorKind::SchemeNotAccepted,
        );
        assert_eq!(reply.challenge(), bearer_challenge(None));
    }
    // Positive twin: an unbound token as Bearer.
    let unbound = issuer.token().sign();
    let reply = send_bearer(&apps[0], "/me", &unbound).await;
    assert_eq!(reply.status, StatusCode::OK);
}

#[tokio::test]
async fn accepted_challenges_with_both_schemes() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    // No credentials at all: both challenges, no error.
    let reply = send(&app, Method::GET, "/me", &[]).await;
    assert_kind(
        &reply,
        StatusCode::UNAUTHORIZED,
        ErrorKind::MissingCredentials,
    );
    assert_eq!(reply.challenge(), both(None, None));
    assert_eq!(
        reply.challenge(),
        format!(
            r#"Bearer realm="{TEST_AUDIENCE}", DPoP realm="{TEST_AUDIENCE}", algs="ES256 ES384 EdDSA Ed25519 RS256 PS256""#
        )
    );
    // Another scheme is no credentials.
    let reply = send(
        &app,
        Method::GET,
        "/me",
        &[("authorization", "Basic dXNlcjpwYXNz")],
    )
    .await;
    assert_eq!(reply.challenge(), both(None, None));

    // A bearer token fault: the error on the Bearer challenge only.
    let expired = issuer.token().expires_in(-600).sign();
    let reply = send_bearer(&app, "/me", &expired).await;
    assert_bearer_token_refused(&reply, ErrorKind::Expired);

    // A proof fault: the error on the DPoP challenge only.
    let key = es256();
    let token = bound_token(&issuer, &key);
    let stale = key
        .proof("GET", &htu("/me"))
        .access_token(&token)
        .issued_at(now() - 3600)
        .sign();
    let reply = send_dpop(&app, Method::GET, "/me", &token, &stale).await;
    assert_proof_refused(&reply, ErrorKind::DpopProofExpired);

    // Both schemes work: an unbound bearer token and a bound DPoP one.
    let reply = send_bearer(&app, "/me", &issuer.token().sign()).await;
    assert_eq!(reply.status, StatusCode::OK);
    let reply = send_dpop(
        &app,
        Method::GET,
        "/me",
        &token,
        &proof(&key, "GET", "/me", &token),
    )
    .await;
    assert_accepted(&reply, &key);
}

#[tokio::test]
async fn required_mode_challenges_with_dpop_only_and_refuses_every_bearer_token() {
    let issuer = start().await;
    let app = app_with(&issuer, Dpop::required());
    let reply = send(&app, Method::GET, "/me", &[]).await;
    assert_kind(
        &reply,
        StatusCode::UNAUTHORIZED,
        ErrorKind::MissingCredentials,
    );
    assert_eq!(reply.challenge(), dpop_challenge(None));

    // Bearer tokens never get in, and no Bearer challenge is offered. The token is validated
    // first: a valid unbound one gets the bare DPoP challenge (the scheme is not accepted), a
    // bad or bound one `invalid_token` on the DPoP challenge.
    let key = es256();
    let bearer_tokens = [
        (issuer.token().sign(), ErrorKind::SchemeNotAccepted),
        (
            issuer.token().scope("read:rooms-in-r1").sign(),
            ErrorKind::SchemeNotAccepted,
        ),
        (issuer.token().expires_in(-600).sign(), ErrorKind::Expired),
        (bound_token(&issuer, &key), ErrorKind::BoundTokenAsBearer),
        (
            issuer
                .token()
                .claim("cnf", json!({ "x5t#S256": "abc" }))
                .sign(),
            ErrorKind::UnsupportedConfirmation,
        ),
        ("garbage".to_owned(), ErrorKind::MalformedToken),
    ];
    for (token, kind) in &bearer_tokens {
        for path in ["/me", "/rooms/r1"] {
            let reply = send_bearer(&app, path, token).await;
            assert_kind(&reply, StatusCode::UNAUTHORIZED, *kind);
            let expected = match kind {
                ErrorKind::SchemeNotAccepted => dpop_challenge(None),
                kind => dpop_challenge(Some(&error("invalid_token", *kind))),
            };
            assert_eq!(reply.challenge(), expected);
            assert!(!reply.challenge().contains("Bearer"));
        }
    }

    // A proof fault: the error on the only challenge there is.
    let token = bound_token(&issuer, &key);
    let reply = send(
        &app,
        Method::GET,
        "/me",
        &[("authorization", &format!("DPoP {token}"))],
    )
    .await;
    assert_kind(
        &reply,
        StatusCode::UNAUTHORIZED,
        ErrorKind::MissingDpopProof,
    );
    let missing = error("invalid_dpop_proof", ErrorKind::MissingDpopProof);
    assert_eq!(reply.challenge(), dpop_challenge(Some(&missing)));

    // A token fault with the DPoP scheme.
    let unbound = issuer.token().sign();
    let reply = send_dpop(
        &app,
        Method::GET,
        "/me",
        &unbound,
        &proof(&key, "GET", "/me", &unbound),
    )
    .await;
    let unbound_error = error("invalid_token", ErrorKind::UnboundToken);
    assert_eq!(reply.challenge(), dpop_challenge(Some(&unbound_error)));

    // A DPoP request gets through.
    let reply = send_dpop(
        &app,
        Method::GET,
        "/me",
        &token,
        &proof(&key, "GET", "/me", &token),
    )
    .await;
    assert_accepted(&reply, &key);
}

#[tokio::test]
async fn insufficient_scope_goes_on_the_challenge_of_the_scheme_used() {
    let issuer = start().await;
    let key = es256();
    // Bound to the key, granting read:rooms-in-r1 only.
    let token = bound_token(&issuer, &key);
    let scope_error = format!(
        r#"{}, scope="read:rooms-in-r2""#,
        error("insufficient_scope", ErrorKind::InsufficientScope)
    );

    let accepted = accepted_app(&issuer);
    let reply = send_dpop(
        &accepted,
        Method::GET,
        "/rooms/r2",
        &token,
        &proof(&key, "GET", "/rooms/r2", &token),
    )
    .await;
    assert_kind(&reply, StatusCode::FORBIDDEN, ErrorKind::InsufficientScope);
    assert_eq!(reply.challenge(), both(None, Some(&scope_error)));
    let reply = send_dpop(
        &accepted,
        Method::GET,
        "/rooms/r1",
        &token,
        &proof(&key, "GET", "/rooms/r1", &token),
    )
    .await;
    assert_accepted(&reply, &key);

    // An unbound bearer token without the scope: on the Bearer challenge.
    let bearer = issuer.token().scope("read:rooms-in-r1").sign();
    let reply = send_bearer(&accepted, "/rooms/r2", &bearer).await;
    assert_kind(&reply, StatusCode::FORBIDDEN, ErrorKind::InsufficientScope);
    assert_eq!(reply.challenge(), both(Some(&scope_error), None));

    // Required: the only challenge carries it.
    let required = app_with(&issuer, Dpop::required());
    let reply = send_dpop(
        &required,
        Method::GET,
        "/rooms/r2",
        &token,
        &proof(&key, "GET", "/rooms/r2", &token),
    )
    .await;
    assert_kind(&reply, StatusCode::FORBIDDEN, ErrorKind::InsufficientScope);
    assert_eq!(reply.challenge(), dpop_challenge(Some(&scope_error)));
}

/// An `Authorization: DPoP` header that cannot be read: the error goes on the DPoP challenge,
/// the scheme the client used (RFC 9449 §7.1), not on the Bearer one.
#[tokio::test]
async fn a_faulty_dpop_authorization_header_errs_on_the_dpop_challenge() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let long = format!("DPoP {}", "a".repeat(9000));
    for (authorization, code, kind) in [
        (
            "DPoP",
            "invalid_request",
            ErrorKind::MalformedAuthorizationHeader,
        ),
        (
            "DPoP ",
            "invalid_request",
            ErrorKind::MalformedAuthorizationHeader,
        ),
        (
            "DPoP\tabc",
            "invalid_request",
            ErrorKind::MalformedAuthorizationHeader,
        ),
        (
            "DPoP a,b",
            "invalid_request",
            ErrorKind::CommaJoinedCredentials,
        ),
        (long.as_str(), "invalid_token", ErrorKind::TokenTooLong),
        (
            "DPoP \u{e9}t\u{e9}",
            "invalid_token",
            ErrorKind::MalformedToken,
        ),
    ] {
        let reply = send(
            &app,
            Method::GET,
            "/me",
            &[("authorization", authorization), ("dpop", "x")],
        )
        .await;
        assert_kind(&reply, kind.status(), kind);
        let error = error(code, kind);
        assert_eq!(
            reply.challenge(),
            both(None, Some(&error)),
            "{authorization:.12}"
        );
    }
}

// --- 6. the replay store unavailable ---------------------------------------------------------

/// A store that never answers, counting the calls.
#[derive(Clone, Default)]
struct SilentStore(Arc<AtomicUsize>);

impl ReplayStore for SilentStore {
    fn first_use<'a>(
        &'a self,
        _key: &'a str,
        _ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, ReplayStoreError>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(std::future::pending())
    }
}

/// A store that always fails, counting the calls.
#[derive(Clone, Default)]
struct FailingStore(Arc<AtomicUsize>);

impl ReplayStore for FailingStore {
    fn first_use<'a>(
        &'a self,
        _key: &'a str,
        _ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, ReplayStoreError>> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Box::pin(async { Err(ReplayStoreError::new("connection refused")) })
    }
}

/// A store that works, and records what it was asked.
#[derive(Clone, Default)]
struct RecordingStore(Arc<Mutex<Vec<(String, Duration)>>>);

impl ReplayStore for RecordingStore {
    fn first_use<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, ReplayStoreError>> {
        let mut calls = self.0.lock().unwrap();
        let seen: HashSet<&str> = calls.iter().map(|(key, _)| key.as_str()).collect();
        let fresh = !seen.contains(key);
        calls.push((key.to_owned(), ttl));
        Box::pin(std::future::ready(Ok(fresh)))
    }
}

#[tokio::test]
async fn a_replay_store_that_never_answers_is_503_never_200() {
    let issuer = start().await;
    let store = SilentStore::default();
    let dpop = Dpop::accepted()
        .replay_store(store.clone())
        .replay_timeout(Duration::from_millis(100));
    let app = app_with(&issuer, dpop);
    let key = es256();
    let token = bound_token(&issuer, &key);
    for _ in 0..2 {
        let reply = send_dpop(
            &app,
            Method::GET,
            "/me",
            &token,
            &proof(&key, "GET", "/me", &token),
        )
        .await;
        assert_kind(
            &reply,
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::ReplayCheckUnavailable,
        );
        assert_eq!(reply.challenge_count(), 0);
    }
    assert_eq!(store.0.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_failing_replay_store_is_503_never_200() {
    let issuer = start().await;
    let store = FailingStore::default();
    let app = app_with(&issuer, Dpop::accepted().replay_store(store.clone()));
    let key = es256();
    let token = bound_token(&issuer, &key);
    let reply = send_dpop(
        &app,
        Method::GET,
        "/me",
        &token,
        &proof(&key, "GET", "/me", &token),
    )
    .await;
    assert_kind(
        &reply,
        StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::ReplayCheckUnavailable,
    );
    assert_eq!(reply.challenge_count(), 0);
    assert_eq!(store.0.load(Ordering::SeqCst), 1);
    // The store is asked only for proofs that passed every other check.
    let stale = key
        .proof("GET", &htu("/me"))
        .access_token(&token)
        .issued_at(now() - 3600)
        .sign();
    let reply = send_dpop(&app, Method::GET, "/me", &token, &stale).await;
    assert_proof_refused(&reply, ErrorKind::DpopProofExpired);
    assert_eq!(store.0.load(Ordering::SeqCst), 1);
}

/// The store is consulted for each accepted proof, with a key that is a hash (never the
/// `jti` or other request text) and a ttl lasting until the proof stops being acceptable:
/// its `iat` plus the window, plus a second.
#[tokio::test]
async fn a_custom_replay_store_decides_and_never_sees_request_text() {
    let issuer = start().await;
    let store = RecordingStore::default();
    let dpop = Dpop::accepted()
        .proof_window(Duration::from_secs(30))
        .unwrap()
        .replay_store(store.clone());
    let app = app_with(&issuer, dpop);
    let key = es256();
    let token = bound_token(&issuer, &key);
    let jti = "a-very-recognizable-proof-id";
    let proof = key
        .proof("GET", &htu("/me"))
        .access_token(&token)
        .claim("jti", jti)
        .sign();
    assert_accepted(
        &send_dpop(&app, Method::GET, "/me", &token, &proof).await,
        &key,
    );
    let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
    assert_proof_refused(&reply, ErrorKind::DpopProofReplayed);

    let calls = store.0.lock().unwrap().clone();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].0, calls[1].0);
    let (stored, ttl) = &calls[0];
    assert_eq!(stored.len(), 43);
    assert!(
        stored
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    assert!(!stored.contains(jti) && !stored.contains(key.thumbprint()));
    // Issued now (give or take the second the requests took) with a 30 s window.
    assert!(
        (Duration::from_secs(30)..=Duration::from_secs(31)).contains(ttl),
        "ttl {ttl:?}"
    );
}

// --- 7. forwarded origins and nested routers -------------------------------------------------

/// The DPoP headers and a forwarded origin, `http://internal.example:8080`.
fn forwarded<'a>(proof: &'a str, authorization: &'a str) -> [(&'a str, &'a str); 4] {
    [
        ("authorization", authorization),
        ("dpop", proof),
        ("x-forwarded-proto", "http"),
        ("x-forwarded-host", "internal.example:8080"),
    ]
}

#[tokio::test]
async fn trusted_forwarded_headers_select_the_origin() {
    let issuer = start().await;
    let app = app_with(&issuer, Dpop::accepted().trust_forwarded_headers());
    let key = es256();
    let token = bound_token(&issuer, &key);
    let authorization = format!("DPoP {token}");

    let on_forwarded = key
        .proof("GET", "http://internal.example:8080/me")
        .access_token(&token)
        .sign();
    let reply = send(
        &app,
        Method::GET,
        "/me",
        &forwarded(&on_forwarded, &authorization),
    )
    .await;
    assert_accepted(&reply, &key);

    // The forwarded origin replaces the public one.
    let on_public = proof(&key, "GET", "/me", &token);
    let reply = send(
        &app,
        Method::GET,
        "/me",
        &forwarded(&on_public, &authorization),
    )
    .await;
    assert_proof_refused(&reply, ErrorKind::DpopUriMismatch);

    // Without both headers, the public origin holds.
    let on_forwarded = key
        .proof("GET", "http://internal.example:8080/me")
        .access_token(&token)
        .sign();
    let only_host = [
        ("authorization", authorization.as_str()),
        ("dpop", on_forwarded.as_str()),
        ("x-forwarded-host", "internal.example:8080"),
    ];
    let reply = send(&app, Method::GET, "/me", &only_host).await;
    assert_proof_refused(&reply, ErrorKind::DpopUriMismatch);
    let on_public = proof(&key, "GET", "/me", &token);
    let only_host = [
        ("authorization", authorization.as_str()),
        ("dpop", on_public.as_str()),
        ("x-forwarded-host", "internal.example:8080"),
    ];
    assert_accepted(&send(&app, Method::GET, "/me", &only_host).await, &key);
}

#[tokio::test]
async fn untrusted_forwarded_headers_are_ignored() {
    let issuer = start().await;
    let app = accepted_app(&issuer);
    let key = es256();
    let token = bound_token(&issuer, &key);
    let authorization = format!("DPoP {token}");
    let on_forwarded = key
        .proof("GET", "http://internal.example:8080/me")
        .access_token(&token)
        .sign();
    let reply = send(
        &app,
        Method::GET,
        "/me",
        &forwarded(&on_forwarded, &authorization),
    )
    .await;
    assert_proof_refused(&reply, ErrorKind::DpopUriMismatch);
    let on_public = proof(&key, "GET", "/me", &token);
    let reply = send(
        &app,
        Method::GET,
        "/me",
        &forwarded(&on_public, &authorization),
    )
    .await;
    assert_accepted(&reply, &key);
}

/// `htu` names the path the client called, `/api/...`, wherever the layer sits: on the outer
/// router around a nested one, or on the nested router itself (which sees `/me`).
#[tokio::test]
async fn htu_names_the_full_path_under_a_nested_router() {
    let issuer = start().await;
    let inner = || Router::new().route("/me", get(whoami));
    let outer_layer = Router::new()
        .nest("/api", inner())
        .layer(layer(&issuer).dpop(Dpop::accepted()).unwrap());
    let inner_layer = Router::new().nest(
        "/api",
        inner().layer(layer(&issuer).dpop(Dpop::accepted()).unwrap()),
    );
    for app in [&outer_layer, &inner_layer] {
        let key = es256();
        let token = bound_token(&issuer, &key);
        let reply = send_dpop(
            app,
            Method::GET,
            "/api/me",
            &token,
            &proof(&key, "GET", "/me", &token),
        )
        .await;
        assert_proof_refused(&reply, ErrorKind::DpopUriMismatch);
        let reply = send_dpop(
            app,
            Method::GET,
            "/api/me",
            &token,
            &proof(&key, "GET", "/api/me", &token),
        )
        .await;
        assert_accepted(&reply, &key);
    }
}

/// With forwarded headers trusted, values that do not name an origin (a list a proxy chain
/// joined, a path, another scheme, user info) are ignored: the public origin holds.
#[tokio::test]
async fn unusable_forwarded_values_fall_back_to_the_public_origin() {
    let issuer = start().await;
    let app = app_with(&issuer, Dpop::accepted().trust_forwarded_headers());
    let key = es256();
    let token = bound_token(&issuer, &key);
    let authorization = format!("DPoP {token}");
    for (proto, host) in [
        ("https", "rooms.example, evil.example"),
        ("https", "evil.example/me"),
        ("https", "user@evil.example"),
        ("ftp", "evil.example"),
        ("https, http", "evil.example"),
        ("https", ""),
        ("", "evil.example"),
    ] {
        let forged = key
            .proof("GET", &format!("{proto}://{host}/me"))
            .access_token(&token)
            .sign();
        let headers = [
            ("authorization", authorization.as_str()),
            ("dpop", forged.as_str()),
            ("x-forwarded-proto", proto),
            ("x-forwarded-host", host),
        ];
        let reply = send(&app, Method::GET, "/me", &headers).await;
        assert_proof_refused(&reply, ErrorKind::DpopUriMismatch);
        let on_public = proof(&key, "GET", "/me", &token);
        let headers = [
            ("authorization", authorization.as_str()),
            ("dpop", on_public.as_str()),
            ("x-forwarded-proto", proto),
            ("x-forwarded-host", host),
        ];
        let reply = send(&app, Method::GET, "/me", &headers).await;
        assert_accepted(&reply, &key);
    }
}

// --- 8. configuration ------------------------------------------------------------------------

#[tokio::test]
async fn dpop_needs_the_public_origin_first() {
    let issuer = start().await;
    let layer = AuthLayer::new(issuer.validator().build().unwrap());
    assert!(layer.clone().dpop(Dpop::accepted()).is_err());
    assert!(layer.clone().dpop(Dpop::required()).is_err());
    assert!(
        layer
            .public_origin(ORIGIN)
            .unwrap()
            .dpop(Dpop::accepted())
            .is_ok()
    );
}

#[tokio::test]
async fn bad_public_origins_are_refused() {
    let issuer = start().await;
    let layer = AuthLayer::new(issuer.validator().build().unwrap());
    for origin in [
        "",
        "rooms.example",
        "//rooms.example",
        "/api",
        "ftp://rooms.example",
        "wss://rooms.example",
        "https://rooms.example/api",
        "https://rooms.example/?x=1",
        "https://rooms.example?x=1",
        "https://rooms.example?",
        "https://user@rooms.example",
        "https://user:pass@rooms.example",
        "https://",
        "https://rooms example",
        "https://rooms.example#top",
        "https://rooms.example:99999",
        "https://rooms.example:65536",
        "https://rooms.example:abc",
        "https://rooms.example:-1",
    ] {
        assert!(layer.clone().public_origin(origin).is_err(), "{origin:?}");
    }
    for origin in [
        "https://rooms.example",
        "https://rooms.example/",
        "http://127.0.0.1:3000",
        "http://[::1]:3000",
        "https://rooms.example:",
    ] {
        assert!(layer.clone().public_origin(origin).is_ok(), "{origin:?}");
    }
}

/// The public origin is normalized (case, default port, empty port), so a proof naming the
/// normalized form matches, and an IPv6 host keeps its port.
#[tokio::test]
async fn the_public_origin_is_normalized() {
    let issuer = start().await;
    let key = es256();
    let token = bound_token(&issuer, &key);
    for (origin, htu) in [
        ("HTTPS://Rooms.Example:443", "https://rooms.example/me"),
        ("https://rooms.example:", "https://rooms.example:443/me"),
        ("http://127.0.0.1:80", "http://127.0.0.1/me"),
        ("http://[::1]:3000", "http://[::1]:3000/me"),
    ] {
        let layer = AuthLayer::new(issuer.validator().build().unwrap())
            .on_rejection(kind_renderer as Renderer)
            .public_origin(origin)
            .unwrap()
            .dpop(Dpop::accepted())
            .unwrap();
        let app = app(layer);
        let proof = key.proof("GET", htu).access_token(&token).sign();
        let reply = send_dpop(&app, Method::GET, "/me", &token, &proof).await;
        assert_eq!(reply.status, StatusCode::OK, "{origin}: {}", reply.kind());
        // Another port on the same host is another origin.
        if htu.contains(":3000") {
            let other_port = htu.replace(":3000", ":3001");
            let other = key.proof("GET", &other_port).access_token(&token).sign();
            let reply = send_dpop(&app, Method::GET, "/me", &token, &other).await;
            assert_proof_refused(&reply, ErrorKind::DpopUriMismatch);
        }
    }
}

#[test]
fn bad_dpop_settings_are_refused() {
    assert!(Dpop::accepted().algorithms([Algorithm::HS256]).is_err());
    assert!(
        Dpop::accepted()
            .algorithms([Algorithm::ES256, Algorithm::HS512])
            .is_err()
    );
    assert!(Dpop::accepted().algorithms([]).is_err());
    assert!(Dpop::accepted().proof_window(Duration::ZERO).is_err());
    assert!(
        Dpop::accepted()
            .proof_window(Duration::from_millis(999))
            .is_err()
    );
    assert!(
        Dpop::accepted()
            .proof_window(Duration::from_secs(301))
            .is_err()
    );
    assert!(
        Dpop::accepted()
            .proof_window(Duration::from_secs(1))
            .is_ok()
    );
    assert!(
        Dpop::accepted()
            .proof_window(Duration::from_secs(300))
            .is_ok()
    );
}

/// `htu` follows the public origin as last configured, even when DPoP was set up before.
#[tokio::test]
async fn a_later_public_origin_replaces_the_one_proofs_are_checked_against() {
    let issuer = start().await;
    let app = app(layer(&issuer)
        .dpop(Dpop::accepted())
        .unwrap()
        .public_origin("https://moved.example")
        .unwrap());
    let key = es256();
    let token = bound_token(&issuer, &key);
    let reply = send_dpop(
        &app,
        Method::GET,
        "/me",
        &token,
        &proof(&key, "GET", "/me", &token),
    )
    .await;
    assert_proof_refused(&reply, ErrorKind::DpopUriMismatch);
    let moved = key
        .proof("GET", "https://moved.example/me")
        .access_token(&token)
        .sign();
    let reply = send_dpop(&app, Method::GET, "/me", &token, &moved).await;
    assert_accepted(&reply, &key);
}

// --- 9. nothing echoed -----------------------------------------------------------------------

/// No header or body of `reply` contains any 9-character piece of the `secrets`.
#[track_caller]
fn assert_nothing_echoed(reply: &Reply, secrets: &[&str]) {
    let mut haystacks = vec![reply.body.as_str()];
    for value in reply.headers.values() {
        haystacks.push(value.to_str().unwrap_or(""));
    }
    for secret in secrets {
        assert!(secret.len() > 8);
        for piece in secret.as_bytes().windows(9) {
            let piece = std::str::from_utf8(piece).unwrap();
            for haystack in &haystacks {
                assert!(
                    !haystack.contains(piece),
                    "{piece:?} echoed in {haystack:?}"
                );
            }
        }
    }
}

#[tokio::test]
async fn refusals_never_echo_the_token_or_the_proof() {
    let issuer = start().await;
    let app = app(layer(&issuer)
        .on_rejection(ProblemJson)
        .dpop(Dpop::accepted())
        .unwrap());
    let key = es256();
    let token = bound_token(&issuer, &key);
    let other = es256();
    let good = proof(&key, "GET", "/me", &token);
    let (signing_input, signature) = good.rsplit_once('.').unwrap();
    let mut flipped = unb64(signature);
    flipped[0] ^= 0x80;
    let marker = "ATTACKER-CONTROLLED-TEXT-in-the-proof";
    let cases: Vec<(&str, String, String)> = vec![
        (
            "bad signature",
            token.clone(),
            format!("{signing_input}.{}", b64(&flipped)),
        ),
        (
            "wrong htu",
            token.clone(),
            key.proof("GET", "https://evil.example/steal-me")
                .access_token(&token)
                .sign(),
        ),
        (
            "wrong htm",
            token.clone(),
            proof(&key, "DELETE", "/me", &token),
        ),
        (
            "key mismatch",
            token.clone(),
            proof(&other, "GET", "/me", &token),
        ),
        (
            "missing ath",
            token.clone(),
            key.proof("GET", &htu("/me")).sign(),
        ),
        (
            "a marker in htm",
            token.clone(),
            key.proof("GET", &htu("/me"))
                .access_token(&token)
                .claim("htm", marker)
                .sign(),
        ),
        ("not a JWS", token.clone(), format!("{marker}.{marker}")),
        (
            "a token fault",
            issuer.token().bound_to(&key).audience(marker).sign(),
            good.clone(),
        ),
    ];
    for (case, token, proof) in &cases {
        let reply = send_dpop(&app, Method::GET, "/me", token, proof).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{case}");
        let body: Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(body["status"], 401, "{case}");
        assert!(!reply.challenge().is_empty(), "{case}");
        assert!(
            !reply.body.contains(marker) && !reply.challenge().contains(marker),
            "{case}"
        );
        assert_nothing_echoed(&reply, &[token, proof]);
    }
    // The same proof used twice: the replay refusal echoes nothing either.
    let fresh = proof(&key, "GET", "/me", &token);
    assert_eq!(
        send_dpop(&app, Method::GET, "/me", &token, &fresh)
            .await
            .status,
        StatusCode::OK
    );
    let reply = send_dpop(&app, Method::GET, "/me", &token, &fresh).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(reply.body.contains("invalid_dpop_proof"));
    assert_nothing_echoed(&reply, &[&token, &fresh]);
}
