//! From a token string to verified claims: [`Validator`] and its builder.

mod token;

pub(crate) use token::unverified_issuer;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use jsonwebtoken::crypto::CryptoProvider;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use crate::claims::{Authenticated, AuthenticatedParts};
use crate::clock::{Clock, SystemClock};
use crate::error::{AuthError, ErrorKind, Realm};
use crate::jwks::keys::{AlgorithmSet, KeySet, VerifyingKey};
use crate::jwks::{CachePolicy, FetchError, Immediate, JwksFetcher, KeyCache, Remote, check_url};
use crate::scope::{CachedResolver, GrantResolver, RolePolicy, ScopeSource};
use token::{Member, ParsedToken, RawClaims, TokenType};

#[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
compile_error!(
    "scopegate needs a signature backend: enable the `aws-lc-rs` or `rust-crypto` feature"
);

/// The signature backend, chosen here rather than through jsonwebtoken's process-wide default,
/// which panics when both backends are compiled in (e.g. under `--all-features`).
#[cfg(feature = "aws-lc-rs")]
static PROVIDER: &CryptoProvider = &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER;
#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
static PROVIDER: &CryptoProvider = &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;

/// The default cap on a token's length, in bytes.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;
/// The default clock skew allowance.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);
/// The largest leeway the builder accepts.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);

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
    inner: Arc<Inner>,
}

struct Inner {
    issuer: Arc<str>,
    audiences: Box<[Box<str>]>,
    algorithms: AlgorithmSet,
    leeway: i64,
    max_lifetime: Option<i64>,
    max_age: Option<i64>,
    require_rfc9068: bool,
    max_token_bytes: usize,
    realm: Option<Realm>,
    scope_sources: Arc<[ScopeSource]>,
    wildcard_grants: bool,
    role_policy: Option<Arc<RolePolicy>>,
    resolver: Option<Arc<CachedResolver>>,
    keys: Arc<KeyCache>,
    clock: Arc<dyn Clock>,
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
    signing_input: Box<str>,
    parsed: ParsedToken,
}

impl PendingValidation {
    pub(crate) async fn finish(self: Box<Self>) -> Result<Authenticated, ErrorKind> {
        let validator = &self.validator.inner;
        let key = validator
            .keys
            .lookup_after_refetch(self.parsed.kid.as_deref())
            .await?;
        self.validator
            .verify_and_check(&self.signing_input, self.parsed, &key)
    }
}

impl Validator {
    /// Starts configuring a validator for tokens whose `iss` is exactly `issuer`.
    pub fn builder(issuer: impl Into<String>) -> ValidatorBuilder {
        ValidatorBuilder::new(issuer.into())
    }

