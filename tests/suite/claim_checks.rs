//! Claim checks in requirements (`claim_equals`, `claim_is`, `claim_contains`, `claims`,
//! `issued_by`, `tenant_issuer`), the `scope=` attribute of a 403 for claim checks and
//! alternatives, and the `Access` extractor; real routers behind `AuthLayer`, tokens really
//! signed by in-process issuers.
//!
//! A claim of the wrong type, absent or repeated never holds: 403, never 401, never 200.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::routing::get;
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use scopegate::testing::{TEST_AUDIENCE, TestIssuer};
use scopegate::{Access, AuthError, AuthLayer, ErrorKind, Issuers, Requirement, RouterExt, scope};
use serde_json::{Value, json};
use tower::ServiceExt;

// --- helpers -------------------------------------------------------------------------------

const REALM: &str = r#"Bearer realm="https://api.scopegate.test""#;

#[derive(Debug)]
struct Reply {
    status: StatusCode,
    challenge: Option<String>,
    body: String,
}

async fn send(app: &Router, path: &str, token: Option<&str>) -> Reply {
    let mut request = Request::get(path);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
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

fn insufficient(scope: Option<&str>) -> String {
    let mut challenge = format!(
        r#"{REALM}, error="insufficient_scope", error_description="{}""#,
        ErrorKind::InsufficientScope.description()
    );
    if let Some(scope) = scope {
        challenge.push_str(&format!(r#", scope="{scope}""#));
    }
    challenge
}

/// The handler ran and answered `body`.
#[track_caller]
fn assert_ok(reply: &Reply, body: &str, context: &str) {
    assert_eq!(reply.status, StatusCode::OK, "{context}: {reply:?}");
    assert_eq!(reply.body, body, "{context}: {reply:?}");
    assert_eq!(reply.challenge, None, "{context}: {reply:?}");
}

/// 403 `insufficient_scope` with no `scope=`: more scopes would not help.
#[track_caller]
fn assert_forbidden_unnamed(reply: &Reply, context: &str) {
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{context}: {reply:?}");
    assert_eq!(
        reply.challenge.as_deref(),
        Some(insufficient(None).as_str()),
        "{context}: {reply:?}"
    );
    assert_eq!(reply.body, "", "{context}: {reply:?}");
}

/// 403 `insufficient_scope` naming exactly `scope`.
#[track_caller]
fn assert_forbidden(reply: &Reply, scope: &str, context: &str) {
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{context}: {reply:?}");
    assert_eq!(
        reply.challenge.as_deref(),
        Some(insufficient(Some(scope)).as_str()),
        "{context}: {reply:?}"
    );
    assert_eq!(reply.body, "", "{context}: {reply:?}");
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A valid claims object for `issuer` as raw JSON, with `extra` members appended verbatim
/// (for repeated members, which a JSON map cannot hold).
fn raw_claims(issuer: &TestIssuer, extra: &str) -> String {
    let now = now();
    format!(
        r#"{{"iss":"{}","aud":"{TEST_AUDIENCE}","sub":"user-1","client_id":"test-client","iat":{now},"exp":{}{}{extra}}}"#,
        issuer.issuer(),
        now + 300,
        if extra.is_empty() { "" } else { "," },
    )
}

/// A token with `extra` raw members, e.g. a repeated claim.
fn raw_token(issuer: &TestIssuer, extra: &str) -> String {
    issuer.token().raw_claims(&raw_claims(issuer, extra)).sign()
}

/// A token whose claim `name` is `value`.
fn token_with(issuer: &TestIssuer, name: &str, value: Value) -> String {
    issuer.token().claim(name, value).sign()
}

/// A route per claim check, each answering its own name.
fn claims_app(issuer: &TestIssuer) -> Router {
    Router::new()
        .route_requiring(
            "/orgs/{org}",
            get(|| async { "org" }),
            Requirement::claim_equals("org_id", "org"),
        )
        .route_requiring(
            "/tier",
            get(|| async { "tier" }),
            Requirement::claim_is("tier", "gold"),
        )
        .route_requiring(
            "/staff",
            get(|| async { "staff" }),
            Requirement::claim_contains("groups", "staff"),
        )
        .route_requiring(
            "/verified",
            get(|| async { "verified" }),
            Requirement::claims("email_verified", |auth| {
                auth.claim::<bool>("email_verified") == Some(true)
            }),
        )
        .layer(AuthLayer::new(issuer.validator().build().unwrap()))
}

// --- claim_equals ----------------------------------------------------------------------------

#[tokio::test]
async fn claim_equals_lets_a_string_claim_equal_to_the_path_value_through() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = claims_app(&issuer);
    let token = token_with(&issuer, "org_id", json!("acme"));
    assert_ok(&send(&app, "/orgs/acme", Some(&token)).await, "org", "acme");
    // Compared with the percent-decoded value, as `Path` sees it.
    let dashed = token_with(&issuer, "org_id", json!("acme-corp"));
    assert_ok(
        &send(&app, "/orgs/acme%2Dcorp", Some(&dashed)).await,
        "org",
        "decoded",
    );
}

#[tokio::test]
async fn claim_equals_refuses_another_string_with_403_and_no_scope_attribute() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = claims_app(&issuer);
    let token = token_with(&issuer, "org_id", json!("acme"));
    for path in ["/orgs/globex", "/orgs/ACME", "/orgs/acm", "/orgs/acme2"] {
        assert_forbidden_unnamed(&send(&app, path, Some(&token)).await, path);
    }
}

#[tokio::test]
async fn claim_equals_refuses_a_number_an_array_an_object_a_boolean_and_null_with_403() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = claims_app(&issuer);
    for (value, path) in [
        (json!(7), "/orgs/7"),
        (json!(7.0), "/orgs/7.0"),
        (json!(["acme"]), "/orgs/acme"),
        (json!({"acme": true}), "/orgs/acme"),
        (json!(true), "/orgs/true"),
        (Value::Null, "/orgs/null"),
    ] {
        let token = token_with(&issuer, "org_id", value.clone());
        assert_forbidden_unnamed(&send(&app, path, Some(&token)).await, &value.to_string());
    }
}

#[tokio::test]
async fn claim_equals_refuses_an_absent_claim_with_403() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = claims_app(&issuer);
    // A claim of that name nested elsewhere does not count.
    let token = issuer
        .token()
        .claim("org", "acme")
        .claim("app_metadata", json!({"org_id": "acme"}))
        .sign();
    assert_forbidden_unnamed(&send(&app, "/orgs/acme", Some(&token)).await, "absent");
}

