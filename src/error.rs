//! Rejections and their RFC 6750 responses.
//!
//! Every way a request can fail authentication is an [`ErrorKind`]. An [`AuthError`] turns it into
//! the status code and `WWW-Authenticate` challenge of RFC 6750 §3. The `error_description` texts
//! are fixed strings chosen by scopegate: they never contain anything from the token or the
//! request, so they cannot leak a token into a log or reflect attacker input.

use std::fmt;
use std::sync::Arc;

use http::{HeaderValue, StatusCode, header::WWW_AUTHENTICATE};

use crate::syntax::{is_quoted_safe, is_scope_token};

/// Why a request was refused.
///
/// The variants are grouped by the response they produce; see [`AuthError::status`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    // --- 401 with a bare challenge -------------------------------------------------------
    /// No `Authorization: Bearer` credentials at all (absent, or another scheme such as `Basic`).
    MissingCredentials,

    // --- 400 invalid_request -------------------------------------------------------------
    /// The request carries more than one `Authorization` header.
    MultipleAuthorizationHeaders,
    /// The `Authorization` header joins several credentials with a comma.
    CommaJoinedCredentials,
    /// `Bearer` with no token after it, or a separator other than spaces.
    MalformedAuthorizationHeader,

    // --- 401 invalid_token ---------------------------------------------------------------
    /// The token is longer than the configured maximum.
    TokenTooLong,
    /// Not three base64url segments of JSON objects (wrong dot count, padding, bad characters,
    /// bad JSON), a repeated header member, or a repeated registered claim or scope claim.
    MalformedToken,
    /// The header `alg` is not one scopegate can verify (`none` included).
    UnsupportedAlgorithm,
    /// The header `alg` is not in the configured allowlist.
    AlgorithmNotAllowed,
    /// The header has a `crit` member; scopegate understands no JWS extensions (RFC 7515 §4.1.11).
    CriticalHeader,
    /// The header `typ` is not an accepted token type (RFC 9068 §4, RFC 8725 §3.11).
    WrongTokenType,
    /// The header `kid` is not a short printable-ASCII string.
    InvalidKeyId,
    /// The token has no `kid` and the key set holds several keys.
    MissingKeyId,
    /// No key with the token's `kid`, even after a refetch (or within the refetch cooldown).
    UnknownKey,
    /// The selected key may not be used with the token's `alg` (family, curve or the key's own
    /// `alg` differ).
    KeyAlgorithmMismatch,
    /// The signature does not verify.
    InvalidSignature,
    /// `iss` is missing, not a string, or not the configured issuer.
    IssuerMismatch,
    /// `aud` is missing, of the wrong type, or names none of the configured audiences.
    AudienceMismatch,
    /// `exp` is missing or not a number.
    MissingExpiry,
    /// The token has expired (`exp` plus leeway is not after now).
    Expired,
    /// `nbf` lies in the future (beyond the leeway), or is not a number.
    NotYetValid,
    /// `iat` lies in the future (beyond the leeway), or is not a number.
    IssuedInFuture,
    /// `exp - iat` exceeds the configured maximum lifetime, or `iat` is missing when one is set.
    LifetimeTooLong,
    /// `now - iat` exceeds the configured maximum age, or `iat` is missing when one is set.
    TooOld,
    /// `sub`, `jti`, `client_id` or `azp` is present but not a string.
    InvalidClaimType,
    /// Strict RFC 9068 mode: `sub`, `client_id`, `iat` or `jti` is missing or of the wrong type.
    MissingRequiredClaim,
    /// The claims do not deserialize into the type a handler asked for with
    /// [`Claims<T>`](crate::Claims).
    ClaimsShape,

    // --- 403 insufficient_scope -------------------------------------------------------------
    /// The token is valid but does not meet the route's requirement.
    InsufficientScope,

    // --- 503 -------------------------------------------------------------------------------
    /// No verification keys can be had: the issuer has not answered and no usable cached key set
    /// exists. The request is never let through; it is answered 503 so that clients and
    /// monitoring see a server-side outage rather than a bad token.
    KeysUnavailable,

    /// A [`GrantResolver`](crate::GrantResolver) that a requirement needed failed. The request
    /// is never let through; it is answered 503 because the grants are unavailable, not refused.
    GrantsUnavailable,

    // --- 500 -------------------------------------------------------------------------------
    /// An extractor or a requirement ran on a route that the scopegate layer does not wrap.
    LayerMissing,
    /// A requirement names a path parameter the matched route does not have, or has more than
    /// once (nested routers), or is mounted where no route matched. Never let through; the log
    /// names the route and the parameter.
    RequirementMisconfigured,
}

