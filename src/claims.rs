//! What handlers receive: the verified token's claims, as extractors.

use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use jsonwebtoken::Algorithm;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, Visitor};

use crate::error::{AuthError, ErrorKind, Realm};
use crate::scope::{CachedResolver, GrantedScopes, RolePolicy, ScopeSource};
use serde_json::Value;

/// A verified access token: typed registered claims, and any other claim by name.
///
/// The [`AuthLayer`](crate::AuthLayer) puts one in the request extensions when the token is
/// valid; use it as an axum extractor. Cheap to clone.
///
/// ```
/// use scopegate::Authenticated;
///
/// async fn me(auth: Authenticated) -> String {
///     let org: Option<String> = auth.claim("org_id");
///     format!("{} in {:?}", auth.subject().unwrap_or("?"), org)
/// }
/// ```
///
/// In a route that also serves anonymous requests (see
/// [`AuthLayer::allow_anonymous`](crate::AuthLayer::allow_anonymous)), take
/// `Option<Authenticated>`.
#[derive(Clone)]
pub struct Authenticated(Arc<AuthenticatedParts>);

pub(crate) struct AuthenticatedParts {
    pub(crate) issuer: Arc<str>,
    pub(crate) subject: Option<String>,
    pub(crate) audience: Vec<String>,
    pub(crate) expires_at: i64,
    pub(crate) issued_at: Option<i64>,
    pub(crate) not_before: Option<i64>,
    pub(crate) jwt_id: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) algorithm: Algorithm,
    pub(crate) key_id: Option<Box<str>>,
    /// The decoded claims JSON, for claims read by name or into a type.
    pub(crate) payload: Box<[u8]>,
    /// The validator's scope sources and, per source, the claim's value if present.
    pub(crate) scope_sources: Arc<[ScopeSource]>,
    pub(crate) scope_claims: Vec<Option<Value>>,
    pub(crate) wildcard_grants: bool,
    pub(crate) role_policy: Option<Arc<RolePolicy>>,
    pub(crate) resolver: Option<Arc<CachedResolver>>,
    /// Built on first use: routes without a requirement never pay for it.
    pub(crate) granted: OnceLock<GrantedScopes>,
}

impl Authenticated {
    pub(crate) fn new(parts: AuthenticatedParts) -> Self {
        Authenticated(Arc::new(parts))
    }

    /// `iss`: equal to the configured issuer.
    pub fn issuer(&self) -> &str {
        &self.0.issuer
    }

    /// `sub`, if present.
    pub fn subject(&self) -> Option<&str> {
        self.0.subject.as_deref()
    }

    /// `aud`, as a list (a single string becomes one element).
    pub fn audience(&self) -> &[String] {
        &self.0.audience
    }

    /// `exp`, in seconds since the Unix epoch (fractions rounded down).
    pub fn expires_at(&self) -> i64 {
        self.0.expires_at
    }

    /// `iat`, in seconds since the Unix epoch, if present.
    pub fn issued_at(&self) -> Option<i64> {
        self.0.issued_at
    }

    /// `nbf`, in seconds since the Unix epoch, if present.
    pub fn not_before(&self) -> Option<i64> {
        self.0.not_before
    }

    /// `jti`, if present.
    pub fn jwt_id(&self) -> Option<&str> {
        self.0.jwt_id.as_deref()
    }

    /// `client_id` (RFC 9068 §2.2), if present.
    pub fn client_id(&self) -> Option<&str> {
        self.0.client_id.as_deref()
    }

    /// The algorithm the signature was verified with.
    pub fn algorithm(&self) -> Algorithm {
        self.0.algorithm
    }

    /// The header `kid`, if present.
    pub fn key_id(&self) -> Option<&str> {
        self.0.key_id.as_deref()
    }

    /// A top-level claim by its literal name (`"org_id"`, `"https://my-apis/customScopes"`).
    ///
    /// `None` when the claim is absent, does not deserialize into `T`, or appears more than once
    /// in the token (a repeated name is ambiguous, so it counts as absent).
    pub fn claim<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        find_claim(&self.0.payload, name)
    }

    /// The scopes this token grants, from every configured scope source.
    pub fn scopes(&self) -> &GrantedScopes {
        let parts = &*self.0;
        parts.granted.get_or_init(|| {
            let claims = parts
                .scope_sources
                .iter()
                .zip(&parts.scope_claims)
                .filter_map(|(source, value)| Some((source, value.as_ref()?)));
            let mut from_roles = Vec::new();
            if let Some(policy) = &parts.role_policy {
                policy.expand(&parts.payload, &mut from_roles);
            }
            GrantedScopes::from_claims(from_roles, claims, parts.wildcard_grants)
        })
    }

    /// Whether the token grants `scope`, exactly as [`scopes`](Self::scopes) would say, but
    /// without building the set when only the token's own claims can grant: a requirement check
    /// then costs a scan of the claims and no allocation.
    pub fn grants(&self, scope: &str) -> bool {
        let parts = &*self.0;
        if let Some(granted) = parts.granted.get() {
            return granted.contains(scope);
        }
        if parts.role_policy.is_some() || parts.wildcard_grants {
            return self.scopes().contains(scope);
        }
        parts
            .scope_sources
            .iter()
            .zip(&parts.scope_claims)
            .any(|(source, value)| {
                value
                    .as_ref()
                    .is_some_and(|value| source.grants(value, scope))
            })
    }

    pub(crate) fn resolver(&self) -> Option<&Arc<CachedResolver>> {
        self.0.resolver.as_ref()
    }

    /// All claims, deserialized into `T`.
    pub fn claims<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.0.payload)
    }

    /// The claims JSON exactly as it was signed.
    pub fn claims_json(&self) -> &[u8] {
        &self.0.payload
    }
}

