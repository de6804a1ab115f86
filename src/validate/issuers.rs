//! Several issuers behind one layer, each with its own audience, keys and options.

use std::collections::HashMap;
use std::sync::Arc;

use super::token_cache::{DEFAULT_TOKEN_CACHE_BYTES, TokenCache};
use super::validator::{Outcome, Validator, bearer_only};
use crate::error::{AuthError, ConfigError, ErrorKind};
use crate::jose::unverified_payload;
use crate::json;
use crate::jwks::KeyStatus;
use crate::observe;
use crate::principal::Authenticated;

/// The issuers an API accepts: one [`Validator`] per issuer, chosen by the token's `iss` before
/// any key is looked at.
///
/// A token naming an issuer outside the list is refused without any network request, and the
/// keys of one issuer never verify another's tokens (each validator has its own key cache).
/// Use it for one identity-provider tenant per customer, an Entra ID multi-tenant app that
/// accepts a list of tenants, or staging next to production.
///
/// ```
/// use scopegate::{AuthLayer, Issuers, Validator};
///
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let issuers = Issuers::new([
///     Validator::builder("https://tenant-a.example.com/").audience("api-a").build()?,
///     Validator::builder("https://tenant-b.example.com/").audience("api-b").build()?,
/// ])?;
/// let layer = AuthLayer::new(issuers);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Issuers {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// The first validator: its first audience is the default realm, and it is the only one
    /// when `by_issuer` is empty.
    first: Validator,
    by_issuer: HashMap<Box<str>, Validator>,
    /// Multi-tenant issuers (`.../{tenantid}/v2.0`), chosen when `iss` fits their template.
    templates: Vec<Validator>,
    /// Every validator once, in the order given: for the status.
    all: Arc<[Validator]>,
    max_token_bytes: usize,
    /// Tokens verified before; `None` when turned off.
    tokens: Option<Arc<TokenCache>>,
}

impl Issuers {
    /// Accepts tokens from each validator's issuer. Refused: an empty list, or an issuer listed
    /// twice.
    pub fn new(validators: impl IntoIterator<Item = Validator>) -> Result<Issuers, ConfigError> {
        let mut validators = validators.into_iter();
        let first = validators
            .next()
            .ok_or_else(|| ConfigError::new("Issuers::new needs at least one validator"))?;
        let mut by_issuer = HashMap::new();
        let mut templates = Vec::new();
        let mut max_token_bytes = first.max_token_bytes();
        let mut several = false;
        let mut all = vec![first.clone()];
        for validator in validators {
            several = true;
            all.push(validator.clone());
            let listed = validator.issuer() == first.issuer()
                || by_issuer.contains_key(validator.issuer())
                || templates
                    .iter()
                    .any(|other: &Validator| other.issuer() == validator.issuer());
            if listed {
                return Err(ConfigError::new(format!(
                    "issuer {:?} is listed twice",
                    validator.issuer()
                )));
            }
            max_token_bytes = max_token_bytes.max(validator.max_token_bytes());
            if validator.template().is_some() {
                templates.push(validator);
            } else {
                by_issuer.insert(Box::from(validator.issuer()), validator);
            }
        }
        if several {
            if first.template().is_some() {
                templates.insert(0, first.clone());
            } else {
                by_issuer.insert(Box::from(first.issuer()), first.clone());
            }
        }
        Ok(Issuers {
            inner: Arc::new(Inner {
                first,
                by_issuer,
                templates,
                all: all.into(),
                max_token_bytes,
                tokens: TokenCache::new(DEFAULT_TOKEN_CACHE_BYTES).map(Arc::new),
            }),
        })
    }

    /// Validates `token` with the validator of its issuer; as
    /// [`Validator::validate`], a token bound to a key is refused.
    pub async fn validate(&self, token: &str) -> Result<Authenticated, AuthError> {
        let outcome = match self.validate_cached(token.as_bytes()) {
            Outcome::Done(outcome) => outcome,
            Outcome::AwaitKeys(pending) => pending.finish().await,
        };
        outcome.and_then(bearer_only).map_err(AuthError::new)
    }

    /// The same issuers with a verified-token cache of at most `max_bytes` of tokens and
    /// claims; 0 turns it off. See [`AuthLayer::verified_token_cache`](crate::AuthLayer::verified_token_cache).
    pub fn with_token_cache(&self, max_bytes: usize) -> Issuers {
        let inner = &*self.inner;
        Issuers {
            inner: Arc::new(Inner {
                first: inner.first.clone(),
                by_issuer: inner.by_issuer.clone(),
                templates: inner.templates.clone(),
                all: inner.all.clone(),
                max_token_bytes: inner.max_token_bytes,
                tokens: TokenCache::new(max_bytes).map(Arc::new),
            }),
        }
    }

    /// The state of each issuer's keys, in the order the validators were given. A read: it
    /// never fetches and never waits. See [`Validator::key_status`].
    ///
    /// ```
    /// # use scopegate::Issuers;
    /// # fn log(issuers: &Issuers) {
    /// for status in issuers.status() {
    ///     println!(
    ///         "{}: loaded {} ({} keys), last error {:?}",
    ///         status.issuer(),
    ///         status.is_loaded(),
    ///         status.key_count(),
    ///         status.last_error_kind(),
    ///     );
    /// }
    /// # }
    /// ```
    pub fn status(&self) -> Vec<KeyStatus> {
        self.inner.all.iter().map(Validator::key_status).collect()
    }

    /// Whether every issuer holds a usable key set, for a readiness endpoint: a replica that
    /// cannot verify tokens of one of its issuers should not get traffic.
    ///
    /// Keys are fetched on first use, so an issuer without keys gets a fetch started in the
    /// background here (at most one per refetch cooldown, never waited for): a probe that
    /// answers "not ready" at startup turns ready once the issuers have answered, without any
    /// request. To wait for the keys instead (at startup, say), call [`Validator::ready`].
    ///
    /// ```
    /// # use scopegate::Issuers;
    /// // GET /ready
    /// async fn ready(issuers: Issuers) -> http::StatusCode {
    ///     if issuers.is_ready() {
    ///         http::StatusCode::OK
    ///     } else {
    ///         http::StatusCode::SERVICE_UNAVAILABLE
    ///     }
    /// }
    /// ```
    pub fn is_ready(&self) -> bool {
        // Every issuer is looked at (no short circuit), so each missing key set gets its fetch
        // started.
        let mut ready = true;
        for validator in self.inner.all.iter() {
            ready &= validator.keys_loaded_or_start();
        }
        ready
    }

    /// The validator for the token's `iss`. With one issuer, that validator does every check
    /// itself; with several, the `iss` is read first (without trusting it: the chosen validator
    /// checks everything again).
    fn select(&self, token: &[u8]) -> Result<&Validator, ErrorKind> {
        let inner = &*self.inner;
        if inner.by_issuer.is_empty() && inner.templates.is_empty() {
            return Ok(&inner.first);
        }
        let payload = unverified_payload(token, inner.max_token_bytes)?;
        // Absent, not a string or repeated: no issuer of ours.
        let issuer = json::find(&payload, "iss")
            .ok()
            .and_then(|member| member.parse::<String>())
            .ok_or(ErrorKind::IssuerMismatch)?;
        // An exact issuer first; then a template it could be (the validator checks `tid`).
        inner
            .by_issuer
            .get(issuer.as_str())
            .or_else(|| {
                inner.templates.iter().find(|validator| {
                    validator
                        .template()
                        .is_some_and(|template| template.could_be(&issuer))
                })
            })
            .ok_or(ErrorKind::IssuerMismatch)
    }

    /// The token cache's answer for these exact bytes, re-checked; `None` when it holds no
    /// such token (or is off). Counts hits only: [`validate_missed`](Self::validate_missed)
    /// counts the miss if the token is then validated.
    pub(crate) fn cached(&self, token: &[u8]) -> Option<Result<Authenticated, ErrorKind>> {
        self.inner.tokens.as_ref()?.get(token)
    }

    /// A token seen before is answered from the token cache (re-checked); any other is
    /// validated by its issuer's validator and, once verified, remembered.
    pub(crate) fn validate_cached(&self, token: &[u8]) -> Outcome {
        match self.cached(token) {
            Some(known) => Outcome::Done(known),
            None => self.validate_missed(token),
        }
    }

    /// Validates in full a token [`cached`](Self::cached) did not answer for, and remembers it
    /// once verified.
    pub(crate) fn validate_missed(&self, token: &[u8]) -> Outcome {
        let cache = self.inner.tokens.as_ref();
        if cache.is_some() {
            observe::token_cache_miss();
        }
        let validator = match self.select(token) {
            Ok(validator) => validator,
            Err(kind) => return Outcome::Done(Err(kind)),
        };
        match (validator.validate_cached(token), cache) {
            (Outcome::Done(Ok(auth)), Some(cache)) => {
                cache.insert(token, &auth, validator);
                Outcome::Done(Ok(auth))
            }
            (Outcome::AwaitKeys(pending), Some(cache)) => {
                let (cache, token, validator) =
                    (cache.clone(), Box::<[u8]>::from(token), validator.clone());
                Outcome::AwaitKeys(
                    pending.then(Box::new(move |auth| cache.insert(&token, auth, &validator))),
                )
            }
            (outcome, _) => outcome,
        }
    }

    #[cfg(test)]
    pub(crate) fn token_cache(&self) -> Option<&TokenCache> {
        self.inner.tokens.as_deref()
    }

    /// The default realm of challenges: the first validator's first audience.
    pub(crate) fn default_realm(&self) -> &str {
        self.inner.first.first_audience()
    }

    /// The clock of the first validator, for the layer's caches.
    pub(crate) fn clock(&self) -> std::sync::Arc<dyn crate::clock::Clock> {
        self.inner.first.clock()
    }

    /// The leeway of the first validator, whose clock the layer reads: how far in the future a
    /// step-up requirement accepts an `auth_time`.
    pub(crate) fn leeway(&self) -> i64 {
        self.inner.first.leeway()
    }

    pub(crate) fn max_token_bytes(&self) -> usize {
        self.inner.max_token_bytes
    }
}

impl From<Validator> for Issuers {
    fn from(validator: Validator) -> Self {
        let max_token_bytes = validator.max_token_bytes();
        Issuers {
            inner: Arc::new(Inner {
                all: Arc::new([validator.clone()]),
                first: validator,
                by_issuer: HashMap::new(),
                templates: Vec::new(),
                max_token_bytes,
                tokens: TokenCache::new(DEFAULT_TOKEN_CACHE_BYTES).map(Arc::new),
            }),
        }
    }
}