    /// The configured issuer.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    pub(crate) fn max_token_bytes(&self) -> usize {
        self.inner.max_token_bytes
    }

    pub(crate) fn realm(&self) -> Option<&Realm> {
        self.inner.realm.as_ref()
    }

    pub(crate) fn error(&self, kind: ErrorKind) -> AuthError {
        AuthError::with_realm(kind, self.inner.realm.clone())
    }

    /// Validates `token` (the part after `Bearer `), fetching keys if needed.
    pub async fn validate(&self, token: &str) -> Result<Authenticated, AuthError> {
        let outcome = match self.validate_cached(token) {
            Outcome::Done(outcome) => outcome,
            Outcome::AwaitKeys(pending) => pending.finish().await,
        };
        outcome.map_err(|kind| self.error(kind))
    }

    /// Fetches the key set now unless a usable one is cached, and reports whether keys can be
    /// had. Requests never need this (keys are fetched on first use); call it at startup or
    /// from a readiness probe to know the issuer is reachable. Respects the refetch cooldown.
    pub async fn ready(&self) -> Result<(), FetchError> {
        self.inner.keys.ready().await.map_err(FetchError::new)
    }

    /// Everything that needs no waiting: parsing, header and issuer checks, and — when the key
    /// is cached, the usual case — the signature and the remaining claims.
    pub(crate) fn validate_cached(&self, token: &str) -> Outcome {
        let inner = &self.inner;
        let parsed = match token::parse(token, inner.max_token_bytes, &inner.scope_sources) {
            Ok(parsed) => parsed,
            Err(kind) => return Outcome::Done(Err(kind)),
        };
        if let Err(kind) = self.check_before_key(&parsed) {
            return Outcome::Done(Err(kind));
        }
        let signing_input = &token[..parsed.signing_input_len];
        match inner.keys.lookup(parsed.kid.as_deref()) {
            Immediate::Key(key) => {
                Outcome::Done(self.verify_and_check(signing_input, parsed, &key))
            }
            Immediate::Rejected(kind) => Outcome::Done(Err(kind)),
            Immediate::AwaitRefetch => Outcome::AwaitKeys(Box::new(PendingValidation {
                validator: self.clone(),
                signing_input: signing_input.into(),
                parsed,
            })),
        }
    }

    /// Checks that need no key: they refuse a token before it can cause a fetch.
    fn check_before_key(&self, parsed: &ParsedToken) -> Result<(), ErrorKind> {
        let inner = &self.inner;
        if !inner.algorithms.contains(parsed.algorithm) {
            return Err(ErrorKind::AlgorithmNotAllowed);
        }
        let typ_ok = match parsed.typ {
            TokenType::AccessToken => true,
            TokenType::Absent | TokenType::Jwt => !inner.require_rfc9068,
            TokenType::Other => false,
        };
        if !typ_ok {
            return Err(ErrorKind::WrongTokenType);
        }
        match parsed.claims.iss.as_str() {
            Ok(Some(iss)) if iss == &*inner.issuer => Ok(()),
            _ => Err(ErrorKind::IssuerMismatch),
        }
    }

    fn verify_and_check(
        &self,
        signing_input: &str,
        parsed: ParsedToken,
        key: &VerifyingKey,
    ) -> Result<Authenticated, ErrorKind> {
        if !key.permitted.contains(parsed.algorithm) {
            return Err(ErrorKind::KeyAlgorithmMismatch);
        }
        verify_signature(parsed.algorithm, &key.key, signing_input, &parsed.signature)?;
        self.check_claims(parsed)
    }

    fn check_claims(&self, parsed: ParsedToken) -> Result<Authenticated, ErrorKind> {
        let inner = &self.inner;
        let claims = &parsed.claims;
        let audience = audiences(&claims.aud).ok_or(ErrorKind::AudienceMismatch)?;
        if !audience
            .iter()
            .any(|aud| inner.audiences.iter().any(|ours| **ours == **aud))
        {
            return Err(ErrorKind::AudienceMismatch);
        }

        let now = i64::try_from(inner.clock.now().as_secs()).unwrap_or(i64::MAX);
        let leeway = inner.leeway;
        let exp = numeric_date(&claims.exp, Rounding::Down).ok_or(ErrorKind::MissingExpiry)?;
        if now >= exp.saturating_add(leeway) {
            return Err(ErrorKind::Expired);
        }
        let nbf = optional_date(&claims.nbf, ErrorKind::NotYetValid)?;
        if nbf.is_some_and(|nbf| now.saturating_add(leeway) < nbf) {
            return Err(ErrorKind::NotYetValid);
        }
        let iat = optional_date(&claims.iat, ErrorKind::IssuedInFuture)?;
        if iat.is_some_and(|iat| now.saturating_add(leeway) < iat) {
            return Err(ErrorKind::IssuedInFuture);
        }
        if let Some(max) = inner.max_lifetime {
            let iat = iat.ok_or(ErrorKind::LifetimeTooLong)?;
            if exp.saturating_sub(iat) > max {
                return Err(ErrorKind::LifetimeTooLong);
            }
        }
        if let Some(max) = inner.max_age {
            let iat = iat.ok_or(ErrorKind::TooOld)?;
            if now.saturating_sub(iat) > max.saturating_add(leeway) {
                return Err(ErrorKind::TooOld);
            }
        }

        let ParsedToken {
            algorithm,
            kid,
            payload,
            claims,
            ..
        } = parsed;
        let RawClaims {
            sub,
            jti,
            client_id,
            captured,
            ..
        } = claims;
        for member in [&sub, &jti, &client_id] {
            if member.as_str().is_err() {
                return Err(ErrorKind::InvalidClaimType);
            }
        }
        if inner.require_rfc9068 {
            let present = |member: &Member| matches!(member.as_str(), Ok(Some(_)));
            if !(present(&sub) && present(&client_id) && present(&jti) && iat.is_some()) {
                return Err(ErrorKind::MissingRequiredClaim);
            }
        }
        Ok(Authenticated::new(AuthenticatedParts {
            issuer: inner.issuer.clone(),
            subject: sub.into_string(),
            audience,
            expires_at: exp,
            issued_at: iat,
            not_before: nbf,
            jwt_id: jti.into_string(),
            client_id: client_id.into_string(),
            algorithm,
            key_id: kid,
            payload: payload.into_boxed_slice(),
            scope_sources: inner.scope_sources.clone(),
            scope_claims: captured.into_iter().map(Member::into_value).collect(),
            wildcard_grants: inner.wildcard_grants,
            role_policy: inner.role_policy.clone(),
            resolver: inner.resolver.clone(),
            granted: OnceLock::new(),
        }))
    }
}

