//! Requirements in every axum router shape: method-router fallbacks, `any`, `nest` (outer
//! parameters and repeated names), `nest_service`, `merge`, `Router::layer` ordering, HEAD on GET
//! routes, and `MethodRouter::layer` against `route_layer`, for `route_requiring`, the `require`
//! layer, `RequireScope<T>` and `#[require_scope]`; real routers, really signed tokens.

use std::any::Any;
use std::panic::catch_unwind;

use axum::Router;
use axum::body::Body;
use axum::handler::Handler;
use axum::routing::{MethodRouter, any, delete, get, post};
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use scopegate::testing::TestIssuer;
use scopegate::{AuthLayer, RequireScope, Requirement, RouterExt, TemplateError, require, scope};
use tower::ServiceExt;

#[derive(Debug)]
struct Reply {
    status: StatusCode,
    challenge: String,
    body: String,
}

async fn send(app: &Router, method: &str, path: &str, token: Option<&str>) -> Reply {
    let mut request = Request::builder().method(method).uri(path);
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
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        challenge,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

#[track_caller]
fn assert_ran(reply: &Reply, body: &str) {
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    assert_eq!(reply.body, body, "{reply:?}");
}

#[track_caller]
fn assert_forbidden(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{reply:?}");
    assert!(
        reply.challenge.contains(r#"error="insufficient_scope""#),
        "{reply:?}"
    );
    assert_eq!(reply.body, "", "{reply:?}");
}

#[track_caller]
fn assert_misconfigured(reply: &Reply) {
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR, "{reply:?}");
    assert_eq!(reply.body, "", "{reply:?}");
}

fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => payload
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .unwrap_or_default(),
    }
}

async fn issuer() -> TestIssuer {
    TestIssuer::start().await.unwrap()
}

fn protect(router: Router, issuer: &TestIssuer) -> Router {
    router.layer(AuthLayer::new(issuer.validator().build().unwrap()))
}

// --- holes: every handler at a protected path, and the value the handler sees ----------------

#[tokio::test]
async fn a_method_routers_fallback_meets_the_requirement() {
    let issuer = issuer().await;
    let app = protect(
        Router::new().route_requiring(
            "/rooms/{room}",
            get(|| async { "get" }).fallback(|| async { "fallback" }),
            scope!("write:rooms-{room}"),
        ),
        &issuer,
    );
    let other = issuer.token().scope("read:rooms-r1").sign();
    let granted = issuer.token().scope("write:rooms-r1").sign();
    assert_forbidden(&send(&app, "POST", "/rooms/r1", Some(&other)).await);
    assert_forbidden(&send(&app, "PATCH", "/rooms/r1", Some(&other)).await);
    assert_forbidden(&send(&app, "GET", "/rooms/r1", Some(&other)).await);
    assert_ran(
        &send(&app, "POST", "/rooms/r1", Some(&granted)).await,
        "fallback",
    );
    assert_ran(&send(&app, "GET", "/rooms/r1", Some(&granted)).await, "get");
}

#[tokio::test]
async fn any_route_meets_the_requirement_for_every_method() {
    let issuer = issuer().await;
    let app = protect(
        Router::new().route_requiring(
            "/rooms/{room}",
            any(|| async { "any" }),
            scope!("admin:rooms-{room}"),
        ),
        &issuer,
    );
    let granted = issuer.token().scope("admin:rooms-r1").sign();
    for method in ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"] {
        assert_ran(
            &send(&app, method, "/rooms/r1", Some(&granted)).await,
            "any",
        );
        assert_forbidden(&send(&app, method, "/rooms/r2", Some(&granted)).await);
    }
    assert_eq!(
        send(&app, "GET", "/rooms/r1", None).await.status,
        StatusCode::UNAUTHORIZED
    );
}

/// `/orgs/{id}` around `/invoices/{id}`: the handler's `Path` sees the invoice, "the first `id`"
/// is the org. Neither may be guessed: the request is refused as a misconfiguration.
fn repeated_name_app(issuer: &TestIssuer, inner: Router) -> Router {
    protect(Router::new().nest("/orgs/{id}", inner), issuer)
}