#[tokio::test]
async fn claim_equals_refuses_a_repeated_claim_with_403_even_when_both_values_match() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = claims_app(&issuer);
    for extra in [
        r#""org_id":"acme","org_id":"acme""#,
        r#""org_id":"acme","org_id":"globex""#,
        r#""org_id":"globex","org_id":"acme""#,
        // The same name, once escaped.
        r#""org_id":"acme","org\u005fid":"acme""#,
    ] {
        let token = raw_token(&issuer, extra);
        assert_forbidden_unnamed(&send(&app, "/orgs/acme", Some(&token)).await, extra);
    }
    // The positive twin: the same raw token with the claim once passes.
    let once = raw_token(&issuer, r#""org_id":"acme""#);
    assert_ok(&send(&app, "/orgs/acme", Some(&once)).await, "org", "once");
}

// --- claim_is --------------------------------------------------------------------------------

#[tokio::test]
async fn claim_is_lets_the_fixed_string_through() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = claims_app(&issuer);
    let token = token_with(&issuer, "tier", json!("gold"));
    assert_ok(&send(&app, "/tier", Some(&token)).await, "tier", "gold");
    // An escaped spelling of the same string is the same string.
    let escaped = raw_token(&issuer, r#""tier":"g\u006fld""#);
    assert_ok(
        &send(&app, "/tier", Some(&escaped)).await,
        "tier",
        "escaped",
    );
}

#[tokio::test]
async fn claim_is_refuses_other_strings_other_types_absence_and_repetition_with_403() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = claims_app(&issuer);
    for value in [
        json!("silver"),
        json!("Gold"),
        json!("gold "),
        json!(""),
        json!(1),
        json!(["gold"]),
        json!({"gold": true}),
        json!(true),
        Value::Null,
    ] {
        let token = token_with(&issuer, "tier", value.clone());
        assert_forbidden_unnamed(&send(&app, "/tier", Some(&token)).await, &value.to_string());
    }
    let absent = issuer.token().sign();
    assert_forbidden_unnamed(&send(&app, "/tier", Some(&absent)).await, "absent");
    let repeated = raw_token(&issuer, r#""tier":"gold","tier":"gold""#);
    assert_forbidden_unnamed(&send(&app, "/tier", Some(&repeated)).await, "repeated");
}