impl ErrorKind {
    /// The `error_description` (or log text) for this kind: fixed, printable ASCII, no quotes.
    pub fn description(self) -> &'static str {
        use ErrorKind::*;
        match self {
            MissingCredentials => "no bearer token in the request",
            MultipleAuthorizationHeaders => "more than one Authorization header",
            CommaJoinedCredentials => "several credentials in one Authorization header",
            MalformedAuthorizationHeader => {
                "the Authorization header is not Bearer followed by a token"
            }
            TokenTooLong => "the token is longer than allowed",
            MalformedToken => "the token is not a well-formed JWS in compact form",
            UnsupportedAlgorithm => "the token alg is not supported",
            AlgorithmNotAllowed => "the token alg is not allowed",
            CriticalHeader => "the token header has critical extensions",
            WrongTokenType => "the token typ is not an accepted access token type",
            InvalidKeyId => "the token kid is invalid",
            MissingKeyId => "the token has no kid",
            UnknownKey => "no key matches the token kid",
            KeyAlgorithmMismatch => "the token alg does not match its key",
            InvalidSignature => "the token signature is invalid",
            IssuerMismatch => "the token issuer is not accepted",
            AudienceMismatch => "the token audience is not accepted",
            MissingExpiry => "the token has no valid exp claim",
            Expired => "the token has expired",
            NotYetValid => "the token is not valid yet",
            IssuedInFuture => "the token iat is in the future",
            LifetimeTooLong => "the token lifetime is longer than allowed",
            TooOld => "the token is older than allowed",
            InvalidClaimType => "a registered claim has the wrong type",
            MissingRequiredClaim => "the token lacks a claim required by RFC 9068",
            ClaimsShape => "the token claims do not have the expected shape",
            InsufficientScope => "the token does not grant the scope this request requires",
            KeysUnavailable => "verification keys are unavailable",
            GrantsUnavailable => "the grants for this request are unavailable",
            LayerMissing => "authentication is not configured for this route",
            RequirementMisconfigured => "the scope requirement of this route is misconfigured",
        }
    }

    /// The RFC 6750 `error` code, or `None` for a bare challenge or a server-side failure.
    pub fn error_code(self) -> Option<&'static str> {
        match self.status() {
            StatusCode::BAD_REQUEST => Some("invalid_request"),
            StatusCode::UNAUTHORIZED if self != ErrorKind::MissingCredentials => {
                Some("invalid_token")
            }
            StatusCode::FORBIDDEN => Some("insufficient_scope"),
            _ => None,
        }
    }

    /// The HTTP status this kind is answered with.
    pub fn status(self) -> StatusCode {
        use ErrorKind::*;
        // Exhaustive on purpose: a new kind must choose its status here.
        match self {
            MultipleAuthorizationHeaders
            | CommaJoinedCredentials
            | MalformedAuthorizationHeader => StatusCode::BAD_REQUEST,
            MissingCredentials | TokenTooLong | MalformedToken | UnsupportedAlgorithm
            | AlgorithmNotAllowed | CriticalHeader | WrongTokenType | InvalidKeyId
            | MissingKeyId | UnknownKey | KeyAlgorithmMismatch | InvalidSignature
            | IssuerMismatch | AudienceMismatch | MissingExpiry | Expired | NotYetValid
            | IssuedInFuture | LifetimeTooLong | TooOld | InvalidClaimType
            | MissingRequiredClaim | ClaimsShape => StatusCode::UNAUTHORIZED,
            InsufficientScope => StatusCode::FORBIDDEN,
            KeysUnavailable | GrantsUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            LayerMissing | RequirementMisconfigured => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short human-readable summary of the status, for a problem-details `title`.
    pub fn title(self) -> &'static str {
        match self.status() {
            StatusCode::BAD_REQUEST => "Bad request",
            StatusCode::UNAUTHORIZED => "Unauthorized",
            StatusCode::FORBIDDEN => "Forbidden",
            StatusCode::SERVICE_UNAVAILABLE => "Service unavailable",
            _ => "Internal server error",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

/// A refused request: the reason and the realm to name in the challenge.
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
    realm: Option<Realm>,
    /// For `InsufficientScope`: the required scopes, space-separated scope-tokens.
    scope: Option<Arc<str>>,
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
    /// An error of this kind with no realm in its challenge.
    pub fn new(kind: ErrorKind) -> Self {
        AuthError {
            kind,
            realm: None,
            scope: None,
        }
    }

    /// The same refusal, challenging in `realm`.
    pub(crate) fn in_realm(mut self, realm: Option<Realm>) -> Self {
        self.realm = realm;
        self
    }

    /// Names the scopes that would satisfy the requirement, for the `scope` attribute. Each
    /// must be a scope-token (bound from checked values), so the header stays well formed.
    pub(crate) fn with_scope(mut self, scopes: &[String]) -> Self {
        let safe = !scopes.is_empty() && scopes.iter().all(|scope| is_scope_token(scope));
        self.scope = safe.then(|| scopes.join(" ").into());
        self
    }

    /// For a 403: the scope(s) the request needs, space-separated, as sent in the `scope`
    /// attribute of the challenge.
    pub fn required_scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    /// Why the request was refused.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The HTTP status to answer with.
    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// The `WWW-Authenticate` value per RFC 6750 §3, or `None` where no challenge applies
    /// (a server-side failure).
    pub fn www_authenticate(&self) -> Option<HeaderValue> {
        let status = self.kind.status();
        if !matches!(
            status,
            StatusCode::UNAUTHORIZED | StatusCode::BAD_REQUEST | StatusCode::FORBIDDEN
        ) {
            return None;
        }
        let mut value = String::from("Bearer");
        let mut separator = " ";
        if let Some(realm) = &self.realm {
            value.push_str(separator);
            value.push_str("realm=\"");
            value.push_str(&realm.0);
            value.push('"');
            separator = ", ";
        }
        if let Some(code) = self.kind.error_code() {
            value.push_str(separator);
            value.push_str("error=\"");
            value.push_str(code);
            value.push_str("\", error_description=\"");
            value.push_str(self.kind.description());
            value.push('"');
        }
        if let Some(scope) = &self.scope {
            value.push_str(", scope=\"");
            value.push_str(scope);
            value.push('"');
        }
        // Every piece is either a fixed ASCII string or a realm checked by `Realm::new`.
        HeaderValue::from_str(&value).ok()
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

/// A configuration mistake, found when a validator, policy or router is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(String);

impl ConfigError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        ConfigError(message.into())
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "scopegate configuration: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_safe_inside_quotes() {
        use ErrorKind::*;
        let all = [
            MissingCredentials,
            MultipleAuthorizationHeaders,
            CommaJoinedCredentials,
            MalformedAuthorizationHeader,
            TokenTooLong,
            MalformedToken,
            UnsupportedAlgorithm,
            AlgorithmNotAllowed,
            CriticalHeader,
            WrongTokenType,
            InvalidKeyId,
            MissingKeyId,
            UnknownKey,
            KeyAlgorithmMismatch,
            InvalidSignature,
            IssuerMismatch,
            AudienceMismatch,
            MissingExpiry,
            Expired,
            NotYetValid,
            IssuedInFuture,
            LifetimeTooLong,
            TooOld,
            InvalidClaimType,
            MissingRequiredClaim,
            ClaimsShape,
            InsufficientScope,
            KeysUnavailable,
            GrantsUnavailable,
            LayerMissing,
            RequirementMisconfigured,
        ];
        for kind in all {
            // Also valid as a gRPC `grpc-message` without percent-encoding.
            assert!(
                kind.description()
                    .bytes()
                    .all(|b| is_quoted_safe(b) && b != b'%'),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn challenge_forms() {
        let realm = Realm::new("api");
        let bare = AuthError::new(ErrorKind::MissingCredentials).in_realm(realm.clone());
        assert_eq!(bare.www_authenticate().unwrap(), r#"Bearer realm="api""#);

        let bad = AuthError::new(ErrorKind::Expired).in_realm(realm.clone());
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
            .in_realm(realm.clone())
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

        let outage = AuthError::new(ErrorKind::KeysUnavailable).in_realm(realm);
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
