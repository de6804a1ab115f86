//! Selecting the key for a token: keys of different types sharing a `kid` (RFC 7517 §4.5), and
//! the fully-specified `Ed25519` algorithm name (RFC 9864), with really signed tokens.

use scopegate::testing::TestIssuer;
use scopegate::{Algorithm, ErrorKind};
use serde_json::{Value, json};

/// The issuer's public JWK for `algorithm`, with its `kid` (and `alg`) replaced.
fn jwk(issuer: &TestIssuer, algorithm: Algorithm, kid: &str, alg: Option<&str>) -> Value {
    let mut jwk = issuer.public_jwk(algorithm).unwrap();
    jwk["kid"] = kid.into();
    if let Some(alg) = alg {
        jwk["alg"] = alg.into();
    }
    jwk
}

#[tokio::test]
async fn keys_of_different_types_sharing_a_kid_each_verify_their_own_tokens() {
    let issuer = TestIssuer::start().await.unwrap();
    let document = json!({"keys": [
        jwk(&issuer, Algorithm::RS256, "shared", None),
        jwk(&issuer, Algorithm::ES256, "shared", None),
        jwk(&issuer, Algorithm::EdDSA, "shared", None),
    ]});
    let validator = issuer
        .validator()
        .jwks_document(document.to_string())
        .build()
        .unwrap();
    for algorithm in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
        let token = issuer
            .token()
            .algorithm(algorithm)
            .header("kid", "shared")
            .subject("alice")
            .sign();
        let auth = validator.validate(&token).await;
        assert_eq!(
            auth.map(|auth| auth.algorithm()).map_err(|e| e.kind()),
            Ok(algorithm),
            "{algorithm:?}"
        );
    }
    // No key of the PS256 family under that kid: refused, never tried with the others.
    let ps256 = issuer
        .token()
        .algorithm(Algorithm::PS256)
        .header("kid", "shared")
        .sign();
    assert_eq!(
        validator.validate(&ps256).await.unwrap_err().kind(),
        ErrorKind::KeyAlgorithmMismatch
    );
}

#[tokio::test]
async fn within_one_key_type_a_repeated_kid_keeps_the_first_key() {
    let issuer = TestIssuer::start().await.unwrap();
    let first = issuer
        .token()
        .algorithm(Algorithm::RS256)
        .header("kid", "k")
        .sign();
    // The PS256 key is another RSA key: under the same kid it is skipped.
    let document = json!({"keys": [
        jwk(&issuer, Algorithm::RS256, "k", None),
        jwk(&issuer, Algorithm::PS256, "k", None),
    ]});
    let validator = issuer
        .validator()
        .jwks_document(document.to_string())
        .build()
        .unwrap();
    assert!(validator.validate(&first).await.is_ok());
    let second = issuer
        .token()
        .algorithm(Algorithm::PS256)
        .header("kid", "k")
        .sign();
    assert_eq!(
        validator.validate(&second).await.unwrap_err().kind(),
        ErrorKind::KeyAlgorithmMismatch
    );
}

#[tokio::test]
async fn the_fully_specified_ed25519_name_works_in_the_token_and_the_jwk() {
    let issuer = TestIssuer::start().await.unwrap();
    // A JWK as WebCrypto exports it: `"alg": "Ed25519"`.
    let document = json!({"keys": [jwk(&issuer, Algorithm::EdDSA, "ed", Some("Ed25519"))]});
    let validator = issuer
        .validator()
        .jwks_document(document.to_string())
        .build()
        .unwrap();
    for header_alg in ["EdDSA", "Ed25519"] {
        let token = issuer
            .token()
            .algorithm(Algorithm::EdDSA)
            .header("kid", "ed")
            .header("alg", header_alg)
            .sign();
        let auth = validator.validate(&token).await;
        assert_eq!(
            auth.map(|auth| auth.algorithm()).map_err(|e| e.kind()),
            Ok(Algorithm::EdDSA),
            "{header_alg}"
        );
    }
    // Ed448 is not supported: refused as an unknown algorithm.
    let ed448 = issuer
        .token()
        .algorithm(Algorithm::EdDSA)
        .header("kid", "ed")
        .header("alg", "Ed448")
        .sign();
    assert_eq!(
        validator.validate(&ed448).await.unwrap_err().kind(),
        ErrorKind::UnsupportedAlgorithm
    );
    // `Ed25519` names an Ed25519 key: an RSA key under that kid would never fit it.
    let rsa_document = json!({"keys": [jwk(&issuer, Algorithm::RS256, "ed", None)]});
    let rsa_validator = issuer
        .validator()
        .jwks_document(rsa_document.to_string())
        .build()
        .unwrap();
    let token = issuer
        .token()
        .algorithm(Algorithm::EdDSA)
        .header("kid", "ed")
        .header("alg", "Ed25519")
        .sign();
    assert_eq!(
        rsa_validator.validate(&token).await.unwrap_err().kind(),
        ErrorKind::KeyAlgorithmMismatch
    );
}

/// An RSA key published without `alg` is used with one algorithm: RS256 unless the API chooses
/// another for its issuer.
#[tokio::test]
async fn rsa_keys_without_alg_verify_the_one_algorithm_the_issuer_is_configured_for() {
    let issuer = TestIssuer::start().await.unwrap();
    let mut alg_less = issuer.public_jwk(Algorithm::PS256).unwrap();
    alg_less.as_object_mut().unwrap().remove("alg");
    alg_less["kid"] = "rsa".into();
    let document = json!({"keys": [alg_less]}).to_string();
    let ps256 = issuer
        .token()
        .algorithm(Algorithm::PS256)
        .header("kid", "rsa")
        .sign();

    let by_default = issuer
        .validator()
        .jwks_document(document.clone())
        .build()
        .unwrap();
    assert_eq!(
        by_default.validate(&ps256).await.unwrap_err().kind(),
        ErrorKind::KeyAlgorithmMismatch
    );

    let chosen = issuer
        .validator()
        .jwks_document(document.clone())
        .rsa_keys_without_alg(Algorithm::PS256)
        .build()
        .unwrap();
    assert!(chosen.validate(&ps256).await.is_ok());

    // Not an RSA algorithm, or not allowed: a configuration error.
    assert!(
        issuer
            .validator()
            .jwks_document(document.clone())
            .rsa_keys_without_alg(Algorithm::ES256)
            .build()
            .is_err()
    );
    assert!(
        issuer
            .validator()
            .jwks_document(document)
            .algorithms([Algorithm::RS256])
            .rsa_keys_without_alg(Algorithm::PS256)
            .build()
            .is_err()
    );
}
