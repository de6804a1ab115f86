//! The verified principal, its claims and its granted scopes, as extractors.

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::{AuthError, ErrorKind};
use crate::grant::GrantedScopes;
use crate::principal::Authenticated;
use crate::service::AuthContext;

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        AuthContext::verified(&parts.extensions).map(|(auth, _)| auth)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Authenticated {
    type Rejection = AuthError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        AuthContext::of(&parts.extensions)?;
        Ok(parts.extensions.get::<Authenticated>().cloned())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for GrantedScopes {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = <Authenticated as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        Ok(auth.scopes())
    }
}

/// The verified token's claims deserialized into your own type.
///
/// A token whose claims do not fit `T` is refused with 401 `invalid_token`.
///
/// ```
/// use scopegate::Claims;
/// use serde::Deserialize;
///
/// #[derive(Deserialize)]
/// struct MyClaims {
///     sub: String,
///     org_id: Option<String>,
/// }
///
/// async fn handler(Claims(claims): Claims<MyClaims>) -> String {
///     format!("{} / {:?}", claims.sub, claims.org_id)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Claims<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Claims<T> {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = <Authenticated as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        auth.claims()
            .map(Claims)
            .map_err(|_| AuthError::new(ErrorKind::ClaimsShape))
    }
}