// --- claim_contains --------------------------------------------------------------------------

#[tokio::test]
async fn claim_contains_finds_the_string_in_an_array_of_mixed_types() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = claims_app(&issuer);
    for value in [
        json!(["staff"]),
        json!(["admins", "staff"]),
        json!([1, null, true, {"staff": "staff"}, ["x"], "staff"]),
        json!(["staff", 2.5]),
    ] {
        let token = token_with(&issuer, "groups", value.clone());
        assert_ok(
            &send(&app, "/staff", Some(&token)).await,
            "staff",
            &value.to_string(),
        );
    }
}

#[tokio::test]
async fn claim_contains_refuses_arrays_without_the_string_and_other_shapes_with_403() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = claims_app(&issuer);
    for value in [
        json!([]),
        json!(["Staff", "staff ", "staffs"]),
        // The string only nested, or as an object's key or value: not an element.
        json!([["staff"]]),
        json!([{"staff": true}, {"group": "staff"}]),
        json!([1, null, false]),
        // Not an array at all.
        json!("staff"),
        json!({"staff": true}),
        json!(1),
        Value::Null,
    ] {
        let token = token_with(&issuer, "groups", value.clone());
        assert_forbidden_unnamed(
            &send(&app, "/staff", Some(&token)).await,
            &value.to_string(),
        );
    }
    let absent = issuer.token().sign();
    assert_forbidden_unnamed(&send(&app, "/staff", Some(&absent)).await, "absent");
    let repeated = raw_token(&issuer, r#""groups":["staff"],"groups":["staff"]"#);
    assert_forbidden_unnamed(&send(&app, "/staff", Some(&repeated)).await, "repeated");
}

// --- claims predicate ------------------------------------------------------------------------

#[tokio::test]
async fn a_claims_predicate_decides_on_the_verified_token() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = claims_app(&issuer);
    let verified = token_with(&issuer, "email_verified", json!(true));
    assert_ok(
        &send(&app, "/verified", Some(&verified)).await,
        "verified",
        "true",
    );
    for value in [json!(false), json!("true"), json!(1), Value::Null] {
        let token = token_with(&issuer, "email_verified", value.clone());
        assert_forbidden_unnamed(
            &send(&app, "/verified", Some(&token)).await,
            &value.to_string(),
        );
    }
    let absent = issuer.token().sign();
    assert_forbidden_unnamed(&send(&app, "/verified", Some(&absent)).await, "absent");
    let repeated = raw_token(&issuer, r#""email_verified":true,"email_verified":true"#);
    assert_forbidden_unnamed(&send(&app, "/verified", Some(&repeated)).await, "repeated");
}

#[tokio::test]
async fn a_claim_check_on_an_anonymous_request_is_401_never_403() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = Router::new()
        .route_requiring(
            "/tier",
            get(|| async { "tier" }),
            Requirement::claim_is("tier", "gold"),
        )
        .layer(AuthLayer::new(issuer.validator().build().unwrap()).allow_anonymous());
    let reply = send(&app, "/tier", None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{reply:?}");
    assert_eq!(reply.challenge.as_deref(), Some(REALM), "{reply:?}");
    assert_eq!(reply.body, "", "{reply:?}");
}

// --- issued_by and tenant_issuer, two issuers behind one layer ---------------------------------

/// `/a-reports` requires `read:reports` from issuer A; `/orgs/{org}/reports` requires
/// `read:reports-{org}` from the issuer assigned to the tenant (`a` → A, `b` → B).
fn issuers_app(a: &TestIssuer, b: &TestIssuer) -> Router {
    let assigned: HashMap<String, String> = HashMap::from([
        ("a".to_owned(), a.issuer().to_owned()),
        ("b".to_owned(), b.issuer().to_owned()),
    ]);
    Router::new()
        .route_requiring(
            "/a-reports",
            get(|| async { "a-reports" }),
            Requirement::all_of([
                Requirement::scope("read:reports").unwrap(),
                Requirement::issued_by(a.issuer()),
            ]),
        )
        .route_requiring(
            "/orgs/{org}/reports",
            get(|Path(org): Path<String>| async move { format!("reports of {org}") }),
            Requirement::all_of([
                scope!("read:reports-{org}"),
                Requirement::tenant_issuer("org", move |org| assigned.get(org).cloned()),
            ]),
        )
        .layer(AuthLayer::new(
            Issuers::new([
                a.validator().build().unwrap(),
                b.validator().build().unwrap(),
            ])
            .unwrap(),
        ))
}

