//! [`AuthError`]: a refusal and its `WWW-Authenticate` challenges (RFC 6750 §3, RFC 9449 §7.1,
//! RFC 9470 §3, RFC 9728 §5.1).

use std::fmt;
use std::sync::Arc;

use http::{HeaderValue, StatusCode, header::WWW_AUTHENTICATE};

use super::ErrorKind;
use crate::syntax::{is_quoted_safe, is_scope_token};

/// A refused request: the reason, and what its `WWW-Authenticate` challenges name (realm,
/// accepted schemes, required scopes or authentication, resource metadata).
///
/// Render it yourself to use your own body while keeping the standard status and header:
///
/// ```
/// use scopegate::{AuthError, ErrorKind};
///
/// fn json_rejection(error: &AuthError) -> http::Response<String> {
///     // RFC 6750 codes where they exist; a bare 401 (no credentials) and 5xx have none.
///     let code = error.kind().error_code().unwrap_or(match error.status().as_u16() {
///         401 => "unauthorized",
///         503 => "temporarily_unavailable",
///         _ => "server_error",
///     });
///     let mut response = http::Response::new(format!(r#"{{"error":"{code}"}}"#));
///     *response.status_mut() = error.status();
///     if let Some(challenge) = error.www_authenticate() {
///         response.headers_mut().insert(http::header::WWW_AUTHENTICATE, challenge);
///     }
///     response
/// }
///
/// let response = json_rejection(&AuthError::new(ErrorKind::Expired));
/// assert_eq!(response.status(), 401);
/// assert_eq!(response.body(), r#"{"error":"invalid_token"}"#);
/// let response = json_rejection(&AuthError::new(ErrorKind::MissingCredentials));
/// assert_eq!(response.body(), r#"{"error":"unauthorized"}"#);
/// let response = json_rejection(&AuthError::new(ErrorKind::KeysUnavailable));
/// assert_eq!(response.status(), 503);
/// assert_eq!(response.body(), r#"{"error":"temporarily_unavailable"}"#);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError {
    kind: ErrorKind,
    /// The API's challenge settings; `None`: a bare `Bearer` challenge without realm.
    challenges: Option<Arc<Challenges>>,
    /// The scheme the request used, whose challenge carries the `error`.
    presented: Scheme,
    /// For `InsufficientScope`: the required scopes, space-separated scope-tokens.
    scope: Option<Arc<str>>,
    /// For `InsufficientUserAuthentication`: what authentication would do.
    step_up: Option<Arc<StepUp>>,
}

/// The authorization scheme a request presented its token with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Scheme {
    /// No credentials, or a scheme scopegate does not read.
    #[default]
    None,
    /// `Authorization: Bearer` (RFC 6750).
    Bearer,
    /// `Authorization: DPoP` (RFC 9449).
    Dpop,
}

/// What every challenge the API sends names: set once per API by the layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenges {
    pub(crate) realm: Option<Realm>,
    /// `resource_metadata` (RFC 9728 §5.1), a URL checked to be safe inside quotes.
    pub(crate) resource_metadata: Option<Arc<str>>,
    /// Whether the `Bearer` scheme is accepted (not when DPoP is required).
    pub(crate) bearer: bool,
    /// When the `DPoP` scheme is accepted: its `algs` value, space-separated.
    pub(crate) dpop_algs: Option<Arc<str>>,
}

impl Default for Challenges {
    fn default() -> Self {
        Challenges {
            realm: None,
            resource_metadata: None,
            bearer: true,
            dpop_algs: None,
        }
    }
}

/// The authentication a step-up challenge asks for (RFC 9470 §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StepUp {
    /// Space-separated `acr` values, each checked to be safe inside quotes.
    pub(crate) acr_values: Option<Arc<str>>,
    /// The most seconds since the user authenticated.
    pub(crate) max_age: Option<u64>,
}

/// A realm value checked to be safe inside a quoted-string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Realm(Arc<str>);

