//! What the benches share: the route they measure, with and without the layer, and one request
//! through an axum router driven without a runtime.

// Each bench is its own crate and uses only some of these.
#![allow(dead_code)]

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{HeaderValue, Request, header::AUTHORIZATION};
use scopegate::{AuthLayer, RouterExt, scope};
use tower::Service;

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

/// One GET of [`PATH`] through `router`, with `authorization` if given; the future is polled
/// with a no-op waker until it is done (nothing in it waits on I/O once keys are cached).
/// Panics unless the answer is 200.
pub fn request_once(router: &mut Router, authorization: Option<&HeaderValue>) {
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
