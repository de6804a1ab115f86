//! The API's policy on the layer: several role policies (one per claim, no shared template),
//! role templates and wildcard grants, invalid tenant entries, and the realm; real routers,
//! really signed tokens.

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use scopegate::testing::TestIssuer;
use scopegate::{AuthLayer, ErrorKind, RolePolicy, RouterExt, scope};
use serde_json::json;
use tower::ServiceExt;

// --- helpers -------------------------------------------------------------------------------

const REALM: &str = r#"Bearer realm="https://api.scopegate.test""#;
const ORG_ROLES: &str = "https://my-apis/org_roles";
const ROOM_ROLES: &str = "https://my-apis/room_roles";

#[derive(Debug)]
struct Reply {
    status: StatusCode,
    challenge: Option<String>,
    body: String,
}

async fn send(app: &Router, path: &str, token: &str) -> Reply {
    let request = Request::get(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|value| value.to_str().unwrap().to_owned());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        challenge,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

#[track_caller]
fn assert_ok(reply: &Reply, body: &str, context: &str) {
    assert_eq!(reply.status, StatusCode::OK, "{context}: {reply:?}");
    assert_eq!(reply.body, body, "{context}: {reply:?}");
    assert_eq!(reply.challenge, None, "{context}: {reply:?}");
}

/// 403 `insufficient_scope` naming exactly `scope`.
#[track_caller]
fn assert_forbidden(reply: &Reply, scope: &str, context: &str) {
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{context}: {reply:?}");
    assert_eq!(
        reply.challenge.as_deref(),
        Some(
            format!(
                r#"{REALM}, error="insufficient_scope", error_description="{}", scope="{scope}""#,
                ErrorKind::InsufficientScope.description()
            )
            .as_str()
        ),
        "{context}: {reply:?}"
    );
    assert_eq!(reply.body, "", "{context}: {reply:?}");
}

fn org_policy() -> RolePolicy {
    RolePolicy::new(ORG_ROLES)
        .role("admin", ["manage:org-{tenant}"])
        .unwrap()
}

fn room_policy() -> RolePolicy {
    RolePolicy::new(ROOM_ROLES)
        .role("admin", ["manage:room-{tenant}", "read:audit"])
        .unwrap()
        .role("auditor", ["read:audit"])
        .unwrap()
        .role("member", ["read:room-{tenant}"])
        .unwrap()
}

fn layer(issuer: &TestIssuer) -> AuthLayer {
    AuthLayer::new(issuer.validator().build().unwrap())
}

/// `/orgs/{org}` needs `manage:org-{org}`, `/rooms/{room}` `manage:room-{room}`,
/// `/rooms/{room}/read` `read:room-{room}`, `/audit` `read:audit`.
fn app(layer: AuthLayer) -> Router {
    Router::new()
        .route_requiring(
            "/orgs/{org}",
            get(|| async { "org" }),
            scope!("manage:org-{org}"),
        )
        .route_requiring(
            "/rooms/{room}",
            get(|| async { "room" }),
            scope!("manage:room-{room}"),
        )
        .route_requiring(
            "/rooms/{room}/read",
            get(|| async { "read" }),
            scope!("read:room-{room}"),
        )
        .route_requiring("/audit", get(|| async { "audit" }), scope!("read:audit"))
        .layer(layer)
}

fn two_policy_app(issuer: &TestIssuer) -> Router {
    app(layer(issuer)
        .role_policy(org_policy())
        .unwrap()
        .role_policy(room_policy())
        .unwrap())
}

// --- several role policies -------------------------------------------------------------------

#[tokio::test]
async fn the_admin_of_org_x_is_not_the_admin_of_room_x() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = two_policy_app(&issuer);
    let org_admin = issuer
        .token()
        .claim(ORG_ROLES, json!({"x": "admin"}))
        .sign();
    assert_ok(&send(&app, "/orgs/x", &org_admin).await, "org", "org x");
    assert_forbidden(
        &send(&app, "/rooms/x", &org_admin).await,
        "manage:room-x",
        "room x",
    );
    assert_forbidden(
        &send(&app, "/audit", &org_admin).await,
        "read:audit",
        "audit",
    );
}