impl Realm {
    /// Accepts `%x20-21 / %x23-5B / %x5D-7E` only, the characters RFC 6750 allows in its
    /// quoted attribute values.
    pub(crate) fn new(realm: &str) -> Option<Realm> {
        realm
            .bytes()
            .all(is_quoted_safe)
            .then(|| Realm(realm.into()))
    }
}

impl AuthError {
    /// An error of this kind, challenging with a bare `Bearer` scheme and no realm.
    pub fn new(kind: ErrorKind) -> Self {
        AuthError {
            kind,
            challenges: None,
            presented: Scheme::None,
            scope: None,
            step_up: None,
        }
    }

    /// The same refusal, challenging as the API does.
    pub(crate) fn with_challenges(mut self, challenges: &Arc<Challenges>) -> Self {
        self.challenges = Some(challenges.clone());
        self
    }

    /// The same refusal of a request that used `scheme`.
    pub(crate) fn presented(mut self, scheme: Scheme) -> Self {
        self.presented = scheme;
        self
    }

    /// Names the scopes that would satisfy the requirement, for the `scope` attribute. Each
    /// must be a scope-token (bound from checked values), so the header stays well formed.
    pub(crate) fn with_scope(mut self, scopes: &[String]) -> Self {
        let safe = !scopes.is_empty() && scopes.iter().all(|scope| is_scope_token(scope));
        self.scope = safe.then(|| scopes.join(" ").into());
        self
    }

    /// Names the authentication a step-up requirement asks for.
    pub(crate) fn with_step_up(mut self, step_up: &Arc<StepUp>) -> Self {
        self.step_up = Some(step_up.clone());
        self
    }

    /// For a 403: the scope(s) the request needs, space-separated, as sent in the `scope`
    /// attribute of the challenge.
    pub fn required_scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// For a step-up refusal: the accepted `acr` values, space-separated, as sent in the
    /// `acr_values` attribute (RFC 9470 §3).
    pub fn required_acr_values(&self) -> Option<&str> {
        self.step_up.as_ref()?.acr_values.as_deref()
    }

    /// For a step-up refusal: the most seconds since the user authenticated, as sent in the
    /// `max_age` attribute (RFC 9470 §3).
    pub fn required_max_age(&self) -> Option<u64> {
        self.step_up.as_ref()?.max_age
    }

    /// Why the request was refused.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The HTTP status to answer with.
    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// The `WWW-Authenticate` value, or `None` where no challenge applies (a server-side
    /// failure).
    ///
    /// One challenge per accepted scheme, `Bearer` (RFC 6750 §3) before `DPoP` (RFC 9449 §7.1,
    /// with `algs`). The `error` attributes go on the challenge of the scheme the request
    /// used; each challenge names the realm and the resource metadata URL (RFC 9728 §5.1).
    pub fn www_authenticate(&self) -> Option<HeaderValue> {
        let status = self.kind.status();
        if !matches!(
            status,
            StatusCode::UNAUTHORIZED | StatusCode::BAD_REQUEST | StatusCode::FORBIDDEN
        ) {
            return None;
        }
        let default = Challenges::default();
        let challenges = self.challenges.as_deref().unwrap_or(&default);
        let dpop = challenges.dpop_algs.is_some();
        let bearer = challenges.bearer || !dpop;
        let erring = match self.presented {
            _ if self.kind.is_proof_fault() => Scheme::Dpop,
            Scheme::Dpop if dpop => Scheme::Dpop,
            Scheme::Bearer if bearer => Scheme::Bearer,
            _ if bearer => Scheme::Bearer,
            _ => Scheme::Dpop,
        };
        let mut value = String::with_capacity(160);
        for (scheme, name) in [(Scheme::Bearer, "Bearer"), (Scheme::Dpop, "DPoP")] {
            if (scheme == Scheme::Bearer && !bearer) || (scheme == Scheme::Dpop && !dpop) {
                continue;
            }
            if !value.is_empty() {
                value.push_str(", ");
            }
            value.push_str(name);
            let mut attributes = Attributes(&mut value, " ");
            if let Some(realm) = &challenges.realm {
                attributes.quoted("realm", &realm.0);
            }
            if scheme == erring {
                self.error_attributes(&mut attributes);
            }
            if let Some(url) = &challenges.resource_metadata {
                attributes.quoted("resource_metadata", url);
            }
            if scheme == Scheme::Dpop
                && let Some(algs) = &challenges.dpop_algs
            {
                attributes.quoted("algs", algs);
            }
        }
        // Every piece is a fixed ASCII string or a value checked to be safe inside quotes.
        HeaderValue::from_str(&value).ok()
    }

