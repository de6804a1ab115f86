//! Protected-resource metadata (RFC 9728) on the layer: the document is served at its
//! well-known path to `GET` and `HEAD` without credentials (and nothing else is), it names the
//! DPoP settings whatever order the layer was configured in, and every challenge the layer
//! sends (401, 400 and 403; Bearer and DPoP) names its URL in `resource_metadata`, also when
//! the layer wraps a router with nested routers.
//!
//! Real parts only: the in-process issuer on 127.0.0.1, really signed tokens and proofs.

use crate::common::dpop_kit as kit;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{Method, StatusCode};
use kit::{ORIGIN, Renderer, Reply, htu, kind_renderer, send, send_bearer, send_dpop};
use scopegate::dpop::Dpop;
use scopegate::testing::{DpopKey, TEST_AUDIENCE, TestIssuer};
use scopegate::{
    Algorithm, AuthLayer, Authenticated, ErrorKind, OnRejection, ResourceMetadata, RouterExt, scope,
};
use serde_json::Value;

const RESOURCE: &str = "https://rooms.example/api";
const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource/api";
const METADATA_URL: &str = "https://rooms.example/.well-known/oauth-protected-resource/api";
const DEFAULT_ALGS: &str = "ES256 ES384 EdDSA Ed25519 RS256 PS256";

async fn whoami(auth: Authenticated) -> String {
    auth.subject().unwrap_or("").to_owned()
}

/// `/api/me` (GET and POST) and `/api/rooms/{room}` requiring `read:rooms-in-{room}`.
fn app<R: OnRejection<Body>>(layer: AuthLayer<R>) -> Router {
    Router::new()
        .route("/api/me", get(whoami).post(whoami))
        .route_requiring(
            "/api/rooms/{room}",
            get(whoami),
            scope!("read:rooms-in-{room}"),
        )
        .layer(layer)
}

async fn start() -> TestIssuer {
    TestIssuer::start().await.unwrap()
}

fn metadata(issuer: &TestIssuer) -> ResourceMetadata {
    ResourceMetadata::new(RESOURCE)
        .unwrap()
        .authorization_servers([issuer.issuer()])
        .unwrap()
        .scopes_supported(["read:rooms-in-r1"])
        .unwrap()
}

/// The layer on the public origin, refusals naming their kind.
fn base(issuer: &TestIssuer) -> AuthLayer<Renderer> {
    AuthLayer::new(issuer.validator().build().unwrap())
        .on_rejection(kind_renderer as Renderer)
        .public_origin(ORIGIN)
        .unwrap()
}

/// Metadata published, with `dpop` when given.
fn layer(issuer: &TestIssuer, dpop: Option<Dpop>) -> AuthLayer<Renderer> {
    let layer = base(issuer).resource_metadata(metadata(issuer)).unwrap();
    match dpop {
        Some(dpop) => layer.dpop(dpop).unwrap(),
        None => layer,
    }
}

async fn get_document(app: &Router, path: &str) -> Reply {
    send(app, Method::GET, path, &[]).await
}

#[track_caller]
fn assert_document(reply: &Reply) -> Value {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.kind());
    assert_eq!(reply.header("content-type"), "application/json");
    assert_eq!(reply.challenge_count(), 0);
    let document: Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(document["resource"], RESOURCE);
    document
}

#[track_caller]
fn assert_kind(reply: &Reply, status: StatusCode, kind: ErrorKind) {
    assert_eq!(
        (reply.status, reply.kind()),
        (status, format!("{kind:?}").as_str()),
        "{}",
        reply.challenge()
    );
}

/// `error="<code>", error_description="<kind's description>"`.
fn error(code: &str, kind: ErrorKind) -> String {
    format!(
        r#"error="{code}", error_description="{}""#,
        kind.description()
    )
}

