//! The OpenAPI integration (feature `utoipa`): one declaration per route builds the router that
//! enforces its requirement and the security the document shows, checked on both sides: the
//! generated document (schemes, per-operation security requirements, extensions, operations
//! added for routes the document lacked) and real requests with really signed tokens.
#![cfg(feature = "utoipa")]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use http::{Method, Request, StatusCode, header};
use scopegate::dpop::Dpop;
use scopegate::openapi::routing::{delete, get, post, put};
use scopegate::openapi::{Documented, RouteSecurity, SecuritySchemes};
use scopegate::testing::TestIssuer;
use scopegate::{AuthLayer, Requirement, scope};
use serde_json::{Value, json};
use tower::ServiceExt;
use utoipa::OpenApi as _;
use utoipa::openapi::OpenApi;

/// The user's own docs: two operations described with utoipa's macros.
#[utoipa::path(get, path = "/rooms", summary = "List rooms", responses((status = 200)))]
async fn list_rooms() -> &'static str {
    "rooms"
}

#[utoipa::path(get, path = "/health", responses((status = 200)))]
async fn health() -> &'static str {
    "ok"
}

#[derive(utoipa::OpenApi)]
#[openapi(paths(list_rooms, health))]
struct ApiDoc;

fn fresh_mfa() -> Requirement {
    Requirement::step_up()
        .acr_values(["urn:rooms:mfa"])
        .max_age(Duration::from_secs(300))
        .build()
        .unwrap()
}

/// Every route of the API, declared once.
fn api() -> Documented {
    let team = Documented::new(Router::new()).route_requiring(
        "/members",
        get(|| async { "members" }),
        scope!("read:members-of-{team}"),
    );
    Documented::new(Router::new())
        .route("/health", axum::routing::get(health))
        .route_requiring("/rooms", get(list_rooms), scope!("read:rooms"))
        .route_requiring(
            "/rooms/{room}/comments",
            get(|| async { "comments" }),
            scope!("read:comments-in-{room}"),
        )
        .route_requiring(
            "/rooms/{room}/comments",
            post(|| async { "added" }),
            scope!("add:comments-in-{room}"),
        )
        .route_requiring(
            "/rooms/{room}/comments/{id}",
            delete(|| async { "deleted" }),
            Requirement::any_of([scope!("delete:comments-in-{room}"), scope!("moderate:all")]),
        )
        .route_requiring(
            "/orgs/{org}/invoices",
            get(|| async { "invoices" }),
            Requirement::all_of([
                scope!("read:invoices"),
                Requirement::claim_equals("org_id", "org"),
            ]),
        )
        .route_requiring(
            "/rooms/{room}/settings",
            put(|| async { "saved" }),
            Requirement::all_of([scope!("admin:rooms-in-{room}"), fresh_mfa()]),
        )
        .route_requiring(
            "/files/{*path}",
            get(|| async { "file" }),
            scope!("read:files"),
        )
        .nest("/teams/{team}", team)
}

fn document(security: &RouteSecurity, schemes: &SecuritySchemes) -> (Value, Vec<String>) {
    let mut openapi: OpenApi = ApiDoc::openapi();
    let added = security
        .apply(schemes, &mut openapi)
        .into_iter()
        .map(|operation| format!("{} {}", operation.method(), operation.path()))
        .collect();
    (serde_json::to_value(&openapi).unwrap(), added)
}

fn operation<'a>(json: &'a Value, path: &str, method: &str) -> &'a Value {
    let operation = &json["paths"][path][method];
    assert!(
        operation.is_object(),
        "{method} {path} is missing: {json:#}"
    );
    operation
}

