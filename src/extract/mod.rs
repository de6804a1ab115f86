//! The axum integration's extractors (feature `axum`): the verified principal, its claims and
//! granted scopes, requirements in a handler's signature, and checks inside a handler. Their
//! rejections are marked refusals, rendered by the [`AuthLayer`](crate::AuthLayer)'s renderer.

mod access;
mod params;
mod principal;
mod require;

pub use access::Access;
pub use principal::Claims;
pub use require::{RequireScope, require, require_scope};

use crate::error::AuthError;

/// A marked refusal with an empty body: the [`AuthLayer`](crate::AuthLayer) around the route
/// renders it (realm, renderer); without one it stays the bare status and challenge.
impl axum::response::IntoResponse for AuthError {
    fn into_response(self) -> axum::response::Response {
        crate::service::refusal_response(self)
    }
}
