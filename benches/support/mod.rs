//! What the benches share: the route they measure, with and without the layer, and one request
//! through an axum router driven without a runtime.

// Each bench is its own crate and uses only some of these.
#![allow(dead_code)]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{HeaderValue, Request, header::AUTHORIZATION};
use scopegate::testing::TestIssuer;
use scopegate::{AuthLayer, RouterExt, ScopeSource, Validator, scope};
use tower::{Layer, Service};

/// The custom claim the benches' tokens carry per-room scopes in (seed 002's Auth0 Action).
pub const CUSTOM_SCOPES: &str = "https://my-apis/customScopes";

/// A runtime serving the test issuer, and a validator of its tokens (scopes also read from
/// [`CUSTOM_SCOPES`]) with the keys fetched. Keep the runtime and the issuer alive while
/// measuring; no background key refresh starts within a day.
pub fn issuer_and_validator() -> (tokio::runtime::Runtime, TestIssuer, Validator) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let issuer = runtime.block_on(TestIssuer::start()).expect("test issuer");
    let day = Duration::from_secs(24 * 60 * 60);
    let validator = issuer
        .validator()
        .jwks_default_lifetime(day)
        .jwks_lifetime_bounds(day, day)
        .scope_source(ScopeSource::claim(CUSTOM_SCOPES))
        .build()
        .expect("validator");
    runtime.block_on(validator.ready()).expect("keys fetched");
    (runtime, issuer, validator)
}

/// The route every router here serves.
pub const PATH: &str = "/rooms/room_7/comments";

async fn list() -> &'static str {
    "[]"
}

/// The route without any authentication.
pub fn open_router() -> Router {
    Router::new().route("/rooms/{room}/comments", get(list))
}

/// The route behind `layer`, without a requirement.
pub fn plain_router(layer: AuthLayer) -> Router {
    open_router().layer(layer)
}

/// The route behind `layer`, requiring `read:comments-in-{room}`.
pub fn required_router(layer: AuthLayer) -> Router {
    Router::new()
        .route_requiring(
            "/rooms/{room}/comments",
            get(list),
            scope!("read:comments-in-{room}"),
        )
        .layer(layer)
}

/// The route requiring `read:comments-in-{room}`, with `layer` around the whole router
/// instead of `Router::layer`: the route is boxed once fewer.
pub fn required_around(layer: AuthLayer) -> scopegate::AuthService<Router> {
    layer.layer(Router::new().route_requiring(
        "/rooms/{room}/comments",
        get(list),
        scope!("read:comments-in-{room}"),
    ))
}

/// One GET of [`PATH`] through `router`, with `authorization` if given; the future is polled
/// with a no-op waker until it is done (nothing in it waits on I/O once keys are cached).
/// Panics unless the answer is 200.
pub fn request_once<S>(router: &mut S, authorization: Option<&HeaderValue>)
where
    S: Service<Request<Body>, Response = http::Response<Body>>,
    S::Error: std::fmt::Debug,
{
    let mut request = Request::get(PATH).body(Body::empty()).expect("request");
    if let Some(value) = authorization {
        request.headers_mut().insert(AUTHORIZATION, value.clone());
    }
    let mut future = pin!(router.call(request));
    let mut context = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(result) = future.as_mut().poll(&mut context) {
            let response = result.expect("infallible");
            assert_eq!(response.status(), 200, "the router must answer 200");
            black_box(response);
            return;
        }
    }
}
