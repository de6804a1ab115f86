//! One user, Admin in organization A and Viewer in organization B, one API (the first user story).
//!
//! ```text
//! cargo run --example orgs
//! ```
//!
//! Two ways to carry per-organization permissions, both enforced by the same kind of route
//! requirement, run against the built-in dev issuer and printed as a table:
//!
//! 1. **One organization per token** (Auth0 Organizations): the user picks an organization at
//!    login; the token carries `org_id` and that organization's scopes. Routes require the scope
//!    and `org_id == {org}`.
//! 2. **Roles per tenant in one token**: the token carries `{"org-a": "admin", "org-b":
//!    "viewer"}`; the API's `RolePolicy` turns roles into `read:invoices-in-{tenant}`-style
//!    scopes. Routes require `read:invoices-in-{org}`.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use scopegate::testing::TestIssuer;
use scopegate::{AuthLayer, Requirement, RolePolicy, RouterExt, scope};
use serde_json::json;
use tower::ServiceExt;

type Error = Box<dyn std::error::Error + Send + Sync>;

const ROLES_CLAIM: &str = "https://my-apis/roles";

async fn ok() -> StatusCode {
    StatusCode::OK
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let issuer = TestIssuer::start().await?;

    // 1. One organization per token.
    let per_token = Router::new()
        .route_requiring(
            "/orgs/{org}/invoices",
            get(ok),
            Requirement::all_of([
                scope!("read:invoices"),
                Requirement::claim_equals("org_id", "org"),
            ]),
        )
        .route_requiring(
            "/orgs/{org}/invoices",
            post(ok),
            Requirement::all_of([
                scope!("write:invoices"),
                Requirement::claim_equals("org_id", "org"),
            ]),
        )
        .layer(AuthLayer::new(issuer.validator().build()?));
    let admin_in_a = issuer
        .token()
        .subject("alice")
        .claim("org_id", "org-a")
        .scope("read:invoices write:invoices")
        .sign();
    let viewer_in_b = issuer
        .token()
        .subject("alice")
        .claim("org_id", "org-b")
        .scope("read:invoices")
        .sign();

    // 2. Roles per tenant, expanded by the API's policy.
    let policy = RolePolicy::new(ROLES_CLAIM)
        .role(
            "admin",
            ["read:invoices-in-{tenant}", "write:invoices-in-{tenant}"],
        )?
        .role("viewer", ["read:invoices-in-{tenant}"])?;
    let per_role = Router::new()
        .route_requiring(
            "/orgs/{org}/invoices",
            get(ok),
            scope!("read:invoices-in-{org}"),
        )
        .route_requiring(
            "/orgs/{org}/invoices",
            post(ok),
            scope!("write:invoices-in-{org}"),
        )
        .layer(AuthLayer::new(issuer.validator().build()?).role_policy(policy)?);
    let roles = issuer
        .token()
        .subject("alice")
        .claim(ROLES_CLAIM, json!({"org-a": "admin", "org-b": "viewer"}))
        .sign();

    println!("way 1: one organization per token (org_id + scopes)");
    for (label, token) in [
        ("token for org-a (admin)", &admin_in_a),
        ("token for org-b (viewer)", &viewer_in_b),
    ] {
        show(&per_token, label, token).await?;
    }
    println!();
    println!("way 2: one token with roles per organization, RolePolicy in the API");
    show(
        &per_role,
        "token with {org-a: admin, org-b: viewer}",
        &roles,
    )
    .await?;
    Ok(())
}

async fn show(app: &Router, label: &str, token: &str) -> Result<(), Error> {
    println!("  {label}");
    for (method, org) in [
        ("GET", "org-a"),
        ("POST", "org-a"),
        ("GET", "org-b"),
        ("POST", "org-b"),
    ] {
        let request = Request::builder()
            .method(method)
            .uri(format!("/orgs/{org}/invoices"))
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())?;
        let response = app.clone().oneshot(request).await?;
        let scope = response
            .headers()
            .get("www-authenticate")
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split("scope=").nth(1))
            .map(|scope| format!(" needs {scope}"))
            .unwrap_or_default();
        println!(
            "    {method:<4} /orgs/{org}/invoices -> {}{scope}",
            response.status().as_u16()
        );
    }
    Ok(())
}
