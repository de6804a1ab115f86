//! One renderer for every refusal: the layer's `on_rejection` (ProblemJson, a closure,
//! GrpcRejection) and its realm must render the 401 of the `Authenticated` extractor and each
//! 403/500 produced behind the layer, whichever way the requirement was declared
//! (`route_requiring`, the `require` layer, `RequireScope<T>`, `#[require_scope]`, or an
//! `AuthError` returned by a handler from `Access::require`). Responses that are not refusals
//! pass unchanged. Real routers, really signed tokens from the in-process issuer.

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use scopegate::testing::TestIssuer;
use scopegate::{
    Access, AuthError, AuthLayer, Authenticated, ErrorKind, GrpcRejection, OnRejection,
    ProblemJson, RequireScope, Requirement, RouterExt, require, scope,
};
use serde_json::{Value, json};
use tower::ServiceExt;

// --- the app ---------------------------------------------------------------------------------

scope!(DeleteComment = "delete:comments-in-{room}");
scope!(NeedsOrg = "delete:comments-in-{org}");

/// The five ways a route can refuse with 403 behind the layer, each at `/<way>/{room}`.
const WAYS: [&str; 5] = [
    "route_requiring",
    "require_layer",
    "extractor",
    "attribute",
    "access",
];

#[scopegate::require_scope("delete:comments-in-{room}")]
async fn attribute_delete() -> &'static str {
    "attribute"
}

#[scopegate::require_scope("delete:comments-in-{org}")]
async fn attribute_misconfigured() -> &'static str {
    "handler ran"
}

async fn extractor_delete(_: RequireScope<DeleteComment>) -> &'static str {
    "extractor"
}

async fn extractor_misconfigured(_: RequireScope<NeedsOrg>) -> &'static str {
    "handler ran"
}

async fn access_delete(access: Access) -> Result<&'static str, AuthError> {
    access.require(&scope!("delete:comments-in-{room}")).await?;
    Ok("access")
}

async fn access_misconfigured(access: Access) -> Result<&'static str, AuthError> {
    access.require(&scope!("delete:comments-in-{org}")).await?;
    Ok("handler ran")
}

async fn ran() -> &'static str {
    "handler ran"
}

/// Every way of declaring `delete:comments-in-{room}` at `/<way>/{room}`, the same ways
/// misconfigured (naming `{org}`, which no route has) at `/misconfigured/<way>/{room}`, a
/// claim check at `/orgs/{org}`, `/me` (the `Authenticated` extractor), `/open` (no
/// requirement) and two handlers answering on their own at `/custom` and `/own-403`.
fn app<R: OnRejection<Body>>(layer: AuthLayer<R>) -> Router {
    Router::new()
        .route_requiring(
            "/route_requiring/{room}",
            get(|| async { "route_requiring" }),
            scope!("delete:comments-in-{room}"),
        )
        .route(
            "/require_layer/{room}",
            get(|| async { "require_layer" }).layer(require(scope!("delete:comments-in-{room}"))),
        )
        .route("/extractor/{room}", get(extractor_delete))
        .route("/attribute/{room}", get(attribute_delete))
        .route("/access/{room}", get(access_delete))
        .route_requiring(
            "/misconfigured/route_requiring/{room}",
            get(ran),
            scope!("delete:comments-in-{org}"),
        )
        .route(
            "/misconfigured/require_layer/{room}",
            get(ran).layer(require(scope!("delete:comments-in-{org}"))),
        )
        .route(
            "/misconfigured/extractor/{room}",
            get(extractor_misconfigured),
        )
        .route(
            "/misconfigured/attribute/{room}",
            get(attribute_misconfigured),
        )
        .route("/misconfigured/access/{room}", get(access_misconfigured))
        .route_requiring(
            "/orgs/{org}",
            get(|| async { "org" }),
            Requirement::claim_equals("org_id", "org"),
        )
        .route(
            "/me",
            get(|auth: Authenticated| async move { auth.subject().unwrap_or("").to_owned() }),
        )
        .route("/open", get(|| async { "open" }))
        .route(
            "/custom",
            get(|| async {
                (
                    StatusCode::CREATED,
                    [
                        (header::CONTENT_TYPE, "text/x-handler"),
                        (header::HeaderName::from_static("x-handler"), "yes"),
                    ],
                    "the handler's own body",
                )
            }),
        )
        .route(
            "/own-403",
            get(|| async {
                (
                    StatusCode::FORBIDDEN,
                    [(header::CONTENT_TYPE, "text/plain")],
                    "the handler says no",
                )
            }),
        )
        .layer(layer)
}

