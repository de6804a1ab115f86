//! [`Validator`]: from a token string to a verified principal, for one issuer.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use super::backend::verify_signature;
use super::claims::{
    RegisteredClaims, Rounding, audiences, confirmation, numeric_date, optional_date,
    optional_string, owned_string,
};
use super::tenants::IssuerTemplate;
use crate::clock::Clock;
use crate::error::{AuthError, ErrorKind};
use crate::grant::ScopeSource;
use crate::jose::{self, AlgorithmSet, CompactToken, TokenType, VerifyingKey};
use crate::jwks::{FetchError, Immediate, KeyCache, KeyError, KeySeenIn, KeyStatus};
use crate::principal::{Authenticated, Confirmation, VerifiedToken};

/// Validates bearer access tokens of one issuer.
///
/// Cheap to clone: clones share the configuration and the key cache.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use scopegate::Validator;
///
/// let validator = Validator::builder("https://issuer.example.com/")
///     .audience("https://api.example.com")
///     .build()?;
///
/// // Outside a tower stack (a WebSocket upgrade, a queue consumer), validate directly:
/// let token = "eyJ...";
/// match validator.validate(token).await {
///     Ok(auth) => println!("hello {:?}", auth.subject()),
///     Err(error) => println!("refused: {error}"),
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Validator {
    inner: Arc<Settings>,
}

/// A built validator's settings, checked by [`ValidatorBuilder::build`](crate::ValidatorBuilder::build).
pub(crate) struct Settings {
    pub(crate) issuer: Arc<str>,
    pub(crate) audiences: Box<[Box<str>]>,
    /// For a multi-tenant issuer (`.../{tenantid}/v2.0`): the template and accepted tenants.
    pub(crate) template: Option<IssuerTemplate>,
    /// Cognito mode: the app clients whose access tokens (no `aud`) are accepted.
    pub(crate) cognito_clients: Box<[Box<str>]>,
    pub(crate) algorithms: AlgorithmSet,
    pub(crate) leeway: i64,
    pub(crate) max_lifetime: Option<i64>,
    pub(crate) max_age: Option<i64>,
    pub(crate) require_rfc9068: bool,
    pub(crate) max_token_bytes: usize,
    pub(crate) scope_sources: Arc<[ScopeSource]>,
    pub(crate) keys: Arc<KeyCache>,
    pub(crate) clock: Arc<dyn Clock>,
    /// Signatures verified, for the token cache's tests.
    #[cfg(test)]
    pub(crate) verifications: std::sync::atomic::AtomicUsize,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator")
            .field("issuer", &self.inner.issuer)
            .field("audiences", &self.inner.audiences)
            .finish_non_exhaustive()
    }
}

/// The result of the synchronous part of validation.
pub(crate) enum Outcome {
    Done(Result<Authenticated, ErrorKind>),
    /// The key is not cached; a fetch may supply it.
    AwaitKeys(Box<PendingValidation>),
}

/// A parsed token waiting for its key.
pub(crate) struct PendingValidation {
    validator: Validator,
    signing_input: Box<[u8]>,
    token: CompactToken,
    claims: RegisteredClaims,
    /// Called with the principal once verified (the token cache remembers it).
    on_verified: Option<OnVerified>,
    /// The key the signature already failed with: after the refetch, only another key may
    /// verify it.
    failed_with: Option<Arc<VerifyingKey>>,
}

impl PendingValidation {
    pub(crate) async fn finish(self: Box<Self>) -> Result<Authenticated, ErrorKind> {
        let key = self
            .validator
            .inner
            .keys
            .lookup_after_refetch(self.token.kid.as_deref(), self.token.algorithm)
            .await
            .map_err(refusal_for)?;
        if self
            .failed_with
            .as_ref()
            .is_some_and(|failed| Arc::ptr_eq(failed, &key))
        {
            return Err(ErrorKind::InvalidSignature);
        }
        let auth =
            self.validator
                .verify_and_check(&self.signing_input, self.token, self.claims, &key)?;
        if let Some(on_verified) = self.on_verified {
            on_verified(&auth);
        }
        Ok(auth)
    }

    /// Calls `on_verified` with the principal once the token is verified.
    pub(crate) fn then(mut self: Box<Self>, on_verified: OnVerified) -> Box<Self> {
        self.on_verified = Some(on_verified);
        self
    }
}

/// What to do with a principal verified after waiting for keys.
pub(crate) type OnVerified = Box<dyn FnOnce(&Authenticated) + Send>;

/// A cached principal checked again: what time changes, and whether its key still stands.
pub(crate) enum Recheck {
    Valid,
    /// Time has refused it (expired, say).
    Refused(ErrorKind),
    /// The key set no longer holds the key that verified it: validate in full.
    KeyChanged,
}