fn verify_signature(
    algorithm: Algorithm,
    key: &DecodingKey,
    signing_input: &str,
    signature: &[u8],
) -> Result<(), ErrorKind> {
    let verifier = (PROVIDER.verifier_factory)(&algorithm, key)
        .map_err(|_| ErrorKind::KeyAlgorithmMismatch)?;
    // The verifier trait takes the signature as a `Vec<u8>`.
    verifier
        .verify(signing_input.as_bytes(), &signature.to_vec())
        .map_err(|_| ErrorKind::InvalidSignature)
}

/// `aud`: a string, or a non-empty array of strings.
fn audiences(aud: &Member) -> Option<Vec<String>> {
    match aud.as_value()? {
        Value::String(one) => Some(vec![one.clone()]),
        Value::Array(many) if !many.is_empty() => many
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    }
}

#[derive(Clone, Copy)]
enum Rounding {
    /// For `exp`: a fractional expiry counts as the whole second before it.
    Down,
    /// For `nbf`/`iat`: a fractional start counts as the next whole second.
    Up,
}

/// A NumericDate (RFC 7519 §2): a JSON number of seconds, possibly fractional.
fn numeric_date(member: &Member, rounding: Rounding) -> Option<i64> {
    let Some(Value::Number(number)) = member.as_value() else {
        return None;
    };
    if let Some(seconds) = number.as_i64() {
        return Some(seconds);
    }
    if number.as_u64().is_some() {
        return Some(i64::MAX);
    }
    let seconds = number.as_f64()?;
    // `as` saturates at the i64 bounds.
    Some(match rounding {
        Rounding::Down => seconds.floor() as i64,
        Rounding::Up => seconds.ceil() as i64,
    })
}

fn optional_date(member: &Member, wrong_type: ErrorKind) -> Result<Option<i64>, ErrorKind> {
    match member {
        Member::Absent => Ok(None),
        present => numeric_date(present, Rounding::Up)
            .map(Some)
            .ok_or(wrong_type),
    }
}

/// A configuration mistake found by [`ValidatorBuilder::build`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "scopegate configuration: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}

impl ConfigError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        ConfigError(message.into())
    }
}

enum KeySource {
    Discovery,
    JwksUrl(String),
    Jwks(Vec<u8>),
}