/// The layer every test configures: anonymous requests reach the routes (so the extractors
/// and requirements answer them), challenges name the realm `rooms`.
fn layer(issuer: &TestIssuer) -> AuthLayer {
    AuthLayer::new(issuer.validator().build().unwrap())
        .allow_anonymous()
        .realm("rooms")
        .unwrap()
}

async fn problem_app(issuer: &TestIssuer) -> Router {
    app(layer(issuer).on_rejection(ProblemJson))
}

/// A renderer of the API's own, as a closure.
fn custom_renderer(error: &AuthError) -> Response<Body> {
    let body = format!(
        "custom refusal status={} code={} scope={}",
        error.status().as_u16(),
        error.kind().error_code().unwrap_or("none"),
        error.required_scope().unwrap_or("none"),
    );
    let mut response = error.to_response(Body::from(body));
    response
        .headers_mut()
        .insert("x-renderer", HeaderValue::from_static("custom"));
    response
}

// --- requests --------------------------------------------------------------------------------

#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|value| value.to_str().expect("a visible-ASCII header value"))
    }

    fn challenge(&self) -> Option<&str> {
        self.header("www-authenticate")
    }

    /// Every header value and the body, for leak checks.
    fn everything(&self) -> String {
        let mut all = self.body.clone();
        for value in self.headers.values() {
            all.push('\n');
            all.push_str(&String::from_utf8_lossy(value.as_bytes()));
        }
        all
    }
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
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn insufficient_challenge(scope: Option<&str>) -> String {
    let mut challenge = format!(
        r#"Bearer realm="rooms", error="insufficient_scope", error_description="{}""#,
        ErrorKind::InsufficientScope.description()
    );
    if let Some(scope) = scope {
        challenge.push_str(&format!(r#", scope="{scope}""#));
    }
    challenge
}

/// The problem document of a reply, checking its content type.
#[track_caller]
fn problem(reply: &Reply) -> Value {
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json"),
        "{reply:?}"
    );
    serde_json::from_str(&reply.body).unwrap_or_else(|error| panic!("{error}: {reply:?}"))
}

/// A 403 rendered by ProblemJson in the realm `rooms`, naming `scope`.
#[track_caller]
fn assert_problem_403(reply: &Reply, scope: Option<&str>, context: &str) {
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{context}: {reply:?}");
    let mut expected = json!({
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
        "detail": ErrorKind::InsufficientScope.description(),
        "error": "insufficient_scope",
    });
    if let Some(scope) = scope {
        expected["scope"] = scope.into();
    }
    assert_eq!(problem(reply), expected, "{context}: {reply:?}");
    let challenge = reply.challenge().unwrap_or("");
    assert!(
        challenge.starts_with(r#"Bearer realm="rooms", error="insufficient_scope""#),
        "{context}: {reply:?}"
    );
    assert_eq!(
        challenge,
        insufficient_challenge(scope),
        "{context}: {reply:?}"
    );
}

/// The handler ran and its answer is untouched.
#[track_caller]
fn assert_handler(reply: &Reply, body: &str, context: &str) {
    assert_eq!(reply.status, StatusCode::OK, "{context}: {reply:?}");
    assert_eq!(reply.body, body, "{context}: {reply:?}");
    assert_eq!(reply.challenge(), None, "{context}: {reply:?}");
    assert_eq!(reply.header("grpc-status"), None, "{context}: {reply:?}");
    assert_ne!(
        reply.header("content-type"),
        Some("application/problem+json"),
        "{context}: {reply:?}"
    );
}

// --- ProblemJson: a 403 from each way of declaring a requirement ------------------------------

async fn problem_json_renders_the_403_of(way: &str) {
    let issuer = TestIssuer::start().await.unwrap();
    let app = problem_app(&issuer).await;
    let token = issuer.token().scope("delete:comments-in-room_1").sign();
    assert_handler(
        &send(&app, &format!("/{way}/room_1"), Some(&token)).await,
        way,
        way,
    );
    let refused = send(&app, &format!("/{way}/room_2"), Some(&token)).await;
    assert_problem_403(&refused, Some("delete:comments-in-room_2"), way);
    assert!(!refused.everything().contains(&token), "{refused:?}");
}

#[tokio::test]
async fn problem_json_renders_a_403_from_route_requiring_with_the_realm_and_the_scope() {
    problem_json_renders_the_403_of("route_requiring").await;
}

#[tokio::test]
async fn problem_json_renders_a_403_from_the_require_layer_with_the_realm_and_the_scope() {
    problem_json_renders_the_403_of("require_layer").await;
}

#[tokio::test]
async fn problem_json_renders_a_403_from_the_require_scope_extractor_with_the_realm_and_the_scope()
{
    problem_json_renders_the_403_of("extractor").await;
}

#[tokio::test]
async fn problem_json_renders_a_403_from_the_require_scope_attribute_with_the_realm_and_the_scope()
{
    problem_json_renders_the_403_of("attribute").await;
}

#[tokio::test]
async fn problem_json_renders_a_403_returned_by_a_handler_from_access_require() {
    problem_json_renders_the_403_of("access").await;
}

#[tokio::test]
async fn problem_json_renders_the_401_of_the_authenticated_extractor_on_an_anonymous_request() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = problem_app(&issuer).await;
    // The layer lets anonymous requests through: `/open` answers, so the 401 below is the
    // extractor's, not the layer's.
    assert_handler(&send(&app, "/open", None).await, "open", "/open");
    let reply = send(&app, "/me", None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{reply:?}");
    assert_eq!(
        problem(&reply),
        json!({
            "type": "about:blank",
            "title": "Unauthorized",
            "status": 401,
            "detail": ErrorKind::MissingCredentials.description(),
        }),
        "{reply:?}"
    );
    assert_eq!(
        reply.challenge(),
        Some(r#"Bearer realm="rooms""#),
        "{reply:?}"
    );
}

#[tokio::test]
async fn problem_json_renders_the_401_of_every_requirement_on_an_anonymous_request() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = problem_app(&issuer).await;
    for way in WAYS {
        let reply = send(&app, &format!("/{way}/room_1"), None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{way}: {reply:?}");
        assert_eq!(
            problem(&reply),
            json!({
                "type": "about:blank",
                "title": "Unauthorized",
                "status": 401,
                "detail": ErrorKind::MissingCredentials.description(),
            }),
            "{way}: {reply:?}"
        );
        assert_eq!(
            reply.challenge(),
            Some(r#"Bearer realm="rooms""#),
            "{way}: {reply:?}"
        );
    }
}

#[tokio::test]
async fn problem_json_renders_the_layers_own_401_for_a_bad_token() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = problem_app(&issuer).await;
    let expired = issuer.token().expires_in(-3600).sign();
    let reply = send(&app, "/open", Some(&expired)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{reply:?}");
    assert_eq!(
        problem(&reply),
        json!({
            "type": "about:blank",
            "title": "Unauthorized",
            "status": 401,
            "detail": ErrorKind::Expired.description(),
            "error": "invalid_token",
        }),
        "{reply:?}"
    );
    assert_eq!(
        reply.challenge(),
        Some(
            format!(
                r#"Bearer realm="rooms", error="invalid_token", error_description="{}""#,
                ErrorKind::Expired.description()
            )
            .as_str()
        ),
        "{reply:?}"
    );
    assert!(!reply.everything().contains(&expired), "{reply:?}");
}

// --- ProblemJson: 500 for a misconfigured requirement -----------------------------------------

#[tokio::test]
async fn problem_json_renders_the_500_of_a_requirement_naming_a_missing_parameter_without_a_challenge()
 {
    let issuer = TestIssuer::start().await.unwrap();
    let app = problem_app(&issuer).await;
    // The token would grant any binding of the template: only the misconfiguration refuses.
    let token = issuer
        .token()
        .scope("delete:comments-in-room_1 delete:comments-in-org_1")
        .sign();
    for way in WAYS {
        let reply = send(&app, &format!("/misconfigured/{way}/room_1"), Some(&token)).await;
        assert_eq!(
            reply.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{way}: {reply:?}"
        );
        assert_eq!(
            problem(&reply),
            json!({
                "type": "about:blank",
                "title": "Internal server error",
                "status": 500,
                "detail": ErrorKind::RequirementMisconfigured.description(),
            }),
            "{way}: {reply:?}"
        );
        assert_eq!(reply.challenge(), None, "{way}: {reply:?}");
        assert!(!reply.body.contains("handler ran"), "{way}: {reply:?}");
        assert!(!reply.everything().contains(&token), "{way}: {reply:?}");
    }
}

// --- what a refusal never contains ------------------------------------------------------------

#[tokio::test]
async fn a_refused_path_value_is_never_echoed_by_problem_json_nor_named_as_a_scope() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = problem_app(&issuer).await;
    let token = issuer.token().scope("delete:comments-in-room_1").sign();
    for way in WAYS {
        // `*`, a decoded `/` and a decoded space break the path-value rules: 403 with no
        // `scope`, and nothing of the value in the body or headers.
        let star = send(&app, &format!("/{way}/*"), Some(&token)).await;
        assert_problem_403(&star, None, way);
        assert!(!star.body.contains('*'), "{way}: {star:?}");
        assert!(
            !star.challenge().unwrap_or("").contains('*'),
            "{way}: {star:?}"
        );
        for path in [
            format!("/{way}/QZXLEAKMARKER%2Fx"),
            format!("/{way}/QZXLEAKMARKER%20x"),
        ] {
            let reply = send(&app, &path, Some(&token)).await;
            assert_problem_403(&reply, None, &path);
            assert!(
                !reply.everything().contains("QZXLEAKMARKER"),
                "{path}: {reply:?}"
            );
            assert!(!reply.everything().contains(&token), "{path}: {reply:?}");
        }
    }
}

#[tokio::test]
async fn a_claim_mismatch_never_echoes_the_path_value_or_the_token() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = problem_app(&issuer).await;
    let token = issuer
        .token()
        .claim("org_id", "acme")
        .scope("delete:comments-in-QZXLEAKMARKER")
        .sign();
    assert_handler(&send(&app, "/orgs/acme", Some(&token)).await, "org", "acme");
    let reply = send(&app, "/orgs/QZXLEAKMARKER", Some(&token)).await;
    assert_problem_403(&reply, None, "claim mismatch");
    assert!(!reply.everything().contains("QZXLEAKMARKER"), "{reply:?}");
    assert!(!reply.everything().contains("acme"), "{reply:?}");
    assert!(!reply.everything().contains(&token), "{reply:?}");
}

// --- a renderer of the API's own --------------------------------------------------------------

#[tokio::test]
async fn a_custom_closure_renders_the_403_of_every_way_of_declaring_a_requirement() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = app(layer(&issuer).on_rejection(|error: &AuthError| custom_renderer(error)));
    let token = issuer.token().scope("delete:comments-in-room_1").sign();
    for way in WAYS {
        assert_handler(
            &send(&app, &format!("/{way}/room_1"), Some(&token)).await,
            way,
            way,
        );
        let reply = send(&app, &format!("/{way}/room_2"), Some(&token)).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{way}: {reply:?}");
        assert_eq!(
            reply.body,
            "custom refusal status=403 code=insufficient_scope scope=delete:comments-in-room_2",
            "{way}: {reply:?}"
        );
        assert_eq!(
            reply.header("x-renderer"),
            Some("custom"),
            "{way}: {reply:?}"
        );
        assert_eq!(
            reply.challenge(),
            Some(insufficient_challenge(Some("delete:comments-in-room_2")).as_str()),
            "{way}: {reply:?}"
        );
    }
}

#[tokio::test]
async fn a_custom_closure_renders_the_401_of_the_authenticated_extractor_and_the_500_of_a_misconfiguration()
 {
    let issuer = TestIssuer::start().await.unwrap();
    let app = app(layer(&issuer).on_rejection(|error: &AuthError| custom_renderer(error)));
    let reply = send(&app, "/me", None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{reply:?}");
    assert_eq!(
        reply.body, "custom refusal status=401 code=none scope=none",
        "{reply:?}"
    );
    assert_eq!(reply.header("x-renderer"), Some("custom"), "{reply:?}");
    assert_eq!(
        reply.challenge(),
        Some(r#"Bearer realm="rooms""#),
        "{reply:?}"
    );

    let token = issuer.token().scope("delete:comments-in-room_1").sign();
    for way in WAYS {
        let reply = send(&app, &format!("/misconfigured/{way}/room_1"), Some(&token)).await;
        assert_eq!(
            reply.status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "{way}: {reply:?}"
        );
        assert_eq!(
            reply.body, "custom refusal status=500 code=none scope=none",
            "{way}: {reply:?}"
        );
        assert_eq!(
            reply.header("x-renderer"),
            Some("custom"),
            "{way}: {reply:?}"
        );
        assert_eq!(reply.challenge(), None, "{way}: {reply:?}");
    }
}

// --- gRPC ------------------------------------------------------------------------------------

#[track_caller]
fn assert_grpc(reply: &Reply, code: &str, kind: ErrorKind, context: &str) {
    assert_eq!(reply.status, StatusCode::OK, "{context}: {reply:?}");
    assert_eq!(
        reply.header("content-type"),
        Some("application/grpc"),
        "{context}: {reply:?}"
    );
    assert_eq!(
        reply.header("grpc-status"),
        Some(code),
        "{context}: {reply:?}"
    );
    assert_eq!(
        reply.header("grpc-message"),
        Some(kind.description()),
        "{context}: {reply:?}"
    );
    assert_eq!(reply.body, "", "{context}: {reply:?}");
}

#[tokio::test]
async fn grpc_rejection_answers_the_403_of_every_way_with_grpc_status_7_and_the_realm() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = app(layer(&issuer).on_rejection(GrpcRejection));
    let token = issuer.token().scope("delete:comments-in-room_1").sign();
    for way in WAYS {
        assert_handler(
            &send(&app, &format!("/{way}/room_1"), Some(&token)).await,
            way,
            way,
        );
        let reply = send(&app, &format!("/{way}/room_2"), Some(&token)).await;
        assert_grpc(&reply, "7", ErrorKind::InsufficientScope, way);
        assert_eq!(
            reply.challenge(),
            Some(insufficient_challenge(Some("delete:comments-in-room_2")).as_str()),
            "{way}: {reply:?}"
        );
    }
}

#[tokio::test]
async fn grpc_rejection_answers_401s_with_grpc_status_16() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = app(layer(&issuer).on_rejection(GrpcRejection));
    // The Authenticated extractor on an anonymous request.
    let reply = send(&app, "/me", None).await;
    assert_grpc(&reply, "16", ErrorKind::MissingCredentials, "/me anonymous");
    assert_eq!(
        reply.challenge(),
        Some(r#"Bearer realm="rooms""#),
        "{reply:?}"
    );
    // Each requirement on an anonymous request.
    for way in WAYS {
        let reply = send(&app, &format!("/{way}/room_1"), None).await;
        assert_grpc(&reply, "16", ErrorKind::MissingCredentials, way);
    }
    // The layer's own 401 for a bad token.
    let expired = issuer.token().expires_in(-3600).sign();
    let reply = send(&app, "/open", Some(&expired)).await;
    assert_grpc(&reply, "16", ErrorKind::Expired, "expired");
}

#[tokio::test]
async fn grpc_rejection_answers_a_misconfigured_requirement_with_grpc_status_13_and_no_challenge() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = app(layer(&issuer).on_rejection(GrpcRejection));
    let token = issuer.token().scope("delete:comments-in-room_1").sign();
    for way in WAYS {
        let reply = send(&app, &format!("/misconfigured/{way}/room_1"), Some(&token)).await;
        assert_grpc(&reply, "13", ErrorKind::RequirementMisconfigured, way);
        assert_eq!(reply.challenge(), None, "{way}: {reply:?}");
    }
}

// --- what is not a refusal passes unchanged ---------------------------------------------------

#[tokio::test]
async fn a_handlers_own_response_passes_every_renderer_unchanged() {
    let issuer = TestIssuer::start().await.unwrap();
    let token = issuer.token().subject("alice").sign();
    let apps = [
        ("problem", app(layer(&issuer).on_rejection(ProblemJson))),
        ("grpc", app(layer(&issuer).on_rejection(GrpcRejection))),
        (
            "closure",
            app(layer(&issuer).on_rejection(|error: &AuthError| custom_renderer(error))),
        ),
    ];
    for (name, app) in &apps {
        let reply = send(app, "/custom", Some(&token)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{name}: {reply:?}");
        assert_eq!(reply.body, "the handler's own body", "{name}: {reply:?}");
        assert_eq!(
            reply.header("content-type"),
            Some("text/x-handler"),
            "{name}: {reply:?}"
        );
        assert_eq!(reply.header("x-handler"), Some("yes"), "{name}: {reply:?}");
        assert_eq!(reply.challenge(), None, "{name}: {reply:?}");
        assert_eq!(reply.header("grpc-status"), None, "{name}: {reply:?}");
        assert_eq!(reply.header("x-renderer"), None, "{name}: {reply:?}");
        assert_handler(&send(app, "/me", Some(&token)).await, "alice", name);
    }
}

#[tokio::test]
async fn a_403_the_handler_answers_itself_is_not_taken_for_a_refusal() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = problem_app(&issuer).await;
    let token = issuer.token().sign();
    let reply = send(&app, "/own-403", Some(&token)).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{reply:?}");
    assert_eq!(reply.body, "the handler says no", "{reply:?}");
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain"),
        "{reply:?}"
    );
    assert_eq!(reply.challenge(), None, "{reply:?}");
}