/// What each key-cache answer means for the request: the one place that maps them.
fn refusal_for(error: KeyError) -> ErrorKind {
    match error {
        KeyError::Ambiguous => ErrorKind::MissingKeyId,
        KeyError::Unknown => ErrorKind::UnknownKey,
        KeyError::Unavailable => ErrorKind::KeysUnavailable,
    }
}

impl Validator {
    #[cfg(test)]
    pub(crate) fn settings(&self) -> &Settings {
        &self.inner
    }

    pub(crate) fn from_settings(settings: Settings) -> Self {
        Validator {
            inner: Arc::new(settings),
        }
    }

    /// The configured issuer (for a multi-tenant issuer, the template).
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    /// The issuer template of a multi-tenant issuer.
    pub(crate) fn template(&self) -> Option<&IssuerTemplate> {
        self.inner.template.as_ref()
    }

    /// The first configured audience: the default realm of challenges.
    pub(crate) fn first_audience(&self) -> &str {
        self.inner.audiences.first().map_or("", |audience| audience)
    }

    pub(crate) fn clock(&self) -> Arc<dyn Clock> {
        self.inner.clock.clone()
    }

    /// Seconds of clock skew tolerated, for step-up requirements on `auth_time`.
    pub(crate) fn leeway(&self) -> i64 {
        self.inner.leeway
    }

    pub(crate) fn max_token_bytes(&self) -> usize {
        self.inner.max_token_bytes
    }

    /// Validates `token` (the part after `Bearer `), fetching keys if needed. The principal
    /// grants its own scope claims only: role policies and wildcards are the layer's.
    ///
    /// A token bound to a key (`cnf`, e.g. DPoP's `cnf.jkt`) is refused
    /// ([`ErrorKind::BoundTokenAsBearer`](crate::ErrorKind::BoundTokenAsBearer)): its proof
    /// of possession comes with the request, which only the [`AuthLayer`](crate::AuthLayer)
    /// sees.
    pub async fn validate(&self, token: &str) -> Result<Authenticated, AuthError> {
        let token = token.as_bytes();
        let outcome = match self.validate_cached(token) {
            Outcome::Done(outcome) => outcome,
            Outcome::AwaitKeys(pending) => pending.finish().await,
        };
        outcome.and_then(bearer_only).map_err(AuthError::new)
    }

    /// Fetches the key set now unless a usable one is cached, and reports whether keys can be
    /// had. Requests never need this (keys are fetched on first use); call it at startup or
    /// from a readiness probe to know the issuer is reachable. Respects the refetch cooldown.
    /// The error's [`kind`](FetchError::kind) tells why the keys could not be had (a refused
    /// connection, a timeout, a bad status, ...).
    pub async fn ready(&self) -> Result<(), FetchError> {
        self.inner.keys.ready().await
    }

    /// The state of this issuer's keys: loaded or not, how many, how old, and how the last
    /// fetch went. A read: it never fetches (call [`ready`](Self::ready) for that) and never
    /// waits. With the `metrics` feature it also updates the `scopegate_jwks_keys` and
    /// `scopegate_jwks_age_seconds` gauges.
    pub fn key_status(&self) -> KeyStatus {
        self.inner.keys.status()
    }

    /// Whether a usable key set is held; if not, starts a fetch in the background (within the
    /// refetch cooldown).
    pub(crate) fn keys_loaded_or_start(&self) -> bool {
        self.inner.keys.loaded_or_start()
    }

    /// Everything that needs no waiting: parsing, header and issuer checks, and — when the key
    /// is cached, the usual case — the signature and the remaining claims.
    pub(crate) fn validate_cached(&self, token: &[u8]) -> Outcome {
        match self.check_before_key(token) {
            Ok((compact, claims)) => self.with_key(token, compact, claims),
            Err(kind) => Outcome::Done(Err(kind)),
        }
    }

    /// Parsing and the checks that need no key: they refuse a token before it can cause a
    /// fetch.
    fn check_before_key(
        &self,
        token: &[u8],
    ) -> Result<(CompactToken, RegisteredClaims), ErrorKind> {
        let settings = &*self.inner;
        let compact = jose::parse(token, settings.max_token_bytes)?;
        let claims = RegisteredClaims::read(&compact.payload, &settings.scope_sources)?;
        if !settings.algorithms.contains(compact.algorithm) {
            return Err(ErrorKind::AlgorithmNotAllowed);
        }
        let typ_ok = match compact.typ {
            TokenType::AccessToken => true,
            TokenType::Absent | TokenType::Jwt => !settings.require_rfc9068,
            TokenType::Other => false,
        };
        if !typ_ok {
            return Err(ErrorKind::WrongTokenType);
        }
        let issuer_ok = match (optional_string(&claims.iss), &settings.template) {
            (Ok(Some(iss)), None) => iss == &*settings.issuer,
            (Ok(Some(iss)), Some(template)) => {
                template.spells(iss, optional_string(&claims.tid).ok().flatten())
            }
            _ => false,
        };
        if issuer_ok {
            Ok((compact, claims))
        } else {
            Err(ErrorKind::IssuerMismatch)
        }
    }

