//! The security bar (shared/SECURITY-BAR.md §1-4, §8), rule by rule, through the layer.
//!
//! Every token here is really signed by the in-process issuer on 127.0.0.1 (or forged on purpose),
//! and every refusal is asserted with its precise `ErrorKind`, so that no test can pass because
//! the token was refused for some other reason. Each refusal has a positive twin that shows the
//! same token shape is accepted once the fault is removed.

use crate::common;

use std::time::Duration;

use axum::Router;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::{Reply, app, send, send_with};
use http::StatusCode;
use scopegate::testing::{ManualClock, TEST_AUDIENCE, TestIssuer};
use scopegate::{Algorithm, ErrorKind, ValidatorBuilder};
use serde_json::{Value, json};

// --- helpers -------------------------------------------------------------------------------

/// A fixed point in time for the clocked tests.
const T0: u64 = 1_700_000_000;

/// The realm the layer names by default: the first audience.
const BARE_CHALLENGE: &str = r#"Bearer realm="https://api.scopegate.test""#;

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

async fn issuer() -> TestIssuer {
    TestIssuer::start().await.unwrap()
}

/// An issuer and a validator sharing one manual clock, frozen at `T0`.
async fn clocked(
    configure: impl FnOnce(ValidatorBuilder) -> ValidatorBuilder,
) -> (TestIssuer, ManualClock, Router) {
    let clock = ManualClock::new(Duration::from_secs(T0));
    let issuer = TestIssuer::start_with_clock(clock.clone()).await.unwrap();
    let validator = configure(issuer.validator().clock(clock.clone()))
        .build()
        .unwrap();
    (issuer, clock, app(validator))
}

/// A JWKS document holding the issuer's current public keys for `algorithms`.
fn jwks_of(issuer: &TestIssuer, algorithms: &[Algorithm]) -> Vec<u8> {
    let keys: Vec<Value> = algorithms
        .iter()
        .map(|alg| issuer.public_jwk(*alg).unwrap())
        .collect();
    json!({ "keys": keys }).to_string().into_bytes()
}

fn kid(issuer: &TestIssuer, algorithm: Algorithm) -> String {
    issuer.kid(algorithm).unwrap()
}

fn app_default(issuer: &TestIssuer) -> Router {
    app(issuer.validator().build().unwrap())
}

fn app_with_single_key(issuer: &TestIssuer, clock: &ManualClock) -> Router {
    app(issuer
        .validator()
        .jwks_document(jwks_of(issuer, &[Algorithm::RS256]))
        .clock(clock.clone())
        .build()
        .unwrap())
}

#[track_caller]
fn assert_accepted(reply: &Reply, subject: &str) {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.challenge());
    assert_eq!(reply.body, subject);
}

/// 400 `invalid_request` with `kind`'s description.
#[track_caller]
fn assert_invalid_request(reply: &Reply, kind: ErrorKind) {
    assert_eq!(
        reply.status,
        StatusCode::BAD_REQUEST,
        "{}",
        reply.challenge()
    );
    assert!(
        reply.challenge().contains(r#"error="invalid_request""#),
        "{}",
        reply.challenge()
    );
    assert!(
        reply
            .challenge()
            .contains(&format!(r#"error_description="{}""#, kind.description())),
        "expected {kind:?}, got {}",
        reply.challenge()
    );
}

/// 401 with a challenge naming only the realm: no `error=` at all.
#[track_caller]
fn assert_bare_challenge(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge(), BARE_CHALLENGE);
    assert!(!reply.challenge().contains("error"));
}

/// RFC 6750 §3: quoted values hold only `%x20-21 / %x23-5B / %x5D-7E`; and nothing in the
/// response (headers or body) repeats the token or any of its segments.
#[track_caller]
fn assert_nothing_echoed(reply: &Reply, token: &str) {
    let challenge = reply.challenge();
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert_eq!(challenge.matches('"').count() % 2, 0, "{challenge}");
    for (index, piece) in challenge.split('"').enumerate() {
        if index % 2 == 1 {
            assert!(
                piece
                    .bytes()
                    .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)),
                "unsafe quoted value {piece:?}"
            );
        }
    }
    // Segments shorter than 8 characters could match a fixed description by chance.
    let needles: Vec<&str> = std::iter::once(token)
        .chain(token.split('.'))
        .filter(|needle| needle.len() >= 8)
        .collect();
    assert!(!needles.is_empty(), "the token is too short to look for");
    let mut haystacks: Vec<&str> = vec![&reply.body];
    for value in reply.headers.values() {
        haystacks.push(value.to_str().unwrap_or(""));
    }
    for haystack in haystacks {
        for needle in &needles {
            assert!(
                !haystack.contains(needle),
                "{needle:?} echoed in {haystack:?}"
            );
        }
    }
}

/// `token` with its signature replaced.
fn with_signature(token: &str, signature: &[u8]) -> String {
    let (signing_input, _) = token.rsplit_once('.').unwrap();
    format!("{signing_input}.{}", b64(signature))
}

/// The same bytes, non-canonically: the last character gets a trailing bit set that a lenient
/// decoder ignores. `None` when the segment has no spare bits (length a multiple of 4).
fn non_canonical(segment: &str) -> Option<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    if segment.len().is_multiple_of(4) {
        return None;
    }
    let last = *segment.as_bytes().last()?;
    let index = ALPHABET.iter().position(|c| *c == last)?;
    let flipped = ALPHABET[index + 1] as char;
    Some(format!("{}{flipped}", &segment[..segment.len() - 1]))
}

// --- RFC 6750: reading the header --------------------------------------------------------

#[tokio::test]
async fn bearer_scheme_is_case_insensitive() {
    let issuer = issuer().await;
    let app = app(issuer.validator().build().unwrap());
    let token = issuer.token().subject("alice").sign();
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let reply = send_with(&app, "/me", &[&format!("{scheme} {token}")]).await;
        assert_accepted(&reply, "alice");
    }
}

#[tokio::test]
async fn several_spaces_after_the_scheme_are_accepted() {
    let issuer = issuer().await;
    let app = app(issuer.validator().build().unwrap());
    let token = issuer.token().subject("alice").sign();
    for spaces in [" ", "  ", "     "] {
        let reply = send_with(&app, "/me", &[&format!("Bearer{spaces}{token}")]).await;
        assert_accepted(&reply, "alice");
    }
}

#[tokio::test]
async fn a_tab_after_the_scheme_is_invalid_request() {
    let issuer = issuer().await;
    let app = app(issuer.validator().build().unwrap());
    let token = issuer.token().sign();
    let reply = send_with(&app, "/me", &[&format!("Bearer\t{token}")]).await;
    assert_invalid_request(&reply, ErrorKind::MalformedAuthorizationHeader);
}

#[tokio::test]
async fn two_authorization_headers_are_invalid_request() {
    let issuer = issuer().await;
    let app = app(issuer.validator().build().unwrap());
    let token = issuer.token().sign();
    let bearer = format!("Bearer {token}");
    for second in [bearer.as_str(), "Basic dXNlcjpwYXNz"] {
        let reply = send_with(&app, "/me", &[&bearer, second]).await;
        assert_invalid_request(&reply, ErrorKind::MultipleAuthorizationHeaders);
        assert_nothing_echoed(&reply, &token);
    }
    // Either value alone is fine.
    assert_accepted(&send_with(&app, "/me", &[&bearer]).await, "user-1");
}

#[tokio::test]
async fn comma_joined_credentials_are_invalid_request() {
    let issuer = issuer().await;
    let app = app(issuer.validator().build().unwrap());
    let token = issuer.token().sign();
    let other = issuer.token().subject("mallory").sign();
    for value in [
        format!("Bearer {token}, Bearer {other}"),
        format!("Bearer {token},Bearer {other}"),
        format!("Bearer {token},{other}"),
    ] {
        let reply = send_with(&app, "/me", &[&value]).await;
        assert_invalid_request(&reply, ErrorKind::CommaJoinedCredentials);
        assert_nothing_echoed(&reply, &token);
    }
}