#[tokio::test]
async fn a_name_repeated_by_nesting_is_refused_never_bound_to_the_outer_value() {
    let issuer = issuer().await;
    let token = issuer.token().scope("read:invoice-7").sign();
    let inners = [
        Router::new().route_requiring(
            "/invoices/{id}",
            get(|| async { "invoice" }),
            scope!("read:invoice-{id}"),
        ),
        Router::new().route(
            "/invoices/{id}",
            get(|| async { "invoice" }).route_layer(require(scope!("read:invoice-{id}"))),
        ),
        Router::new().route("/invoices/{id}", get(read_invoice)),
        Router::new().route("/invoices/{id}", get(read_invoice_attribute)),
    ];
    for inner in inners {
        let app = repeated_name_app(&issuer, inner);
        // Org 7, invoice 99: binding the first `id` would open every invoice of org 7.
        assert_misconfigured(&send(&app, "GET", "/orgs/7/invoices/99", Some(&token)).await);
        assert_misconfigured(&send(&app, "GET", "/orgs/1/invoices/7", Some(&token)).await);
    }
}

scope!(ReadInvoice = "read:invoice-{id}");

async fn read_invoice(_: RequireScope<ReadInvoice>) -> &'static str {
    "invoice"
}

#[scopegate::require_scope("read:invoice-{id}")]
async fn read_invoice_attribute() -> &'static str {
    "invoice"
}

// --- nesting -------------------------------------------------------------------------------