/// Configures a [`Validator`]. Every setting has a secure default; only the audience is required.
///
/// | setting | default | why |
/// |---|---|---|
/// | keys | OIDC discovery at `{issuer}/.well-known/openid-configuration` | the document's `issuer` must equal ours (OIDC Discovery §4.3) |
/// | algorithms | RS256/384/512, PS256/384/512, ES256/384, EdDSA | asymmetric only (RFC 8725 §3.1); HS only via [`hmac_secret`](Self::hmac_secret) |
/// | leeway | 60 s, at most 300 s | clock skew between issuer and API |
/// | `typ` | absent, `JWT` or `at+jwt` | refuses ID tokens' siblings such as `dpop+jwt` (RFC 8725 §3.11) |
/// | max token size | 8 KiB | bounds work before any verification |
/// | key lifetime | 10 min, or `Cache-Control: max-age` within [5 min, 24 h] | |
/// | refetch cooldown | 30 s | an unknown `kid` triggers at most one fetch per cooldown |
/// | stale window | 1 h | keys keep working through an issuer outage this long |
pub struct ValidatorBuilder {
    issuer: String,
    audiences: Vec<String>,
    algorithms: Option<Vec<Algorithm>>,
    hmac_secrets: Vec<(Algorithm, Option<String>, Vec<u8>)>,
    leeway: Duration,
    max_lifetime: Option<Duration>,
    max_age: Option<Duration>,
    require_rfc9068: bool,
    max_token_bytes: usize,
    realm: Option<String>,
    scope_sources: Vec<ScopeSource>,
    wildcard_grants: bool,
    role_policy: Option<RolePolicy>,
    resolver: Option<Arc<dyn GrantResolver>>,
    resolver_cache: (Duration, usize),
    source: KeySource,
    fetcher: Option<Arc<dyn JwksFetcher>>,
    clock: Arc<dyn Clock>,
    cache: CachePolicy,
}

impl ValidatorBuilder {
    fn new(issuer: String) -> Self {
        ValidatorBuilder {
            issuer,
            audiences: Vec::new(),
            algorithms: None,
            hmac_secrets: Vec::new(),
            leeway: DEFAULT_LEEWAY,
            max_lifetime: None,
            max_age: None,
            require_rfc9068: false,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            realm: None,
            scope_sources: ScopeSource::defaults(),
            wildcard_grants: false,
            role_policy: None,
            resolver: None,
            resolver_cache: (Duration::from_secs(60), 10_000),
            source: KeySource::Discovery,
            fetcher: None,
            clock: Arc::new(SystemClock),
            cache: CachePolicy::default(),
        }
    }