#[tokio::test]
async fn the_admin_of_room_x_is_not_the_admin_of_org_x() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = two_policy_app(&issuer);
    let room_admin = issuer
        .token()
        .claim(ROOM_ROLES, json!({"x": "admin"}))
        .sign();
    assert_ok(&send(&app, "/rooms/x", &room_admin).await, "room", "room x");
    assert_ok(&send(&app, "/audit", &room_admin).await, "audit", "audit");
    assert_forbidden(
        &send(&app, "/orgs/x", &room_admin).await,
        "manage:org-x",
        "org x",
    );
}

#[tokio::test]
async fn both_role_claims_in_one_token_grant_side_by_side() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = two_policy_app(&issuer);
    let token = issuer
        .token()
        .claim(ORG_ROLES, json!({"acme": "admin"}))
        .claim(ROOM_ROLES, json!({"room_1": ["member"], "room_2": "admin"}))
        .sign();
    assert_ok(&send(&app, "/orgs/acme", &token).await, "org", "org acme");
    assert_ok(&send(&app, "/rooms/room_2", &token).await, "room", "room_2");
    assert_ok(
        &send(&app, "/rooms/room_1/read", &token).await,
        "read",
        "read",
    );
    assert_forbidden(
        &send(&app, "/rooms/room_1", &token).await,
        "manage:room-room_1",
        "member is no admin",
    );
    assert_forbidden(
        &send(&app, "/orgs/room_2", &token).await,
        "manage:org-room_2",
        "room admin is no org admin",
    );
}

#[tokio::test]
async fn a_second_role_policy_on_the_same_claim_is_a_configuration_error() {
    let issuer = TestIssuer::start().await.unwrap();
    let same_claim = RolePolicy::new(ORG_ROLES)
        .role("viewer", ["view:org-{tenant}"])
        .unwrap();
    let error = layer(&issuer)
        .role_policy(org_policy())
        .unwrap()
        .role_policy(same_claim)
        .expect_err("a second policy on the same claim must be refused");
    assert!(error.to_string().contains(ORG_ROLES), "{error}");
}

#[tokio::test]
async fn role_policies_sharing_a_template_are_a_configuration_error() {
    let issuer = TestIssuer::start().await.unwrap();
    let shares_template = RolePolicy::new(ROOM_ROLES)
        .role("owner", ["manage:org-{tenant}"])
        .unwrap();
    let error = layer(&issuer)
        .role_policy(org_policy())
        .unwrap()
        .role_policy(shares_template)
        .expect_err("two policies granting the same template must be refused");
    assert!(error.to_string().contains("manage:org-{tenant}"), "{error}");
    // Not the same text, but an organization named `room-x` would spell room x's scope.
    let spells_a_room_scope = RolePolicy::new(ORG_ROLES)
        .role("admin", ["manage:{tenant}"])
        .unwrap();
    assert!(
        layer(&issuer)
            .role_policy(room_policy())
            .unwrap()
            .role_policy(spells_a_room_scope)
            .is_err()
    );
    // A plain scope names no tenant: two kinds granting it is no collision of tenants.
    let shares_plain = RolePolicy::new(ORG_ROLES)
        .role("auditor", ["read:audit"])
        .unwrap();
    assert!(
        layer(&issuer)
            .role_policy(room_policy())
            .unwrap()
            .role_policy(shares_plain)
            .is_ok()
    );
    // The positive twin: disjoint templates on distinct claims are accepted.
    assert!(
        layer(&issuer)
            .role_policy(org_policy())
            .unwrap()
            .role_policy(room_policy())
            .is_ok()
    );
}

// --- role templates and wildcard grants -------------------------------------------------------