/// The Bearer challenge naming the metadata, with `error` attributes when given.
fn bearer(error: Option<&str>) -> String {
    let error = error.map(|error| format!(", {error}")).unwrap_or_default();
    format!(r#"Bearer realm="{TEST_AUDIENCE}"{error}, resource_metadata="{METADATA_URL}""#)
}

/// The DPoP challenge naming the metadata, with `error` attributes when given.
fn dpop(error: Option<&str>) -> String {
    let error = error.map(|error| format!(", {error}")).unwrap_or_default();
    format!(
        r#"DPoP realm="{TEST_AUDIENCE}"{error}, resource_metadata="{METADATA_URL}", algs="{DEFAULT_ALGS}""#
    )
}

// --- serving the document ------------------------------------------------------------------

#[tokio::test]
async fn get_serves_the_document_without_credentials() {
    let issuer = start().await;
    let app = app(layer(&issuer, None));
    let document = assert_document(&get_document(&app, WELL_KNOWN).await);
    assert_eq!(document["authorization_servers"][0], issuer.issuer());
    assert_eq!(document["scopes_supported"][0], "read:rooms-in-r1");
    assert_eq!(document["bearer_methods_supported"][0], "header");
    // Without DPoP, no DPoP members.
    assert!(document.get("dpop_signing_alg_values_supported").is_none());
    assert!(document.get("dpop_bound_access_tokens_required").is_none());
    // A query does not change the path.
    assert_document(&get_document(&app, &format!("{WELL_KNOWN}?x=1")).await);
}

/// The document is public: credentials, good or bad, do not matter.
#[tokio::test]
async fn the_document_is_served_whatever_credentials_come_with_it() {
    let issuer = start().await;
    let app = app(layer(&issuer, Some(Dpop::required())));
    let valid = issuer.bearer("read:rooms-in-r1");
    for headers in [
        vec![("authorization", "Bearer not-a-token")],
        vec![("authorization", valid.as_str())],
        vec![("authorization", "Bearer a"), ("authorization", "Bearer b")],
        vec![("authorization", "DPoP x"), ("dpop", "not a proof")],
    ] {
        let reply = send(&app, Method::GET, WELL_KNOWN, &headers).await;
        assert_document(&reply);
    }
}

#[tokio::test]
async fn head_serves_the_headers_without_a_body() {
    let issuer = start().await;
    let app = app(layer(&issuer, None));
    let reply = send(&app, Method::HEAD, WELL_KNOWN, &[]).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.kind());
    assert_eq!(reply.header("content-type"), "application/json");
    assert_eq!(reply.body, "");
}

/// Only `GET` and `HEAD` of the exact path are the layer's: anything else goes through
/// authentication like any request.
#[tokio::test]
async fn other_methods_and_paths_go_through_authentication() {
    let issuer = start().await;
    let app = app(layer(&issuer, None));
    for method in [Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS] {
        let reply = send(&app, method.clone(), WELL_KNOWN, &[]).await;
        assert_kind(
            &reply,
            StatusCode::UNAUTHORIZED,
            ErrorKind::MissingCredentials,
        );
        assert_eq!(reply.challenge(), bearer(None), "{method}");
    }
    for path in [
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/api/",
        "/.well-known/oauth-protected-resource/API",
        "/.well-known/oauth-protected-resource/apix",
        "/api/.well-known/oauth-protected-resource",
    ] {
        let reply = get_document(&app, path).await;
        assert_kind(
            &reply,
            StatusCode::UNAUTHORIZED,
            ErrorKind::MissingCredentials,
        );
        assert!(!reply.body.contains(RESOURCE), "{path}");
    }
}

#[tokio::test]
async fn required_dpop_is_in_the_document() {
    let issuer = start().await;
    let app = app(layer(&issuer, Some(Dpop::required())));
    let document = assert_document(&get_document(&app, WELL_KNOWN).await);
    assert_eq!(document["dpop_bound_access_tokens_required"], true);
    assert_eq!(
        document["dpop_signing_alg_values_supported"],
        serde_json::json!(["ES256", "ES384", "EdDSA", "Ed25519", "RS256", "PS256"])
    );
}