    /// Accepts tokens whose `aud` names this audience. Call again to accept several.
    /// At least one is required.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Fetches keys from this JWKS URL instead of through discovery.
    /// https only, except plain http to a loopback host.
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.source = KeySource::JwksUrl(url.into());
        self
    }

    /// Uses this JWKS document (`{"keys": [...]}`) and never fetches.
    pub fn jwks_document(mut self, document: impl Into<Vec<u8>>) -> Self {
        self.source = KeySource::Jwks(document.into());
        self
    }

    /// Verifies `algorithm` (HS256/384/512) tokens with a locally held secret (32 bytes or
    /// more). This is the only way HMAC is ever accepted: an `oct` key in a JWKS is always
    /// ignored. With `kid`, tokens naming another `kid` are refused; like any key, the secret
    /// also serves tokens without a `kid` when it is the only key configured.
    pub fn hmac_secret(
        mut self,
        algorithm: Algorithm,
        kid: Option<&str>,
        secret: impl Into<Vec<u8>>,
    ) -> Self {
        self.hmac_secrets
            .push((algorithm, kid.map(str::to_owned), secret.into()));
        if matches!(self.source, KeySource::Discovery) {
            self.source = KeySource::Jwks(br#"{"keys":[]}"#.to_vec());
        }
        self
    }

    /// The asymmetric algorithms to accept. Default: RS256/384/512, PS256/384/512, ES256/384,
    /// EdDSA.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = Some(algorithms.into_iter().collect());
        self
    }

    /// Allowed clock skew for `exp`, `nbf` and `iat`. Default 60 s; more than 300 s is refused.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Refuses tokens whose `exp - iat` exceeds this (and tokens without `iat`).
    pub fn max_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_lifetime = Some(lifetime);
        self
    }

    /// Refuses tokens issued longer ago than this (and tokens without `iat`).
    pub fn max_age(mut self, age: Duration) -> Self {
        self.max_age = Some(age);
        self
    }

    /// Strict RFC 9068: `typ` must be `at+jwt` and `sub`, `client_id`, `iat`, `jti` present.
    pub fn require_rfc9068(mut self) -> Self {
        self.require_rfc9068 = true;
        self
    }

    /// The longest token accepted, in bytes. Default 8 KiB.
    pub fn max_token_bytes(mut self, bytes: usize) -> Self {
        self.max_token_bytes = bytes;
        self
    }

    /// The `realm` named in `WWW-Authenticate` challenges. Default: the first audience, when it
    /// is printable ASCII without quotes or backslashes.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }

    /// Adds a claim to the scope sources (after the defaults `scope`, `scp`, `permissions`).
    pub fn scope_source(mut self, source: impl Into<ScopeSource>) -> Self {
        self.scope_sources.push(source.into());
        self
    }

    /// Replaces the scope sources: only these claims grant scopes, in this order.
    ///
    /// ```
    /// use scopegate::{ScopeSource, Validator};
    ///
    /// let builder = Validator::builder("https://issuer.example/")
    ///     .audience("api")
    ///     .scope_sources([ScopeSource::PERMISSIONS, ScopeSource::claim("https://my-apis/customScopes")]);
    /// ```
    pub fn scope_sources(mut self, sources: impl IntoIterator<Item = ScopeSource>) -> Self {
        self.scope_sources = sources.into_iter().collect();
        self
    }

    /// Lets a granted scope ending in `*` (`delete:comments-in-*`) satisfy any longer required
    /// scope that starts with the part before the `*`. Off by default. It applies to granted
    /// scopes only: a path value can never contain `*`, so a request cannot widen a grant.
    pub fn wildcard_grants(mut self, enabled: bool) -> Self {
        self.wildcard_grants = enabled;
        self
    }

    /// Grants scopes from the user's roles per tenant, as `policy` defines them (see
    /// [`RolePolicy`]).
    pub fn role_policy(mut self, policy: RolePolicy) -> Self {
        self.role_policy = Some(policy);
        self
    }

    /// Asks `resolver` for extra grants when a token's own grants do not meet a requirement
    /// (see [`GrantResolver`]). Results are cached for 60 s, at most 10 000 entries, unless
    /// [`grant_resolver_cache`](Self::grant_resolver_cache) says otherwise.
    pub fn grant_resolver(mut self, resolver: impl GrantResolver) -> Self {
        self.resolver = Some(Arc::new(resolver));
        self
    }

    /// The grant resolver cache's time to live and size bound.
    pub fn grant_resolver_cache(mut self, ttl: Duration, max_entries: usize) -> Self {
        self.resolver_cache = (ttl, max_entries);
        self
    }

    /// Fetches documents with this fetcher instead of the default [`ReqwestFetcher`](crate::jwks::ReqwestFetcher).
    pub fn fetcher(mut self, fetcher: impl JwksFetcher) -> Self {
        self.fetcher = Some(Arc::new(fetcher));
        self
    }

    /// Reads time from this clock instead of the system clock.
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// How long a key set is used when the response has no `Cache-Control: max-age`.
    /// Default 10 min.
    pub fn jwks_default_lifetime(mut self, lifetime: Duration) -> Self {
        self.cache.default_lifetime = lifetime;
        self
    }

    /// The bounds `Cache-Control: max-age` is clamped to. Default 5 min to 24 h.
    pub fn jwks_lifetime_bounds(mut self, min: Duration, max: Duration) -> Self {
        self.cache.min_lifetime = min;
        self.cache.max_lifetime = max;
        self
    }

    /// Minimum time between two fetches triggered by unknown `kid`s or refreshes. Default 30 s.
    pub fn refetch_cooldown(mut self, cooldown: Duration) -> Self {
        self.cache.cooldown = cooldown;
        self
    }

    /// How long past its lifetime a key set keeps serving while the issuer cannot be reached.
    /// Default 1 h.
    pub fn stale_window(mut self, window: Duration) -> Self {
        self.cache.stale_window = window;
        self
    }

    /// How long before expiry a background refresh starts. Default 30 s (plus jitter of up to a
    /// tenth of the lifetime).
    pub fn refresh_ahead(mut self, ahead: Duration) -> Self {
        self.cache.refresh_ahead = ahead;
        self
    }

    /// The overall time limit of one key fetch (discovery and JWKS together). Default 10 s.
    pub fn fetch_timeout(mut self, timeout: Duration) -> Self {
        self.cache.fetch_timeout = timeout;
        self
    }

    /// Checks the configuration and builds the validator. No network request is made: keys are
    /// fetched on first use (or by [`Validator::ready`]), so an issuer that is down at startup
    /// does not fail startup.
    pub fn build(self) -> Result<Validator, ConfigError> {
        let fail = |message: String| Err(ConfigError(message));
        if self.issuer.is_empty() {
            return fail("the issuer is empty".into());
        }
        if self.audiences.is_empty() || self.audiences.iter().any(String::is_empty) {
            return fail("at least one non-empty audience is required".into());
        }
        if self.leeway > MAX_LEEWAY {
            return fail(format!(
                "leeway {:?} exceeds the maximum of 300 s",
                self.leeway
            ));
        }
        if self.max_token_bytes == 0 {
            return fail("max_token_bytes must be positive".into());
        }
        let asymmetric = match &self.algorithms {
            None => AlgorithmSet::ASYMMETRIC,
            Some(list) => {
                let set = AlgorithmSet::of(list.iter().copied());
                if set.intersect(AlgorithmSet::ASYMMETRIC) != set {
                    return fail(
                        "HS algorithms cannot be listed in algorithms(); use hmac_secret()".into(),
                    );
                }
                if set.is_empty() {
                    return fail("algorithms() must name at least one algorithm".into());
                }
                set
            }
        };
        let realm = match &self.realm {
            Some(realm) => match Realm::new(realm) {
                Some(realm) => Some(realm),
                None => {
                    return fail(
                        "the realm must be printable ASCII without quotes or backslashes".into(),
                    );
                }
            },
            None => Realm::new(&self.audiences[0]),
        };

        let mut algorithms = asymmetric;
        let keys = match self.source {
            KeySource::Jwks(document) => {
                let mut keys = KeySet::from_jwks_json(&document, asymmetric)
                    .map_err(|reason| ConfigError(format!("the JWKS document: {reason}")))?;
                for (algorithm, kid, secret) in self.hmac_secrets {
                    let only = AlgorithmSet::of([algorithm]);
                    if !only.intersect(AlgorithmSet::ASYMMETRIC).is_empty() {
                        return fail("hmac_secret() takes HS256, HS384 or HS512".into());
                    }
                    if secret.len() < 32 {
                        return fail("an HMAC secret must be at least 32 bytes".into());
                    }
                    algorithms = AlgorithmSet::of([algorithm]).union(algorithms);
                    keys.insert(
                        kid.map(Box::from),
                        VerifyingKey {
                            permitted: only,
                            key: DecodingKey::from_secret(&secret),
                        },
                    );
                }
                if keys.len() == 0 {
                    return fail("the JWKS document has no usable key".into());
                }
                KeyCache::fixed(keys, self.clock.clone())
            }
            remote => {
                if !self.hmac_secrets.is_empty() {
                    return fail("hmac_secret() cannot be combined with fetched keys".into());
                }
                let remote = match remote {
                    KeySource::JwksUrl(url) => Remote::Jwks(check_url(&url).map_err(ConfigError)?),
                    _ => {
                        check_url(&self.issuer).map_err(|reason| {
                            ConfigError(format!("the issuer is used for discovery: {reason}"))
                        })?;
                        let base = self.issuer.strip_suffix('/').unwrap_or(&self.issuer);
                        let url = format!("{base}/.well-known/openid-configuration");
                        Remote::Discovery {
                            url: check_url(&url).map_err(ConfigError)?,
                            issuer: self.issuer.as_str().into(),
                        }
                    }
                };
                let fetcher = match self.fetcher {
                    Some(fetcher) => fetcher,
                    None => default_fetcher()?,
                };
                KeyCache::remote(remote, fetcher, self.cache, self.clock.clone(), asymmetric)
            }
        };

        let seconds = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        Ok(Validator {
            inner: Arc::new(Inner {
                issuer: self.issuer.into(),
                audiences: self.audiences.into_iter().map(Box::from).collect(),
                algorithms,
                leeway: seconds(self.leeway),
                max_lifetime: self.max_lifetime.map(seconds),
                max_age: self.max_age.map(seconds),
                require_rfc9068: self.require_rfc9068,
                max_token_bytes: self.max_token_bytes,
                realm,
                scope_sources: self.scope_sources.into(),
                wildcard_grants: self.wildcard_grants,
                role_policy: self.role_policy.map(Arc::new),
                resolver: self.resolver.map(|resolver| {
                    let (ttl, max_entries) = self.resolver_cache;
                    Arc::new(CachedResolver::new(
                        resolver,
                        ttl,
                        max_entries,
                        self.clock.clone(),
                    ))
                }),
                keys: Arc::new(keys),
                clock: self.clock,
            }),
        })
    }
}