const EVERY_SCOPE: &str = "read:reports read:reports-a read:reports-b read:reports-c";

#[tokio::test]
async fn issued_by_lets_only_the_named_issuers_tokens_through() {
    let a = TestIssuer::start().await.unwrap();
    let b = TestIssuer::start().await.unwrap();
    let app = issuers_app(&a, &b);
    let from_a = a.token().scope(EVERY_SCOPE).sign();
    let from_b = b.token().scope(EVERY_SCOPE).sign();
    assert_ok(
        &send(&app, "/a-reports", Some(&from_a)).await,
        "a-reports",
        "A",
    );
    // B's token is valid (the layer accepts B) and carries the scope, but is not A's.
    assert_forbidden_unnamed(&send(&app, "/a-reports", Some(&from_b)).await, "B");
    // A's token without the scope: the scope is what it lacks, so it is named.
    let a_without = a.token().scope("read:other").sign();
    assert_forbidden(
        &send(&app, "/a-reports", Some(&a_without)).await,
        "read:reports",
        "A without the scope",
    );
}

#[tokio::test]
async fn a_token_of_issuer_a_with_every_scope_cannot_open_tenant_bs_route() {
    let a = TestIssuer::start().await.unwrap();
    let b = TestIssuer::start().await.unwrap();
    let app = issuers_app(&a, &b);
    let from_a = a.token().scope(EVERY_SCOPE).sign();
    let from_b = b.token().scope(EVERY_SCOPE).sign();
    assert_ok(
        &send(&app, "/orgs/a/reports", Some(&from_a)).await,
        "reports of a",
        "A on a",
    );
    assert_ok(
        &send(&app, "/orgs/b/reports", Some(&from_b)).await,
        "reports of b",
        "B on b",
    );
    assert_forbidden_unnamed(
        &send(&app, "/orgs/b/reports", Some(&from_a)).await,
        "A on b",
    );
    assert_forbidden_unnamed(
        &send(&app, "/orgs/a/reports", Some(&from_b)).await,
        "B on a",
    );
    // A tenant the API assigns no issuer never holds, whoever signed.
    assert_forbidden_unnamed(
        &send(&app, "/orgs/c/reports", Some(&from_a)).await,
        "A on c",
    );
    assert_forbidden_unnamed(
        &send(&app, "/orgs/c/reports", Some(&from_b)).await,
        "B on c",
    );
}

// --- the scope= attribute ---------------------------------------------------------------------

/// `/docs/{doc}` requires one of: tier gold with `premium:read`, `read:docs-{doc}`, `admin`.
/// `/both/{doc}` requires `read:index` and `read:docs-{doc}`.
/// `/mixed/{doc}` requires `read:index` and (tier gold or `read:docs-{doc}`).
fn scope_app(issuer: &TestIssuer) -> Router {
    Router::new()
        .route_requiring(
            "/docs/{doc}",
            get(|| async { "docs" }),
            Requirement::any_of([
                Requirement::all_of([
                    Requirement::claim_is("tier", "gold"),
                    Requirement::scope("premium:read").unwrap(),
                ]),
                scope!("read:docs-{doc}"),
                scope!("admin"),
            ]),
        )
        .route_requiring(
            "/both/{doc}",
            get(|| async { "both" }),
            Requirement::all_of([scope!("read:index"), scope!("read:docs-{doc}")]),
        )
        .route_requiring(
            "/mixed/{doc}",
            get(|| async { "mixed" }),
            Requirement::all_of([
                scope!("read:index"),
                Requirement::any_of([
                    Requirement::claim_is("tier", "gold"),
                    scope!("read:docs-{doc}"),
                ]),
            ]),
        )
        .layer(AuthLayer::new(issuer.validator().build().unwrap()))
}

