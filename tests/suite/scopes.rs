//! Granted scopes and route requirements (shared/SECURITY-BAR.md §2, §5, §6), through real axum
//! routers behind `AuthLayer`, with tokens really signed by the in-process issuer on 127.0.0.1.
//!
//! Every refusal is asserted with its full `WWW-Authenticate` value, so a test cannot pass
//! because the request was refused for another reason; every grant is asserted by the handler's
//! own body, so a test cannot pass because some other layer answered 200.

use std::any::Any;
use std::panic::catch_unwind;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::handler::Handler;
use axum::routing::{delete, get, post};
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use scopegate::testing::{TEST_AUDIENCE, TestIssuer};
use scopegate::{
    AuthLayer, ErrorKind, GrantedScopes, RequireScope, Requirement, RouterExt, ScopeSource,
    TemplateError, Validator, ValidatorBuilder, require, require_scope, scope,
};
use serde_json::json;
use tower::ServiceExt;

// --- helpers -------------------------------------------------------------------------------

/// The challenge every refusal starts with: the realm is the first audience.
const REALM: &str = r#"Bearer realm="https://api.scopegate.test""#;

/// The Auth0-style namespaced claim of seed 002 (a literal name, not a JSON pointer).
const CUSTOM: &str = "https://my-apis/customScopes";

const UUID: &str = "550e8400-e29b-41d4-a716-446655440000";

#[derive(Debug, Clone, PartialEq, Eq)]
struct Reply {
    status: StatusCode,
    /// The `WWW-Authenticate` value, if any.
    challenge: Option<String>,
    body: String,
}

impl Reply {
    fn challenge(&self) -> &str {
        self.challenge.as_deref().unwrap_or("")
    }
}

async fn issuer() -> TestIssuer {
    TestIssuer::start().await.unwrap()
}

/// One request with an optional raw `Authorization` value.
async fn send(app: &Router, method: &str, path: &str, authorization: Option<&str>) -> Reply {
    let mut request = Request::builder().method(method).uri(path);
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
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

/// One request with `Authorization: Bearer <token>`.
async fn call(app: &Router, method: &str, path: &str, token: &str) -> Reply {
    send(app, method, path, Some(&format!("Bearer {token}"))).await
}

/// The 403 challenge, with `scope="..."` when `scope` is given.
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
fn assert_ok(reply: &Reply, body: &str) {
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.body, body, "{reply:?}");
    assert_eq!(reply.challenge, None, "{reply:?}");
}

/// 403 `insufficient_scope` naming exactly `scope` (space-separated when several).
#[track_caller]
fn assert_forbidden(reply: &Reply, scope: &str) {
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{reply:?}");
    assert_eq!(reply.challenge(), insufficient(Some(scope)), "{reply:?}");
    assert_eq!(reply.body, "", "{reply:?}");
}

/// 403 `insufficient_scope` WITHOUT any `scope=` attribute: a refused path value (request
/// content) is never echoed, nor a scope bound from it.
#[track_caller]
fn assert_forbidden_unnamed(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{reply:?}");
    assert_eq!(reply.challenge(), insufficient(None), "{reply:?}");
    assert!(!reply.challenge().contains("scope="), "{reply:?}");
    assert_eq!(reply.body, "", "{reply:?}");
}

/// 401 with the bare challenge (no credentials): never 403.
#[track_caller]
fn assert_bare_401(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{reply:?}");
    assert_eq!(reply.challenge(), REALM, "{reply:?}");
    assert_eq!(reply.body, "", "{reply:?}");
}

/// 401 `invalid_token` for exactly `kind`.
#[track_caller]
fn assert_invalid_token(reply: &Reply, kind: ErrorKind) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{reply:?}");
    assert_eq!(
        reply.challenge(),
        format!(
            r#"{REALM}, error="invalid_token", error_description="{}""#,
            kind.description()
        ),
        "{reply:?}"
    );
}

/// 500 for a misconfigured route: no challenge, empty body, the handler never ran.
#[track_caller]
fn assert_server_error(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR, "{reply:?}");
    assert_eq!(reply.challenge, None, "{reply:?}");
    assert_eq!(reply.body, "", "{reply:?}");
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

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else {
        String::new()
    }
}

async fn ok() -> &'static str {
    "ok"
}

/// Lists the granted scopes, sorted, space-separated.
async fn list_scopes(scopes: GrantedScopes) -> String {
    scopes.iter().collect::<Vec<_>>().join(" ")
}

/// `/scopes` lists the grants, `/open` has no requirement, `/need` requires `read:x`, and
/// `/has/{scope}` requires exactly its path value.
fn scopes_app(builder: ValidatorBuilder) -> Router {
    Router::new()
        .route("/scopes", get(list_scopes))
        .route("/open", get(|| async { "open" }))
        .route_requiring("/need", get(ok), scope!("read:x"))
        .route_requiring("/has/{scope}", get(ok), scope!(":scope"))
        .layer(AuthLayer::new(builder.build().unwrap()))
}

async fn scopes_of(app: &Router, token: &str) -> String {
    let reply = call(app, "GET", "/scopes", token).await;
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    reply.body
}

/// The token is valid (200 without a requirement), grants nothing at all, and `/need`
/// (`read:x`) answers 403, not 401.
async fn assert_grants_nothing_but_stays_valid(app: &Router, token: &str) {
    assert_ok(&call(app, "GET", "/open", token).await, "open");
    assert_eq!(scopes_of(app, token).await, "");
    assert_forbidden(&call(app, "GET", "/need", token).await, "read:x");
}

/// Rooms: `POST /rooms/{room}/comments` requires `add:comments-in-:room`,
/// `DELETE /rooms/{room}/comments/{id}` requires `delete:comments-in-{room}`.
fn rooms_app(validator: Validator) -> Router {
    rooms_behind(AuthLayer::new(validator))
}

fn rooms_behind(layer: AuthLayer) -> Router {
    Router::new()
        .route_requiring(
            "/rooms/{room}/comments",
            post(|| async { "added" }),
            scope!("add:comments-in-:room"),
        )
        .route_requiring(
            "/rooms/{room}/comments/{id}",
            delete(|| async { "deleted" }),
            scope!("delete:comments-in-{room}"),
        )
        .layer(layer)
}

// --- granted scopes: each source, and together ---------------------------------------------

#[tokio::test]
async fn scope_string_alone_grants_each_space_separated_scope() {
    let issuer = issuer().await;
    let app = scopes_app(issuer.validator());
    let token = issuer.token().scope("write:b read:a").sign();
    assert_eq!(scopes_of(&app, &token).await, "read:a write:b");
    assert_ok(&call(&app, "GET", "/has/read:a", &token).await, "ok");
    assert_ok(&call(&app, "GET", "/has/write:b", &token).await, "ok");
    assert_forbidden(&call(&app, "GET", "/need", &token).await, "read:x");
}

#[tokio::test]
async fn scp_string_alone_grants_each_space_separated_scope() {
    let issuer = issuer().await;
    let app = scopes_app(issuer.validator());
    let token = issuer.token().claim("scp", "write:b read:a").sign();
    assert_eq!(scopes_of(&app, &token).await, "read:a write:b");
    assert_ok(&call(&app, "GET", "/has/write:b", &token).await, "ok");
}