/// With wildcard grants on, a role scope ending in `*` after `{tenant}` would make the tenant a
/// prefix: `own:rooms-{tenant}*` for `room_1` covers `room_10`, and `own:rooms-{tenant}-*` for
/// `a` covers room `a-b` (a valid path value). Such templates are refused outright.
#[test]
fn a_role_template_ending_in_a_star_after_the_tenant_is_a_configuration_error() {
    for template in [
        "own:rooms-{tenant}*",
        "own:rooms-:tenant*",
        "own:rooms-{tenant}-*",
        "own:rooms-{tenant}.x*",
    ] {
        assert!(
            RolePolicy::new(ROOM_ROLES)
                .role("owner", [template])
                .is_err(),
            "{template}"
        );
    }
    // A star that is not trailing is no wildcard, and a trailing star without a tenant is a
    // plain scope the API chose to grant.
    assert!(
        RolePolicy::new(ROOM_ROLES)
            .role("owner", ["own:rooms-{tenant}*-x", "audit:*"])
            .is_ok()
    );
}

fn owner_app(issuer: &TestIssuer, wildcards: bool) -> Router {
    let policy = RolePolicy::new(ROOM_ROLES)
        .role("owner", ["own:rooms-{tenant}"])
        .unwrap();
    Router::new()
        .route_requiring(
            "/rooms/{room}/own",
            get(|| async { "owned" }),
            scope!("own:rooms-{room}"),
        )
        .layer(
            layer(issuer)
                .wildcard_grants(wildcards)
                .role_policy(policy)
                .unwrap(),
        )
}

#[tokio::test]
async fn with_wildcard_grants_the_owner_of_room_1_owns_room_1_but_not_room_10_or_room_1_dash_b() {
    let issuer = TestIssuer::start().await.unwrap();
    for wildcards in [true, false] {
        let app = owner_app(&issuer, wildcards);
        let owner = issuer
            .token()
            .claim(ROOM_ROLES, json!({"room_1": "owner"}))
            .sign();
        assert_ok(
            &send(&app, "/rooms/room_1/own", &owner).await,
            "owned",
            "room_1",
        );
        for other in ["room_10", "room_1-b"] {
            assert_forbidden(
                &send(&app, &format!("/rooms/{other}/own"), &owner).await,
                &format!("own:rooms-{other}"),
                other,
            );
        }
    }
}

// --- invalid tenant entries ------------------------------------------------------------------

#[tokio::test]
async fn a_tenant_entry_breaking_the_path_value_rules_grants_nothing_not_even_plain_scopes() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = two_policy_app(&issuer);
    for tenant in ["*", "a b", "a/b", "", "a%2Fb", "caf\u{e9}"] {
        for role in ["admin", "auditor"] {
            let token = issuer
                .token()
                .claim(ROOM_ROLES, json!({ tenant: role }))
                .sign();
            let context = format!("{tenant:?} {role}");
            assert_forbidden(&send(&app, "/audit", &token).await, "read:audit", &context);
        }
    }
    // A valid tenant beside an invalid one still grants, so the refusals above are about the
    // entry, not the claim.
    let mixed = issuer
        .token()
        .claim(ROOM_ROLES, json!({"*": "admin", "room_3": "auditor"}))
        .sign();
    assert_ok(
        &send(&app, "/audit", &mixed).await,
        "audit",
        "room_3 auditor",
    );
    assert_forbidden(
        &send(&app, "/rooms/room_3", &mixed).await,
        "manage:room-room_3",
        "room_3 is only auditor",
    );
}

// --- the realm ------------------------------------------------------------------------------

#[tokio::test]
async fn a_realm_with_a_quote_a_backslash_or_non_ascii_is_a_configuration_error() {
    let issuer = TestIssuer::start().await.unwrap();
    for realm in [r#"my "api""#, "\"", r"a\b", "caf\u{e9}", "line\nbreak"] {
        assert!(layer(&issuer).realm(realm).is_err(), "{realm:?}");
    }
    assert!(layer(&issuer).realm("rooms api.example.com").is_ok());
}