#[tokio::test]
async fn any_of_names_only_the_first_alternative_that_scopes_alone_could_satisfy() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = scope_app(&issuer);
    // Not gold: the first alternative needs a claim more scopes cannot give, so the second is
    // named, alone.
    let plain = issuer.token().scope("read:other").sign();
    assert_forbidden(
        &send(&app, "/docs/d1", Some(&plain)).await,
        "read:docs-d1",
        "not gold",
    );
    // Gold: the first alternative now lacks only a scope.
    let gold = issuer
        .token()
        .claim("tier", "gold")
        .scope("read:other")
        .sign();
    assert_forbidden(
        &send(&app, "/docs/d1", Some(&gold)).await,
        "premium:read",
        "gold",
    );
    // A refused path value: the template alternative cannot be named; the next one is.
    assert_forbidden(
        &send(&app, "/docs/*", Some(&plain)).await,
        "admin",
        "refused value",
    );
    // Each alternative alone lets the request through.
    for token in [
        issuer
            .token()
            .claim("tier", "gold")
            .scope("premium:read")
            .sign(),
        issuer.token().scope("read:docs-d1").sign(),
        issuer.token().scope("admin").sign(),
    ] {
        assert_ok(
            &send(&app, "/docs/d1", Some(&token)).await,
            "docs",
            "alternative",
        );
    }
}

#[tokio::test]
async fn all_of_names_every_scope_it_requires() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = scope_app(&issuer);
    for granted in ["", "read:index", "read:docs-d1"] {
        let token = issuer.token().scope(granted).sign();
        assert_forbidden(
            &send(&app, "/both/d1", Some(&token)).await,
            "read:index read:docs-d1",
            granted,
        );
    }
    let both = issuer.token().scope("read:index read:docs-d1").sign();
    assert_ok(&send(&app, "/both/d1", Some(&both)).await, "both", "both");
    // all_of around any_of: the scopes of the first alternative scopes could satisfy.
    let index_only = issuer.token().scope("read:index").sign();
    assert_forbidden(
        &send(&app, "/mixed/d1", Some(&index_only)).await,
        "read:index read:docs-d1",
        "mixed",
    );
    let gold = issuer
        .token()
        .claim("tier", "gold")
        .scope("read:index")
        .sign();
    assert_ok(&send(&app, "/mixed/d1", Some(&gold)).await, "mixed", "gold");
}

#[tokio::test]
async fn a_claim_mismatch_names_no_scope_even_beside_a_granted_scope() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = Router::new()
        .route_requiring(
            "/orgs/{org}/invoices",
            get(|| async { "invoices" }),
            Requirement::all_of([
                scope!("read:invoices"),
                Requirement::claim_equals("org_id", "org"),
            ]),
        )
        .layer(AuthLayer::new(issuer.validator().build().unwrap()));
    let token = issuer
        .token()
        .scope("read:invoices")
        .claim("org_id", "acme")
        .sign();
    assert_ok(
        &send(&app, "/orgs/acme/invoices", Some(&token)).await,
        "invoices",
        "acme",
    );
    assert_forbidden_unnamed(
        &send(&app, "/orgs/globex/invoices", Some(&token)).await,
        "globex",
    );
    // Neither the claim nor the scope: still nothing named, since scopes alone cannot help.
    let neither = issuer.token().claim("org_id", "acme").sign();
    assert_forbidden_unnamed(
        &send(&app, "/orgs/globex/invoices", Some(&neither)).await,
        "neither",
    );
}

// --- the Access extractor ----------------------------------------------------------------------

async fn room_actions(access: Access) -> Result<String, AuthError> {
    let mut actions = Vec::new();
    if access.allows(&scope!("add:comments-in-{room}")).await? {
        actions.push("add");
    }
    if access.allows(&scope!("delete:comments-in-{room}")).await? {
        actions.push("delete");
    }
    Ok(format!(
        "{} may [{}]",
        access.principal().subject().unwrap_or("?"),
        actions.join(",")
    ))
}

async fn other_room(
    Path((_, other)): Path<(String, String)>,
    access: Access,
) -> Result<String, AuthError> {
    let requirement = scope!("add:comments-in-{room}");
    let here = access.allows(&requirement).await?;
    let there = access
        .clone()
        .with_param("room", &other)
        .allows(&requirement)
        .await?;
    Ok(format!("here={here} there={there}"))
}