impl fmt::Debug for Authenticated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticated")
            .field("issuer", &self.0.issuer)
            .field("subject", &self.0.subject)
            .field("client_id", &self.0.client_id)
            .field("expires_at", &self.0.expires_at)
            .finish_non_exhaustive()
    }
}

/// One top-level member of a claims object, without building the whole object. `None` when it is
/// absent, of another type, or repeated.
pub(crate) fn find_claim<T: DeserializeOwned>(payload: &[u8], name: &str) -> Option<T> {
    let mut deserializer = serde_json::Deserializer::from_slice(payload);
    FindClaim {
        name,
        found: PhantomData,
    }
    .deserialize(&mut deserializer)
    .ok()
    .flatten()
}

/// Looks for one top-level member without building the whole object.
struct FindClaim<'n, T> {
    name: &'n str,
    found: PhantomData<T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for FindClaim<'_, T> {
    type Value = Option<T>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for FindClaim<'_, T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        let mut seen = false;
        while let Some(matches) = map.next_key_seed(KeyEquals(self.name))? {
            if !matches {
                map.next_value::<IgnoredAny>()?;
            } else if seen {
                return Err(de::Error::custom("repeated claim"));
            } else {
                seen = true;
                // Straight into `T`, never through `Value`, which would resolve repeated keys
                // inside the claim last-wins. A value of another type ends the search: the
                // caller gets `None`, "not this claim", never an error.
                found = Some(map.next_value::<T>()?);
            }
        }
        Ok(found)
    }
}

/// Compares a map key with a name without allocating.
struct KeyEquals<'n>(&'n str);

impl<'de> DeserializeSeed<'de> for KeyEquals<'_> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KeyEquals<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

/// Put in every request that passes the layer, so extractors can answer with the right
/// challenge, and can tell "no token" from "layer missing".
#[derive(Clone)]
pub(crate) struct AuthContext {
    pub(crate) realm: Option<Realm>,
}

impl AuthContext {
    pub(crate) fn of(parts: &Parts) -> Result<&AuthContext, AuthError> {
        parts.extensions.get::<AuthContext>().ok_or_else(|| {
            tracing::error!(
                "scopegate: an extractor ran on a route the AuthLayer does not wrap; refusing"
            );
            AuthError::new(ErrorKind::LayerMissing)
        })
    }

    pub(crate) fn error(&self, kind: ErrorKind) -> AuthError {
        AuthError::with_realm(kind, self.realm.clone())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Authenticated {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let context = AuthContext::of(parts)?;
        match parts.extensions.get::<Authenticated>() {
            Some(auth) => Ok(auth.clone()),
            None => Err(context.error(ErrorKind::MissingCredentials)),
        }
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for Authenticated {
    type Rejection = AuthError;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        AuthContext::of(parts)?;
        Ok(parts.extensions.get::<Authenticated>().cloned())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for GrantedScopes {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = <Authenticated as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        Ok(auth.scopes().clone())
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
        auth.claims().map(Claims).map_err(|_| {
            tracing::debug!("scopegate: claims do not fit the handler's type");
            AuthContext::of(parts)
                .map(|context| context.error(ErrorKind::ClaimsShape))
                .unwrap_or_else(|error| error)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_payload(json: &str) -> Authenticated {
        Authenticated::new(AuthenticatedParts {
            issuer: "iss".into(),
            subject: None,
            audience: vec![],
            expires_at: 0,
            issued_at: None,
            not_before: None,
            jwt_id: None,
            client_id: None,
            algorithm: Algorithm::EdDSA,
            key_id: None,
            payload: json.as_bytes().into(),
            scope_sources: ScopeSource::defaults().into(),
            scope_claims: vec![None; 3],
            wildcard_grants: false,
            role_policy: None,
            resolver: None,
            granted: OnceLock::new(),
        })
    }

    #[test]
    fn claims_by_literal_name() {
        let auth = with_payload(
            r#"{"org_id":"a","https://my-apis/customScopes":["x","y"],"n":5,"nested":{"org_id":"b"}}"#,
        );
        assert_eq!(auth.claim::<String>("org_id").as_deref(), Some("a"));
        assert_eq!(
            auth.claim::<Vec<String>>("https://my-apis/customScopes"),
            Some(vec!["x".to_owned(), "y".to_owned()])
        );
        assert_eq!(auth.claim::<String>("n"), None);
        assert_eq!(auth.claim::<u32>("n"), Some(5));
        assert_eq!(auth.claim::<String>("missing"), None);
    }

    #[test]
    fn repeated_claim_counts_as_absent() {
        let auth = with_payload(r#"{"org_id":"a","org_id":"b"}"#);
        assert_eq!(auth.claim::<String>("org_id"), None);
    }

    #[test]
    fn escaped_names_match() {
        let auth = with_payload(r#"{"org\u005fid":"a"}"#);
        assert_eq!(auth.claim::<String>("org_id").as_deref(), Some("a"));
    }
}
