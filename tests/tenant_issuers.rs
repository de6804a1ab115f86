//! Multi-tenant issuers (Microsoft Entra ID's `https://login.microsoftonline.com/{tenantid}/v2.0`):
//! one key set for every tenant, the token's `iss` naming its tenant and `tid` agreeing, an
//! allowlist or a callback choosing the tenants.

use scopegate::testing::{TEST_AUDIENCE, TestIssuer};
use scopegate::{ErrorKind, Issuers, Validator, ValidatorBuilder};

fn template(issuer: &TestIssuer) -> String {
    format!("{}/{{tenantid}}/v2.0", issuer.issuer())
}

fn builder(issuer: &TestIssuer) -> ValidatorBuilder {
    Validator::builder(template(issuer))
        .audience(TEST_AUDIENCE)
        .jwks_url(issuer.jwks_url())
}

fn token(issuer: &TestIssuer, iss_tenant: &str, tid: Option<&str>) -> String {
    let mut token = issuer
        .token()
        .claim("iss", format!("{}/{iss_tenant}/v2.0", issuer.issuer()));
    if let Some(tid) = tid {
        token = token.claim("tid", tid);
    }
    token.sign()
}

#[tokio::test]
async fn listed_tenants_are_accepted_and_keep_their_own_issuer() {
    let issuer = TestIssuer::start().await.unwrap();
    let validator = builder(&issuer)
        .tenants(["tenant-a", "tenant-b"])
        .build()
        .unwrap();
    for tenant in ["tenant-a", "tenant-b"] {
        let auth = validator
            .validate(&token(&issuer, tenant, Some(tenant)))
            .await
            .unwrap();
        assert_eq!(auth.issuer(), format!("{}/{tenant}/v2.0", issuer.issuer()));
    }
    assert_eq!(issuer.jwks_fetches(), 1, "one key set for every tenant");
}

#[tokio::test]
async fn an_unlisted_tenant_a_disagreeing_tid_or_no_tid_is_refused() {
    let issuer = TestIssuer::start().await.unwrap();
    let validator = builder(&issuer).tenants(["tenant-a"]).build().unwrap();
    for (iss_tenant, tid) in [
        ("tenant-c", Some("tenant-c")),
        ("tenant-a", Some("tenant-c")),
        ("tenant-c", Some("tenant-a")),
        ("tenant-a", None),
        ("tenant-a/x", Some("tenant-a/x")),
    ] {
        let refused = validator.validate(&token(&issuer, iss_tenant, tid)).await;
        assert_eq!(
            refused.map(|_| ()).map_err(|error| error.kind()),
            Err(ErrorKind::IssuerMismatch),
            "{iss_tenant} {tid:?}"
        );
    }
    // The template itself, literally, is no issuer.
    let literal = issuer
        .token()
        .claim("iss", template(&issuer))
        .claim("tid", "tenant-a")
        .sign();
    assert_eq!(
        validator.validate(&literal).await.unwrap_err().kind(),
        ErrorKind::IssuerMismatch
    );
}

#[tokio::test]
async fn a_callback_chooses_the_tenants_and_issuers_route_templated_tokens() {
    let issuer = TestIssuer::start().await.unwrap();
    let other = TestIssuer::start().await.unwrap();
    let templated = builder(&issuer)
        .tenant_filter(|tid| tid.starts_with("customer-"))
        .build()
        .unwrap();
    let issuers = Issuers::new([other.validator().build().unwrap(), templated]).unwrap();
    let accepted = token(&issuer, "customer-7", Some("customer-7"));
    assert!(issuers.validate(&accepted).await.is_ok());
    let refused = token(&issuer, "intruder", Some("intruder"));
    assert_eq!(
        issuers.validate(&refused).await.unwrap_err().kind(),
        ErrorKind::IssuerMismatch
    );
    // The exact issuer beside it still works.
    assert!(issuers.validate(&other.token().sign()).await.is_ok());
}

#[test]
fn a_template_needs_tenants_and_a_key_source_and_tenants_need_a_template() {
    let base = || Validator::builder("https://login.example/{tenantid}/v2.0").audience("api");
    assert!(
        base()
            .jwks_url("https://login.example/keys")
            .build()
            .is_err(),
        "no tenants"
    );
    assert!(base().tenants(["t"]).build().is_err(), "no jwks_url");
    assert!(
        base()
            .tenants(["t"])
            .jwks_url("https://login.example/keys")
            .build()
            .is_ok()
    );
    assert!(
        Validator::builder("https://login.example/{tenantid}/{tenantid}")
            .audience("api")
            .tenants(["t"])
            .jwks_url("https://login.example/keys")
            .build()
            .is_err()
    );
    assert!(
        Validator::builder("https://login.example/t/v2.0")
            .audience("api")
            .tenants(["t"])
            .build()
            .is_err()
    );
}