#[tokio::test]
async fn route_requiring_inside_nest_binds_the_outer_parameter() {
    let issuer = issuer().await;
    let comments = Router::new().route_requiring(
        "/comments/{id}",
        delete(|| async { "deleted" }),
        scope!("delete:comments-in-{room}"),
    );
    let app = protect(Router::new().nest("/rooms/{room}", comments), &issuer);
    let token = issuer.token().scope("delete:comments-in-r1").sign();
    assert_ran(
        &send(&app, "DELETE", "/rooms/r1/comments/7", Some(&token)).await,
        "deleted",
    );
    let refused = send(&app, "DELETE", "/rooms/r2/comments/7", Some(&token)).await;
    assert_forbidden(&refused);
    assert!(
        refused
            .challenge
            .contains(r#"scope="delete:comments-in-r2""#),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_parameter_missing_from_the_whole_matched_route_is_500_never_a_pass() {
    let issuer = issuer().await;
    // Not nested at all: `room` exists nowhere. Refused on each request, with every scope.
    let app = protect(
        Router::new().route_requiring(
            "/rooms/{id}/comments",
            get(|| async { "listed" }),
            scope!("read:comments-in-{room}"),
        ),
        &issuer,
    );
    let token = issuer
        .token()
        .scope("read:comments-in-r1 read:comments-in-{room} read:comments-in-")
        .sign();
    assert_misconfigured(&send(&app, "GET", "/rooms/r1/comments", Some(&token)).await);
}

#[tokio::test]
async fn the_extractor_and_the_attribute_bind_outer_parameters_of_a_nest() {
    let issuer = issuer().await;
    let inner = Router::new()
        .route("/a", get(read_invoice))
        .route("/b", get(read_invoice_attribute));
    let app = protect(Router::new().nest("/invoices/{id}", inner), &issuer);
    let token = issuer.token().scope("read:invoice-7").sign();
    for leaf in ["a", "b"] {
        assert_ran(
            &send(&app, "GET", &format!("/invoices/7/{leaf}"), Some(&token)).await,
            "invoice",
        );
        assert_forbidden(&send(&app, "GET", &format!("/invoices/8/{leaf}"), Some(&token)).await);
    }
}

#[tokio::test]
async fn nest_service_keeps_requirements_and_outer_parameters() {
    let issuer = issuer().await;
    let inner = Router::new().route_requiring(
        "/comments",
        get(|| async { "listed" }),
        scope!("read:comments-in-{room}"),
    );
    let app = protect(Router::new().nest_service("/rooms/{room}", inner), &issuer);
    let token = issuer.token().scope("read:comments-in-r1").sign();
    assert_ran(
        &send(&app, "GET", "/rooms/r1/comments", Some(&token)).await,
        "listed",
    );
    assert_forbidden(&send(&app, "GET", "/rooms/r2/comments", Some(&token)).await);
}

#[tokio::test]
async fn merged_routers_keep_their_requirements() {
    let issuer = issuer().await;
    let rooms = Router::new().route_requiring(
        "/rooms/{room}",
        get(|| async { "room" }),
        scope!("read:rooms-{room}"),
    );
    let app = protect(
        Router::new()
            .route("/open", get(|| async { "open" }))
            .merge(rooms),
        &issuer,
    );
    let token = issuer.token().scope("read:rooms-r1").sign();
    assert_ran(&send(&app, "GET", "/rooms/r1", Some(&token)).await, "room");
    assert_forbidden(&send(&app, "GET", "/rooms/r2", Some(&token)).await);
    assert_ran(&send(&app, "GET", "/open", Some(&token)).await, "open");
}

// --- methods -------------------------------------------------------------------------------

#[tokio::test]
async fn head_on_a_get_route_meets_the_get_requirement() {
    let issuer = issuer().await;
    let app = protect(
        Router::new().route_requiring(
            "/rooms/{room}",
            get(|| async { "room" }),
            scope!("read:rooms-{room}"),
        ),
        &issuer,
    );
    let token = issuer.token().scope("read:rooms-r1").sign();
    assert_eq!(
        send(&app, "HEAD", "/rooms/r1", Some(&token)).await.status,
        StatusCode::OK
    );
    assert_forbidden(&send(&app, "HEAD", "/rooms/r2", Some(&token)).await);
}

#[tokio::test]
async fn a_method_without_a_handler_is_403_before_405() {
    let issuer = issuer().await;
    let app = protect(
        Router::new().route_requiring(
            "/rooms/{room}",
            get(|| async { "room" }),
            scope!("read:rooms-{room}"),
        ),
        &issuer,
    );
    let token = issuer.token().scope("read:rooms-r1").sign();
    assert_eq!(
        send(&app, "POST", "/rooms/r1", Some(&token)).await.status,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_forbidden(&send(&app, "POST", "/rooms/r2", Some(&token)).await);
}

#[tokio::test]
async fn route_requiring_twice_on_one_path_keeps_each_methods_requirement() {
    let issuer = issuer().await;
    let app = protect(
        Router::new()
            .route_requiring(
                "/rooms/{room}",
                get(|| async { "read" }),
                scope!("read:rooms-{room}"),
            )
            .route_requiring(
                "/rooms/{room}",
                post(|| async { "written" }),
                scope!("write:rooms-{room}"),
            ),
        &issuer,
    );
    let reader = issuer.token().scope("read:rooms-r1").sign();
    assert_ran(&send(&app, "GET", "/rooms/r1", Some(&reader)).await, "read");
    assert_forbidden(&send(&app, "POST", "/rooms/r1", Some(&reader)).await);
}

#[tokio::test]
async fn method_router_layer_covers_the_fallback_and_route_layer_does_not() {
    let issuer = issuer().await;
    let handlers = || get(|| async { "get" }).fallback(|| async { "fallback" });
    let layered = protect(
        Router::new().route(
            "/rooms/{room}",
            handlers().layer(require(scope!("write:rooms-{room}"))),
        ),
        &issuer,
    );
    let route_layered = protect(
        Router::new().route(
            "/rooms/{room}",
            handlers().route_layer(require(scope!("write:rooms-{room}"))),
        ),
        &issuer,
    );
    let other = issuer.token().scope("read:rooms-r1").sign();
    assert_forbidden(&send(&layered, "POST", "/rooms/r1", Some(&other)).await);
    assert_forbidden(&send(&layered, "GET", "/rooms/r1", Some(&other)).await);
    assert_forbidden(&send(&route_layered, "GET", "/rooms/r1", Some(&other)).await);
    // axum's documented `route_layer` behaviour: the method router's fallback is not wrapped.
    // This is why `route_requiring` uses `layer`, and why the docs recommend it.
    assert_ran(
        &send(&route_layered, "POST", "/rooms/r1", Some(&other)).await,
        "fallback",
    );
}

// --- layer ordering ------------------------------------------------------------------------

#[tokio::test]
async fn routes_added_after_the_auth_layer_are_refused_not_opened() {
    let issuer = issuer().await;
    // `Router::layer` wraps only the routes added before it.
    let app = Router::new()
        .route("/before", get(|| async { "before" }))
        .layer(AuthLayer::new(issuer.validator().build().unwrap()))
        .route_requiring(
            "/after/{room}",
            get(|| async { "after" }),
            scope!("read:rooms-{room}"),
        );
    let token = issuer.token().scope("read:rooms-r1").sign();
    assert_ran(&send(&app, "GET", "/before", Some(&token)).await, "before");
    assert_misconfigured(&send(&app, "GET", "/after/r1", Some(&token)).await);
    assert_misconfigured(&send(&app, "GET", "/after/r1", None).await);
}

// --- build-time refusals -------------------------------------------------------------------

#[test]
fn a_parameter_name_axum_never_hands_to_handlers_is_refused_when_the_router_is_built() {
    // In a template it does not even compile with `scope!`, and is refused at run time:
    assert_eq!(
        Requirement::scope("read:files-{__private__axum_fallback}").err(),
        Some(TemplateError::ReservedName)
    );
    // In a claim check, the router refuses it.
    let payload = catch_unwind(|| {
        Router::<()>::new().route_requiring(
            "/files/{__private__axum_fallback}",
            get(|| async { "file" }),
            Requirement::claim_equals("owner", "__private__axum_fallback"),
        )
    })
    .expect_err("a reserved parameter name must be refused");
    let message = panic_message(payload);
    assert!(message.starts_with("scopegate:"), "{message}");
    assert!(message.contains("__private__axum_"), "{message}");
}

#[test]
fn a_parameter_name_twice_in_one_route_is_refused_when_the_router_is_built() {
    let payload = catch_unwind(|| {
        Router::<()>::new().route_requiring(
            "/orgs/{id}/invoices/{id}",
            get(|| async { "invoice" }),
            scope!("read:invoice-{id}"),
        )
    })
    .expect_err("a repeated parameter name must be refused");
    let message = panic_message(payload);
    assert!(message.starts_with("scopegate:"), "{message}");
    assert!(message.contains("`id`"), "{message}");
}

// --- every way of declaring a requirement, in every shape -------------------------------------

scope!(ReadComments = "read:comments-in-{room}");

async fn comments_typed(_: RequireScope<ReadComments>) -> &'static str {
    "comments"
}

#[scopegate::require_scope("read:comments-in-{room}")]
async fn comments_attribute() -> &'static str {
    "comments"
}

#[derive(Debug, Clone, Copy)]
enum Way {
    RouteRequiring,
    RequireLayer,
    Extractor,
    Attribute,
}

const WAYS: [Way; 4] = [
    Way::RouteRequiring,
    Way::RequireLayer,
    Way::Extractor,
    Way::Attribute,
];

/// A router with `path` answering "comments" to GET (or to every method with `any`), requiring
/// `read:comments-in-{room}` the given way.
fn declared(way: Way, path: &str, every_method: bool) -> Router {
    fn on<H: Handler<T, ()>, T: 'static>(handler: H, every_method: bool) -> MethodRouter {
        if every_method {
            any(handler)
        } else {
            get(handler)
        }
    }
    async fn plain() -> &'static str {
        "comments"
    }
    match way {
        Way::RouteRequiring => Router::new().route_requiring(
            path,
            on(plain, every_method),
            scope!("read:comments-in-{room}"),
        ),
        Way::RequireLayer => Router::new().route(
            path,
            on(plain, every_method).layer(require(scope!("read:comments-in-{room}"))),
        ),
        Way::Extractor => Router::new().route(path, on(comments_typed, every_method)),
        Way::Attribute => Router::new().route(path, on(comments_attribute, every_method)),
    }
}