#[tokio::test]
async fn accepted_dpop_does_not_claim_to_be_required() {
    let issuer = start().await;
    let dpop = Dpop::accepted()
        .algorithms([Algorithm::ES256, Algorithm::PS256])
        .unwrap();
    let app = app(layer(&issuer, Some(dpop)));
    let document = assert_document(&get_document(&app, WELL_KNOWN).await);
    assert_ne!(document["dpop_bound_access_tokens_required"], true);
    assert_eq!(
        document["dpop_signing_alg_values_supported"],
        serde_json::json!(["ES256", "PS256"])
    );
}

#[tokio::test]
async fn the_order_of_dpop_and_resource_metadata_does_not_matter() {
    let issuer = start().await;
    for dpop in [Dpop::accepted(), Dpop::required()] {
        let metadata_first = base(&issuer)
            .resource_metadata(metadata(&issuer))
            .unwrap()
            .dpop(dpop.clone())
            .unwrap();
        let dpop_first = base(&issuer)
            .dpop(dpop.clone())
            .unwrap()
            .resource_metadata(metadata(&issuer))
            .unwrap();
        let document = metadata_first
            .resource_metadata_document()
            .unwrap()
            .to_owned();
        assert_eq!(
            Some(document.as_str()),
            dpop_first.resource_metadata_document()
        );
        let parsed: Value = serde_json::from_str(&document).unwrap();
        assert!(parsed.get("dpop_signing_alg_values_supported").is_some());
        assert_eq!(
            parsed.get("dpop_bound_access_tokens_required").is_some(),
            dpop.is_required()
        );
        // Served the same, and challenged the same.
        let (first, second) = (app(metadata_first), app(dpop_first));
        let served = get_document(&first, WELL_KNOWN).await;
        assert_eq!(served.body, get_document(&second, WELL_KNOWN).await.body);
        assert_eq!(served.body, document);
        let refused = send(&first, Method::GET, "/api/me", &[]).await;
        assert_eq!(
            refused.challenge(),
            send(&second, Method::GET, "/api/me", &[]).await.challenge()
        );
        assert!(refused.challenge().contains(METADATA_URL));
    }
}

#[tokio::test]
async fn the_layer_hands_out_the_document_it_serves() {
    let issuer = start().await;
    assert_eq!(base(&issuer).resource_metadata_document(), None);
    let layer = layer(&issuer, Some(Dpop::required()));
    let document = layer.resource_metadata_document().unwrap().to_owned();
    let served = get_document(&app(layer), WELL_KNOWN).await;
    assert_eq!(served.body, document);
}

