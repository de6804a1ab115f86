//! Requirements on axum routes: the [`require`] layer and the [`RequireScope`] extractor, both
//! binding the matched route's path values.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use http::request::Parts;

use super::params::path_values;
use crate::authorize::{Requirement, ScopeRequirement, decide_fully};
use crate::error::AuthError;
use crate::service::{AuthContext, RequireLayer};

/// A layer that refuses requests whose token does not meet `requirement`, bound to the matched
/// route's path values.
///
/// Put it on a method router with `layer`, which also covers the method router's fallback;
/// axum's `route_layer` leaves the fallback (and `any(...)`) unwrapped. A parameter the matched
/// route lacks, or has twice, is found on each request: 500, logged, never a pass.
///
/// ```
/// use axum::{Router, routing::delete};
/// use scopegate::{require, scope};
///
/// async fn remove() {}
/// let app: Router = Router::new().route(
///     "/rooms/{room}/comments/{id}",
///     delete(remove).layer(require(scope!("delete:comments-in-{room}"))),
/// );
/// ```
pub fn require(requirement: Requirement) -> RequireLayer {
    RequireLayer::with_path_values(requirement, path_values)
}

/// [`require`] with a template parsed at run time.
///
/// # Panics
///
/// When the template is invalid, with the reason, like axum's router construction. Use
/// [`scope!`](crate::scope!) to have the template checked at compile time instead.
#[track_caller]
pub fn require_scope(template: &str) -> RequireLayer {
    match Requirement::scope(template) {
        Ok(requirement) => require(requirement),
        Err(error) => panic!("scopegate: invalid scope template {template:?}: {error}"),
    }
}

/// An extractor that refuses the request unless the token meets `T`'s requirement, declared
/// with [`scope!`](crate::scope!).
///
/// ```
/// use scopegate::{RequireScope, scope};
///
/// scope!(pub DeleteComment = "delete:comments-in-{room}");
///
/// async fn delete_comment(_: RequireScope<DeleteComment>) {}
/// ```
pub struct RequireScope<T>(PhantomData<fn() -> T>);

impl<T> std::fmt::Debug for RequireScope<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequireScope")
    }
}

impl<S: Send + Sync, T: ScopeRequirement> FromRequestParts<S> for RequireScope<T> {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let (auth, access) = AuthContext::verified(&parts.extensions)?;
        let params = path_values(parts);
        decide_fully(T::requirement(), &auth, &params, &access).await?;
        Ok(RequireScope(PhantomData))
    }
}