/// Room r1 is granted, room r2 is not: 200 with the handler's body, and 403.
async fn assert_room_1_only(app: &Router, issuer: &TestIssuer, method: &str, what: &str) {
    let token = issuer.token().scope("read:comments-in-r1").sign();
    let granted = send(app, method, "/rooms/r1/comments", Some(&token)).await;
    assert_eq!(granted.status, StatusCode::OK, "{what}: {granted:?}");
    if method != "HEAD" {
        assert_eq!(granted.body, "comments", "{what}");
    }
    let refused = send(app, method, "/rooms/r2/comments", Some(&token)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{what}: {refused:?}");
    let anonymous = send(app, method, "/rooms/r1/comments", None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{what}");
}

#[tokio::test]
async fn every_way_holds_in_a_plain_route_with_head_and_with_any() {
    let issuer = issuer().await;
    for way in WAYS {
        let app = protect(declared(way, "/rooms/{room}/comments", false), &issuer);
        assert_room_1_only(&app, &issuer, "GET", &format!("{way:?} GET")).await;
        assert_room_1_only(&app, &issuer, "HEAD", &format!("{way:?} HEAD")).await;
        let app = protect(declared(way, "/rooms/{room}/comments", true), &issuer);
        for method in ["GET", "POST", "DELETE"] {
            assert_room_1_only(&app, &issuer, method, &format!("{way:?} any {method}")).await;
        }
    }
}

#[tokio::test]
async fn every_way_binds_the_outer_parameter_of_nest_and_nest_service() {
    let issuer = issuer().await;
    for way in WAYS {
        let nested = Router::new().nest("/rooms/{room}", declared(way, "/comments", false));
        assert_room_1_only(
            &protect(nested, &issuer),
            &issuer,
            "GET",
            &format!("{way:?} nest"),
        )
        .await;
        let service =
            Router::new().nest_service("/rooms/{room}", declared(way, "/comments", false));
        let what = format!("{way:?} nest_service");
        assert_room_1_only(&protect(service, &issuer), &issuer, "GET", &what).await;
    }
}

#[tokio::test]
async fn every_way_survives_merge() {
    let issuer = issuer().await;
    for way in WAYS {
        let merged = Router::new()
            .route("/open", get(|| async { "open" }))
            .merge(declared(way, "/rooms/{room}/comments", false));
        assert_room_1_only(
            &protect(merged, &issuer),
            &issuer,
            "GET",
            &format!("{way:?} merge"),
        )
        .await;
    }
}

#[tokio::test]
async fn every_way_fails_closed_on_a_route_added_after_the_auth_layer() {
    let issuer = issuer().await;
    let token = issuer.token().scope("read:comments-in-r1").sign();
    for way in WAYS {
        let app = Router::new()
            .route("/before", get(|| async { "before" }))
            .layer(AuthLayer::new(issuer.validator().build().unwrap()))
            .merge(declared(way, "/rooms/{room}/comments", false));
        let reply = send(&app, "GET", "/rooms/r1/comments", Some(&token)).await;
        assert_misconfigured(&reply);
    }
}

/// The layer around a whole router (`AuthLayer::layer(router)`, one service for every route,
/// the shape the README recommends for speed) holds as `Router::layer` does: every way, in a
/// plain route, under `any`, and across `nest`. The outer router only hands the request on.
#[tokio::test]
async fn every_way_holds_with_the_layer_around_the_whole_router() {
    use tower::Layer as _;
    let issuer = issuer().await;
    let around = |router: Router| {
        let layer = AuthLayer::new(issuer.validator().build().unwrap());
        Router::new().fallback_service(layer.layer(router))
    };
    for way in WAYS {
        let app = around(declared(way, "/rooms/{room}/comments", false));
        assert_room_1_only(&app, &issuer, "GET", &format!("{way:?} around")).await;
        let app = around(declared(way, "/rooms/{room}/comments", true));
        assert_room_1_only(&app, &issuer, "POST", &format!("{way:?} around, any")).await;
        let nested = Router::new().nest("/rooms/{room}", declared(way, "/comments", false));
        let what = format!("{way:?} around a nest");
        assert_room_1_only(&around(nested), &issuer, "GET", &what).await;
    }
}