    fn with_key(&self, token: &[u8], compact: CompactToken, claims: RegisteredClaims) -> Outcome {
        let signing_input = &token[..compact.signing_input_len];
        match self
            .inner
            .keys
            .lookup(compact.kid.as_deref(), compact.algorithm)
        {
            Immediate::Key(key) => match self.verify(signing_input, &compact, &key) {
                Ok(()) => Outcome::Done(self.check_claims(compact, claims, &key)),
                // A known kid whose signature fails: the issuer may have replaced the key in
                // place (a development IdP restarting). Like an unknown kid, this may cause
                // one refetch, within the same cooldown, never more.
                Err(ErrorKind::InvalidSignature) if self.inner.keys.refetch_possible() => {
                    Outcome::AwaitKeys(Box::new(PendingValidation {
                        validator: self.clone(),
                        signing_input: signing_input.into(),
                        token: compact,
                        claims,
                        on_verified: None,
                        failed_with: Some(key),
                    }))
                }
                Err(kind) => Outcome::Done(Err(kind)),
            },
            Immediate::Rejected(error) => Outcome::Done(Err(refusal_for(error))),
            Immediate::AwaitRefetch => Outcome::AwaitKeys(Box::new(PendingValidation {
                validator: self.clone(),
                signing_input: signing_input.into(),
                token: compact,
                claims,
                on_verified: None,
                failed_with: None,
            })),
        }
    }

    fn verify_and_check(
        &self,
        signing_input: &[u8],
        compact: CompactToken,
        claims: RegisteredClaims,
        key: &Arc<VerifyingKey>,
    ) -> Result<Authenticated, ErrorKind> {
        self.verify(signing_input, &compact, key)?;
        self.check_claims(compact, claims, key)
    }

    /// The key may be used with the token's algorithm, and the signature verifies.
    fn verify(
        &self,
        signing_input: &[u8],
        compact: &CompactToken,
        key: &VerifyingKey,
    ) -> Result<(), ErrorKind> {
        if !key.permitted.contains(compact.algorithm) {
            return Err(ErrorKind::KeyAlgorithmMismatch);
        }
        #[cfg(test)]
        self.inner
            .verifications
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        verify_signature(compact.algorithm, key, signing_input, &compact.signature)
    }

    /// Checks a principal verified before, for the token cache; `seen`: its entry's key set.
    pub(crate) fn recheck(&self, auth: &Authenticated, seen: &KeySeenIn) -> Recheck {
        let (token, now) = (auth.verified(), self.inner.clock.now());
        let dates = (token.expires_at, token.not_before, token.issued_at);
        if let Err(kind) = self.time_rules(now, dates) {
            return Recheck::Refused(kind);
        }
        if !self.tenant_accepted(&token.issuer) {
            return Recheck::Refused(ErrorKind::IssuerMismatch);
        }
        // The key set must still hold the very key that verified the signature (a due refresh
        // starts here as it would for a new token).
        if self.inner.keys.still_holds(
            token.key_id.as_deref(),
            token.algorithm,
            &token.verified_with,
            now,
            seen,
        ) {
            Recheck::Valid
        } else {
            Recheck::KeyChanged
        }
    }

    /// The claim rules after the signature: audience, times, types.
    fn check_claims(
        &self,
        compact: CompactToken,
        mut claims: RegisteredClaims,
        key: &Arc<VerifyingKey>,
    ) -> Result<Authenticated, ErrorKind> {
        let settings = &*self.inner;
        if let Ok(Some(iss)) = optional_string(&claims.iss)
            && !self.tenant_accepted(iss)
        {
            return Err(ErrorKind::IssuerMismatch);
        }
        let cognito = !settings.cognito_clients.is_empty();
        if cognito {
            // Cognito access tokens carry no `aud`: the app client and `token_use` stand in.
            self.check_cognito(&claims)?;
        }
        // The claims' strings move into the principal: nothing is copied.
        let audience = match claims.aud.take() {
            None if cognito => Vec::new(),
            aud => {
                let audience = audiences(aud).ok_or(ErrorKind::AudienceMismatch)?;
                if !audience
                    .iter()
                    .any(|aud| settings.audiences.iter().any(|ours| **ours == **aud))
                {
                    return Err(ErrorKind::AudienceMismatch);
                }
                audience
            }
        };
        let times = self.check_times(&claims)?;
        let subject = owned_string(claims.sub.take())?;
        let jwt_id = owned_string(claims.jti.take())?;
        let client_id = owned_string(claims.client_id.take())?;
        let rfc9068_complete = subject.is_some()
            && client_id.is_some()
            && jwt_id.is_some()
            && times.issued_at.is_some();
        if settings.require_rfc9068 && !rfc9068_complete {
            return Err(ErrorKind::MissingRequiredClaim);
        }
        let authorized_party = owned_string(claims.azp.take())?;
        Ok(Authenticated::new(VerifiedToken {
            // A template's tokens each name their tenant's issuer: the principal keeps it.
            issuer: match (&settings.template, optional_string(&claims.iss)) {
                (Some(_), Ok(Some(iss))) => Arc::from(iss),
                _ => settings.issuer.clone(),
            },
            subject,
            audience,
            expires_at: times.expires_at,
            issued_at: times.issued_at,
            not_before: times.not_before,
            jwt_id,
            client_id,
            authorized_party,
            algorithm: compact.algorithm,
            key_id: compact.kid,
            payload: compact.payload.into_boxed_slice(),
            scope_sources: settings.scope_sources.clone(),
            scope_claims: claims.scope_claims,
            granted: OnceLock::new(),
            verified_with: key.clone(),
            confirmation: confirmation(&claims.cnf),
        }))
    }

