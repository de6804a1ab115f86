//! The matched route's path values, read exactly as axum hands them to `Path`.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use axum::extract::rejection::RawPathParamsRejection;
use axum::extract::{FromRequestParts, MatchedPath, RawPathParams};
use http::request::Parts;

use crate::authorize::PathValues;

/// The percent-decoded path values and the route pattern. axum's extractor completes without
/// waiting, so it is polled once here instead of boxing a future per request.
pub(crate) fn path_values(parts: &mut Parts) -> PathValues {
    // A clone of the pattern's `Arc`, not a copy of its text.
    let matched = parts.extensions.get::<MatchedPath>().cloned();
    let route = matched.as_ref().map(MatchedPath::as_str);
    let future = pin!(<RawPathParams as FromRequestParts<()>>::from_request_parts(
        parts,
        &()
    ));
    match future.poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Ok(params)) => PathValues::new(&params, route),
        Poll::Ready(Err(RawPathParamsRejection::InvalidUtf8InPathParam(_))) => {
            PathValues::invalid_utf8(route)
        }
        // No route matched, or the route has no parameters.
        _ => PathValues::new([], route),
    }
}