#[test]
fn every_declared_operation_gets_its_security_and_extensions() {
    let (_, security) = api().into_parts();
    let schemes = SecuritySchemes::openid_connect("https://issuer.example.com/");
    let (json, added) = document(&security, &schemes);

    // The routes the user's document lacked are added; /rooms and /health were there.
    assert_eq!(
        added,
        [
            "GET /rooms/{room}/comments",
            "POST /rooms/{room}/comments",
            "DELETE /rooms/{room}/comments/{id}",
            "GET /orgs/{org}/invoices",
            "PUT /rooms/{room}/settings",
            "GET /files/{path}",
            "GET /teams/{team}/members",
        ]
    );

    assert_eq!(
        json["components"]["securitySchemes"],
        json!({
            "access_token": {
                "type": "openIdConnect",
                "openIdConnectUrl": "https://issuer.example.com/.well-known/openid-configuration",
                "description": "An access token (a JWT) from this OpenID provider, sent as `Authorization: Bearer <token>`.",
            }
        })
    );

    let security_of = |path: &str, method: &str| operation(&json, path, method)["security"].clone();
    assert_eq!(
        security_of("/rooms", "get"),
        json!([{ "access_token": ["read:rooms"] }])
    );
    assert_eq!(
        security_of("/rooms/{room}/comments", "get"),
        json!([{ "access_token": ["read:comments-in-{room}"] }])
    );
    assert_eq!(
        security_of("/rooms/{room}/comments", "post"),
        json!([{ "access_token": ["add:comments-in-{room}"] }])
    );
    assert_eq!(
        security_of("/rooms/{room}/comments/{id}", "delete"),
        json!([
            { "access_token": ["delete:comments-in-{room}"] },
            { "access_token": ["moderate:all"] },
        ])
    );
    assert_eq!(
        security_of("/orgs/{org}/invoices", "get"),
        json!([{ "access_token": ["read:invoices"] }])
    );
    assert_eq!(
        security_of("/rooms/{room}/settings", "put"),
        json!([{ "access_token": ["admin:rooms-in-{room}"] }])
    );
    assert_eq!(
        security_of("/files/{path}", "get"),
        json!([{ "access_token": ["read:files"] }])
    );
    assert_eq!(
        security_of("/teams/{team}/members", "get"),
        json!([{ "access_token": ["read:members-of-{team}"] }])
    );

    // The route without a requirement is left as the user wrote it.
    let health = operation(&json, "/health", "get");
    assert!(health.get("security").is_none(), "{health:#}");
    assert!(
        health.get("x-scopegate-requirement").is_none(),
        "{health:#}"
    );
    // The user's own fields are kept.
    assert_eq!(operation(&json, "/rooms", "get")["summary"], "List rooms");
    assert!(
        operation(&json, "/rooms", "get")["responses"]
            .get("200")
            .is_some()
    );

    // The extensions: the requirement's text, its parameters, the checks scopes cannot say.
    let extensions = |path: &str, method: &str| {
        let operation = operation(&json, path, method).as_object().unwrap();
        operation
            .iter()
            .filter(|(key, _)| key.starts_with("x-"))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect::<serde_json::Map<_, _>>()
    };
    assert_eq!(
        Value::Object(extensions("/rooms/{room}/comments/{id}", "delete")),
        json!({
            "x-scopegate-requirement": "any_of(delete:comments-in-{room}, moderate:all)",
            "x-scopegate-bound-parameters": ["room"],
        })
    );
    assert_eq!(
        Value::Object(extensions("/orgs/{org}/invoices", "get")),
        json!({
            "x-scopegate-requirement": "all_of(read:invoices, org_id == {org})",
            "x-scopegate-bound-parameters": ["org"],
            "x-scopegate-checks": ["org_id == {org}"],
        })
    );
    assert_eq!(
        Value::Object(extensions("/rooms/{room}/settings", "put")),
        json!({
            "x-scopegate-requirement": r#"all_of(admin:rooms-in-{room}, step_up(acr_values="urn:rooms:mfa", max_age=300))"#,
            "x-scopegate-bound-parameters": ["room"],
            "x-scopegate-checks": [r#"step_up(acr_values="urn:rooms:mfa", max_age=300)"#],
            "x-scopegate-step-up": [{ "acr_values": ["urn:rooms:mfa"], "max_age": 300 }],
        })
    );
    assert_eq!(
        Value::Object(extensions("/rooms", "get")),
        json!({
            "x-scopegate-requirement": "read:rooms",
            "x-scopegate-bound-parameters": [],
        })
    );

    // A few JSON pointers into the serialized document.
    let text = serde_json::to_string(&json).unwrap();
    let reparsed: Value = serde_json::from_str(&text).unwrap();
    for (pointer, expected) in [
        (
            "/paths/~1teams~1{team}~1members/get/x-scopegate-bound-parameters/0",
            json!("team"),
        ),
        (
            "/paths/~1rooms~1{room}~1comments~1{id}/delete/security/1/access_token/0",
            json!("moderate:all"),
        ),
        (
            "/paths/~1rooms~1{room}~1settings/put/x-scopegate-step-up/0/max_age",
            json!(300),
        ),
        (
            "/components/securitySchemes/access_token/type",
            json!("openIdConnect"),
        ),
    ] {
        assert_eq!(reparsed.pointer(pointer), Some(&expected), "{pointer}");
    }
}

#[test]
fn applying_twice_changes_nothing_and_adds_nothing() {
    let (_, security) = api().into_parts();
    let schemes = SecuritySchemes::openid_connect("https://issuer.example.com");
    let mut openapi = ApiDoc::openapi();
    assert!(!security.apply(&schemes, &mut openapi).is_empty());
    let once = serde_json::to_value(&openapi).unwrap();
    assert!(security.apply(&schemes, &mut openapi).is_empty());
    assert_eq!(serde_json::to_value(&openapi).unwrap(), once);
    // No trailing slash on the issuer: the same discovery URL.
    assert_eq!(
        once["components"]["securitySchemes"]["access_token"]["openIdConnectUrl"],
        "https://issuer.example.com/.well-known/openid-configuration"
    );
}

#[test]
fn bearer_jwt_dpop_and_scheme_names() {
    let (_, security) = api().into_parts();

    let (json, _) = document(&security, &SecuritySchemes::bearer_jwt());
    let scheme = &json["components"]["securitySchemes"]["access_token"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");
    assert_eq!(scheme["bearerFormat"], "JWT");

    // DPoP accepted: each alternative in both forms, bearer first.
    let accepted = SecuritySchemes::openid_connect("https://issuer.example.com/")
        .dpop(&Dpop::accepted())
        .token_scheme_name("oidc");
    let (json, _) = document(&security, &accepted);
    assert_eq!(
        operation(&json, "/rooms/{room}/comments/{id}", "delete")["security"],
        json!([
            { "oidc": ["delete:comments-in-{room}"] },
            { "oidc": ["delete:comments-in-{room}"], "dpop": [] },
            { "oidc": ["moderate:all"] },
            { "oidc": ["moderate:all"], "dpop": [] },
        ])
    );
    let dpop = &json["components"]["securitySchemes"]["dpop"];
    assert_eq!(dpop["type"], "apiKey");
    assert_eq!(dpop["in"], "header");
    assert_eq!(dpop["name"], "DPoP");
    assert_eq!(dpop["x-scopegate-authorization-scheme"], "DPoP");
    assert_eq!(
        dpop["x-scopegate-dpop-algorithms"],
        json!(Dpop::accepted().algorithm_names())
    );
    assert!(json["components"]["securitySchemes"]["access_token"].is_null());

    // DPoP required: only the DPoP form.
    let required = SecuritySchemes::bearer_jwt()
        .dpop(&Dpop::required())
        .dpop_scheme_name("proof");
    let (json, _) = document(&security, &required);
    assert_eq!(
        operation(&json, "/rooms", "get")["security"],
        json!([{ "access_token": ["read:rooms"], "proof": [] }])
    );
    let description = json["components"]["securitySchemes"]["access_token"]["description"]
        .as_str()
        .unwrap();
    assert!(
        description.contains("Bearer scheme is refused"),
        "{description}"
    );
}

#[test]
fn requirements_without_scopes_are_never_documented_as_public() {
    let (_, security) = Documented::new(Router::<()>::new())
        .route_requiring("/never", get(|| async {}), Requirement::any_of([]))
        .route_requiring(
            "/staff",
            get(|| async {}),
            Requirement::any_of([
                Requirement::claim_contains("groups", "staff"),
                scope!("admin"),
            ]),
        )
        .into_parts();
    assert_eq!(
        security
            .operations()
            .iter()
            .map(|operation| (operation.method().clone(), operation.path()))
            .collect::<Vec<_>>(),
        [(Method::GET, "/never"), (Method::GET, "/staff")]
    );
    let (json, _) = document(&security, &SecuritySchemes::bearer_jwt());
    assert_eq!(
        operation(&json, "/never", "get")["security"],
        json!([{ "access_token": [] }])
    );
    assert_eq!(
        operation(&json, "/staff", "get")["security"],
        json!([{ "access_token": [] }, { "access_token": ["admin"] }])
    );
    assert_eq!(
        operation(&json, "/staff", "get")["x-scopegate-checks"],
        json!([r#"groups contains "staff""#])
    );
}

#[test]
fn route_requiring_panics_as_the_router_does() {
    let repeated = catch_unwind(AssertUnwindSafe(|| {
        Documented::new(Router::<()>::new()).route_requiring(
            "/a/{x}/b/{x}",
            get(|| async {}),
            scope!("read:{x}"),
        )
    }));
    let message = repeated
        .err()
        .and_then(|payload| payload.downcast::<String>().ok());
    assert!(
        message
            .as_deref()
            .is_some_and(|text| text.contains("has the parameter `x` twice")),
        "{message:?}"
    );
}

async fn status(app: &Router, method: Method, path: &str, token: &str) -> StatusCode {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    app.clone().oneshot(request).await.unwrap().status()
}

#[tokio::test]
async fn the_router_from_the_same_declaration_enforces_it() {
    let issuer = TestIssuer::start().await.unwrap();
    let (router, _) = api().into_parts();
    let app = router.layer(AuthLayer::new(issuer.validator().build().unwrap()));

    let reader = issuer
        .token()
        .scope("read:rooms read:comments-in-r1 read:members-of-t1")
        .sign();
    assert_eq!(status(&app, Method::GET, "/rooms", &reader).await, 200);
    assert_eq!(
        status(&app, Method::GET, "/rooms/r1/comments", &reader).await,
        200
    );
    // A token lacking the scope: 403.
    assert_eq!(
        status(&app, Method::GET, "/rooms/r2/comments", &reader).await,
        403
    );
    assert_eq!(
        status(&app, Method::POST, "/rooms/r1/comments", &reader).await,
        403
    );
    assert_eq!(
        status(&app, Method::DELETE, "/rooms/r1/comments/7", &reader).await,
        403
    );
    assert_eq!(status(&app, Method::GET, "/files/a/b", &reader).await, 403);
    assert_eq!(
        status(&app, Method::GET, "/teams/t1/members", &reader).await,
        200
    );
    assert_eq!(
        status(&app, Method::GET, "/teams/t2/members", &reader).await,
        403
    );
    assert_eq!(status(&app, Method::GET, "/health", &reader).await, 200);

    let moderator = issuer.token().scope("moderate:all").sign();
    assert_eq!(
        status(&app, Method::DELETE, "/rooms/r9/comments/7", &moderator).await,
        200
    );

    let accountant = |org: &str| {
        issuer
            .token()
            .scope("read:invoices")
            .claim("org_id", org)
            .sign()
    };
    assert_eq!(
        status(
            &app,
            Method::GET,
            "/orgs/acme/invoices",
            &accountant("acme")
        )
        .await,
        200
    );
    assert_eq!(
        status(
            &app,
            Method::GET,
            "/orgs/acme/invoices",
            &accountant("globex")
        )
        .await,
        403
    );

    // The step-up alone falls short: 401; with a fresh second factor: 200.
    let admin = || issuer.token().scope("admin:rooms-in-r1");
    let without_mfa = admin().sign();
    assert_eq!(
        status(&app, Method::PUT, "/rooms/r1/settings", &without_mfa).await,
        401
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let with_mfa = admin()
        .claim("acr", "urn:rooms:mfa")
        .claim("auth_time", now)
        .sign();
    assert_eq!(
        status(&app, Method::PUT, "/rooms/r1/settings", &with_mfa).await,
        200
    );
}
