//! The whole path, end to end: a live issuer, really signed tokens, the layer, a handler.

use crate::common;

use common::{app, app_behind, send, send_with};
use http::StatusCode;
use scopegate::Algorithm;
use scopegate::AuthLayer;
use scopegate::testing::{TEST_ALGORITHMS, TestIssuer};

#[tokio::test]
async fn every_supported_algorithm_verifies_through_discovery() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = app(issuer.validator().build().unwrap());
    for algorithm in TEST_ALGORITHMS {
        let token = issuer.token().algorithm(algorithm).subject("alice").sign();
        let reply = send(&app, &token).await;
        assert_eq!(
            reply.status,
            StatusCode::OK,
            "{algorithm:?}: {}",
            reply.challenge()
        );
        assert_eq!(reply.body, "alice");
    }
    assert_eq!(issuer.discovery_fetches(), 1);
    assert_eq!(issuer.jwks_fetches(), 1);
}

#[tokio::test]
async fn no_credentials_get_a_bare_challenge() {
    let issuer = TestIssuer::start().await.unwrap();
    let layer = AuthLayer::new(issuer.validator().build().unwrap()).realm("rooms");
    let app = app_behind(layer.unwrap());
    let reply = send_with(&app, "/me", &[]).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.challenge(), r#"Bearer realm="rooms""#);
    assert_eq!(issuer.jwks_fetches(), 0, "no token must cause no fetch");
}

#[tokio::test]
async fn a_tampered_token_is_refused() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = app(issuer.validator().build().unwrap());
    let token = issuer.token().algorithm(Algorithm::EdDSA).sign();
    let other = issuer
        .token()
        .algorithm(Algorithm::EdDSA)
        .subject("mallory")
        .sign();
    // Mallory's claims under Alice's signature.
    let (head, _) = token.rsplit_once('.').unwrap();
    let (_, other_sig) = other.rsplit_once('.').unwrap();
    let forged = format!("{head}.{other_sig}");
    send(&app, &forged)
        .await
        .assert_invalid_token(scopegate::ErrorKind::InvalidSignature);
}