/// The comma is looked for only once a bearer token is refused: it must still be the fault
/// named, whatever else is wrong with the token, and wherever in it the comma stands.
#[tokio::test]
async fn a_comma_is_named_whatever_else_refuses_the_token() {
    let issuer = issuer().await;
    let app = app(issuer.validator().build().unwrap());
    let expired = issuer.token().expires_in(-3600).sign();
    let foreign = issuer
        .token()
        .claim("iss", "https://elsewhere.example/")
        .sign();
    let unknown_key = issuer.token().header("kid", "no-such-key").sign();
    let (header, rest) = expired.split_once('.').unwrap();
    for value in [
        format!("Bearer {expired},x"),
        format!("Bearer {foreign}, Bearer {expired}"),
        format!("Bearer {unknown_key},"),
        format!("Bearer {header},.{rest}"),
        "Bearer a,b".to_owned(),
        "Bearer ,".to_owned(),
    ] {
        let reply = send_with(&app, "/me", &[&value]).await;
        assert_invalid_request(&reply, ErrorKind::CommaJoinedCredentials);
    }
    // Without the comma each is refused for its own fault.
    let reply = send_with(&app, "/me", &[&format!("Bearer {expired}")]).await;
    assert_eq!(reply.status, 401);
}

/// The verified-token cache is looked up by the token's bytes before the header is scanned:
/// a token it holds must still meet every header rule when it comes in a bad header.
#[tokio::test]
async fn a_cached_token_in_a_bad_header_is_refused_as_without_the_cache() {
    let issuer = issuer().await;
    let app = app(issuer.validator().build().unwrap());
    let token = issuer.token().sign();
    let other = issuer.token().subject("mallory").sign();
    let bearer = format!("Bearer {token}");
    assert_accepted(&send_with(&app, "/me", &[&bearer]).await, "user-1");
    for (value, kind) in [
        (
            format!("{bearer}, Bearer {other}"),
            ErrorKind::CommaJoinedCredentials,
        ),
        (format!("{bearer},"), ErrorKind::CommaJoinedCredentials),
        (
            format!("Basic x, {bearer}"),
            ErrorKind::CommaJoinedCredentials,
        ),
        (
            format!("Bearer\t{token}"),
            ErrorKind::MalformedAuthorizationHeader,
        ),
    ] {
        let reply = send_with(&app, "/me", &[&value]).await;
        assert_invalid_request(&reply, kind);
    }
    let reply = send_with(&app, "/me", &[&bearer, &bearer]).await;
    assert_invalid_request(&reply, ErrorKind::MultipleAuthorizationHeaders);
    // Without DPoP configured, the same token under the DPoP scheme is not read at all.
    assert_bare_challenge(&send_with(&app, "/me", &[&format!("DPoP {token}")]).await);
    // A byte that is not UTF-8 after the cached token: a different token, and no JWS.
    let mut bytes = bearer.clone().into_bytes();
    bytes.push(0xff);
    let request = http::Request::get("/me")
        .header(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_bytes(&bytes).unwrap(),
        )
        .body(axum::body::Body::empty())
        .unwrap();
    let response = tower::ServiceExt::oneshot(app.clone(), request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_accepted(&send_with(&app, "/me", &[&bearer]).await, "user-1");
}

#[tokio::test]
async fn bearer_with_an_empty_token_is_invalid_request() {
    let issuer = issuer().await;
    let app = app(issuer.validator().build().unwrap());
    for value in ["Bearer", "Bearer ", "Bearer    ", "bearer "] {
        let reply = send_with(&app, "/me", &[value]).await;
        assert_invalid_request(&reply, ErrorKind::MalformedAuthorizationHeader);
    }
}

#[tokio::test]
async fn another_scheme_gets_a_bare_challenge() {
    let issuer = issuer().await;
    let app = app(issuer.validator().build().unwrap());
    let token = issuer.token().sign();
    for value in [
        "Basic dXNlcjpwYXNz".to_owned(),
        format!("DPoP {token}"),
        format!("Bearerx {token}"),
        format!("Token {token}"),
    ] {
        let reply = send_with(&app, "/me", &[&value]).await;
        assert_bare_challenge(&reply);
    }
    assert_eq!(
        issuer.jwks_fetches(),
        0,
        "no bearer token must cause no fetch"
    );
}

#[tokio::test]
async fn access_token_query_parameter_is_ignored() {
    let issuer = issuer().await;
    let app = app(issuer.validator().build().unwrap());
    let token = issuer.token().subject("alice").sign();
    let reply = send_with(&app, &format!("/me?access_token={token}"), &[]).await;
    assert_bare_challenge(&reply);
    assert_nothing_echoed(&reply, &token);
    // The same token in the header is good.
    assert_accepted(&send(&app, &token).await, "alice");
}

#[tokio::test]
async fn a_bad_token_string_is_invalid_token_not_invalid_request() {
    let issuer = issuer().await;
    let app = app(issuer.validator().build().unwrap());
    let token = issuer.token().sign();
    let (header, rest) = token.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let bad_json = b64(r#"{"alg":"RS256","#);
    let array_header = b64(r#"["RS256"]"#);
    let cases = [
        // wrong dot count
        "notajwt".to_owned(),
        format!("{header}.{payload}"),
        format!("{header}.{payload}.{signature}.{signature}"),
        // `=` padding
        format!("{token}="),
        format!("{token}=="),
        format!("{header}=.{payload}.{signature}"),
        // characters outside base64url (`+` and `/` are b64token characters, `*` is not)
        format!("{header}.{payload}.+{}", &signature[1..]),
        format!("{header}.{payload}./{}", &signature[1..]),
        format!("{header}.{payload}.*{}", &signature[1..]),
        // bad JSON
        format!("{bad_json}.{payload}.{signature}"),
        format!("{array_header}.{payload}.{signature}"),
        format!("{header}.{}.{signature}", b64("not json")),
    ];
    for bad in &cases {
        let reply = send(&app, bad).await;
        reply.assert_invalid_token(ErrorKind::MalformedToken);
    }
    // A bad kid is the token's fault too: 401.
    let bad_kid = issuer.token().header("kid", "a\u{1}b").sign();
    send(&app, &bad_kid)
        .await
        .assert_invalid_token(ErrorKind::InvalidKeyId);
    assert_accepted(&send(&app, &token).await, "user-1");
}

// --- Responses never echo the token --------------------------------------------------------

#[tokio::test]
async fn refusals_never_echo_the_token() {
    let (issuer, clock, app) = clocked(|b| b).await;
    let good = issuer.token().sign();
    let forged = with_signature(&good, &[7; 256]);
    let reply = send(&app, &forged).await;
    reply.assert_invalid_token(ErrorKind::InvalidSignature);
    assert_nothing_echoed(&reply, &forged);

    // Attacker-controlled text that would break out of a quoted-string if it were copied.
    let hostile_kid = issuer
        .token()
        .header("kid", r#"evil", error="injected\"#)
        .sign();
    let reply = send(&app, &hostile_kid).await;
    reply.assert_invalid_token(ErrorKind::UnknownKey);
    assert_nothing_echoed(&reply, &hostile_kid);
    assert!(!reply.challenge().contains("evil"));
    assert!(!reply.challenge().contains("injected"));

    let hostile_typ = issuer.token().header("typ", "x\"y\\z").sign();
    let reply = send(&app, &hostile_typ).await;
    reply.assert_invalid_token(ErrorKind::WrongTokenType);
    assert_nothing_echoed(&reply, &hostile_typ);

    let (_, rest) = good.split_once('.').unwrap();
    let bad_json = format!("{}.{}", b64(r#"{"alg":"RS256" "kid":"k"}"#), rest);
    let reply = send(&app, &bad_json).await;
    reply.assert_invalid_token(ErrorKind::MalformedToken);
    assert_nothing_echoed(&reply, &bad_json);

    clock.advance(Duration::from_secs(3600));
    let reply = send(&app, &good).await;
    reply.assert_invalid_token(ErrorKind::Expired);
    assert_nothing_echoed(&reply, &good);

    let long = issuer.token().claim("pad", "a".repeat(9000)).sign();
    let reply = send(&app, &long).await;
    reply.assert_invalid_token(ErrorKind::TokenTooLong);
    assert_nothing_echoed(&reply, &long);
}

// --- alg ---------------------------------------------------------------------------------

#[tokio::test]
async fn alg_none_in_any_case_is_refused() {
    let issuer = issuer().await;
    let app = app(issuer.validator().build().unwrap());
    for none in ["none", "None", "NONE", "nOnE"] {
        // A real RS256 signature under a header that claims `none`.
        let token = issuer.token().header("alg", none).sign();
        send(&app, &token)
            .await
            .assert_invalid_token(ErrorKind::UnsupportedAlgorithm);
    }
    assert_accepted(&send(&app, &issuer.token().sign()).await, "user-1");
}

#[tokio::test]
async fn alg_none_with_an_empty_signature_is_refused() {
    let issuer = issuer().await;
    let app = app(issuer.validator().build().unwrap());
    let token = issuer.token().header("alg", "none").sign();
    let (signing_input, _) = token.rsplit_once('.').unwrap();
    // The classic unsecured JWS: `header.payload.`
    send(&app, &format!("{signing_input}."))
        .await
        .assert_invalid_token(ErrorKind::MalformedToken);
}

#[tokio::test]
async fn unknown_missing_or_mistyped_alg_is_refused() {
    let issuer = issuer().await;
    let app = app(issuer.validator().build().unwrap());
    let kid = kid(&issuer, Algorithm::RS256);
    let cases = [
        issuer.token().header("alg", "rs256").sign(),
        issuer.token().header("alg", "RS1").sign(),
        issuer.token().header("alg", "ES512").sign(),
        issuer.token().header("alg", "").sign(),
        issuer.token().header("alg", 256).sign(),
        issuer.token().header("alg", json!(["RS256"])).sign(),
        issuer
            .token()
            .raw_header(&format!(r#"{{"kid":"{kid}","typ":"at+jwt"}}"#))
            .sign(),
        issuer
            .token()
            .raw_header(&format!(r#"{{"alg":null,"kid":"{kid}","typ":"at+jwt"}}"#))
            .sign(),
    ];
    for token in &cases {
        send(&app, token)
            .await
            .assert_invalid_token(ErrorKind::UnsupportedAlgorithm);
    }
    let raw_ok = issuer
        .token()
        .raw_header(&format!(
            r#"{{"alg":"RS256","kid":"{kid}","typ":"at+jwt"}}"#
        ))
        .sign();
    assert_accepted(&send(&app, &raw_ok).await, "user-1");
}

/// DER of an RSAPublicKey (PKCS#1) and of its SubjectPublicKeyInfo, for the key-confusion attack.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend([0x81, len as u8]);
    } else {
        out.extend([0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
    out
}

fn der_unsigned(bytes: &[u8]) -> Vec<u8> {
    let mut content = Vec::new();
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(bytes);
    der(0x02, &content)
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|chunk| std::str::from_utf8(chunk).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// The issuer's RS256 public key in every encoding someone might use as an HMAC secret.
fn rsa_public_key_encodings(issuer: &TestIssuer) -> Vec<(&'static str, Vec<u8>)> {
    let jwk = issuer.public_jwk(Algorithm::RS256).unwrap();
    let n_b64 = jwk["n"].as_str().unwrap().to_owned();
    let n = URL_SAFE_NO_PAD.decode(&n_b64).unwrap();
    let e = URL_SAFE_NO_PAD.decode(jwk["e"].as_str().unwrap()).unwrap();
    let pkcs1 = der(0x30, &[der_unsigned(&n), der_unsigned(&e)].concat());
    let algorithm_id = der(
        0x30,
        &[
            der(
                0x06,
                &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01],
            ),
            vec![0x05, 0x00],
        ]
        .concat(),
    );
    let bit_string = der(0x03, &[&[0u8][..], &pkcs1].concat());
    let spki = der(0x30, &[algorithm_id, bit_string].concat());
    vec![
        ("raw modulus bytes", n),
        ("JWK JSON", jwk.to_string().into_bytes()),
        ("n as base64url text", n_b64.into_bytes()),
        ("PKCS#1 DER", pkcs1.clone()),
        ("PKCS#1 PEM", pem("RSA PUBLIC KEY", &pkcs1).into_bytes()),
        ("SPKI DER", spki.clone()),
        ("SPKI PEM", pem("PUBLIC KEY", &spki).into_bytes()),
    ]
}

#[tokio::test]
async fn hs256_keyed_with_the_rsa_public_key_is_refused() {
    let issuer = issuer().await;
    let app = app(issuer.validator().build().unwrap());
    let kid = kid(&issuer, Algorithm::RS256);
    for (encoding, secret) in rsa_public_key_encodings(&issuer) {
        for token in [
            issuer
                .token()
                .header("kid", kid.as_str())
                .sign_hmac(Algorithm::HS256, &secret),
            issuer.token().sign_hmac(Algorithm::HS256, &secret),
            issuer
                .token()
                .header("kid", kid.as_str())
                .sign_hmac(Algorithm::HS512, &secret),
        ] {
            let reply = send(&app, &token).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{encoding}");
            reply.assert_invalid_token(ErrorKind::AlgorithmNotAllowed);
        }
    }
    assert_eq!(issuer.jwks_fetches(), 0, "refused before any key lookup");
}

#[tokio::test]
async fn hs256_naming_an_rsa_kid_is_refused_even_when_hmac_is_enabled() {
    let issuer = issuer().await;
    // HMAC is allowed here (a local secret), and the RSA key is in the same key set.
    let validator = issuer
        .validator()
        .jwks_document(jwks_of(&issuer, &[Algorithm::RS256]))
        .hmac_secret(Algorithm::HS256, Some("hs-local"), vec![9u8; 32])
        .build()
        .unwrap();
    let app = app(validator);
    let kid = kid(&issuer, Algorithm::RS256);
    for (encoding, secret) in rsa_public_key_encodings(&issuer) {
        let token = issuer
            .token()
            .header("kid", kid.as_str())
            .sign_hmac(Algorithm::HS256, &secret);
        let reply = send(&app, &token).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{encoding}");
        reply.assert_invalid_token(ErrorKind::KeyAlgorithmMismatch);
    }
    // Both keys work for their own algorithm.
    assert_accepted(&send(&app, &issuer.token().sign()).await, "user-1");
    let hs = issuer
        .token()
        .header("kid", "hs-local")
        .sign_hmac(Algorithm::HS256, &[9u8; 32]);
    assert_accepted(&send(&app, &hs).await, "user-1");
}

#[tokio::test]
async fn alg_outside_the_configured_allowlist_is_refused() {
    let issuer = issuer().await;
    let app = app(issuer
        .validator()
        .algorithms([Algorithm::ES256])
        .build()
        .unwrap());
    for algorithm in [Algorithm::RS256, Algorithm::PS256, Algorithm::EdDSA] {
        let token = issuer.token().algorithm(algorithm).sign();
        send(&app, &token)
            .await
            .assert_invalid_token(ErrorKind::AlgorithmNotAllowed);
    }
    assert_eq!(issuer.jwks_fetches(), 0, "refused before any key lookup");
    let token = issuer.token().algorithm(Algorithm::ES256).sign();
    assert_accepted(&send(&app, &token).await, "user-1");
}

#[tokio::test]
async fn header_alg_differing_from_the_keys_own_alg_is_refused() {
    let issuer = issuer().await;
    let app = app(issuer.validator().build().unwrap());
    let rs256_kid = kid(&issuer, Algorithm::RS256);
    // Signed PS256 by the PS256 key, but naming the RS256 key (same family, other alg).
    let token = issuer
        .token()
        .algorithm(Algorithm::PS256)
        .header("kid", rs256_kid.as_str())
        .sign();
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::KeyAlgorithmMismatch);
    // Signed by the RS256 key with a header claiming PS256.
    let token = issuer.token().header("alg", "PS256").sign();
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::KeyAlgorithmMismatch);
    assert_accepted(&send(&app, &issuer.token().sign()).await, "user-1");
}

#[tokio::test]
async fn header_alg_of_another_key_family_is_refused() {
    let issuer = issuer().await;
    let app = app(issuer.validator().build().unwrap());
    let ed_kid = kid(&issuer, Algorithm::EdDSA);
    let es_kid = kid(&issuer, Algorithm::ES256);
    let rs_kid = kid(&issuer, Algorithm::RS256);
    let cases = [
        // ES256 header, EdDSA key
        issuer
            .token()
            .algorithm(Algorithm::ES256)
            .header("kid", ed_kid.as_str())
            .sign(),
        // EdDSA header, ES256 key
        issuer
            .token()
            .algorithm(Algorithm::EdDSA)
            .header("kid", es_kid.as_str())
            .sign(),
        // ES256 header, RSA key
        issuer
            .token()
            .algorithm(Algorithm::ES256)
            .header("kid", rs_kid.as_str())
            .sign(),
        // RS256 header, EdDSA key
        issuer.token().header("kid", ed_kid.as_str()).sign(),
    ];
    for token in &cases {
        send(&app, token)
            .await
            .assert_invalid_token(ErrorKind::KeyAlgorithmMismatch);
    }
    let token = issuer.token().algorithm(Algorithm::EdDSA).sign();
    assert_accepted(&send(&app, &token).await, "user-1");
}

// --- keys come only from the configured JWKS ------------------------------------------------

#[tokio::test]
async fn embedded_jwk_header_is_never_used() {
    let clock = ManualClock::new(Duration::from_secs(T0));
    let victim = TestIssuer::start_with_clock(clock.clone()).await.unwrap();
    let attacker = TestIssuer::start_with_clock(clock.clone()).await.unwrap();
    let app = app(victim.validator().clock(clock.clone()).build().unwrap());
    assert_accepted(&send(&app, &victim.token().sign()).await, "user-1");
    assert_eq!(victim.jwks_fetches(), 1);

    let mut attacker_jwk = attacker.public_jwk(Algorithm::RS256).unwrap();
    attacker_jwk["kid"] = json!("attacker-1");
    let forge = || {
        attacker
            .token()
            .claim("iss", victim.issuer())
            .subject("mallory")
            .header("jwk", attacker_jwk.clone())
    };
    // No kid: the victim's set has several keys, and the embedded key is not one of them.
    let token = forge().without_header("kid").sign();
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::MissingKeyId);
    // The kid of the embedded key: not in the configured set.
    let token = forge().header("kid", "attacker-1").sign();
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::UnknownKey);
    // The victim's kid: the victim's key is used, and the attacker's signature fails it.
    let token = forge().header("kid", kid(&victim, Algorithm::RS256)).sign();
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::InvalidSignature);

    // With a single static key and no kid, that key (not the embedded one) is used.
    let single = app_with_single_key(&victim, &clock);
    let token = forge().without_header("kid").sign();
    send(&single, &token)
        .await
        .assert_invalid_token(ErrorKind::InvalidSignature);

    // The header itself is ignored, not refused: the victim's own token carrying it passes.
    let benign = victim.token().header("jwk", attacker_jwk.clone()).sign();
    assert_accepted(&send(&app, &benign).await, "user-1");

    assert_eq!(victim.jwks_fetches(), 1, "no fetch beyond the first");
    assert_eq!(attacker.jwks_fetches(), 0);
    assert_eq!(attacker.discovery_fetches(), 0);
}

#[tokio::test]
async fn jku_x5u_and_x5c_headers_are_never_followed() {
    let clock = ManualClock::new(Duration::from_secs(T0));
    let victim = TestIssuer::start_with_clock(clock.clone()).await.unwrap();
    let attacker = TestIssuer::start_with_clock(clock.clone()).await.unwrap();
    let app = app(victim.validator().clock(clock.clone()).build().unwrap());
    assert_accepted(&send(&app, &victim.token().sign()).await, "user-1");
    assert_eq!(victim.jwks_fetches(), 1);

    let attacker_url = attacker.jwks_url();
    let discovery_url = format!("{}/.well-known/openid-configuration", attacker.issuer());
    let forge = || {
        attacker
            .token()
            .claim("iss", victim.issuer())
            .subject("mallory")
            .header("jku", attacker_url.as_str())
            .header("x5u", discovery_url.as_str())
            .header("x5c", json!([STANDARD.encode(b"not a certificate at all")]))
    };
    let token = forge().without_header("kid").sign();
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::MissingKeyId);
    // The attacker's own kid: known only at the attacker's URL.
    let token = forge()
        .algorithm(Algorithm::EdDSA)
        .header("kid", "attacker-ed")
        .sign();
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::UnknownKey);
    let token = forge().header("kid", kid(&victim, Algorithm::RS256)).sign();
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::InvalidSignature);
    let single = app_with_single_key(&victim, &clock);
    let token = forge().without_header("kid").sign();
    send(&single, &token)
        .await
        .assert_invalid_token(ErrorKind::InvalidSignature);

    let benign = victim
        .token()
        .header("jku", attacker_url.as_str())
        .header("x5u", attacker_url.as_str())
        .sign();
    assert_accepted(&send(&app, &benign).await, "user-1");

    assert_eq!(victim.jwks_fetches(), 1, "no fetch beyond the first");
    assert_eq!(attacker.jwks_fetches(), 0, "the jku URL was fetched");
    assert_eq!(attacker.discovery_fetches(), 0, "the x5u URL was fetched");
}

// --- kid ---------------------------------------------------------------------------------

#[tokio::test]
async fn malformed_kid_is_refused_without_a_fetch() {
    let (issuer, _clock, app) = clocked(|b| b).await;
    let kid = kid(&issuer, Algorithm::RS256);
    let mut cases: Vec<String> = [
        json!("k".repeat(257)),
        json!("k".repeat(300)),
        json!(""),
        json!("a\u{0}b"),
        json!("line\nbreak"),
        json!("tab\there"),
        json!("del\u{7f}"),
        json!("caf\u{e9}"),
        json!(5),
        json!(true),
        json!(["rs256-0"]),
        json!({ "kid": kid }),
    ]
    .into_iter()
    .map(|bad| issuer.token().header("kid", bad).sign())
    .collect();
    cases.push(
        issuer
            .token()
            .raw_header(r#"{"alg":"RS256","kid":null,"typ":"at+jwt"}"#)
            .sign(),
    );
    for token in &cases {
        send(&app, token)
            .await
            .assert_invalid_token(ErrorKind::InvalidKeyId);
    }
    assert_eq!(
        issuer.discovery_fetches(),
        0,
        "a bad kid must cause no fetch"
    );
    assert_eq!(issuer.jwks_fetches(), 0, "a bad kid must cause no fetch");
}

#[tokio::test]
async fn well_formed_but_hostile_kid_is_an_unknown_key() {
    let (issuer, _clock, app) = clocked(|b| b).await;
    assert_accepted(&send(&app, &issuer.token().sign()).await, "user-1");
    let cases = [
        "../../etc/passwd".to_owned(),
        "../../../../dev/null%00".to_owned(),
        "' OR '1'='1".to_owned(),
        "http://127.0.0.1:1/jwks".to_owned(),
        "k".repeat(256),
    ];
    for hostile in &cases {
        let token = issuer.token().header("kid", hostile.as_str()).sign();
        send(&app, &token)
            .await
            .assert_invalid_token(ErrorKind::UnknownKey);
    }
    assert_eq!(
        issuer.jwks_fetches(),
        1,
        "unknown kids within the cooldown fetch nothing"
    );
}

#[tokio::test]
async fn kid_differing_in_case_is_an_unknown_key() {
    let issuer = issuer().await;
    let app = app(issuer.validator().build().unwrap());
    let kid = kid(&issuer, Algorithm::RS256);
    assert_ne!(kid, kid.to_uppercase());
    for variant in [
        kid.to_uppercase(),
        format!(" {kid}"),
        format!("{kid} "),
        format!("{kid}\u{20}x"),
    ] {
        let token = issuer.token().header("kid", variant.as_str()).sign();
        send(&app, &token)
            .await
            .assert_invalid_token(ErrorKind::UnknownKey);
    }
    let token = issuer.token().header("kid", kid.as_str()).sign();
    assert_accepted(&send(&app, &token).await, "user-1");
}

#[tokio::test]
async fn token_without_kid_is_refused_when_the_set_has_several_keys() {
    let issuer = issuer().await;
    let remote = app(issuer.validator().build().unwrap());
    let fixed = app(issuer
        .validator()
        .jwks_document(jwks_of(&issuer, &[Algorithm::RS256, Algorithm::ES256]))
        .build()
        .unwrap());
    for app in [&remote, &fixed] {
        for algorithm in [Algorithm::RS256, Algorithm::ES256] {
            let token = issuer
                .token()
                .algorithm(algorithm)
                .without_header("kid")
                .sign();
            send(app, &token)
                .await
                .assert_invalid_token(ErrorKind::MissingKeyId);
            let token = issuer.token().algorithm(algorithm).sign();
            assert_accepted(&send(app, &token).await, "user-1");
        }
    }
}

#[tokio::test]
async fn token_without_kid_is_accepted_when_a_static_set_has_exactly_one_key() {
    let issuer = issuer().await;
    let app = app(issuer
        .validator()
        .jwks_document(jwks_of(&issuer, &[Algorithm::ES256]))
        .build()
        .unwrap());
    let token = issuer
        .token()
        .algorithm(Algorithm::ES256)
        .without_header("kid")
        .sign();
    assert_accepted(&send(&app, &token).await, "user-1");
    // The single key still has one algorithm and its own kid.
    let token = issuer
        .token()
        .algorithm(Algorithm::EdDSA)
        .without_header("kid")
        .sign();
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::KeyAlgorithmMismatch);
    let token = issuer
        .token()
        .algorithm(Algorithm::ES256)
        .header("kid", "other")
        .sign();
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::UnknownKey);
}

// --- crit ---------------------------------------------------------------------------------

#[tokio::test]
async fn any_crit_header_is_refused() {
    let issuer = issuer().await;
    let app = app(issuer.validator().build().unwrap());
    let kid = kid(&issuer, Algorithm::RS256);
    let mut cases: Vec<String> = [
        json!([]),
        json!(["exp"]),
        json!(["b64"]),
        json!("x"),
        json!({}),
        json!(0),
    ]
    .into_iter()
    .map(|crit| issuer.token().header("crit", crit).header("exp", 1).sign())
    .collect();
    cases.push(
        issuer
            .token()
            .raw_header(&format!(
                r#"{{"alg":"RS256","kid":"{kid}","typ":"at+jwt","crit":null}}"#
            ))
            .sign(),
    );
    for token in &cases {
        send(&app, token)
            .await
            .assert_invalid_token(ErrorKind::CriticalHeader);
    }
    // An unprotected extension member without crit is just ignored.
    let token = issuer.token().header("exp", 1).sign();
    assert_accepted(&send(&app, &token).await, "user-1");
}

// --- typ ----------------------------------------------------------------------------------

#[tokio::test]
async fn access_token_typ_values_are_accepted_by_default() {
    let issuer = issuer().await;
    let app = app(issuer.validator().build().unwrap());
    let token = issuer.token().without_header("typ").sign();
    assert_accepted(&send(&app, &token).await, "user-1");
    for typ in [
        "JWT",
        "jwt",
        "at+jwt",
        "AT+JWT",
        "application/at+jwt",
        "Application/At+Jwt",
        "application/jwt",
    ] {
        let token = issuer.token().header("typ", typ).sign();
        assert_accepted(&send(&app, &token).await, "user-1");
    }
}

#[tokio::test]
async fn other_typ_values_are_refused() {
    let issuer = issuer().await;
    let app = app(issuer.validator().build().unwrap());
    for typ in [
        json!("dpop+jwt"),
        json!("logout+jwt"),
        json!("id_token"),
        json!("secevent+jwt"),
        json!("JOSE"),
        json!(""),
        json!("application/"),
        json!("at+jwt "),
        json!("application/application/at+jwt"),
        json!(5),
        json!(["at+jwt"]),
    ] {
        let token = issuer.token().header("typ", typ.clone()).sign();
        let reply = send(&app, &token).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{typ}");
        reply.assert_invalid_token(ErrorKind::WrongTokenType);
    }
    assert_eq!(issuer.jwks_fetches(), 0, "refused before any key lookup");
}

#[tokio::test]
async fn strict_rfc9068_requires_at_jwt() {
    let issuer = issuer().await;
    let app = app(issuer.validator().require_rfc9068().build().unwrap());
    for token in [
        issuer.token().header("typ", "JWT").sign(),
        issuer.token().header("typ", "application/jwt").sign(),
        issuer.token().without_header("typ").sign(),
    ] {
        send(&app, &token)
            .await
            .assert_invalid_token(ErrorKind::WrongTokenType);
    }
    for typ in ["at+jwt", "application/at+jwt"] {
        let token = issuer.token().header("typ", typ).sign();
        assert_accepted(&send(&app, &token).await, "user-1");
    }
}

#[tokio::test]
async fn strict_rfc9068_requires_sub_client_id_iat_and_jti() {
    let issuer = issuer().await;
    let app = app(issuer.validator().require_rfc9068().build().unwrap());
    for claim in ["sub", "client_id", "iat", "jti"] {
        let token = issuer.token().without_claim(claim).sign();
        let reply = send(&app, &token).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{claim}");
        reply.assert_invalid_token(ErrorKind::MissingRequiredClaim);
    }
    // Without strict mode each one is optional.
    let lenient = app_default(&issuer);
    for claim in ["sub", "client_id", "iat", "jti"] {
        let token = issuer.token().without_claim(claim).sign();
        let expected = if claim == "sub" { "" } else { "user-1" };
        assert_accepted(&send(&lenient, &token).await, expected);
    }
    assert_accepted(&send(&app, &issuer.token().sign()).await, "user-1");
}

// --- iss ----------------------------------------------------------------------------------

#[tokio::test]
async fn iss_must_be_byte_equal() {
    let issuer = issuer().await;
    let app = app_default(&issuer);
    let ours = issuer.issuer().to_owned();
    for iss in [
        json!(format!("{ours}/")),
        json!(ours.to_uppercase()),
        json!(format!("{ours} ")),
        json!(&ours[..ours.len() - 1]),
        json!([ours.clone()]),
        json!(12),
        json!(null),
        json!({ "iss": ours.clone() }),
    ] {
        let token = issuer.token().claim("iss", iss.clone()).sign();
        let reply = send(&app, &token).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{iss}");
        reply.assert_invalid_token(ErrorKind::IssuerMismatch);
    }
    let token = issuer.token().without_claim("iss").sign();
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::IssuerMismatch);
    assert_eq!(issuer.jwks_fetches(), 0, "refused before any key lookup");
    assert_accepted(&send(&app, &issuer.token().sign()).await, "user-1");
}

#[tokio::test]
async fn configured_issuer_with_a_trailing_slash_refuses_tokens_without_it() {
    let issuer = issuer().await;
    let app = app(
        scopegate::Validator::builder(format!("{}/", issuer.issuer()))
            .audience(TEST_AUDIENCE)
            .build()
            .unwrap(),
    );
    send(&app, &issuer.token().sign())
        .await
        .assert_invalid_token(ErrorKind::IssuerMismatch);
}

// --- aud ----------------------------------------------------------------------------------

#[tokio::test]
async fn aud_must_name_a_configured_audience() {
    let issuer = issuer().await;
    let app = app_default(&issuer);
    for aud in [
        json!(TEST_AUDIENCE),
        json!([TEST_AUDIENCE]),
        json!(["https://other.test", TEST_AUDIENCE]),
    ] {
        let token = issuer.token().audience(aud).sign();
        assert_accepted(&send(&app, &token).await, "user-1");
    }
    for aud in [
        json!("https://other.test"),
        json!(["https://other.test", "https://third.test"]),
        json!([]),
        json!([TEST_AUDIENCE, 1]),
        json!([[TEST_AUDIENCE]]),
        json!(format!("{TEST_AUDIENCE}/")),
        json!(TEST_AUDIENCE.to_uppercase()),
        json!(format!("{TEST_AUDIENCE} https://other.test")),
        json!(42),
        json!(null),
        json!({ "aud": TEST_AUDIENCE }),
    ] {
        let token = issuer.token().audience(aud.clone()).sign();
        let reply = send(&app, &token).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{aud}");
        reply.assert_invalid_token(ErrorKind::AudienceMismatch);
    }
    let token = issuer.token().without_claim("aud").sign();
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::AudienceMismatch);
}

