//! Access tokens shaped as real identity providers issue them (recreated claim sets, really
//! signed by the in-process issuer), each through the README's recipe, positive and negative:
//! Auth0, Okta, Microsoft Entra ID, Keycloak, node-oidc-provider, and a Google ID token
//! presented where an access token is expected. Cognito has its own file.

use scopegate::testing::{TEST_AUDIENCE, TestIssuer};
use scopegate::{ErrorKind, ScopeSource};
use serde_json::json;

#[tokio::test]
async fn auth0_permissions_and_organization() {
    let issuer = TestIssuer::start().await.unwrap();
    let validator = issuer.validator().build().unwrap();
    // Auth0: `aud` holds the API and the userinfo endpoint; RBAC permissions in `permissions`.
    let token = issuer
        .token()
        .subject("auth0|64f1c2")
        .audience(json!([TEST_AUDIENCE, "https://tenant.auth0.com/userinfo"]))
        .claim("azp", "hZ3kqJ2x")
        .claim("scope", "openid profile email")
        .claim("permissions", json!(["read:invoices", "write:invoices"]))
        .claim("org_id", "org_9f8e")
        .claim(
            "https://my-apis/customScopes",
            json!(["add:comments-in-room_1"]),
        )
        .without_claim("client_id")
        .sign();
    let auth = validator.validate(&token).await.unwrap();
    assert!(auth.grants("write:invoices"));
    assert!(auth.grants("openid"));
    assert!(
        !auth.grants("add:comments-in-room_1"),
        "a custom claim needs a source"
    );
    assert_eq!(auth.claim::<String>("org_id").as_deref(), Some("org_9f8e"));
    assert_eq!(auth.authorized_party(), Some("hZ3kqJ2x"));
    // A token for userinfo only is not for this API.
    let userinfo = issuer
        .token()
        .audience("https://tenant.auth0.com/userinfo")
        .sign();
    assert_eq!(
        validator.validate(&userinfo).await.unwrap_err().kind(),
        ErrorKind::AudienceMismatch
    );
}

#[tokio::test]
async fn okta_scp_array() {
    let issuer = TestIssuer::start().await.unwrap();
    let validator = issuer.validator().build().unwrap();
    let token = issuer
        .token()
        .claim("ver", 1)
        .claim("cid", "0oa1b2c3")
        .claim("uid", "00u1a2b3")
        .claim("scp", json!(["openid", "read:rooms"]))
        .without_claim("scope")
        .sign();
    let auth = validator.validate(&token).await.unwrap();
    assert!(auth.grants("read:rooms"));
    // `scp` of a shape Okta never sends grants nothing, and the token stays valid.
    let odd = issuer
        .token()
        .claim("scp", json!({"read:rooms": true}))
        .sign();
    let auth = validator.validate(&odd).await.unwrap();
    assert!(!auth.grants("read:rooms"));
}

#[tokio::test]
async fn entra_id_v2_scp_string_and_app_roles() {
    let issuer = TestIssuer::start().await.unwrap();
    let validator = issuer
        .validator()
        .scope_source(ScopeSource::claim("roles"))
        .build()
        .unwrap();
    let token = issuer
        .token()
        .header("typ", "JWT")
        .claim("ver", "2.0")
        .claim("tid", "72f988bf-86f1-41af-91ab-2d7cd011db47")
        .claim("azp", "6e74172b-be56-4843-9ff4-e66a39bb12e3")
        .claim("scp", "Rooms.Read Rooms.Write")
        .claim("roles", json!(["Rooms.Admin"]))
        .without_claim("scope")
        .sign();
    let auth = validator.validate(&token).await.unwrap();
    assert!(auth.grants("Rooms.Write"));
    assert!(auth.grants("Rooms.Admin"));
    assert!(!auth.grants("rooms.write"), "case-sensitive");
    // A v1.0 token names the sts.windows.net issuer: not this issuer.
    let v1 = issuer
        .token()
        .claim(
            "iss",
            "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/",
        )
        .claim("ver", "1.0")
        .sign();
    assert_eq!(
        validator.validate(&v1).await.unwrap_err().kind(),
        ErrorKind::IssuerMismatch
    );
}

#[tokio::test]
async fn keycloak_scope_string_and_realm_roles_that_are_not_scopes() {
    let issuer = TestIssuer::start().await.unwrap();
    let validator = issuer.validator().build().unwrap();
    let token = issuer
        .token()
        .header("typ", "JWT")
        .claim("typ", "Bearer")
        .claim("azp", "rooms-frontend")
        .claim("scope", "openid email read:rooms")
        .claim(
            "realm_access",
            json!({"roles": ["offline_access", "admin"]}),
        )
        .claim(
            "resource_access",
            json!({"account": {"roles": ["manage-account"]}}),
        )
        .sign();
    let auth = validator.validate(&token).await.unwrap();
    assert!(auth.grants("read:rooms"));
    assert!(!auth.grants("admin"), "nested realm roles are never scopes");
    // A header `typ` that names no access token (here "Refresh") is refused.
    let refresh = issuer.token().header("typ", "Refresh").sign();
    assert_eq!(
        validator.validate(&refresh).await.unwrap_err().kind(),
        ErrorKind::WrongTokenType
    );
}

#[tokio::test]
async fn node_oidc_provider_rfc9068_tokens_in_strict_mode() {
    let issuer = TestIssuer::start().await.unwrap();
    let validator = issuer.validator().require_rfc9068().build().unwrap();
    let token = issuer.token().scope("read:rooms").sign();
    let auth = validator.validate(&token).await.unwrap();
    assert!(auth.grants("read:rooms"));
    assert!(auth.jwt_id().is_some() && auth.client_id().is_some());
    for (header_typ, missing) in [("JWT", None), ("at+jwt", Some("jti"))] {
        let mut builder = issuer.token().header("typ", header_typ);
        if let Some(claim) = missing {
            builder = builder.without_claim(claim);
        }
        let kind = validator
            .validate(&builder.sign())
            .await
            .unwrap_err()
            .kind();
        let expected = match missing {
            None => ErrorKind::WrongTokenType,
            Some(_) => ErrorKind::MissingRequiredClaim,
        };
        assert_eq!(kind, expected, "{header_typ} {missing:?}");
    }
}

#[tokio::test]
async fn a_google_id_token_is_no_access_token_for_this_api() {
    let issuer = TestIssuer::start().await.unwrap();
    let validator = issuer.validator().build().unwrap();
    // Google's access tokens are opaque; what a client may send instead is its ID token, whose
    // `aud` is the client's own id.
    let id_token = issuer
        .token()
        .header("typ", "JWT")
        .audience("1234567890-abc.apps.googleusercontent.com")
        .claim("azp", "1234567890-abc.apps.googleusercontent.com")
        .claim("email", "user@example.com")
        .claim("email_verified", true)
        .without_claim("client_id")
        .without_claim("scope")
        .sign();
    assert_eq!(
        validator.validate(&id_token).await.unwrap_err().kind(),
        ErrorKind::AudienceMismatch
    );
}