async fn delete_in_room(access: Access) -> Result<&'static str, AuthError> {
    access.require(&scope!("delete:comments-in-{room}")).await?;
    Ok("deleted")
}

async fn delete_in_other_room(
    Path((_, other)): Path<(String, String)>,
    access: Access,
) -> Result<&'static str, AuthError> {
    access
        .with_param("room", &other)
        .require(&scope!("delete:comments-in-{room}"))
        .await?;
    Ok("deleted there")
}

async fn misconfigured_allows(access: Access) -> Result<String, AuthError> {
    let allowed = access.allows(&scope!("delete:comments-in-{org}")).await?;
    Ok(format!("allowed={allowed}"))
}

fn access_app(issuer: &TestIssuer) -> Router {
    Router::new()
        .route("/rooms/{room}/actions", get(room_actions))
        .route("/rooms/{room}/compare/{other}", get(other_room))
        .route("/rooms/{room}/delete", get(delete_in_room))
        .route("/rooms/{room}/delete-in/{other}", get(delete_in_other_room))
        .route("/rooms/{room}/misconfigured", get(misconfigured_allows))
        .layer(AuthLayer::new(issuer.validator().build().unwrap()))
}

#[tokio::test]
async fn access_allows_answers_true_and_false_per_requirement_and_room() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = access_app(&issuer);
    let token = issuer
        .token()
        .subject("alice")
        .scope("add:comments-in-room_1 delete:comments-in-room_1 add:comments-in-room_2")
        .sign();
    assert_ok(
        &send(&app, "/rooms/room_1/actions", Some(&token)).await,
        "alice may [add,delete]",
        "room_1",
    );
    assert_ok(
        &send(&app, "/rooms/room_2/actions", Some(&token)).await,
        "alice may [add]",
        "room_2",
    );
    assert_ok(
        &send(&app, "/rooms/room_3/actions", Some(&token)).await,
        "alice may []",
        "room_3",
    );
}

#[tokio::test]
async fn access_with_param_checks_another_room_than_the_routes() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = access_app(&issuer);
    let token = issuer.token().scope("add:comments-in-room_1").sign();
    assert_ok(
        &send(&app, "/rooms/room_1/compare/room_2", Some(&token)).await,
        "here=true there=false",
        "room_1 vs room_2",
    );
    assert_ok(
        &send(&app, "/rooms/room_2/compare/room_1", Some(&token)).await,
        "here=false there=true",
        "room_2 vs room_1",
    );
    // A rebound value obeys the path-value rules: `*` and a decoded space never grant.
    let wildcard = issuer.token().scope("add:comments-in-*").sign();
    for other in ["*", "a%20b"] {
        assert_ok(
            &send(
                &app,
                &format!("/rooms/room_1/compare/{other}"),
                Some(&wildcard),
            )
            .await,
            "here=false there=false",
            other,
        );
    }
}

#[tokio::test]
async fn access_require_returned_from_a_handler_is_a_403_naming_the_scope() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = access_app(&issuer);
    let token = issuer.token().scope("delete:comments-in-room_1").sign();
    assert_ok(
        &send(&app, "/rooms/room_1/delete", Some(&token)).await,
        "deleted",
        "room_1",
    );
    assert_forbidden(
        &send(&app, "/rooms/room_2/delete", Some(&token)).await,
        "delete:comments-in-room_2",
        "room_2",
    );
    // With a rebound room, the scope named is the rebound one.
    assert_ok(
        &send(&app, "/rooms/room_2/delete-in/room_1", Some(&token)).await,
        "deleted there",
        "rebound to room_1",
    );
    assert_forbidden(
        &send(&app, "/rooms/room_1/delete-in/room_9", Some(&token)).await,
        "delete:comments-in-room_9",
        "rebound to room_9",
    );
}

#[tokio::test]
async fn access_allows_is_a_500_for_a_parameter_the_route_lacks() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = access_app(&issuer);
    let token = issuer.token().scope("delete:comments-in-room_1").sign();
    let reply = send(&app, "/rooms/room_1/misconfigured", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR, "{reply:?}");
    assert_eq!(reply.challenge, None, "{reply:?}");
    assert_eq!(reply.body, "", "{reply:?}");
}