#[tokio::test]
async fn any_of_several_configured_audiences_is_accepted() {
    let issuer = issuer().await;
    let app = app(issuer
        .validator()
        .audience("https://second.test")
        .build()
        .unwrap());
    for aud in [
        json!(TEST_AUDIENCE),
        json!("https://second.test"),
        json!(["https://third.test", "https://second.test"]),
    ] {
        let token = issuer.token().audience(aud).sign();
        assert_accepted(&send(&app, &token).await, "user-1");
    }
    let token = issuer.token().audience("https://third.test").sign();
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::AudienceMismatch);
}

// --- exp ----------------------------------------------------------------------------------

#[tokio::test]
async fn exp_is_accepted_until_one_second_before_exp_plus_leeway() {
    let (issuer, clock, app) = clocked(|b| b).await;
    // exp = T0 + 300, default leeway 60 s.
    let token = issuer.token().sign();
    clock.set(Duration::from_secs(T0 + 300 + 60 - 1));
    assert_accepted(&send(&app, &token).await, "user-1");
    clock.set(Duration::from_secs(T0 + 300 + 60));
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::Expired);
}

#[tokio::test]
async fn exp_with_zero_leeway_is_refused_at_exp() {
    let (issuer, clock, app) = clocked(|b| b.leeway(Duration::ZERO)).await;
    let token = issuer.token().sign();
    clock.set(Duration::from_secs(T0 + 299));
    assert_accepted(&send(&app, &token).await, "user-1");
    clock.set(Duration::from_secs(T0 + 300));
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::Expired);
    // Already expired when issued.
    clock.set(Duration::from_secs(T0));
    let token = issuer.token().expires_in(0).sign();
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::Expired);
    let token = issuer.token().claim("exp", -1).sign();
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::Expired);
}