    /// For a template issuer: whether the tenant `iss` names is accepted now. Always `true` for
    /// a fixed issuer.
    fn tenant_accepted(&self, iss: &str) -> bool {
        match &self.inner.template {
            None => true,
            Some(template) => template
                .tenant_in(iss)
                .is_some_and(|tenant| template.accepts_tenant(tenant)),
        }
    }

    /// Cognito mode: `token_use` must be `access` (an ID token's `aud` is the app client, so it
    /// must never pass as an access token), and `client_id` one of the configured app clients.
    fn check_cognito(&self, claims: &RegisteredClaims) -> Result<(), ErrorKind> {
        if !matches!(&claims.token_use, Some(serde_json::Value::String(used)) if used == "access") {
            return Err(ErrorKind::WrongTokenType);
        }
        match optional_string(&claims.client_id)? {
            Some(client)
                if self
                    .inner
                    .cognito_clients
                    .iter()
                    .any(|ours| **ours == *client) =>
            {
                Ok(())
            }
            _ => Err(ErrorKind::AudienceMismatch),
        }
    }

    /// `exp`, `nbf`, `iat` with the leeway, and the optional lifetime and age limits.
    fn check_times(&self, claims: &RegisteredClaims) -> Result<Times, ErrorKind> {
        let exp = numeric_date(&claims.exp, Rounding::Down).ok_or(ErrorKind::MissingExpiry)?;
        let nbf = optional_date(&claims.nbf, ErrorKind::NotYetValid)?;
        let iat = optional_date(&claims.iat, ErrorKind::IssuedInFuture)?;
        self.time_rules(self.inner.clock.now(), (exp, nbf, iat))?;
        Ok(Times {
            expires_at: exp,
            not_before: nbf,
            issued_at: iat,
        })
    }

    /// The rules on the dates at `now`: on every new token and every hit of the token cache.
    fn time_rules(&self, now: Duration, (exp, nbf, iat): Dates) -> Result<(), ErrorKind> {
        let settings = &*self.inner;
        let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
        let leeway = settings.leeway;
        if now >= exp.saturating_add(leeway) {
            return Err(ErrorKind::Expired);
        }
        if nbf.is_some_and(|nbf| now.saturating_add(leeway) < nbf) {
            return Err(ErrorKind::NotYetValid);
        }
        if iat.is_some_and(|iat| now.saturating_add(leeway) < iat) {
            return Err(ErrorKind::IssuedInFuture);
        }
        if let Some(max) = settings.max_lifetime {
            let iat = iat.ok_or(ErrorKind::LifetimeTooLong)?;
            if exp.saturating_sub(iat) > max {
                return Err(ErrorKind::LifetimeTooLong);
            }
        }
        if let Some(max) = settings.max_age {
            let iat = iat.ok_or(ErrorKind::TooOld)?;
            if now.saturating_sub(iat) > max.saturating_add(leeway) {
                return Err(ErrorKind::TooOld);
            }
        }
        Ok(())
    }
}

/// `exp`, `nbf` and `iat`, in seconds since the epoch.
type Dates = (i64, Option<i64>, Option<i64>);

struct Times {
    expires_at: i64,
    not_before: Option<i64>,
    issued_at: Option<i64>,
}

/// A token validated on its own is a bearer token: one bound to a key needs the request's
/// proof, which only the layer checks.
pub(crate) fn bearer_only(auth: Authenticated) -> Result<Authenticated, ErrorKind> {
    match auth.confirmation() {
        Confirmation::None => Ok(auth),
        Confirmation::Jkt(_) => Err(ErrorKind::BoundTokenAsBearer),
        Confirmation::Unsupported => Err(ErrorKind::UnsupportedConfirmation),
    }
}