#[tokio::test]
async fn scp_array_alone_grants_each_element() {
    let issuer = issuer().await;
    let app = scopes_app(issuer.validator());
    let token = issuer
        .token()
        .claim("scp", json!(["write:b", "read:a"]))
        .sign();
    assert_eq!(scopes_of(&app, &token).await, "read:a write:b");
    assert_ok(&call(&app, "GET", "/has/read:a", &token).await, "ok");
}

#[tokio::test]
async fn permissions_array_alone_grants_each_element() {
    let issuer = issuer().await;
    let app = scopes_app(issuer.validator());
    let token = issuer
        .token()
        .claim("permissions", json!(["read:x", "delete:all", "read:x"]))
        .sign();
    assert_eq!(scopes_of(&app, &token).await, "delete:all read:x");
    assert_ok(&call(&app, "GET", "/need", &token).await, "ok");
}

#[tokio::test]
async fn custom_claim_grants_nothing_when_not_configured() {
    let issuer = issuer().await;
    let app = scopes_app(issuer.validator());
    let token = issuer.token().claim(CUSTOM, "read:x").sign();
    assert_grants_nothing_but_stays_valid(&app, &token).await;
}

#[tokio::test]
async fn custom_claim_string_grants_when_configured_as_a_source() {
    let issuer = issuer().await;
    let app = scopes_app(issuer.validator().scope_source(ScopeSource::claim(CUSTOM)));
    let token = issuer
        .token()
        .claim(CUSTOM, "read:x add:comments-in-room_1")
        .sign();
    assert_eq!(
        scopes_of(&app, &token).await,
        "add:comments-in-room_1 read:x"
    );
    assert_ok(&call(&app, "GET", "/need", &token).await, "ok");
}

#[tokio::test]
async fn custom_claim_array_grants_when_configured_as_a_source() {
    let issuer = issuer().await;
    let app = scopes_app(issuer.validator().scope_source(ScopeSource::claim(CUSTOM)));
    let token = issuer
        .token()
        .claim(CUSTOM, json!(["read:x", "add:comments-in-room_1"]))
        .sign();
    assert_eq!(
        scopes_of(&app, &token).await,
        "add:comments-in-room_1 read:x"
    );
    assert_ok(&call(&app, "GET", "/need", &token).await, "ok");
}

#[tokio::test]
async fn every_source_together_grants_the_sorted_deduplicated_union() {
    let issuer = issuer().await;
    let app = scopes_app(issuer.validator().scope_source(ScopeSource::claim(CUSTOM)));
    let token = issuer
        .token()
        .scope("s:1 shared")
        .claim("scp", json!(["scp:1", "shared"]))
        .claim("permissions", json!(["perm:1", "shared"]))
        .claim(CUSTOM, "custom:1 shared")
        .sign();
    assert_eq!(
        scopes_of(&app, &token).await,
        "custom:1 perm:1 s:1 scp:1 shared"
    );
}

#[tokio::test]
async fn scope_sources_replaces_the_defaults_so_scope_and_scp_no_longer_grant() {
    let issuer = issuer().await;
    let app = scopes_app(
        issuer
            .validator()
            .scope_sources([ScopeSource::PERMISSIONS, ScopeSource::claim(CUSTOM)]),
    );
    let token = issuer
        .token()
        .scope("read:x")
        .claim("scp", json!(["read:x"]))
        .claim("permissions", json!(["perm:1"]))
        .claim(CUSTOM, "custom:1")
        .sign();
    assert_eq!(scopes_of(&app, &token).await, "custom:1 perm:1");
    assert_forbidden(&call(&app, "GET", "/need", &token).await, "read:x");
    assert_ok(&call(&app, "GET", "/has/perm:1", &token).await, "ok");
}

#[tokio::test]
async fn granted_scopes_extractor_on_an_anonymous_request_is_401() {
    let issuer = issuer().await;
    let app = Router::new()
        .route("/scopes", get(list_scopes))
        .layer(AuthLayer::new(issuer.validator().build().unwrap()).allow_anonymous());
    assert_bare_401(&send(&app, "GET", "/scopes", None).await);
}

// --- wrong types grant nothing and never invalidate the token ------------------------------

#[tokio::test]
async fn scope_as_array_grants_nothing_and_token_stays_valid() {
    let issuer = issuer().await;
    let app = scopes_app(issuer.validator());
    let token = issuer.token().claim("scope", json!(["read:x"])).sign();
    assert_grants_nothing_but_stays_valid(&app, &token).await;
}

#[tokio::test]
async fn permissions_as_string_grants_nothing_and_token_stays_valid() {
    let issuer = issuer().await;
    let app = scopes_app(issuer.validator());
    let token = issuer.token().claim("permissions", "read:x").sign();
    assert_grants_nothing_but_stays_valid(&app, &token).await;
}

#[tokio::test]
async fn numeric_scope_claims_grant_nothing_and_token_stays_valid() {
    let issuer = issuer().await;
    let app = scopes_app(issuer.validator().scope_source(ScopeSource::claim(CUSTOM)));
    let token = issuer
        .token()
        .claim("scope", 5)
        .claim("scp", 5.5)
        .claim("permissions", json!([1, 2]))
        .claim(CUSTOM, 7)
        .sign();
    assert_grants_nothing_but_stays_valid(&app, &token).await;
}

#[tokio::test]
async fn null_scope_claims_grant_nothing_and_token_stays_valid() {
    let issuer = issuer().await;
    let app = scopes_app(issuer.validator().scope_source(ScopeSource::claim(CUSTOM)));
    let token = issuer
        .token()
        .claim("scope", json!(null))
        .claim("scp", json!(null))
        .claim("permissions", json!(null))
        .claim(CUSTOM, json!(null))
        .sign();
    assert_grants_nothing_but_stays_valid(&app, &token).await;
}

#[tokio::test]
async fn object_scope_claims_grant_nothing_and_token_stays_valid() {
    let issuer = issuer().await;
    let app = scopes_app(issuer.validator().scope_source(ScopeSource::claim(CUSTOM)));
    let token = issuer
        .token()
        .claim("scope", json!({"read:x": true}))
        .claim("scp", json!({"scope": "read:x"}))
        .claim("permissions", json!({"0": "read:x"}))
        .claim(CUSTOM, json!({"scope": ["read:x"]}))
        .sign();
    assert_grants_nothing_but_stays_valid(&app, &token).await;
}

#[tokio::test]
async fn non_string_array_elements_are_dropped_and_string_elements_kept() {
    let issuer = issuer().await;
    let app = scopes_app(issuer.validator());
    let token = issuer
        .token()
        .claim(
            "permissions",
            json!([1, null, ["read:x"], {"read:x": true}, true, "perm:ok"]),
        )
        .sign();
    assert_eq!(scopes_of(&app, &token).await, "perm:ok");
    assert_forbidden(&call(&app, "GET", "/need", &token).await, "read:x");
}

