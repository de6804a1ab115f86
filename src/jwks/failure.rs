//! Why a fetch of keys failed: [`FetchError`] and the [`FetchErrorKind`] it is sorted into, so
//! that logs, metrics and the status of an issuer tell a refused connection from a timeout.

use std::fmt;

/// What kind of failure ended a fetch of an issuer's discovery or JWKS document.
///
/// Logged as the `kind` field of the warning (target `scopegate`), counted as the `result` of
/// `scopegate_jwks_fetches_total` (feature `metrics`) and reported by
/// [`KeyStatus::last_error_kind`](crate::jwks::KeyStatus::last_error_kind). [`name`](Self::name)
/// gives each a fixed `snake_case` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FetchErrorKind {
    /// Nothing listens at the issuer's address: the connection was actively refused.
    ConnectRefused,
    /// No connection could be made for another reason: the name does not resolve, the network or
    /// host is unreachable, the connection was reset while being set up, a proxy failed.
    Connect,
    /// No answer in time: the fetcher's connect or total timeout, or scopegate's own limit on a
    /// whole fetch ([`ValidatorBuilder::fetch_timeout`](crate::ValidatorBuilder::fetch_timeout)).
    Timeout,
    /// The TLS handshake failed: an untrusted or invalid certificate, a name mismatch, or a peer
    /// that does not speak TLS.
    Tls,
    /// The connection was made but broke before a whole response arrived: reset or closed
    /// mid-response, or not a valid HTTP response.
    Interrupted,
    /// The issuer answered with a status other than 200 (a redirect included: none is followed).
    Status,
    /// The body is larger than [`MAX_DOCUMENT_BYTES`](crate::jwks::MAX_DOCUMENT_BYTES).
    TooLarge,
    /// The body is not the expected document: not JSON, a JWKS without its `keys` array, or a
    /// discovery document without a usable `issuer` and `jwks_uri`.
    InvalidDocument,
    /// The key set was read, but none of its keys can verify tokens under the configured
    /// algorithms (HMAC keys, private keys, unsupported curves and the like are skipped).
    NoUsableKey,
    /// The discovery document names an issuer other than the configured one (OIDC Discovery
    /// §4.3): the document is not used.
    IssuerMismatch,
    /// Anything else, and every [`FetchError::new`] of a custom fetcher.
    Other,
}

impl FetchErrorKind {
    /// A fixed `snake_case` name: `connect_refused`, `timeout`, `status`, ...
    pub fn name(self) -> &'static str {
        use FetchErrorKind::*;
        match self {
            ConnectRefused => "connect_refused",
            Connect => "connect",
            Timeout => "timeout",
            Tls => "tls",
            Interrupted => "interrupted",
            Status => "status",
            TooLarge => "too_large",
            InvalidDocument => "invalid_document",
            NoUsableKey => "no_usable_key",
            IssuerMismatch => "issuer_mismatch",
            Other => "other",
        }
    }
}

impl fmt::Display for FetchErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A failed fetch: its [`kind`](Self::kind) and a description for operators. The description
/// keeps the cause (`connection refused`, `operation timed out`, the status) and names the URL,
/// but never quotes a response body. It goes to the `warn` log, to [`Validator::ready`] and to
/// [`KeyStatus::last_error`](crate::jwks::KeyStatus::last_error), never into an HTTP response.
///
/// [`Validator::ready`]: crate::Validator::ready
#[derive(Debug, Clone)]
pub struct FetchError {
    kind: FetchErrorKind,
    message: String,
}

impl FetchError {
    /// A fetch error with this description, of kind [`FetchErrorKind::Other`].
    pub fn new(message: impl Into<String>) -> Self {
        FetchError::with_kind(FetchErrorKind::Other, message)
    }

    /// A fetch error of `kind` with this description: for a custom [`JwksFetcher`] that knows
    /// why it failed.
    ///
    /// [`JwksFetcher`]: crate::jwks::JwksFetcher
    pub fn with_kind(kind: FetchErrorKind, message: impl Into<String>) -> Self {
        FetchError {
            kind,
            message: message.into(),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> FetchErrorKind {
        self.kind
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for FetchError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_snake_case() {
        use FetchErrorKind::*;
        let all = [
            ConnectRefused,
            Connect,
            Timeout,
            Tls,
            Interrupted,
            Status,
            TooLarge,
            InvalidDocument,
            NoUsableKey,
            IssuerMismatch,
            Other,
        ];
        let names: std::collections::HashSet<_> = all.iter().map(|kind| kind.name()).collect();
        assert_eq!(names.len(), all.len());
        for name in names {
            assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
        assert_eq!(FetchError::new("x").kind(), Other);
        assert_eq!(FetchError::with_kind(Tls, "x").kind(), Tls);
    }
}
