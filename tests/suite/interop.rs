//! Tokens and keys made by two independent JOSE implementations (PyJWT and jwcrypto), committed
//! as fixtures by `tests/fixtures/generate.py`: every valid one verifies, every invalid one is
//! refused for its stated reason.

use std::time::Duration;

use scopegate::Validator;
use scopegate::testing::ManualClock;
use serde_json::Value;

const FIXTURES: &str = include_str!("../fixtures/interop.json");

fn fixtures() -> Value {
    serde_json::from_str(FIXTURES).unwrap()
}

/// A validator for the fixtures' issuer and keys, its clock a minute after they were issued.
fn validator(fixtures: &Value) -> Validator {
    let issued_at = fixtures["iat"].as_u64().unwrap();
    Validator::builder(fixtures["issuer"].as_str().unwrap())
        .audience(fixtures["audience"].as_str().unwrap())
        .jwks_document(fixtures["jwks"].to_string())
        .clock(ManualClock::new(Duration::from_secs(issued_at + 60)))
        .build()
        .unwrap()
}

#[tokio::test]
async fn tokens_signed_by_pyjwt_and_jwcrypto_verify_for_every_algorithm() {
    let fixtures = fixtures();
    let validator = validator(&fixtures);
    let valid = fixtures["valid"].as_array().unwrap();
    assert_eq!(valid.len(), 10);
    for case in valid {
        let token = case["token"].as_str().unwrap();
        let auth = validator.validate(token).await;
        let auth = auth.unwrap_or_else(|error| panic!("{case}: {error}"));
        assert_eq!(
            format!("{:?}", auth.algorithm()),
            case["alg"].as_str().unwrap()
        );
        assert_eq!(auth.subject(), Some("interop-user"));
        assert!(auth.grants("read:comments-in-room_1"), "{case}");
    }
}

#[tokio::test]
async fn invalid_fixtures_are_refused_for_their_stated_reason() {
    let fixtures = fixtures();
    let validator = validator(&fixtures);
    for case in fixtures["invalid"].as_array().unwrap() {
        let token = case["token"].as_str().unwrap();
        let refused = validator.validate(token).await.unwrap_err();
        assert_eq!(
            format!("{:?}", refused.kind()),
            case["why"].as_str().unwrap(),
            "{case}"
        );
    }
}