#[tokio::test]
async fn a_resource_without_a_path_is_served_at_the_bare_well_known_path() {
    let issuer = start().await;
    for resource in ["https://rooms.example", "https://rooms.example/"] {
        let metadata = ResourceMetadata::new(resource).unwrap();
        let app = app(base(&issuer).resource_metadata(metadata).unwrap());
        let reply = get_document(&app, "/.well-known/oauth-protected-resource").await;
        assert_eq!(reply.status, StatusCode::OK, "{resource}");
        let document: Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(document["resource"], resource);
        // The challenge names the bare path too.
        let reply = send(&app, Method::GET, "/api/me", &[]).await;
        assert_eq!(
            reply.challenge(),
            format!(
                r#"Bearer realm="{TEST_AUDIENCE}", resource_metadata="https://rooms.example/.well-known/oauth-protected-resource""#
            )
        );
        // A path below it is not the document.
        let reply = get_document(&app, "/.well-known/oauth-protected-resource/api").await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
}

// --- every challenge names the metadata --------------------------------------------------------

#[tokio::test]
async fn every_bearer_challenge_names_the_metadata() {
    let issuer = start().await;
    let app = app(layer(&issuer, None));
    let reply = send(&app, Method::GET, "/api/me", &[]).await;
    assert_kind(
        &reply,
        StatusCode::UNAUTHORIZED,
        ErrorKind::MissingCredentials,
    );
    assert_eq!(reply.challenge(), bearer(None));

    let reply = send_bearer(&app, "/api/me", &issuer.token().expires_in(-600).sign()).await;
    assert_kind(&reply, StatusCode::UNAUTHORIZED, ErrorKind::Expired);
    let expired = error("invalid_token", ErrorKind::Expired);
    assert_eq!(reply.challenge(), bearer(Some(&expired)));

    let reply = send(
        &app,
        Method::GET,
        "/api/me",
        &[("authorization", "Bearer a"), ("authorization", "Bearer b")],
    )
    .await;
    assert_kind(
        &reply,
        StatusCode::BAD_REQUEST,
        ErrorKind::MultipleAuthorizationHeaders,
    );
    let twice = error("invalid_request", ErrorKind::MultipleAuthorizationHeaders);
    assert_eq!(reply.challenge(), bearer(Some(&twice)));

    let token = issuer.token().scope("read:rooms-in-r1").sign();
    let reply = send_bearer(&app, "/api/rooms/r2", &token).await;
    assert_kind(&reply, StatusCode::FORBIDDEN, ErrorKind::InsufficientScope);
    let scope = format!(
        r#"{}, scope="read:rooms-in-r2""#,
        error("insufficient_scope", ErrorKind::InsufficientScope)
    );
    assert_eq!(reply.challenge(), bearer(Some(&scope)));

    // The DPoP scheme where only Bearer is accepted: a bare challenge, still naming it.
    let reply = send(
        &app,
        Method::GET,
        "/api/me",
        &[("authorization", "DPoP x"), ("dpop", "y")],
    )
    .await;
    assert_kind(
        &reply,
        StatusCode::UNAUTHORIZED,
        ErrorKind::SchemeNotAccepted,
    );
    assert_eq!(reply.challenge(), bearer(None));
}

#[tokio::test]
async fn both_challenges_name_the_metadata_when_dpop_is_accepted() {
    let issuer = start().await;
    let app = app(layer(&issuer, Some(Dpop::accepted())));
    let key = DpopKey::generate(Algorithm::ES256).unwrap();
    let token = issuer
        .token()
        .scope("read:rooms-in-r1")
        .bound_to(&key)
        .sign();

    let reply = send(&app, Method::GET, "/api/me", &[]).await;
    assert_eq!(
        reply.challenge(),
        format!("{}, {}", bearer(None), dpop(None))
    );
    assert_eq!(reply.challenge().matches("resource_metadata=").count(), 2);

    // A bad bearer token.
    let reply = send_bearer(&app, "/api/me", "not.a.token").await;
    let malformed = error("invalid_token", ErrorKind::MalformedToken);
    assert_eq!(
        reply.challenge(),
        format!("{}, {}", bearer(Some(&malformed)), dpop(None))
    );

    // A proof fault.
    let stale = DpopKey::generate(Algorithm::ES256)
        .unwrap()
        .proof("GET", &htu("/api/me"))
        .access_token(&token)
        .sign();
    let reply = send_dpop(&app, Method::GET, "/api/me", &token, &stale).await;
    assert_kind(&reply, StatusCode::UNAUTHORIZED, ErrorKind::DpopKeyMismatch);
    let mismatch = error("invalid_dpop_proof", ErrorKind::DpopKeyMismatch);
    assert_eq!(
        reply.challenge(),
        format!("{}, {}", bearer(None), dpop(Some(&mismatch)))
    );

    // Two proofs: 400.
    let authorization = format!("DPoP {token}");
    let reply = send(
        &app,
        Method::GET,
        "/api/me",
        &[
            ("authorization", &authorization),
            ("dpop", "a"),
            ("dpop", "b"),
        ],
    )
    .await;
    assert_kind(
        &reply,
        StatusCode::BAD_REQUEST,
        ErrorKind::MultipleDpopProofs,
    );
    let twice = error("invalid_request", ErrorKind::MultipleDpopProofs);
    assert_eq!(
        reply.challenge(),
        format!("{}, {}", bearer(None), dpop(Some(&twice)))
    );

    // 403 for a DPoP request.
    let proof = key
        .proof("GET", &htu("/api/rooms/r2"))
        .access_token(&token)
        .sign();
    let reply = send_dpop(&app, Method::GET, "/api/rooms/r2", &token, &proof).await;
    assert_kind(&reply, StatusCode::FORBIDDEN, ErrorKind::InsufficientScope);
    let scope = format!(
        r#"{}, scope="read:rooms-in-r2""#,
        error("insufficient_scope", ErrorKind::InsufficientScope)
    );
    assert_eq!(
        reply.challenge(),
        format!("{}, {}", bearer(None), dpop(Some(&scope)))
    );

    // Positive twin: the same token and key where the scope is granted.
    let proof = key
        .proof("GET", &htu("/api/rooms/r1"))
        .access_token(&token)
        .sign();
    let reply = send_dpop(&app, Method::GET, "/api/rooms/r1", &token, &proof).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.kind());
}

