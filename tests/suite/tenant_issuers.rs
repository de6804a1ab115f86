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

#[tokio::test]
async fn a_tenant_removed_from_the_filter_stops_at_once_even_for_cached_tokens() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let issuer = TestIssuer::start().await.unwrap();
    let customer = Arc::new(AtomicBool::new(true));
    let still = customer.clone();
    let validator = builder(&issuer)
        .tenant_filter(move |tid| tid == "tenant-a" && still.load(Ordering::SeqCst))
        .build()
        .unwrap();
    let issuers = Issuers::from(validator);
    let token = token(&issuer, "tenant-a", Some("tenant-a"));
    assert!(issuers.validate(&token).await.is_ok());
    assert!(issuers.validate(&token).await.is_ok(), "a cache hit");
    customer.store(false, Ordering::SeqCst);
    assert_eq!(
        issuers.validate(&token).await.unwrap_err().kind(),
        ErrorKind::IssuerMismatch
    );
}

#[tokio::test]
async fn an_unsigned_token_neither_runs_the_tenant_filter_nor_learns_who_is_a_customer() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let issuer = TestIssuer::start().await.unwrap();
    let asked = Arc::new(AtomicUsize::new(0));
    let count = asked.clone();
    let validator = builder(&issuer)
        .tenant_filter(move |tid| {
            count.fetch_add(1, Ordering::SeqCst);
            tid == "customer"
        })
        .build()
        .unwrap();
    let forged = |tenant: &str| {
        let token = token(&issuer, tenant, Some(tenant));
        format!("{}AAAA", &token[..token.len() - 4])
    };
    let customer = validator.validate(&forged("customer")).await.unwrap_err();
    let stranger = validator.validate(&forged("stranger")).await.unwrap_err();
    assert_eq!(customer.kind(), ErrorKind::InvalidSignature);
    assert_eq!(stranger.kind(), customer.kind(), "the same answer for both");
    assert_eq!(asked.load(Ordering::SeqCst), 0);
}