#[tokio::test]
async fn missing_or_mistyped_exp_is_refused() {
    let (issuer, _clock, app) = clocked(|b| b).await;
    let later = T0 + 300;
    for exp in [
        json!(later.to_string()),
        json!("123"),
        json!(null),
        json!(true),
        json!([later]),
        json!({ "exp": later }),
    ] {
        let token = issuer.token().claim("exp", exp.clone()).sign();
        let reply = send(&app, &token).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{exp}");
        reply.assert_invalid_token(ErrorKind::MissingExpiry);
    }
    let token = issuer.token().without_claim("exp").sign();
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::MissingExpiry);
    let token = issuer.token().claim("exp", json!(later)).sign();
    assert_accepted(&send(&app, &token).await, "user-1");
}

#[tokio::test]
async fn fractional_exp_grants_no_extra_second() {
    let (issuer, clock, app) = clocked(|b| b.leeway(Duration::ZERO)).await;
    let token = issuer.token().claim("exp", (T0 + 300) as f64 + 0.5).sign();
    clock.set(Duration::from_secs(T0 + 299));
    assert_accepted(&send(&app, &token).await, "user-1");
    clock.set(Duration::from_secs(T0 + 300));
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::Expired);
}

// --- nbf, iat -------------------------------------------------------------------------------