/// One client for every validator of the process (its connection pool is shared too): a
/// multi-tenant `Issuers` setup does not open one pool per issuer.
#[cfg(feature = "reqwest")]
fn default_fetcher() -> Result<Arc<dyn JwksFetcher>, ConfigError> {
    static SHARED: std::sync::OnceLock<crate::jwks::ReqwestFetcher> = std::sync::OnceLock::new();
    let fetcher = match SHARED.get() {
        Some(fetcher) => fetcher.clone(),
        None => {
            let fetcher = crate::jwks::ReqwestFetcher::new()
                .map_err(|error| ConfigError(error.to_string()))?;
            SHARED.get_or_init(|| fetcher).clone()
        }
    };
    Ok(Arc::new(fetcher))
}

#[cfg(not(feature = "reqwest"))]
fn default_fetcher() -> Result<Arc<dyn JwksFetcher>, ConfigError> {
    Err(ConfigError(
        "no fetcher: enable the `reqwest` feature or call fetcher()".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(json: &str) -> Member {
        Member::Present(serde_json::from_str(json).unwrap())
    }

    #[test]
    fn numeric_dates() {
        assert_eq!(numeric_date(&date("10"), Rounding::Down), Some(10));
        assert_eq!(numeric_date(&date("10.5"), Rounding::Down), Some(10));
        assert_eq!(numeric_date(&date("10.5"), Rounding::Up), Some(11));
        assert_eq!(numeric_date(&date("-3"), Rounding::Down), Some(-3));
        assert_eq!(
            numeric_date(&date("18446744073709551615"), Rounding::Down),
            Some(i64::MAX)
        );
        assert_eq!(numeric_date(&date("1e300"), Rounding::Down), Some(i64::MAX));
        assert_eq!(numeric_date(&date("\"10\""), Rounding::Down), None);
        assert_eq!(numeric_date(&date("null"), Rounding::Down), None);
        assert_eq!(numeric_date(&Member::Absent, Rounding::Down), None);
    }

    #[test]
    fn audience_forms() {
        assert_eq!(audiences(&date(r#""a""#)), Some(vec!["a".to_owned()]));
        assert_eq!(
            audiences(&date(r#"["a","b"]"#)),
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(audiences(&date("[]")), None);
        assert_eq!(audiences(&date(r#"["a",1]"#)), None);
        assert_eq!(audiences(&date("1")), None);
        assert_eq!(audiences(&date("null")), None);
        assert_eq!(audiences(&Member::Absent), None);
    }

    #[test]
    fn builder_refuses_unsafe_configuration() {
        let base = || Validator::builder("https://issuer.example/").audience("api");
        assert!(base().build().is_ok());
        let errors = [
            Validator::builder("https://issuer.example/").build(),
            Validator::builder("").audience("api").build(),
            base().leeway(Duration::from_secs(301)).build(),
            base().algorithms([Algorithm::HS256]).build(),
            base().algorithms([]).build(),
            base().realm("a\"b").build(),
            base().jwks_url("http://keys.example/jwks").build(),
            Validator::builder("http://issuer.example/")
                .audience("api")
                .build(),
            base()
                .hmac_secret(Algorithm::HS256, None, vec![1; 8])
                .build(),
            base()
                .hmac_secret(Algorithm::RS256, None, vec![1; 32])
                .build(),
            base()
                .hmac_secret(Algorithm::HS256, None, vec![1; 32])
                .jwks_url("https://issuer.example/jwks")
                .build(),
        ];
        for (index, result) in errors.into_iter().enumerate() {
            assert!(result.is_err(), "case {index} should be refused");
        }
        assert!(
            base()
                .leeway(Duration::from_secs(300))
                .jwks_url("http://127.0.0.1:1/jwks")
                .build()
                .is_ok()
        );
    }
}