#[tokio::test]
async fn the_only_challenge_names_the_metadata_when_dpop_is_required() {
    let issuer = start().await;
    let app = app(layer(&issuer, Some(Dpop::required())));
    let reply = send(&app, Method::GET, "/api/me", &[]).await;
    assert_eq!(reply.challenge(), dpop(None));
    let reply = send_bearer(&app, "/api/me", &issuer.token().sign()).await;
    assert_kind(
        &reply,
        StatusCode::UNAUTHORIZED,
        ErrorKind::SchemeNotAccepted,
    );
    assert_eq!(reply.challenge(), dpop(None));
    let key = DpopKey::generate(Algorithm::EdDSA).unwrap();
    let token = issuer.token().bound_to(&key).sign();
    let authorization = format!("DPoP {token}");
    let reply = send(
        &app,
        Method::GET,
        "/api/me",
        &[("authorization", &authorization)],
    )
    .await;
    let missing = error("invalid_dpop_proof", ErrorKind::MissingDpopProof);
    assert_eq!(reply.challenge(), dpop(Some(&missing)));
}

// --- configuration ---------------------------------------------------------------------------

#[tokio::test]
async fn resource_metadata_needs_the_public_origin_first() {
    let issuer = start().await;
    let layer = AuthLayer::new(issuer.validator().build().unwrap());
    assert!(layer.clone().resource_metadata(metadata(&issuer)).is_err());
    assert!(
        layer
            .public_origin(ORIGIN)
            .unwrap()
            .resource_metadata(metadata(&issuer))
            .is_ok()
    );
}

/// The challenge URL is formed on the public origin as last configured.
#[tokio::test]
async fn a_later_public_origin_moves_the_metadata_url() {
    let issuer = start().await;
    let app = app(layer(&issuer, None)
        .public_origin("http://127.0.0.1:3000")
        .unwrap());
    let reply = send(&app, Method::GET, "/api/me", &[]).await;
    assert_eq!(
        reply.challenge(),
        format!(
            r#"Bearer realm="{TEST_AUDIENCE}", resource_metadata="http://127.0.0.1:3000/.well-known/oauth-protected-resource/api""#
        )
    );
    assert_document(&get_document(&app, WELL_KNOWN).await);
}

// --- nested routers ----------------------------------------------------------------------------

#[tokio::test]
async fn the_layer_around_nested_routers_serves_and_names_the_metadata() {
    let issuer = start().await;
    let inner = Router::new().route("/me", get(whoami));
    let app = Router::new()
        .nest("/api", inner)
        .layer(layer(&issuer, Some(Dpop::accepted())));
    assert_document(&get_document(&app, WELL_KNOWN).await);

    let reply = send(&app, Method::GET, "/api/me", &[]).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.challenge(),
        format!("{}, {}", bearer(None), dpop(None))
    );

    let key = DpopKey::generate(Algorithm::ES256).unwrap();
    let token = issuer.token().bound_to(&key).sign();
    let proof = key
        .proof("GET", &htu("/api/me"))
        .access_token(&token)
        .sign();
    let reply = send_dpop(&app, Method::GET, "/api/me", &token, &proof).await;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (StatusCode::OK, "user-1")
    );
    let reply = send_bearer(&app, "/api/me", &issuer.token().sign()).await;
    assert_eq!(reply.status, StatusCode::OK);
}