#[tokio::test]
async fn nbf_beyond_the_leeway_is_refused() {
    let (issuer, _clock, app) = clocked(|b| b).await;
    let token = issuer.token().claim("nbf", T0 + 61).sign();
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::NotYetValid);
    // Within the leeway, and fractional within it (rounded up).
    for nbf in [json!(T0 + 60), json!(T0), json!((T0 + 59) as f64 + 0.5)] {
        let token = issuer.token().claim("nbf", nbf).sign();
        assert_accepted(&send(&app, &token).await, "user-1");
    }
    let token = issuer.token().claim("nbf", (T0 + 60) as f64 + 0.5).sign();
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::NotYetValid);
}

#[tokio::test]
async fn nbf_with_zero_leeway_is_accepted_from_nbf() {
    let (issuer, clock, app) = clocked(|b| b.leeway(Duration::ZERO)).await;
    let token = issuer.token().claim("nbf", T0 + 10).sign();
    clock.set(Duration::from_secs(T0 + 9));
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::NotYetValid);
    clock.set(Duration::from_secs(T0 + 10));
    assert_accepted(&send(&app, &token).await, "user-1");
}

#[tokio::test]
async fn mistyped_nbf_is_refused() {
    let (issuer, _clock, app) = clocked(|b| b).await;
    for nbf in [
        json!(T0.to_string()),
        json!(null),
        json!([T0]),
        json!(false),
    ] {
        let token = issuer.token().claim("nbf", nbf.clone()).sign();
        let reply = send(&app, &token).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{nbf}");
        reply.assert_invalid_token(ErrorKind::NotYetValid);
    }
}

