//! Several issuers behind one layer: selection by `iss`, no network for strangers, and no key
//! shared across issuers.

use crate::common;

use axum::Router;
use axum::routing::get;
use common::send;
use http::StatusCode;
use scopegate::testing::TestIssuer;
use scopegate::{AuthLayer, Authenticated, ErrorKind, Issuers, Validator};

fn app(issuers: Issuers) -> Router {
    Router::new()
        .route(
            "/me",
            get(|auth: Authenticated| async move { auth.issuer().to_owned() }),
        )
        .layer(AuthLayer::new(issuers))
}

async fn two_issuers() -> (TestIssuer, TestIssuer, Router) {
    let a = TestIssuer::start().await.unwrap();
    let b = TestIssuer::start().await.unwrap();
    let issuers = Issuers::new([
        a.validator().build().unwrap(),
        b.validator().build().unwrap(),
    ])
    .unwrap();
    (a, b, app(issuers))
}

#[tokio::test]
async fn each_listed_issuer_is_accepted_with_its_own_keys() {
    let (a, b, app) = two_issuers().await;
    let reply = send(&app, &a.token().sign()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.challenge());
    assert_eq!(reply.body, a.issuer());
    let reply = send(&app, &b.token().sign()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.challenge());
    assert_eq!(reply.body, b.issuer());
    assert_eq!((a.jwks_fetches(), b.jwks_fetches()), (1, 1));
}

#[tokio::test]
async fn an_issuer_outside_the_list_is_refused_without_any_fetch() {
    let (a, b, app) = two_issuers().await;
    let stranger = TestIssuer::start().await.unwrap();
    send(&app, &stranger.token().sign())
        .await
        .assert_invalid_token(ErrorKind::IssuerMismatch);
    // A listed issuer's name with a trailing slash is another issuer.
    let lookalike = a.token().claim("iss", format!("{}/", a.issuer())).sign();
    send(&app, &lookalike)
        .await
        .assert_invalid_token(ErrorKind::IssuerMismatch);
    let missing = a.token().without_claim("iss").sign();
    send(&app, &missing)
        .await
        .assert_invalid_token(ErrorKind::IssuerMismatch);
    let repeated = a
        .token()
        .raw_claims(&format!(
            r#"{{"iss":"{}","iss":"{}","aud":"x","exp":9999999999}}"#,
            a.issuer(),
            b.issuer()
        ))
        .sign();
    send(&app, &repeated)
        .await
        .assert_invalid_token(ErrorKind::IssuerMismatch);
    assert_eq!(
        (a.jwks_fetches(), b.jwks_fetches(), stranger.jwks_fetches()),
        (0, 0, 0)
    );
    assert_eq!((a.discovery_fetches(), b.discovery_fetches()), (0, 0));
}

#[tokio::test]
async fn one_issuers_key_never_verifies_anothers_token() {
    let (a, b, app) = two_issuers().await;
    // Both issuers name their first RS256 key alike, so B's token claiming to be A's selects A's
    // key with that kid, which B's signature does not match.
    assert_eq!(
        a.kid(scopegate::Algorithm::RS256),
        b.kid(scopegate::Algorithm::RS256)
    );
    let forged = b.token().claim("iss", a.issuer()).sign();
    send(&app, &forged)
        .await
        .assert_invalid_token(ErrorKind::InvalidSignature);
    // B's own tokens still verify, so the refusal above is about the key, not about B.
    assert_eq!(send(&app, &b.token().sign()).await.status, StatusCode::OK);
    assert_eq!(b.jwks_fetches(), 1);
}

#[tokio::test]
async fn each_issuer_keeps_its_own_audience() {
    let a = TestIssuer::start().await.unwrap();
    let b = TestIssuer::start().await.unwrap();
    let issuers = Issuers::new([
        Validator::builder(a.issuer())
            .audience("api-a")
            .build()
            .unwrap(),
        Validator::builder(b.issuer())
            .audience("api-b")
            .build()
            .unwrap(),
    ])
    .unwrap();
    let app = app(issuers);
    assert_eq!(
        send(&app, &a.token().audience("api-a").sign()).await.status,
        StatusCode::OK
    );
    send(&app, &a.token().audience("api-b").sign())
        .await
        .assert_invalid_token(ErrorKind::AudienceMismatch);
    assert_eq!(
        send(&app, &b.token().audience("api-b").sign()).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn an_empty_or_repeated_issuer_list_is_a_configuration_error() {
    assert!(Issuers::new([]).is_err());
    let a = TestIssuer::start().await.unwrap();
    let repeated = Issuers::new([
        a.validator().build().unwrap(),
        a.validator().build().unwrap(),
    ]);
    assert!(repeated.is_err());
}

#[tokio::test]
async fn issuers_validate_directly_outside_a_tower_stack() {
    let a = TestIssuer::start().await.unwrap();
    let b = TestIssuer::start().await.unwrap();
    let issuers = Issuers::new([
        a.validator().build().unwrap(),
        b.validator().build().unwrap(),
    ])
    .unwrap();
    let auth = issuers
        .validate(&b.token().subject("bob").sign())
        .await
        .unwrap();
    assert_eq!(auth.subject(), Some("bob"));
    assert_eq!(auth.issuer(), b.issuer());
}
