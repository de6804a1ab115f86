//! AWS Cognito access tokens: no `aud`, the app client in `client_id`, `token_use` "access".

use scopegate::testing::TestIssuer;
use scopegate::{ErrorKind, Validator};

async fn cognito(issuer: &TestIssuer) -> Validator {
    issuer
        .validator()
        .cognito_app_client("app-client-1")
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_cognito_access_token_of_a_configured_app_client_is_accepted() {
    let issuer = TestIssuer::start().await.unwrap();
    let validator = cognito(&issuer).await;
    let token = issuer
        .token()
        .without_claim("aud")
        .claim("client_id", "app-client-1")
        .claim("token_use", "access")
        .scope("aws.cognito.signin.user.admin read:rooms")
        .sign();
    let auth = validator.validate(&token).await.unwrap();
    assert_eq!(auth.client_id(), Some("app-client-1"));
    assert!(auth.grants("read:rooms"));
}

#[tokio::test]
async fn cognito_refuses_id_tokens_other_clients_and_missing_token_use() {
    let issuer = TestIssuer::start().await.unwrap();
    let validator = cognito(&issuer).await;
    let refusal = |token: String| {
        let validator = validator.clone();
        async move { validator.validate(&token).await.unwrap_err().kind() }
    };
    // A Cognito ID token: `aud` is the app client, `token_use` is "id".
    let id_token = issuer
        .token()
        .audience("app-client-1")
        .claim("client_id", "app-client-1")
        .claim("token_use", "id")
        .sign();
    assert_eq!(refusal(id_token).await, ErrorKind::WrongTokenType);
    for token_use in [
        None,
        Some(serde_json::json!("ID")),
        Some(serde_json::json!(["access"])),
    ] {
        let mut token = issuer
            .token()
            .without_claim("aud")
            .claim("client_id", "app-client-1");
        if let Some(value) = token_use {
            token = token.claim("token_use", value);
        }
        assert_eq!(refusal(token.sign()).await, ErrorKind::WrongTokenType);
    }
    let other_client = issuer
        .token()
        .without_claim("aud")
        .claim("client_id", "app-client-2")
        .claim("token_use", "access")
        .sign();
    assert_eq!(refusal(other_client).await, ErrorKind::AudienceMismatch);
    let no_client = issuer
        .token()
        .without_claim("aud")
        .without_claim("client_id")
        .claim("token_use", "access")
        .sign();
    assert_eq!(refusal(no_client).await, ErrorKind::AudienceMismatch);
    // An `aud` in Cognito mode must still be one of the configured audiences (the test
    // issuer's builder configures its own).
    let other_aud = issuer
        .token()
        .audience("another-api")
        .claim("client_id", "app-client-1")
        .claim("token_use", "access")
        .sign();
    assert_eq!(refusal(other_aud).await, ErrorKind::AudienceMismatch);
    let our_aud = issuer
        .token()
        .claim("client_id", "app-client-1")
        .claim("token_use", "access")
        .sign();
    assert!(validator.validate(&our_aud).await.is_ok());
}

#[tokio::test]
async fn without_cognito_mode_a_token_without_aud_is_refused_and_an_audience_is_required() {
    let issuer = TestIssuer::start().await.unwrap();
    let validator = issuer.validator().build().unwrap();
    let token = issuer
        .token()
        .without_claim("aud")
        .claim("client_id", "app-client-1")
        .claim("token_use", "access")
        .sign();
    assert_eq!(
        validator.validate(&token).await.unwrap_err().kind(),
        ErrorKind::AudienceMismatch
    );
    assert!(
        Validator::builder("https://issuer.example/")
            .build()
            .is_err()
    );
    assert!(
        Validator::builder("https://issuer.example/")
            .cognito_app_client("")
            .build()
            .is_err()
    );
}