    fn error_attributes(&self, attributes: &mut Attributes<'_>) {
        let Some(code) = self.kind.error_code() else {
            return;
        };
        attributes.quoted("error", code);
        attributes.quoted("error_description", self.kind.description());
        if let Some(scope) = &self.scope {
            attributes.quoted("scope", scope);
        }
        if let Some(step_up) = &self.step_up {
            if let Some(acr_values) = &step_up.acr_values {
                attributes.quoted("acr_values", acr_values);
            }
            if let Some(max_age) = step_up.max_age {
                attributes.quoted("max_age", &max_age.to_string());
            }
        }
    }

    /// A response with this error's status and challenge and the given body.
    pub fn to_response<B>(&self, body: B) -> http::Response<B> {
        let mut response = http::Response::new(body);
        *response.status_mut() = self.status();
        if let Some(challenge) = self.www_authenticate() {
            response.headers_mut().insert(WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

/// Writes `name="value"` auth-params, the first after a space, the rest after commas.
struct Attributes<'a>(&'a mut String, &'static str);

impl Attributes<'_> {
    fn quoted(&mut self, name: &str, value: &str) {
        self.0.push_str(self.1);
        self.0.push_str(name);
        self.0.push_str("=\"");
        self.0.push_str(value);
        self.0.push('"');
        self.1 = ", ";
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.kind, f)
    }
}

impl std::error::Error for AuthError {}

impl From<ErrorKind> for AuthError {
    fn from(kind: ErrorKind) -> Self {
        AuthError::new(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn realm_only(realm: Option<Realm>) -> Arc<Challenges> {
        Arc::new(Challenges {
            realm,
            ..Challenges::default()
        })
    }

    #[test]
    fn challenge_forms() {
        let realm = Realm::new("api");
        let bare = AuthError::new(ErrorKind::MissingCredentials)
            .with_challenges(&realm_only(realm.clone()));
        assert_eq!(bare.www_authenticate().unwrap(), r#"Bearer realm="api""#);

        let bad = AuthError::new(ErrorKind::Expired).with_challenges(&realm_only(realm.clone()));
        assert_eq!(
            bad.www_authenticate().unwrap(),
            r#"Bearer realm="api", error="invalid_token", error_description="the token has expired""#
        );

        let request = AuthError::new(ErrorKind::CommaJoinedCredentials);
        assert_eq!(request.status(), StatusCode::BAD_REQUEST);
        assert!(
            request
                .www_authenticate()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(r#"Bearer error="invalid_request""#)
        );

        let forbidden = AuthError::new(ErrorKind::InsufficientScope)
            .with_challenges(&realm_only(realm.clone()))
            .with_scope(&["read:a".into(), "read:b".into()]);
        assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
        assert!(
            forbidden
                .www_authenticate()
                .unwrap()
                .to_str()
                .unwrap()
                .ends_with(r#"error="insufficient_scope", error_description="the token does not grant the scope this request requires", scope="read:a read:b""#)
        );
        let unsafe_scope =
            AuthError::new(ErrorKind::InsufficientScope).with_scope(&["a\"b".into()]);
        assert_eq!(unsafe_scope.required_scope(), None);

        let outage = AuthError::new(ErrorKind::KeysUnavailable).with_challenges(&realm_only(realm));
        assert_eq!(outage.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(outage.www_authenticate().is_none());
    }

    #[test]
    fn realm_rejects_quotes_and_backslashes() {
        assert!(Realm::new("my \"api\"").is_none());
        assert!(Realm::new("a\\b").is_none());
        assert!(Realm::new("caf\u{e9}").is_none());
        assert!(Realm::new("api.example.com").is_some());
    }
}
