//! Why a request was refused: one [`ErrorKind`] per reason, each with a fixed description, a
//! status and a challenge `error` code.

use std::fmt;

use http::StatusCode;

/// Why a request was refused.
///
/// The variants are grouped by the response they produce; see [`AuthError::status`](crate::AuthError::status).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    // --- 401 with a bare challenge -------------------------------------------------------
    /// No `Authorization: Bearer` credentials at all (absent, or another scheme such as `Basic`).
    MissingCredentials,
    /// Credentials of a scheme this API does not accept here: `DPoP` when only bearer tokens
    /// are accepted, `Bearer` when DPoP is required. Answered with a bare challenge naming the
    /// accepted scheme; never anonymous.
    SchemeNotAccepted,

    // --- 400 invalid_request -------------------------------------------------------------
    /// The request carries more than one `Authorization` header.
    MultipleAuthorizationHeaders,
    /// The `Authorization` header joins several credentials with a comma.
    CommaJoinedCredentials,
    /// `Bearer` with no token after it, or a separator other than spaces.
    MalformedAuthorizationHeader,
    /// The request carries more than one `DPoP` proof header (RFC 9449 §4.3).
    MultipleDpopProofs,
    /// Opt-in token sources (cookie, WebSocket subprotocol, WebSocket query) disagree, or one
    /// of them is repeated.
    ConflictingCredentials,

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
    /// The token is bound to a key (`cnf.jkt`, RFC 9449 §6) but came with the `Bearer` scheme,
    /// without proof of possession.
    BoundTokenAsBearer,
    /// The token's `cnf` binds it in a way scopegate cannot check (`x5t#S256`, `jwk`, or `jkt`
    /// beside another member), or is malformed.
    UnsupportedConfirmation,
    /// The token came with the `DPoP` scheme but has no `cnf.jkt`: nothing binds it to the
    /// proof's key.
    UnboundToken,

    // --- 401 invalid_dpop_proof (RFC 9449 §7.1) ------------------------------------------
    /// The `DPoP` scheme without a `DPoP` proof header.
    MissingDpopProof,
    /// The proof is not a compact JWS of JSON objects, its `typ` is not `dpop+jwt`, a
    /// member is repeated, or a required header member or claim is missing or mistyped.
    MalformedDpopProof,
    /// The proof's `alg` is not an allowed asymmetric algorithm.
    DpopAlgorithmNotAllowed,
    /// The proof's `jwk` is missing, not a usable public key for its `alg`, or holds private
    /// key members.
    InvalidDpopKey,
    /// The proof's signature does not verify with its `jwk`.
    InvalidDpopSignature,
    /// The proof's `htm` is not the request method.
    DpopMethodMismatch,
    /// The proof's `htu` is not the request's URI on the API's public origin.
    DpopUriMismatch,
    /// The proof's `iat` lies outside the accepted window.
    DpopProofExpired,
    /// The proof's `ath` is not the hash of the access token.
    DpopTokenHashMismatch,
    /// The proof's key is not the key the token is bound to (`cnf.jkt`).
    DpopKeyMismatch,
    /// The proof's `jti` was seen before within the window.
    DpopProofReplayed,

    // --- 401 insufficient_user_authentication (RFC 9470) -----------------------------------
    /// The token is valid, but its authentication event (`acr`, `auth_time`) does not meet the
    /// route's requirement: the user must authenticate again.
    InsufficientUserAuthentication,

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

    /// The DPoP replay store did not answer in time or failed. The proof is never accepted
    /// unchecked.
    ReplayCheckUnavailable,

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
                "the Authorization header is not a scheme followed by a token"
            }
            MultipleDpopProofs => "more than one DPoP header",
            ConflictingCredentials => "the request carries different tokens in several places",
            SchemeNotAccepted => "the authorization scheme is not accepted here",
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
            BoundTokenAsBearer => "the token is bound to a key and needs a proof of possession",
            UnsupportedConfirmation => "the token key binding cannot be checked",
            UnboundToken => "the token is not bound to the proof key",
            MissingDpopProof => "no DPoP proof in the request",
            MalformedDpopProof => "the DPoP proof is malformed",
            DpopAlgorithmNotAllowed => "the DPoP proof alg is not allowed",
            InvalidDpopKey => "the DPoP proof key is invalid",
            InvalidDpopSignature => "the DPoP proof signature is invalid",
            DpopMethodMismatch => "the DPoP proof htm does not match the request method",
            DpopUriMismatch => "the DPoP proof htu does not match the request URI",
            DpopProofExpired => "the DPoP proof iat is outside the accepted window",
            DpopTokenHashMismatch => "the DPoP proof ath does not match the access token",
            DpopKeyMismatch => "the DPoP proof key is not the key the token is bound to",
            DpopProofReplayed => "the DPoP proof was used before",
            InsufficientUserAuthentication => {
                "the authentication does not meet the requirement of this request"
            }
            InsufficientScope => "the token does not grant the scope this request requires",
            KeysUnavailable => "verification keys are unavailable",
            GrantsUnavailable => "the grants for this request are unavailable",
            ReplayCheckUnavailable => "the DPoP replay check is unavailable",
            LayerMissing => "authentication is not configured for this route",
            RequirementMisconfigured => "the scope requirement of this route is misconfigured",
        }
    }

    /// A fixed `snake_case` name for logs and metrics labels (`expired`, `insufficient_scope`,
    /// `dpop_proof_replayed`, ...): the variant's name, stable across releases.
    pub fn name(self) -> &'static str {
        use ErrorKind::*;
        match self {
            MissingCredentials => "missing_credentials",
            SchemeNotAccepted => "scheme_not_accepted",
            MultipleAuthorizationHeaders => "multiple_authorization_headers",
            CommaJoinedCredentials => "comma_joined_credentials",
            MalformedAuthorizationHeader => "malformed_authorization_header",
            MultipleDpopProofs => "multiple_dpop_proofs",
            ConflictingCredentials => "conflicting_credentials",
            TokenTooLong => "token_too_long",
            MalformedToken => "malformed_token",
            UnsupportedAlgorithm => "unsupported_algorithm",
            AlgorithmNotAllowed => "algorithm_not_allowed",
            CriticalHeader => "critical_header",
            WrongTokenType => "wrong_token_type",
            InvalidKeyId => "invalid_key_id",
            MissingKeyId => "missing_key_id",
            UnknownKey => "unknown_key",
            KeyAlgorithmMismatch => "key_algorithm_mismatch",
            InvalidSignature => "invalid_signature",
            IssuerMismatch => "issuer_mismatch",
            AudienceMismatch => "audience_mismatch",
            MissingExpiry => "missing_expiry",
            Expired => "expired",
            NotYetValid => "not_yet_valid",
            IssuedInFuture => "issued_in_future",
            LifetimeTooLong => "lifetime_too_long",
            TooOld => "too_old",
            InvalidClaimType => "invalid_claim_type",
            MissingRequiredClaim => "missing_required_claim",
            ClaimsShape => "claims_shape",
            BoundTokenAsBearer => "bound_token_as_bearer",
            UnsupportedConfirmation => "unsupported_confirmation",
            UnboundToken => "unbound_token",
            MissingDpopProof => "missing_dpop_proof",
            MalformedDpopProof => "malformed_dpop_proof",
            DpopAlgorithmNotAllowed => "dpop_algorithm_not_allowed",
            InvalidDpopKey => "invalid_dpop_key",
            InvalidDpopSignature => "invalid_dpop_signature",
            DpopMethodMismatch => "dpop_method_mismatch",
            DpopUriMismatch => "dpop_uri_mismatch",
            DpopProofExpired => "dpop_proof_expired",
            DpopTokenHashMismatch => "dpop_token_hash_mismatch",
            DpopKeyMismatch => "dpop_key_mismatch",
            DpopProofReplayed => "dpop_proof_replayed",
            InsufficientUserAuthentication => "insufficient_user_authentication",
            InsufficientScope => "insufficient_scope",
            KeysUnavailable => "keys_unavailable",
            GrantsUnavailable => "grants_unavailable",
            ReplayCheckUnavailable => "replay_check_unavailable",
            LayerMissing => "layer_missing",
            RequirementMisconfigured => "requirement_misconfigured",
        }
    }

    /// The `error` code of the challenge (RFC 6750 §3.1, RFC 9449 §7.1, RFC 9470 §3), or
    /// `None` for a bare challenge or a server-side failure.
    pub fn error_code(self) -> Option<&'static str> {
        use ErrorKind::*;
        match self {
            MissingCredentials | SchemeNotAccepted => None,
            InsufficientUserAuthentication => Some("insufficient_user_authentication"),
            _ if self.is_proof_fault() => Some("invalid_dpop_proof"),
            _ => match self.status() {
                StatusCode::BAD_REQUEST => Some("invalid_request"),
                StatusCode::UNAUTHORIZED => Some("invalid_token"),
                StatusCode::FORBIDDEN => Some("insufficient_scope"),
                _ => None,
            },
        }
    }

    /// A fault of the DPoP proof rather than of the token: its challenge is the `DPoP` one.
    pub fn is_proof_fault(self) -> bool {
        use ErrorKind::*;
        matches!(
            self,
            MissingDpopProof
                | MalformedDpopProof
                | DpopAlgorithmNotAllowed
                | InvalidDpopKey
                | InvalidDpopSignature
                | DpopMethodMismatch
                | DpopUriMismatch
                | DpopProofExpired
                | DpopTokenHashMismatch
                | DpopKeyMismatch
                | DpopProofReplayed
        )
    }

    /// The HTTP status this kind is answered with.
    pub fn status(self) -> StatusCode {
        use ErrorKind::*;
        // Exhaustive on purpose: a new kind must choose its status here.
        match self {
            MultipleAuthorizationHeaders
            | CommaJoinedCredentials
            | MalformedAuthorizationHeader
            | MultipleDpopProofs
            | ConflictingCredentials => StatusCode::BAD_REQUEST,
            MissingCredentials
            | SchemeNotAccepted
            | TokenTooLong
            | MalformedToken
            | UnsupportedAlgorithm
            | AlgorithmNotAllowed
            | CriticalHeader
            | WrongTokenType
            | InvalidKeyId
            | MissingKeyId
            | UnknownKey
            | KeyAlgorithmMismatch
            | InvalidSignature
            | IssuerMismatch
            | AudienceMismatch
            | MissingExpiry
            | Expired
            | NotYetValid
            | IssuedInFuture
            | LifetimeTooLong
            | TooOld
            | InvalidClaimType
            | MissingRequiredClaim
            | ClaimsShape
            | BoundTokenAsBearer
            | UnsupportedConfirmation
            | UnboundToken
            | MissingDpopProof
            | MalformedDpopProof
            | DpopAlgorithmNotAllowed
            | InvalidDpopKey
            | InvalidDpopSignature
            | DpopMethodMismatch
            | DpopUriMismatch
            | DpopProofExpired
            | DpopTokenHashMismatch
            | DpopKeyMismatch
            | DpopProofReplayed
            | InsufficientUserAuthentication => StatusCode::UNAUTHORIZED,
            InsufficientScope => StatusCode::FORBIDDEN,
            KeysUnavailable | GrantsUnavailable | ReplayCheckUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syntax::is_quoted_safe;

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
            MultipleDpopProofs,
            ConflictingCredentials,
            SchemeNotAccepted,
            BoundTokenAsBearer,
            UnsupportedConfirmation,
            UnboundToken,
            MissingDpopProof,
            MalformedDpopProof,
            DpopAlgorithmNotAllowed,
            InvalidDpopKey,
            InvalidDpopSignature,
            DpopMethodMismatch,
            DpopUriMismatch,
            DpopProofExpired,
            DpopTokenHashMismatch,
            DpopKeyMismatch,
            DpopProofReplayed,
            InsufficientUserAuthentication,
            ReplayCheckUnavailable,
        ];
        let names: std::collections::HashSet<_> = all.iter().map(|kind| kind.name()).collect();
        assert_eq!(names.len(), all.len(), "names are distinct");
        assert!(names.contains("dpop_proof_replayed") && names.contains("keys_unavailable"));
        for kind in all {
            assert!(
                kind.name()
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                "{kind:?}"
            );
            // Also valid as a gRPC `grpc-message` without percent-encoding.
            assert!(
                kind.description()
                    .bytes()
                    .all(|b| is_quoted_safe(b) && b != b'%'),
                "{kind:?}"
            );
        }
    }
}