#[tokio::test]
async fn array_elements_are_taken_whole_and_an_element_with_a_space_is_dropped() {
    let issuer = issuer().await;
    let app = scopes_app(issuer.validator());
    let token = issuer
        .token()
        .claim("permissions", json!(["read:x write:y", "perm:ok"]))
        .claim("scp", json!(["read:x\twrite:y"]))
        .sign();
    assert_eq!(scopes_of(&app, &token).await, "perm:ok");
    assert_forbidden(&call(&app, "GET", "/need", &token).await, "read:x");
    assert_forbidden(&call(&app, "GET", "/has/write:y", &token).await, "write:y");
}

#[tokio::test]
async fn repeated_scope_source_claim_is_a_malformed_token_401() {
    let issuer = issuer().await;
    let app = scopes_app(issuer.validator());
    // The positive twin: the same raw claims with one member are accepted.
    let single = issuer
        .token()
        .raw_claims(&raw_claims(&issuer, r#""scope":"read:x""#))
        .sign();
    assert_ok(&call(&app, "GET", "/need", &single).await, "ok");
    for repeated in [
        r#""scope":"read:x","scope":"read:y""#,
        r#""scope":"read:x","scope":"read:x""#,
        r#""scope":"read:y","sco\u0070e":"read:x""#,
        r#""scp":["read:x"],"scp":"read:y""#,
        r#""permissions":["read:x"],"permissions":[]"#,
    ] {
        let token = issuer
            .token()
            .raw_claims(&raw_claims(&issuer, repeated))
            .sign();
        for path in ["/open", "/need"] {
            assert_invalid_token(
                &call(&app, "GET", path, &token).await,
                ErrorKind::MalformedToken,
            );
        }
    }
}

#[tokio::test]
async fn repeated_custom_scope_claim_is_malformed_only_when_it_is_a_configured_source() {
    let issuer = issuer().await;
    let extra = format!(r#""{CUSTOM}":"read:y","{CUSTOM}":"read:x""#);
    let token = issuer
        .token()
        .raw_claims(&raw_claims(&issuer, &extra))
        .sign();
    // Not a source: an ordinary claim, ignored by the validator.
    let plain = scopes_app(issuer.validator());
    assert_ok(&call(&plain, "GET", "/open", &token).await, "open");
    assert_forbidden(&call(&plain, "GET", "/need", &token).await, "read:x");
    // A source: read with duplicate detection, so the token is malformed.
    let configured = scopes_app(issuer.validator().scope_source(ScopeSource::claim(CUSTOM)));
    assert_invalid_token(
        &call(&configured, "GET", "/open", &token).await,
        ErrorKind::MalformedToken,
    );
}

// --- splitting -----------------------------------------------------------------------------

#[tokio::test]
async fn double_leading_and_trailing_spaces_still_grant_each_piece() {
    let issuer = issuer().await;
    let app = scopes_app(issuer.validator());
    let token = issuer.token().scope("  read:x   write:y  ").sign();
    assert_eq!(scopes_of(&app, &token).await, "read:x write:y");
    assert_ok(&call(&app, "GET", "/need", &token).await, "ok");
    assert_ok(&call(&app, "GET", "/has/write:y", &token).await, "ok");
}

#[tokio::test]
async fn a_tab_does_not_split_and_grants_neither_piece() {
    let issuer = issuer().await;
    let app = scopes_app(issuer.validator());
    let token = issuer.token().scope("a\tb c").sign();
    assert_eq!(scopes_of(&app, &token).await, "c");
    assert_forbidden(&call(&app, "GET", "/has/a", &token).await, "a");
    assert_forbidden(&call(&app, "GET", "/has/b", &token).await, "b");
    assert_ok(&call(&app, "GET", "/has/c", &token).await, "ok");
}

#[tokio::test]
async fn other_whitespace_does_not_split_either() {
    let issuer = issuer().await;
    let app = scopes_app(issuer.validator());
    let token = issuer
        .token()
        .scope("a\nb c\u{a0}d e\rf g")
        .claim("scp", "h\u{2003}i")
        .sign();
    assert_eq!(scopes_of(&app, &token).await, "g");
    for piece in ["a", "b", "c", "d", "e", "f", "h", "i"] {
        assert_forbidden(
            &call(&app, "GET", &format!("/has/{piece}"), &token).await,
            piece,
        );
    }
}

#[tokio::test]
async fn scope_matching_is_case_sensitive() {
    let issuer = issuer().await;
    let app = scopes_app(issuer.validator());
    let token = issuer.token().scope("Read:x").sign();
    assert_forbidden(&call(&app, "GET", "/need", &token).await, "read:x");
    assert_forbidden(&call(&app, "GET", "/has/READ:X", &token).await, "READ:X");
    assert_ok(&call(&app, "GET", "/has/Read:x", &token).await, "ok");
}

#[tokio::test]
async fn scopes_in_a_nested_act_claim_are_never_read() {
    let issuer = issuer().await;
    let app = scopes_app(issuer.validator());
    let token = issuer
        .token()
        .claim(
            "act",
            json!({
                "sub": "service-a",
                "scope": "read:x",
                "scp": ["read:x"],
                "permissions": ["read:x"],
                "act": {"sub": "service-b", "scope": "read:x"},
            }),
        )
        .sign();
    assert_grants_nothing_but_stays_valid(&app, &token).await;
}

// --- templates through routes --------------------------------------------------------------

/// room_1 granted: room_1 passes, room_2 is refused naming the bound scope.
async fn assert_delete_binds_room(app: &Router, issuer: &TestIssuer) {
    let token = issuer.token().scope("delete:comments-in-room_1").sign();
    assert_ok(
        &call(app, "DELETE", "/rooms/room_1/comments/7", &token).await,
        "deleted",
    );
    assert_forbidden(
        &call(app, "DELETE", "/rooms/room_2/comments/7", &token).await,
        "delete:comments-in-room_2",
    );
}

#[tokio::test]
async fn colon_template_binds_the_route_parameter() {
    let issuer = issuer().await;
    let app = Router::new()
        .route_requiring(
            "/rooms/{room}/comments/{id}",
            delete(|| async { "deleted" }),
            Requirement::scope("delete:comments-in-:room").unwrap(),
        )
        .layer(AuthLayer::new(issuer.validator().build().unwrap()));
    assert_delete_binds_room(&app, &issuer).await;
}

#[tokio::test]
async fn brace_template_binds_the_route_parameter() {
    let issuer = issuer().await;
    let app = Router::new()
        .route_requiring(
            "/rooms/{room}/comments/{id}",
            delete(|| async { "deleted" }),
            Requirement::scope("delete:comments-in-{room}").unwrap(),
        )
        .layer(AuthLayer::new(issuer.validator().build().unwrap()));
    assert_delete_binds_room(&app, &issuer).await;
}

#[tokio::test]
async fn colons_after_name_characters_stay_literal() {
    let issuer = issuer().await;
    let requirement = Requirement::scope("api:v1:read").unwrap();
    assert!(requirement.parameters().is_empty());
    // The route has parameters named like the pieces: they must not be bound.
    let app = Router::new()
        .route_requiring("/api/{v1}/{read}", get(ok), requirement)
        .layer(AuthLayer::new(issuer.validator().build().unwrap()));
    let literal = issuer.token().scope("api:v1:read").sign();
    assert_ok(&call(&app, "GET", "/api/x/y", &literal).await, "ok");
    let bound = issuer.token().scope("api:x:y api:v1:y api:x:read").sign();
    assert_forbidden(&call(&app, "GET", "/api/x/y", &bound).await, "api:v1:read");
}

#[tokio::test]
async fn escapes_are_literal_characters() {
    let issuer = issuer().await;
    let app = Router::new()
        .route_requiring("/colon", get(ok), scope!("a-::b"))
        .route_requiring("/braces/{room}", get(ok), scope!("read:{{:room}}"))
        .route_requiring("/colon-then-param/{room}", get(ok), scope!("x-:::room"))
        .layer(AuthLayer::new(issuer.validator().build().unwrap()));
    let good = issuer.token().scope("a-:b read:{r1} x-:r1").sign();
    assert_ok(&call(&app, "GET", "/colon", &good).await, "ok");
    assert_ok(&call(&app, "GET", "/braces/r1", &good).await, "ok");
    assert_ok(
        &call(&app, "GET", "/colon-then-param/r1", &good).await,
        "ok",
    );
    let raw = issuer.token().scope("a-::b read:{{r1}} x-::r1").sign();
    assert_forbidden(&call(&app, "GET", "/colon", &raw).await, "a-:b");
    assert_forbidden(&call(&app, "GET", "/braces/r1", &raw).await, "read:{r1}");
    assert_forbidden(
        &call(&app, "GET", "/colon-then-param/r1", &raw).await,
        "x-:r1",
    );
}

const BAD_TEMPLATES: [(&str, TemplateError); 14] = [
    ("", TemplateError::Empty),
    ("a-:", TemplateError::EmptyName),
    (":", TemplateError::EmptyName),
    ("read:{}", TemplateError::EmptyName),
    ("read:{room", TemplateError::UnclosedBrace),
    ("read:{ro-om}", TemplateError::UnclosedBrace),
    ("read:room}", TemplateError::UnmatchedBrace),
    ("read comments", TemplateError::NotAScopeCharacter),
    ("read:\tx", TemplateError::NotAScopeCharacter),
    ("read:\"x\"", TemplateError::NotAScopeCharacter),
    ("read:caf\u{e9}", TemplateError::NotAScopeCharacter),
    (":org-:room", TemplateError::AdjacentParameters),
    ("{org}{room}", TemplateError::AdjacentParameters),
    ("{org}.:room", TemplateError::AdjacentParameters),
];

#[test]
fn bad_templates_are_refused_with_the_matching_template_error() {
    for (template, expected) in BAD_TEMPLATES {
        assert_eq!(
            Requirement::scope(template).unwrap_err(),
            expected,
            "{template:?}"
        );
        assert_eq!(
            scopegate::check_template(template),
            Err(expected),
            "{template:?}"
        );
    }
    for good in [
        "read:org-:org-room-:room",
        "a-::b",
        "api:v1:read",
        "read:{{:room}}",
    ] {
        assert!(Requirement::scope(good).is_ok(), "{good:?}");
    }
}

#[test]
fn require_scope_panics_on_a_bad_template_naming_the_reason() {
    for (template, expected) in BAD_TEMPLATES {
        let payload = catch_unwind(|| require_scope(template))
            .expect_err(&format!("require_scope({template:?}) must panic"));
        let message = panic_message(payload);
        assert!(
            message.contains(&format!("invalid scope template {template:?}")),
            "{message}"
        );
        assert!(message.contains(expected.message()), "{message}");
    }
    // The positive twin: a good template builds a layer.
    assert!(catch_unwind(|| require_scope("delete:comments-in-:room")).is_ok());
}

// --- injection through path values (SECURITY-BAR §6) ----------------------------------------

#[tokio::test]
async fn room_value_with_a_space_is_refused_without_scope_attribute() {
    let issuer = issuer().await;
    let app = rooms_app(issuer.validator().build().unwrap());
    // "add:comments-in-a b" splits into two grants, "add:comments-in-a" and "b".
    let token = issuer.token().scope("add:comments-in-a b").sign();
    assert_ok(
        &call(&app, "POST", "/rooms/a/comments", &token).await,
        "added",
    );
    assert_forbidden_unnamed(&call(&app, "POST", "/rooms/a%20b/comments", &token).await);
}

#[tokio::test]
async fn percent_in_decoded_value_is_refused_even_when_granted_literally() {
    let issuer = issuer().await;
    let app = rooms_app(issuer.validator().build().unwrap());
    let token = issuer.token().scope("add:comments-in-a%20b").sign();
    assert_eq!(
        scopes_of(&scopes_app(issuer.validator()), &token).await,
        "add:comments-in-a%20b"
    );
    // `a%2520b` decodes to `a%20b`: the bound scope would equal the grant exactly.
    assert_forbidden_unnamed(&call(&app, "POST", "/rooms/a%2520b/comments", &token).await);
    // `a%20b` decodes to `a b`.
    assert_forbidden_unnamed(&call(&app, "POST", "/rooms/a%20b/comments", &token).await);
}

#[tokio::test]
async fn encoded_slash_in_value_is_refused_even_when_granted_literally() {
    let issuer = issuer().await;
    let app = rooms_app(issuer.validator().build().unwrap());
    let token = issuer
        .token()
        .scope("add:comments-in-a/b add:comments-in-a%2Fb add:comments-in-a")
        .sign();
    assert_forbidden_unnamed(&call(&app, "POST", "/rooms/a%2Fb/comments", &token).await);
    assert_forbidden_unnamed(&call(&app, "POST", "/rooms/a%2fb/comments", &token).await);
}

#[tokio::test]
async fn star_path_value_never_grants_with_wildcards_off() {
    let issuer = issuer().await;
    let app = rooms_app(issuer.validator().build().unwrap());
    let token = issuer.token().scope("delete:comments-in-*").sign();
    for path in [
        "/rooms/*/comments/1",
        "/rooms/%2A/comments/1",
        "/rooms/a*/comments/1",
    ] {
        assert_forbidden_unnamed(&call(&app, "DELETE", path, &token).await);
    }
    assert_forbidden(
        &call(&app, "DELETE", "/rooms/r1/comments/1", &token).await,
        "delete:comments-in-r1",
    );
}

#[tokio::test]
async fn star_path_value_never_grants_with_wildcards_on() {
    let issuer = issuer().await;
    let app =
        rooms_behind(AuthLayer::new(issuer.validator().build().unwrap()).wildcard_grants(true));
    let token = issuer.token().scope("delete:comments-in-*").sign();
    for path in [
        "/rooms/*/comments/1",
        "/rooms/%2A/comments/1",
        "/rooms/a*/comments/1",
    ] {
        assert_forbidden_unnamed(&call(&app, "DELETE", path, &token).await);
    }
    // The positive twin: the wildcard does grant an ordinary room.
    assert_ok(
        &call(&app, "DELETE", "/rooms/r1/comments/1", &token).await,
        "deleted",
    );
}

#[tokio::test]
async fn room_1_is_not_granted_by_room_10_or_room_1x() {
    let issuer = issuer().await;
    let app = rooms_app(issuer.validator().build().unwrap());
    let token = issuer
        .token()
        .scope("add:comments-in-room_10 add:comments-in-room_1x")
        .sign();
    assert_forbidden(
        &call(&app, "POST", "/rooms/room_1/comments", &token).await,
        "add:comments-in-room_1",
    );
    assert_ok(
        &call(&app, "POST", "/rooms/room_10/comments", &token).await,
        "added",
    );
}

#[tokio::test]
async fn room_10_is_not_granted_by_room_1() {
    let issuer = issuer().await;
    let app = rooms_app(issuer.validator().build().unwrap());
    let token = issuer.token().scope("add:comments-in-room_1").sign();
    assert_forbidden(
        &call(&app, "POST", "/rooms/room_10/comments", &token).await,
        "add:comments-in-room_10",
    );
    assert_forbidden(
        &call(&app, "POST", "/rooms/room_/comments", &token).await,
        "add:comments-in-room_",
    );
}

#[tokio::test]
async fn non_ascii_path_values_nfc_or_nfd_are_refused_without_scope_attribute() {
    let issuer = issuer().await;
    let app = rooms_app(issuer.validator().build().unwrap());
    let token = issuer
        .token()
        .scope("add:comments-in-cafe")
        .claim("permissions", json!(["add:comments-in-caf\u{e9}"]))
        .sign();
    // The non-ASCII grant is not a scope-token: dropped.
    assert_eq!(
        scopes_of(&scopes_app(issuer.validator()), &token).await,
        "add:comments-in-cafe"
    );
    assert_ok(
        &call(&app, "POST", "/rooms/cafe/comments", &token).await,
        "added",
    );
    // NFC (U+00E9) and NFD (e + U+0301): never folded or normalized to "cafe".
    assert_forbidden_unnamed(&call(&app, "POST", "/rooms/caf%C3%A9/comments", &token).await);
    assert_forbidden_unnamed(&call(&app, "POST", "/rooms/cafe%CC%81/comments", &token).await);
}

#[tokio::test]
async fn invalid_utf8_path_value_is_refused_without_scope_attribute() {
    let issuer = issuer().await;
    let app = rooms_app(issuer.validator().build().unwrap());
    let token = issuer.token().scope("add:comments-in-a").sign();
    assert_forbidden_unnamed(&call(&app, "POST", "/rooms/a%FF/comments", &token).await);
}

fn org_rooms_app(validator: Validator) -> Router {
    Router::new()
        .route_requiring(
            "/orgs/{org}/rooms/{room}",
            get(ok),
            scope!("read:org-:org-room-:room"),
        )
        .layer(AuthLayer::new(validator))
}

#[tokio::test]
async fn multi_parameter_value_containing_its_separator_is_refused() {
    let issuer = issuer().await;
    let app = org_rooms_app(issuer.validator().build().unwrap());
    // Both requests would bind exactly this granted scope.
    let token = issuer.token().scope("read:org-a-room-b-room-c").sign();
    assert_forbidden_unnamed(&call(&app, "GET", "/orgs/a-room-b/rooms/c", &token).await);
    assert_forbidden_unnamed(&call(&app, "GET", "/orgs/a/rooms/b-room-c", &token).await);
    // The positive twin: values with dashes but without the separator bind.
    let plain = issuer.token().scope("read:org-a-b-room-c-d").sign();
    assert_ok(
        &call(&app, "GET", "/orgs/a-b/rooms/c-d", &plain).await,
        "ok",
    );
    assert_forbidden(
        &call(&app, "GET", "/orgs/a-b/rooms/c-e", &plain).await,
        "read:org-a-b-room-c-e",
    );
}

#[tokio::test]
async fn multi_parameter_values_overlapping_their_separator_are_refused() {
    let issuer = issuer().await;
    let app = org_rooms_app(issuer.validator().build().unwrap());
    // Org `a` + room `room-b` and org `a-room` + room `b` both spell this scope: neither value
    // contains "-room-", but the separator occurs twice in the bound middle, so the split is
    // ambiguous and both requests must be refused.
    let token = issuer.token().scope("read:org-a-room-room-b").sign();
    assert_forbidden_unnamed(&call(&app, "GET", "/orgs/a-room/rooms/b", &token).await);
    assert_forbidden_unnamed(&call(&app, "GET", "/orgs/a/rooms/room-b", &token).await);
}

#[tokio::test]
async fn uuid_room_ids_bind_and_grant() {
    let issuer = issuer().await;
    let app = rooms_app(issuer.validator().build().unwrap());
    let token = issuer
        .token()
        .scope(&format!("add:comments-in-{UUID}"))
        .sign();
    assert_ok(
        &call(&app, "POST", &format!("/rooms/{UUID}/comments"), &token).await,
        "added",
    );
    let other = "6ba7b810-9dad-11d1-80b4-00c04fd430c8";
    assert_forbidden(
        &call(&app, "POST", &format!("/rooms/{other}/comments"), &token).await,
        &format!("add:comments-in-{other}"),
    );
}

// --- combinators ---------------------------------------------------------------------------

#[tokio::test]
async fn all_of_needs_both_scopes_and_403_lists_both() {
    let issuer = issuer().await;
    let app = Router::new()
        .route_requiring(
            "/rooms/{room}/comments",
            post(ok),
            Requirement::all_of([
                scope!("read:comments-in-{room}"),
                scope!("add:comments-in-{room}"),
            ]),
        )
        .layer(AuthLayer::new(issuer.validator().build().unwrap()));
    let both = issuer
        .token()
        .scope("read:comments-in-r1 add:comments-in-r1")
        .sign();
    assert_ok(&call(&app, "POST", "/rooms/r1/comments", &both).await, "ok");
    for partial in [
        "read:comments-in-r1",
        "add:comments-in-r1",
        "read:comments-in-r1 add:comments-in-r2",
        "",
    ] {
        let token = issuer.token().scope(partial).sign();
        assert_forbidden(
            &call(&app, "POST", "/rooms/r1/comments", &token).await,
            "read:comments-in-r1 add:comments-in-r1",
        );
    }
}

#[tokio::test]
async fn any_of_is_met_by_either_scope_and_403_names_the_first_alternative_only() {
    let issuer = issuer().await;
    let app = Router::new()
        .route_requiring(
            "/rooms/{room}/comments/{id}",
            delete(ok),
            Requirement::any_of([
                Requirement::scope("delete:comments-in-{room}").unwrap(),
                Requirement::scope("moderate:all").unwrap(),
            ]),
        )
        .layer(AuthLayer::new(issuer.validator().build().unwrap()));
    for either in ["delete:comments-in-r1", "moderate:all"] {
        let token = issuer.token().scope(either).sign();
        assert_ok(
            &call(&app, "DELETE", "/rooms/r1/comments/1", &token).await,
            "ok",
        );
    }
    let neither = issuer
        .token()
        .scope("delete:comments-in-r2 moderate:some")
        .sign();
    // RFC 6750 reads a space-separated list as "all of these": only the first alternative
    // that scopes alone would satisfy is named, and it does satisfy.
    assert_forbidden(
        &call(&app, "DELETE", "/rooms/r1/comments/1", &neither).await,
        "delete:comments-in-r1",
    );
    // A refused value in one branch: still met by the other branch; otherwise the branch
    // that scopes can still satisfy is named, never one bound from the refused value.
    let moderator = issuer.token().scope("moderate:all").sign();
    assert_ok(
        &call(&app, "DELETE", "/rooms/*/comments/1", &moderator).await,
        "ok",
    );
    assert_forbidden(
        &call(&app, "DELETE", "/rooms/*/comments/1", &neither).await,
        "moderate:all",
    );
}

#[tokio::test]
async fn empty_all_of_always_holds_and_empty_any_of_never_holds() {
    let issuer = issuer().await;
    let app = Router::new()
        .route_requiring("/all", get(ok), Requirement::all_of([]))
        .route_requiring("/any", get(ok), Requirement::any_of([]))
        .layer(AuthLayer::new(issuer.validator().build().unwrap()));
    let token = issuer.token().scope("read:x").sign();
    assert_ok(&call(&app, "GET", "/all", &token).await, "ok");
    assert_forbidden_unnamed(&call(&app, "GET", "/any", &token).await);
}

fn org_members_app(validator: Validator) -> Router {
    Router::new()
        .route_requiring(
            "/orgs/{org}/members",
            get(ok),
            Requirement::claim_equals("org_id", "org"),
        )
        .layer(AuthLayer::new(validator))
}

#[tokio::test]
async fn claim_equals_passes_for_a_byte_equal_string() {
    let issuer = issuer().await;
    let app = org_members_app(issuer.validator().build().unwrap());
    let token = issuer.token().claim("org_id", "org_a").sign();
    assert_ok(
        &call(&app, "GET", "/orgs/org_a/members", &token).await,
        "ok",
    );
}

#[tokio::test]
async fn claim_equals_refuses_another_org_with_403() {
    let issuer = issuer().await;
    let app = org_members_app(issuer.validator().build().unwrap());
    let token = issuer.token().claim("org_id", "org_a").sign();
    for other in ["org_b", "Org_a", "org_a_", "org_"] {
        // No scope can satisfy a claim check: 403 without a scope attribute.
        assert_forbidden_unnamed(
            &call(&app, "GET", &format!("/orgs/{other}/members"), &token).await,
        );
    }
}

#[tokio::test]
async fn claim_equals_compares_the_percent_decoded_path_value() {
    let issuer = issuer().await;
    let app = org_members_app(issuer.validator().build().unwrap());
    let token = issuer.token().claim("org_id", "org a").sign();
    assert_ok(
        &call(&app, "GET", "/orgs/org%20a/members", &token).await,
        "ok",
    );
    assert_forbidden_unnamed(&call(&app, "GET", "/orgs/org%2520a/members", &token).await);
}

#[tokio::test]
async fn claim_equals_refuses_number_array_null_object_and_absent_with_403() {
    let issuer = issuer().await;
    let app = org_members_app(issuer.validator().build().unwrap());
    let cases = [
        ("42", json!(42)),
        ("42", json!(42.0)),
        ("true", json!(true)),
        ("org_a", json!(["org_a"])),
        ("org_a", json!({"id": "org_a"})),
        ("null", json!(null)),
    ];
    for (path_value, claim) in cases {
        let token = issuer.token().claim("org_id", claim.clone()).sign();
        let reply = call(&app, "GET", &format!("/orgs/{path_value}/members"), &token).await;
        assert_forbidden_unnamed(&reply);
    }
    let absent = issuer.token().sign();
    assert_forbidden_unnamed(&call(&app, "GET", "/orgs/org_a/members", &absent).await);
}

#[tokio::test]
async fn repeated_org_id_claim_counts_as_absent_so_403_not_401() {
    let issuer = issuer().await;
    let app = org_members_app(issuer.validator().build().unwrap());
    for repeated in [
        r#""org_id":"org_a","org_id":"org_a""#,
        r#""org_id":"org_b","org_id":"org_a""#,
        r#""org_id":"org_a","org_id":"org_b""#,
        r#""org_id":"org_b","org\u005fid":"org_a""#,
    ] {
        let token = issuer
            .token()
            .raw_claims(&raw_claims(&issuer, repeated))
            .sign();
        // Not a scope source: the token is valid, the claim is ambiguous, so it never matches.
        assert_forbidden_unnamed(&call(&app, "GET", "/orgs/org_a/members", &token).await);
        assert_forbidden_unnamed(&call(&app, "GET", "/orgs/org_b/members", &token).await);
    }
    // The positive twin: one member through the same raw claims is accepted.
    let single = issuer
        .token()
        .raw_claims(&raw_claims(&issuer, r#""org_id":"org_a""#))
        .sign();
    assert_ok(
        &call(&app, "GET", "/orgs/org_a/members", &single).await,
        "ok",
    );
}

// --- wildcard grants -----------------------------------------------------------------------

#[tokio::test]
async fn wildcard_grants_are_off_by_default() {
    let issuer = issuer().await;
    let app = rooms_app(issuer.validator().build().unwrap());
    let token = issuer.token().scope("delete:comments-in-*").sign();
    assert_forbidden(
        &call(&app, "DELETE", "/rooms/r1/comments/1", &token).await,
        "delete:comments-in-r1",
    );
}

#[tokio::test]
async fn wildcard_grants_when_enabled_satisfy_longer_scopes_under_the_prefix_only() {
    let issuer = issuer().await;
    let app =
        rooms_behind(AuthLayer::new(issuer.validator().build().unwrap()).wildcard_grants(true));
    let token = issuer.token().scope("delete:comments-in-*").sign();
    assert_ok(
        &call(&app, "DELETE", "/rooms/r1/comments/1", &token).await,
        "deleted",
    );
    assert_ok(
        &call(&app, "DELETE", &format!("/rooms/{UUID}/comments/1"), &token).await,
        "deleted",
    );
    // Another prefix is not covered.
    assert_forbidden(
        &call(&app, "POST", "/rooms/r1/comments", &token).await,
        "add:comments-in-r1",
    );
    // A lone `*` grants nothing.
    let lone = issuer.token().scope("*").sign();
    assert_forbidden(
        &call(&app, "DELETE", "/rooms/r1/comments/1", &lone).await,
        "delete:comments-in-r1",
    );
}

#[tokio::test]
async fn wildcards_apply_to_the_granted_side_only() {
    let issuer = issuer().await;
    let app = Router::new()
        .route_requiring("/all-rooms", delete(ok), scope!("delete:comments-in-*"))
        .layer(AuthLayer::new(issuer.validator().build().unwrap()).wildcard_grants(true));
    // A concrete grant never satisfies a required scope that happens to end in `*`.
    let concrete = issuer.token().scope("delete:comments-in-r1").sign();
    assert_forbidden(
        &call(&app, "DELETE", "/all-rooms", &concrete).await,
        "delete:comments-in-*",
    );
    let star = issuer.token().scope("delete:comments-in-*").sign();
    assert_ok(&call(&app, "DELETE", "/all-rooms", &star).await, "ok");
}

// --- the declaration ways share one decision -----------------------------------------------

scope!(DeleteComments = "delete:comments-in-:room");

async fn deleted() -> &'static str {
    "deleted"
}

async fn deleted_typed(_: RequireScope<DeleteComments>) -> &'static str {
    "deleted"
}

#[derive(Debug, Clone, Copy)]
enum Way {
    RouteRequiring,
    RouteLayer,
    HandlerLayer,
    Extractor,
}

const WAYS: [Way; 4] = [
    Way::RouteRequiring,
    Way::RouteLayer,
    Way::HandlerLayer,
    Way::Extractor,
];

fn declared(way: Way, validator: Validator) -> Router {
    let path = "/rooms/{room}/comments/{id}";
    let router = match way {
        Way::RouteRequiring => {
            Router::new().route_requiring(path, delete(deleted), scope!("delete:comments-in-:room"))
        }
        Way::RouteLayer => Router::new().route(
            path,
            delete(deleted).route_layer(require(scope!("delete:comments-in-:room"))),
        ),
        Way::HandlerLayer => Router::new().route(
            path,
            delete(deleted.layer(require(scope!("delete:comments-in-:room")))),
        ),
        Way::Extractor => Router::new().route(path, delete(deleted_typed)),
    };
    router.layer(AuthLayer::new(validator).allow_anonymous())
}

/// The same requests against one way of declaring the requirement, checked case by case.
async fn outcome_matrix(way: Way, issuer: &TestIssuer) -> Vec<Reply> {
    let app = declared(way, issuer.validator().build().unwrap());
    let room_1 = issuer.token().scope("delete:comments-in-room_1").sign();
    let nothing = issuer.token().scope("read:comments-in-room_1").sign();
    let tampered = format!("{}AAAA", &room_1[..room_1.len() - 4]);
    let replies = vec![
        send(&app, "DELETE", "/rooms/room_1/comments/7", None).await,
        send(
            &app,
            "DELETE",
            "/rooms/room_1/comments/7",
            Some("Basic dXNlcjpwYXNz"),
        )
        .await,
        call(&app, "DELETE", "/rooms/room_1/comments/7", &room_1).await,
        call(&app, "DELETE", "/rooms/room_2/comments/7", &room_1).await,
        call(&app, "DELETE", "/rooms/*/comments/7", &room_1).await,
        call(&app, "DELETE", "/rooms/room_1/comments/7", &nothing).await,
        call(&app, "DELETE", "/rooms/room_1/comments/7", &tampered).await,
    ];
    assert_bare_401(&replies[0]);
    assert_bare_401(&replies[1]);
    assert_ok(&replies[2], "deleted");
    assert_forbidden(&replies[3], "delete:comments-in-room_2");
    assert_forbidden_unnamed(&replies[4]);
    assert_forbidden(&replies[5], "delete:comments-in-room_1");
    assert_invalid_token(&replies[6], ErrorKind::InvalidSignature);
    replies
}

#[tokio::test]
async fn route_requiring_gives_the_expected_outcomes() {
    let issuer = issuer().await;
    outcome_matrix(Way::RouteRequiring, &issuer).await;
}

#[tokio::test]
async fn route_layer_require_gives_the_expected_outcomes() {
    let issuer = issuer().await;
    outcome_matrix(Way::RouteLayer, &issuer).await;
}

#[tokio::test]
async fn handler_layer_require_gives_the_expected_outcomes() {
    let issuer = issuer().await;
    outcome_matrix(Way::HandlerLayer, &issuer).await;
}

#[tokio::test]
async fn require_scope_extractor_gives_the_expected_outcomes() {
    let issuer = issuer().await;
    outcome_matrix(Way::Extractor, &issuer).await;
}

#[tokio::test]
async fn all_declaration_ways_give_identical_responses() {
    let issuer = issuer().await;
    let reference = outcome_matrix(Way::RouteRequiring, &issuer).await;
    for way in WAYS {
        assert_eq!(
            outcome_matrix(way, &issuer).await,
            reference,
            "{way:?} differs from route_requiring"
        );
    }
}

// --- misconfiguration ----------------------------------------------------------------------

/// A parameter the route path lacks may come from an enclosing `nest`, so `route_requiring`
/// cannot refuse it when the router is built; where the whole matched route lacks it, every
/// request is refused with 500, whatever the token grants (a scope check nested in a combinator
/// included).
#[tokio::test]
async fn route_requiring_with_a_parameter_the_matched_route_lacks_is_500_on_every_request() {
    let issuer = issuer().await;
    let app = Router::new()
        .route_requiring(
            "/rooms/{id}/comments",
            get(ok),
            scope!("read:comments-in-:room"),
        )
        .route_requiring(
            "/invoices",
            get(ok),
            Requirement::all_of([
                scope!("read:invoices"),
                Requirement::claim_equals("org_id", "org"),
            ]),
        )
        .layer(AuthLayer::new(issuer.validator().build().unwrap()));
    let token = issuer
        .token()
        .scope("read:comments-in-r1 read:comments-in-:room read:invoices")
        .claim("org_id", "org")
        .sign();
    assert_server_error(&call(&app, "GET", "/rooms/r1/comments", &token).await);
    assert_server_error(&call(&app, "GET", "/invoices", &token).await);
}

#[tokio::test]
async fn route_layer_require_with_a_missing_parameter_is_500_even_with_every_scope() {
    let issuer = issuer().await;
    let app = Router::new()
        .route(
            "/rooms/{id}/comments",
            get(ok).route_layer(require(scope!("read:comments-in-:room"))),
        )
        .layer(AuthLayer::new(issuer.validator().build().unwrap()));
    let token = issuer
        .token()
        .scope(
            "read:comments-in-r1 read:comments-in-:room read:comments-in-{room} read:comments-in-",
        )
        .sign();
    assert_server_error(&call(&app, "GET", "/rooms/r1/comments", &token).await);
}

#[tokio::test]
async fn missing_parameter_in_an_any_of_branch_is_500_even_when_another_branch_holds() {
    let issuer = issuer().await;
    let app = Router::new()
        .route(
            "/invoices",
            get(ok).route_layer(require(Requirement::any_of([
                scope!("read:invoices"),
                Requirement::claim_equals("org_id", "org"),
            ]))),
        )
        .layer(AuthLayer::new(issuer.validator().build().unwrap()));
    let token = issuer
        .token()
        .scope("read:invoices")
        .claim("org_id", "org_a")
        .sign();
    assert_server_error(&call(&app, "GET", "/invoices", &token).await);
}

#[tokio::test]
async fn requirement_on_router_layer_never_answers_2xx_for_an_unmatched_path() {
    let issuer = issuer().await;
    let app = Router::new()
        .route("/rooms/{room}", get(ok))
        .layer(require(scope!("read:rooms-:room")))
        .layer(AuthLayer::new(issuer.validator().build().unwrap()));
    let token = issuer
        .token()
        .scope("read:rooms-r1 read:rooms-nowhere")
        .sign();
    // `Router::layer` also wraps the fallback, where no route matched and so no `{room}` can
    // be bound: the requirement must not let the request through to anything.
    let unmatched = call(&app, "GET", "/nowhere", &token).await;
    assert!(!unmatched.status.is_success(), "{unmatched:?}");
    assert!(
        matches!(
            unmatched.status,
            StatusCode::NOT_FOUND | StatusCode::INTERNAL_SERVER_ERROR
        ),
        "{unmatched:?}"
    );
    // What it is today: the unbindable requirement is reported as a misconfiguration.
    assert_server_error(&unmatched);
    // A matched route still binds its own parameter under `Router::layer`.
    assert_ok(&call(&app, "GET", "/rooms/r1", &token).await, "ok");
    assert_forbidden(
        &call(&app, "GET", "/rooms/r2", &token).await,
        "read:rooms-r2",
    );
}

#[tokio::test]
async fn require_scope_extractor_without_auth_layer_is_500() {
    let issuer = issuer().await;
    let app = Router::new().route("/rooms/{room}/comments/{id}", delete(deleted_typed));
    let token = issuer.token().scope("delete:comments-in-room_1").sign();
    assert_server_error(&call(&app, "DELETE", "/rooms/room_1/comments/7", &token).await);
    assert_server_error(&send(&app, "DELETE", "/rooms/room_1/comments/7", None).await);
}

#[tokio::test]
async fn route_layer_require_without_auth_layer_is_500() {
    let issuer = issuer().await;
    let app = Router::new().route(
        "/rooms/{room}/comments/{id}",
        delete(deleted).route_layer(require(scope!("delete:comments-in-:room"))),
    );
    let token = issuer.token().scope("delete:comments-in-room_1").sign();
    assert_server_error(&call(&app, "DELETE", "/rooms/room_1/comments/7", &token).await);
}

/// A principal some other code put in the extensions (validated with `Validator::validate`),
/// without the AuthLayer: requirements and extractors answer 500, never decide with it.
#[tokio::test]
async fn a_principal_inserted_without_the_auth_layer_is_500() {
    let issuer = issuer().await;
    let token = issuer.token().scope("delete:comments-in-room_1").sign();
    let validator = issuer.validator().build().unwrap();
    let auth = validator.validate(&token).await.unwrap();
    let insert = tower::util::MapRequestLayer::new(move |mut request: Request<Body>| {
        request.extensions_mut().insert(auth.clone());
        request
    });
    let app =
        Router::new()
            .route("/rooms/{room}/comments/{id}", delete(deleted_typed))
            .route(
                "/layered/{room}",
                delete(deleted).route_layer(require(scope!("delete:comments-in-{room}"))),
            )
            .route_requiring(
                "/required/{room}",
                delete(deleted),
                scope!("delete:comments-in-{room}"),
            )
            .route(
                "/me",
                get(|auth: scopegate::Authenticated| async move { auth.issuer().to_owned() }),
            )
            .route(
                "/maybe",
                get(|auth: Option<scopegate::Authenticated>| async move {
                    format!("{}", auth.is_some())
                }),
            )
            .layer(insert);
    for path in [
        "/rooms/room_1/comments/7",
        "/layered/room_1",
        "/required/room_1",
    ] {
        assert_server_error(&call(&app, "DELETE", path, &token).await);
    }
    assert_server_error(&call(&app, "GET", "/me", &token).await);
    assert_server_error(&call(&app, "GET", "/maybe", &token).await);
}

// --- the user stories, end to end ----------------------------------------------------------

#[tokio::test]
async fn seed_002_custom_claim_room_scopes_allow_room_1_and_refuse_room_2() {
    let issuer = issuer().await;
    let app = rooms_app(
        issuer
            .validator()
            .scope_source(ScopeSource::claim(CUSTOM))
            .build()
            .unwrap(),
    );
    // As the Auth0 action in the thread builds it: one space-separated string.
    let member = issuer
        .token()
        .subject("user_1")
        .claim(CUSTOM, "add:comments-in-room_1 request:changes-in-room_1")
        .sign();
    let added = call(&app, "POST", "/rooms/room_1/comments", &member).await;
    assert!(added.status.is_success(), "{added:?}");
    assert_ok(&added, "added");
    assert_forbidden(
        &call(&app, "POST", "/rooms/room_2/comments", &member).await,
        "add:comments-in-room_2",
    );
    assert_forbidden(
        &call(&app, "DELETE", "/rooms/room_1/comments/1", &member).await,
        "delete:comments-in-room_1",
    );
    // The admin of a UUID room, from the thread's `requiredScopes("add:comments-in-<uuid>")`.
    let admin = issuer
        .token()
        .claim(
            CUSTOM,
            format!("add:comments-in-{UUID} make:changes-in-{UUID} delete:comments-in-{UUID}"),
        )
        .sign();
    assert_ok(
        &call(&app, "POST", &format!("/rooms/{UUID}/comments"), &admin).await,
        "added",
    );
    assert_ok(
        &call(&app, "DELETE", &format!("/rooms/{UUID}/comments/9"), &admin).await,
        "deleted",
    );
}

#[tokio::test]
async fn seed_000_org_admin_reads_invoices_of_own_org_only() {
    let issuer = issuer().await;
    let app = Router::new()
        .route_requiring(
            "/orgs/{org}/invoices",
            get(|| async { "invoices" }),
            Requirement::all_of([
                Requirement::scope("read:invoices").unwrap(),
                Requirement::claim_equals("org_id", "org"),
            ]),
        )
        .route_requiring(
            "/orgs/{org}/invoices",
            post(|| async { "created" }),
            Requirement::all_of([
                Requirement::scope("write:invoices").unwrap(),
                Requirement::claim_equals("org_id", "org"),
            ]),
        )
        .layer(AuthLayer::new(issuer.validator().build().unwrap()));
    // Admin in organization A: a token fetched for A.
    let admin_a = issuer
        .token()
        .scope("read:invoices write:invoices")
        .claim("org_id", "A")
        .sign();
    assert_ok(
        &call(&app, "GET", "/orgs/A/invoices", &admin_a).await,
        "invoices",
    );
    assert_ok(
        &call(&app, "POST", "/orgs/A/invoices", &admin_a).await,
        "created",
    );
    // The scope alone does not reach another organization: the claim check refuses it, and
    // the challenge names no scope, since none would satisfy it (the token has the scope).
    assert_forbidden_unnamed(&call(&app, "GET", "/orgs/B/invoices", &admin_a).await);
    assert_forbidden_unnamed(&call(&app, "POST", "/orgs/B/invoices", &admin_a).await);
    // Viewer in organization B: a token fetched for B.
    let viewer_b = issuer
        .token()
        .scope("read:invoices")
        .claim("org_id", "B")
        .sign();
    assert_ok(
        &call(&app, "GET", "/orgs/B/invoices", &viewer_b).await,
        "invoices",
    );
    assert_forbidden(
        &call(&app, "POST", "/orgs/B/invoices", &viewer_b).await,
        "write:invoices",
    );
    assert_forbidden_unnamed(&call(&app, "GET", "/orgs/A/invoices", &viewer_b).await);
}