#[tokio::test]
async fn iat_in_the_future_beyond_the_leeway_is_refused() {
    let (issuer, _clock, app) = clocked(|b| b).await;
    let token = issuer.token().claim("iat", T0 + 61).sign();
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::IssuedInFuture);
    let token = issuer.token().claim("iat", T0 + 60).sign();
    assert_accepted(&send(&app, &token).await, "user-1");
    for iat in [json!(T0.to_string()), json!(null), json!({})] {
        let token = issuer.token().claim("iat", iat.clone()).sign();
        let reply = send(&app, &token).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{iat}");
        reply.assert_invalid_token(ErrorKind::IssuedInFuture);
    }
}

// --- max lifetime, max age --------------------------------------------------------------------

#[tokio::test]
async fn huge_exp_is_refused_by_max_lifetime() {
    let (issuer, _clock, app) = clocked(|b| b.max_lifetime(Duration::from_secs(3600))).await;
    for exp in [
        json!(u64::MAX),
        json!(i64::MAX),
        json!(1e300),
        json!(T0 + 3601),
    ] {
        let token = issuer.token().claim("exp", exp.clone()).sign();
        let reply = send(&app, &token).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{exp}");
        reply.assert_invalid_token(ErrorKind::LifetimeTooLong);
    }
    let token = issuer.token().claim("exp", T0 + 3600).sign();
    assert_accepted(&send(&app, &token).await, "user-1");
}

#[tokio::test]
async fn huge_exp_is_accepted_without_max_lifetime() {
    // The documented default: only max_lifetime bounds exp.
    let (issuer, _clock, app) = clocked(|b| b).await;
    let token = issuer.token().claim("exp", u64::MAX).sign();
    assert_accepted(&send(&app, &token).await, "user-1");
}

#[tokio::test]
async fn max_lifetime_requires_iat() {
    let (issuer, _clock, app) = clocked(|b| b.max_lifetime(Duration::from_secs(3600))).await;
    let token = issuer.token().without_claim("iat").sign();
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::LifetimeTooLong);
    assert_accepted(&send(&app, &issuer.token().sign()).await, "user-1");
}

#[tokio::test]
async fn max_age_refuses_old_tokens() {
    let (issuer, clock, app) =
        clocked(|b| b.max_age(Duration::from_secs(600)).leeway(Duration::ZERO)).await;
    let token = issuer.token().expires_in(3600).sign();
    clock.set(Duration::from_secs(T0 + 600));
    assert_accepted(&send(&app, &token).await, "user-1");
    clock.set(Duration::from_secs(T0 + 601));
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::TooOld);
}

#[tokio::test]
async fn max_age_requires_iat() {
    let (issuer, _clock, app) = clocked(|b| b.max_age(Duration::from_secs(600))).await;
    let token = issuer.token().without_claim("iat").sign();
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::TooOld);
    assert_accepted(&send(&app, &issuer.token().sign()).await, "user-1");
}

// --- sub, jti, client_id --------------------------------------------------------------------

#[tokio::test]
async fn sub_jti_client_id_or_azp_of_the_wrong_type_is_refused() {
    let issuer = issuer().await;
    let app = app_default(&issuer);
    for claim in ["sub", "jti", "client_id", "azp"] {
        for value in [
            json!(5),
            json!(null),
            json!(["user-1"]),
            json!({}),
            json!(true),
        ] {
            let token = issuer.token().claim(claim, value.clone()).sign();
            let reply = send(&app, &token).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{claim}: {value}");
            reply.assert_invalid_token(ErrorKind::InvalidClaimType);
        }
        let token = issuer.token().claim(claim, "a string").sign();
        assert_eq!(send(&app, &token).await.status, StatusCode::OK, "{claim}");
    }
}

// --- size and shape of the compact JWS ------------------------------------------------------

/// A signed EdDSA token of exactly `len` bytes, padded through a claim and a header member.
fn token_of_length(issuer: &TestIssuer, len: usize) -> String {
    let base = issuer.token().algorithm(Algorithm::EdDSA).sign().len();
    let estimate = (len - base) * 3 / 4;
    for header_pad in 0..4 {
        for pad in estimate.saturating_sub(64)..estimate + 8 {
            let token = issuer
                .token()
                .algorithm(Algorithm::EdDSA)
                .header("x", "h".repeat(header_pad))
                .claim("pad", "p".repeat(pad))
                .sign();
            if token.len() == len {
                return token;
            }
        }
    }
    panic!("no token of {len} bytes");
}

#[tokio::test]
async fn token_over_8_kib_is_refused() {
    let issuer = issuer().await;
    let app = app_default(&issuer);
    let at_limit = token_of_length(&issuer, 8192);
    assert_accepted(&send(&app, &at_limit).await, "user-1");
    let over = token_of_length(&issuer, 8193);
    send(&app, &over)
        .await
        .assert_invalid_token(ErrorKind::TokenTooLong);
    let far_over = issuer.token().claim("pad", "p".repeat(100_000)).sign();
    send(&app, &far_over)
        .await
        .assert_invalid_token(ErrorKind::TokenTooLong);
    // Junk over the cap is refused on its length, before anything is parsed.
    let junk = "a".repeat(9000);
    send(&app, &junk)
        .await
        .assert_invalid_token(ErrorKind::TokenTooLong);
}

#[tokio::test]
async fn custom_max_token_bytes_is_enforced() {
    let issuer = issuer().await;
    let token = issuer.token().sign();
    let exact = app(issuer
        .validator()
        .max_token_bytes(token.len())
        .build()
        .unwrap());
    assert_accepted(&send(&exact, &token).await, "user-1");
    let short = app(issuer
        .validator()
        .max_token_bytes(token.len() - 1)
        .build()
        .unwrap());
    send(&short, &token)
        .await
        .assert_invalid_token(ErrorKind::TokenTooLong);
}

