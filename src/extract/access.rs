//! [`Access`]: the route's decision, asked from inside a handler.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use http::request::Parts;

use super::params::path_values;
use crate::authorize::{AccessPolicy, PathValues, Requirement, decide_fully};
use crate::error::{AuthError, ErrorKind};
use crate::principal::Authenticated;
use crate::service::AuthContext;

/// Asks, inside a handler, whether this request's token meets a requirement: the same decision
/// the route layers make (path values, role policies, wildcard grants, the grant resolver), with
/// no template re-typed through `format!`.
///
/// ```
/// use axum::Json;
/// use scopegate::{Access, AuthError, scope};
///
/// /// What the user may do in `/rooms/{room}`.
/// async fn room_actions(access: Access) -> Result<Json<Vec<&'static str>>, AuthError> {
///     let mut actions = Vec::new();
///     if access.allows(&scope!("add:comments-in-{room}")).await? {
///         actions.push("comment");
///     }
///     if access.allows(&scope!("delete:comments-in-{room}")).await? {
///         actions.push("moderate");
///     }
///     Ok(Json(actions))
/// }
/// ```
///
/// A refusal returned from the handler (`access.require(...).await?`) is a 403 rendered by the
/// [`AuthLayer`](crate::AuthLayer)'s renderer, like a route's.
#[derive(Debug, Clone)]
pub struct Access {
    auth: Authenticated,
    access: Arc<AccessPolicy>,
    params: PathValues,
}

impl Access {
    /// The verified token.
    pub fn principal(&self) -> &Authenticated {
        &self.auth
    }

    /// The same checks with the path value `name` set to `value` (for another room than the
    /// route's, say). The value obeys the same binding rules as a path value.
    pub fn with_param(mut self, name: &str, value: &str) -> Self {
        self.params.set(name, value);
        self
    }

    /// Whether the token meets `requirement`. `Err` only when no answer can be given: a
    /// parameter the route cannot bind (500) or a failing grant resolver (503). A step-up
    /// requirement the authentication does not meet answers `false`, like missing scopes.
    pub async fn allows(&self, requirement: &Requirement) -> Result<bool, AuthError> {
        match self.require(requirement).await {
            Ok(()) => Ok(true),
            Err(error)
                if matches!(
                    error.kind(),
                    ErrorKind::InsufficientScope | ErrorKind::InsufficientUserAuthentication
                ) =>
            {
                Ok(false)
            }
            Err(error) => Err(error),
        }
    }

    /// `Ok` when the token meets `requirement`, else the refusal a route would give (403 with
    /// the scopes that would satisfy it, or 401 naming the authentication a step-up
    /// requirement asks for).
    pub async fn require(&self, requirement: &Requirement) -> Result<(), AuthError> {
        decide_fully(requirement, &self.auth, &self.params, &self.access).await
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Access {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let (auth, access) = AuthContext::verified(&parts.extensions)?;
        Ok(Access {
            auth,
            access,
            params: path_values(parts),
        })
    }
}