#[tokio::test]
async fn duplicate_header_members_are_refused() {
    let issuer = issuer().await;
    let app = app_default(&issuer);
    let kid = kid(&issuer, Algorithm::RS256);
    for header in [
        format!(r#"{{"alg":"RS256","alg":"RS256","kid":"{kid}","typ":"at+jwt"}}"#),
        format!(r#"{{"alg":"HS256","alg":"RS256","kid":"{kid}","typ":"at+jwt"}}"#),
        format!(r#"{{"alg":"RS256","kid":"{kid}","kid":"{kid}","typ":"at+jwt"}}"#),
        format!(r#"{{"alg":"RS256","kid":"{kid}","typ":"at+jwt","typ":"at+jwt"}}"#),
        // The same name through a JSON escape.
        format!(r#"{{"alg":"RS256","\u0061lg":"RS256","kid":"{kid}","typ":"at+jwt"}}"#),
    ] {
        let token = issuer.token().raw_header(&header).sign();
        let reply = send(&app, &token).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{header}");
        reply.assert_invalid_token(ErrorKind::MalformedToken);
    }
    let header = format!(r#"{{"alg":"RS256","kid":"{kid}","typ":"at+jwt"}}"#);
    let token = issuer.token().raw_header(&header).sign();
    assert_accepted(&send(&app, &token).await, "user-1");
}

#[tokio::test]
async fn duplicate_registered_claims_are_refused() {
    let (issuer, _clock, app) = clocked(|b| b).await;
    let iss = issuer.issuer().to_owned();
    let rest = format!(
        r#""aud":"{TEST_AUDIENCE}","sub":"user-1","exp":{}"#,
        T0 + 300
    );
    for claims in [
        format!(r#"{{"iss":"{iss}","iss":"{iss}",{rest}}}"#),
        format!(r#"{{"iss":"https://evil.test","iss":"{iss}",{rest}}}"#),
        format!(r#"{{"iss":"{iss}","\u0069ss":"{iss}",{rest}}}"#),
        format!(r#"{{"iss":"{iss}",{rest},"sub":"admin"}}"#),
        format!(r#"{{"iss":"{iss}",{rest},"aud":"https://other.test"}}"#),
        format!(r#"{{"iss":"{iss}",{rest},"exp":{}}}"#, u64::MAX),
    ] {
        let token = issuer.token().raw_claims(&claims).sign();
        let reply = send(&app, &token).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{claims}");
        reply.assert_invalid_token(ErrorKind::MalformedToken);
    }
    let claims = format!(r#"{{"iss":"{iss}",{rest}}}"#);
    let token = issuer.token().raw_claims(&claims).sign();
    assert_accepted(&send(&app, &token).await, "user-1");
}

#[tokio::test]
async fn non_canonical_base64url_is_refused() {
    let issuer = issuer().await;
    let app = app_default(&issuer);
    for algorithm in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
        let token = issuer.token().algorithm(algorithm).sign();
        let (signing_input, signature) = token.rsplit_once('.').unwrap();
        let flipped = non_canonical(signature).expect("signature length leaves spare bits");
        assert_ne!(flipped, signature);
        send(&app, &format!("{signing_input}.{flipped}"))
            .await
            .assert_invalid_token(ErrorKind::MalformedToken);
        assert_accepted(&send(&app, &token).await, "user-1");
    }
    // The header and payload segments too, whenever their length leaves spare bits.
    let mut checked = 0;
    for sub in ["u", "us", "usr"] {
        let token = issuer.token().subject(sub).sign();
        let parts: Vec<&str> = token.split('.').collect();
        for index in 0..2 {
            if let Some(flipped) = non_canonical(parts[index]) {
                let mut forged = parts.clone();
                forged[index] = &flipped;
                send(&app, &forged.join("."))
                    .await
                    .assert_invalid_token(ErrorKind::MalformedToken);
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 2,
        "no header or payload with spare bits was tried"
    );
}

#[tokio::test]
async fn stripped_or_extra_segments_are_refused() {
    let issuer = issuer().await;
    let app = app_default(&issuer);
    let token = issuer.token().sign();
    let parts: Vec<&str> = token.split('.').collect();
    let (h, p, s) = (parts[0], parts[1], parts[2]);
    for bad in [
        format!("{h}.{p}"),
        format!("{h}.{p}."),
        format!("{h}..{s}"),
        format!(".{p}.{s}"),
        format!("{h}.{p}.{s}."),
        format!("{h}.{p}.{s}.{s}"),
        format!("{h}.{p}.{s}.{s}.{s}"),
        format!("{p}.{s}"),
        "..".to_owned(),
        "...".to_owned(),
    ] {
        send(&app, &bad)
            .await
            .assert_invalid_token(ErrorKind::MalformedToken);
    }
}

#[tokio::test]
async fn deeply_nested_json_is_refused_without_crashing() {
    let (issuer, _clock, app) = clocked(|b| b.max_token_bytes(1 << 16)).await;
    let iss = issuer.issuer().to_owned();
    let kid = kid(&issuer, Algorithm::RS256);
    let open = "[".repeat(10_000);
    let balanced = format!("{open}{}", "]".repeat(10_000));
    let claims = |extra: &str| {
        format!(
            r#"{{"iss":"{iss}","aud":"{TEST_AUDIENCE}","sub":"user-1","exp":{},{extra}}}"#,
            T0 + 300
        )
    };
    // Unbalanced, in a custom claim and in the header.
    let token = issuer
        .token()
        .raw_claims(&claims(&format!(r#""deep":{open}"#)))
        .sign();
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::MalformedToken);
    let header = format!(r#"{{"alg":"RS256","kid":"{kid}","deep":{open}}}"#);
    let token = issuer.token().raw_header(&header).sign();
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::MalformedToken);
    // Balanced, in claims scopegate reads as JSON values.
    let exp = T0 + 300;
    for deep in [
        format!(r#"{{"iss":{balanced},"aud":"{TEST_AUDIENCE}","exp":{exp}}}"#),
        format!(r#"{{"iss":"{iss}","aud":{balanced},"exp":{exp}}}"#),
        format!(r#"{{"iss":"{iss}","aud":"{TEST_AUDIENCE}","exp":{balanced}}}"#),
        format!(r#"{{"iss":"{iss}","aud":"{TEST_AUDIENCE}","exp":{exp},"sub":{balanced}}}"#),
    ] {
        let token = issuer.token().raw_claims(&deep).sign();
        send(&app, &token)
            .await
            .assert_invalid_token(ErrorKind::MalformedToken);
    }
    // Balanced in a custom claim: deeper than 128 levels is malformed, even signed.
    let token = issuer
        .token()
        .raw_claims(&claims(&format!(r#""deep":{balanced}"#)))
        .sign();
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::MalformedToken);
    // 128 levels are read: a forged token with them is refused on its signature.
    let levels = format!("{}1{}", "[".repeat(128), "]".repeat(128));
    let token = issuer
        .token()
        .raw_claims(&claims(&format!(r#""deep":{levels}"#)))
        .sign();
    let forged = with_signature(&token, &[1; 256]);
    send(&app, &forged)
        .await
        .assert_invalid_token(ErrorKind::InvalidSignature);
    // The server is still answering.
    assert_accepted(&send(&app, &issuer.token().sign()).await, "user-1");
}

// --- signatures ---------------------------------------------------------------------------

#[tokio::test]
async fn es256_psychic_signature_is_refused() {
    let issuer = issuer().await;
    let app = app_default(&issuer);
    let token = issuer.token().algorithm(Algorithm::ES256).sign();
    // r = s = 0 (CVE-2022-21449), in the fixed-width JOSE form.
    send(&app, &with_signature(&token, &[0; 64]))
        .await
        .assert_invalid_token(ErrorKind::InvalidSignature);
    // r = s = 0 in other widths and the DER form an ASN.1 verifier might take.
    for signature in [
        &[0u8; 32][..],
        &[0; 1][..],
        &[0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00][..],
    ] {
        send(&app, &with_signature(&token, signature))
            .await
            .assert_invalid_token(ErrorKind::InvalidSignature);
    }
    assert_accepted(&send(&app, &token).await, "user-1");
}

#[tokio::test]
async fn a_signature_from_another_key_of_the_same_kind_is_refused() {
    let issuer = issuer().await;
    let other = TestIssuer::start().await.unwrap();
    let app = app_default(&issuer);
    for algorithm in [
        Algorithm::RS256,
        Algorithm::PS256,
        Algorithm::ES256,
        Algorithm::EdDSA,
    ] {
        let token = other
            .token()
            .algorithm(algorithm)
            .claim("iss", issuer.issuer())
            .header("kid", kid(&issuer, algorithm))
            .sign();
        send(&app, &token)
            .await
            .assert_invalid_token(ErrorKind::InvalidSignature);
    }
}

// --- HMAC ---------------------------------------------------------------------------------

const SECRET: [u8; 32] = *b"0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn hs256_with_a_local_secret_is_accepted() {
    let issuer = issuer().await;
    let app = app(issuer
        .validator()
        .hmac_secret(Algorithm::HS256, None, SECRET.to_vec())
        .build()
        .unwrap());
    let token = issuer
        .token()
        .subject("alice")
        .sign_hmac(Algorithm::HS256, &SECRET);
    assert_accepted(&send(&app, &token).await, "alice");
    assert_eq!(issuer.discovery_fetches() + issuer.jwks_fetches(), 0);
}

#[tokio::test]
async fn hs256_with_the_wrong_secret_is_refused() {
    let issuer = issuer().await;
    let app = app(issuer
        .validator()
        .hmac_secret(Algorithm::HS256, None, SECRET.to_vec())
        .build()
        .unwrap());
    let mut wrong = SECRET;
    wrong[31] ^= 1;
    let token = issuer.token().sign_hmac(Algorithm::HS256, &wrong);
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::InvalidSignature);
    // A truncated secret (a classic HMAC-key mistake) is another key.
    let token = issuer.token().sign_hmac(Algorithm::HS256, &SECRET[..31]);
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::InvalidSignature);
    // Another HS size with the right secret is not the configured algorithm.
    let token = issuer.token().sign_hmac(Algorithm::HS384, &SECRET);
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::AlgorithmNotAllowed);
}

#[tokio::test]
async fn hmac_secret_with_a_kid_refuses_other_kids_and_serves_kidless_tokens_when_alone() {
    let issuer = issuer().await;
    let app = app(issuer
        .validator()
        .hmac_secret(Algorithm::HS256, Some("hs-1"), SECRET.to_vec())
        .build()
        .unwrap());
    let token = issuer
        .token()
        .header("kid", "hs-1")
        .sign_hmac(Algorithm::HS256, &SECRET);
    assert_accepted(&send(&app, &token).await, "user-1");
    let token = issuer
        .token()
        .header("kid", "hs-2")
        .sign_hmac(Algorithm::HS256, &SECRET);
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::UnknownKey);
    // The only key serves a token without kid, as for any key set of one (OIDC Core §10.1).
    let token = issuer.token().sign_hmac(Algorithm::HS256, &SECRET);
    assert_accepted(&send(&app, &token).await, "user-1");
}

#[tokio::test]
async fn hmac_secret_with_a_kid_refuses_kidless_tokens_when_not_alone() {
    let issuer = issuer().await;
    let app = app(issuer
        .validator()
        .hmac_secret(Algorithm::HS256, Some("hs-1"), SECRET.to_vec())
        .hmac_secret(Algorithm::HS256, Some("hs-2"), [7u8; 32].to_vec())
        .build()
        .unwrap());
    let token = issuer.token().sign_hmac(Algorithm::HS256, &SECRET);
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::MissingKeyId);
}

#[tokio::test]
async fn remote_jwks_never_yields_an_hmac_key() {
    let clock = ManualClock::new(Duration::from_secs(T0));
    let issuer = TestIssuer::start_with_clock(clock.clone()).await.unwrap();
    let oct = json!({
        "kty": "oct", "kid": "hmac-1", "alg": "HS256", "use": "sig", "k": b64(SECRET),
    });
    let body = json!({ "keys": [oct, issuer.public_jwk(Algorithm::RS256).unwrap()] });
    issuer.set_jwks_body(Some(body.to_string().into_bytes()));
    let app = app(issuer.validator().clock(clock.clone()).build().unwrap());
    // The real key next to the oct member still works.
    assert_accepted(&send(&app, &issuer.token().sign()).await, "user-1");
    // An HS256 token naming the oct member.
    let token = issuer
        .token()
        .header("kid", "hmac-1")
        .sign_hmac(Algorithm::HS256, &SECRET);
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::AlgorithmNotAllowed);
    // The oct member is not in the key set at all: an RS256 token naming it finds no key
    // (were it kept, this would be KeyAlgorithmMismatch).
    let token = issuer.token().header("kid", "hmac-1").sign();
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::UnknownKey);
    // Without kid the set has one usable key, the RSA one: HS256 is still not allowed.
    let token = issuer.token().sign_hmac(Algorithm::HS256, &SECRET);
    send(&app, &token)
        .await
        .assert_invalid_token(ErrorKind::AlgorithmNotAllowed);
    assert_eq!(issuer.jwks_fetches(), 1);
}

// --- published test vectors -----------------------------------------------------------------

/// RFC 7515 Appendix A.2: RS256 over `{"iss":"joe", "exp":1300819380, ...}`, header
/// `{"alg":"RS256"}` (no kid, no typ). The payload has no `aud`, so after a good signature the
/// validator must stop at the audience: `AudienceMismatch` is only reachable once the
/// signature has verified.
const RFC7515_A2_N: &str = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
const RFC7515_A2_JWS: &str = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw";

#[tokio::test]
async fn rfc7515_a2_rs256_vector_verifies_and_tampering_is_refused() {
    let jwks = json!({ "keys": [{ "kty": "RSA", "n": RFC7515_A2_N, "e": "AQAB" }] });
    let app = app(scopegate::Validator::builder("joe")
        .audience(TEST_AUDIENCE)
        .jwks_document(jwks.to_string())
        .build()
        .unwrap());
    send(&app, RFC7515_A2_JWS)
        .await
        .assert_invalid_token(ErrorKind::AudienceMismatch);

    let (signing_input, signature) = RFC7515_A2_JWS.rsplit_once('.').unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
    bytes[100] ^= 0x01;
    send(&app, &with_signature(RFC7515_A2_JWS, &bytes))
        .await
        .assert_invalid_token(ErrorKind::InvalidSignature);
    // The payload of another token under the vector's header and signature.
    let other_payload = b64(r#"{"iss":"joe","exp":1300819380}"#);
    let (header, _) = signing_input.split_once('.').unwrap();
    send(&app, &format!("{header}.{other_payload}.{signature}"))
        .await
        .assert_invalid_token(ErrorKind::InvalidSignature);
}

/// RFC 7520 §4.1 (JOSE cookbook, RS256, kid `bilbo.baggins@hobbiton.example`). Its payload is
/// prose, not a JSON claims set, so a JWT validator must refuse it as malformed before any key
/// is used; the signature itself cannot be reached through this API (see the A.2 test above).
const RFC7520_4_1_N: &str = "n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqVwGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5gHdrNP5zw";
const RFC7520_4_1_JWS: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9.SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4.MRjdkly7_-oTPTS3AXP41iQIGKa80A0ZmTuV5MEaHoxnW2e5CZ5NlKtainoFmKZopdHM1O2U4mwzJdQx996ivp83xuglII7PNDi84wnB-BDkoBwA78185hX-Es4JIwmDLJK3lfWRa-XtL0RnltuYv746iYTh_qHRD68BNt1uSNCrUCTJDt5aAE6x8wW1Kt9eRo4QPocSadnHXFxnt8Is9UzpERV0ePPQdLuW3IS_de3xyIrDaLGdjluPxUAhb6L2aXic1U12podGU0KLUQSE_oI-ZnmKJ3F4uOZDnd6QZWJushZ41Axf_fcIe8u9ipH84ogoree7vjbU5y18kDquDg";

#[tokio::test]
async fn rfc7520_4_1_vector_is_refused_as_not_a_claims_set() {
    let jwks = json!({ "keys": [{
        "kty": "RSA", "kid": "bilbo.baggins@hobbiton.example", "use": "sig",
        "n": RFC7520_4_1_N, "e": "AQAB",
    }] });
    // The cookbook key is a usable 2048-bit RS key: the static set accepts it.
    let app = app(scopegate::Validator::builder("joe")
        .audience(TEST_AUDIENCE)
        .jwks_document(jwks.to_string())
        .build()
        .unwrap());
    send(&app, RFC7520_4_1_JWS)
        .await
        .assert_invalid_token(ErrorKind::MalformedToken);
}

/// SECURITY-BAR §4: a token bound to a key is not a bearer token. `Validator::validate` has no
/// request to check a proof against, so it refuses every `cnf`; a token without one passes.
#[tokio::test]
async fn validate_alone_refuses_key_bound_tokens() {
    let issuer = issuer().await;
    let validator = issuer.validator().build().unwrap();
    let key = scopegate::testing::DpopKey::generate(Algorithm::ES256).unwrap();
    let bound = issuer.token().bound_to(&key).sign();
    let error = validator.validate(&bound).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::BoundTokenAsBearer);
    let mtls = issuer
        .token()
        .claim(
            "cnf",
            json!({"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}),
        )
        .sign();
    let error = validator.validate(&mtls).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::UnsupportedConfirmation);
    assert!(validator.validate(&issuer.token().sign()).await.is_ok());
}
