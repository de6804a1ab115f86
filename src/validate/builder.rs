//! [`ValidatorBuilder`]: one issuer's validation settings, checked by `build()` in named steps.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey};

use super::tenants::{IssuerTemplate, TenantFilter};
use super::validator::{Settings, Validator};
use crate::clock::{Clock, SystemClock};
use crate::error::ConfigError;
use crate::grant::ScopeSource;
use crate::jose::{AlgorithmSet, KeyRules, KeySet, VerifyingKey};
use crate::jwks::{CachePolicy, JwksFetcher, KeyCache, Remote, check_url, default_fetcher};

/// The default cap on a token's length, in bytes.
pub const DEFAULT_MAX_TOKEN_BYTES: usize = 8 * 1024;
/// The default clock skew allowance.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);
/// The largest leeway the builder accepts.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);

#[derive(Clone)]
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
#[derive(Clone)]
pub struct ValidatorBuilder {
    issuer: String,
    audiences: Vec<String>,
    cognito_clients: Vec<String>,
    tenants: Option<TenantFilter>,
    algorithms: Option<Vec<Algorithm>>,
    rsa_without_alg: Option<Algorithm>,
    hmac_secrets: Vec<(Algorithm, Option<String>, Vec<u8>)>,
    leeway: Duration,
    max_lifetime: Option<Duration>,
    max_age: Option<Duration>,
    require_rfc9068: bool,
    max_token_bytes: usize,
    scope_sources: Vec<ScopeSource>,
    source: KeySource,
    fetcher: Option<Arc<dyn JwksFetcher>>,
    clock: Arc<dyn Clock>,
    cache: CachePolicy,
}

impl ValidatorBuilder {
    pub(crate) fn new(issuer: String) -> Self {
        ValidatorBuilder {
            issuer,
            audiences: Vec::new(),
            cognito_clients: Vec::new(),
            tenants: None,
            algorithms: None,
            rsa_without_alg: None,
            hmac_secrets: Vec::new(),
            leeway: DEFAULT_LEEWAY,
            max_lifetime: None,
            max_age: None,
            require_rfc9068: false,
            max_token_bytes: DEFAULT_MAX_TOKEN_BYTES,
            scope_sources: ScopeSource::defaults(),
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

    /// AWS Cognito: accepts access tokens of this app client. Cognito access tokens carry no
    /// `aud`; the app client is in `client_id` and `token_use` is `"access"`. With at least one
    /// app client configured, every token must have `token_use` `"access"` (so a Cognito ID
    /// token, whose `aud` is the app client, never passes) and a `client_id` among these; a
    /// token that also has `aud` must match [`audience`](Self::audience) as well. Call again for
    /// several app clients; an audience is then optional.
    ///
    /// ```
    /// use scopegate::Validator;
    ///
    /// let validator = Validator::builder("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbCdEf123")
    ///     .cognito_app_client("1example23456789")
    ///     .build()?;
    /// # Ok::<(), scopegate::ConfigError>(())
    /// ```
    pub fn cognito_app_client(mut self, client_id: impl Into<String>) -> Self {
        self.cognito_clients.push(client_id.into());
        self
    }

    /// For an issuer template (`https://login.microsoftonline.com/{tenantid}/v2.0`): the tenants
    /// whose tokens are accepted. A token's `iss` must be the template with its own `tid`
    /// claim in place of `{tenantid}`, and `tid` one of these. One key set serves every tenant:
    /// give its URL with [`jwks_url`](Self::jwks_url) (Entra:
    /// `https://login.microsoftonline.com/common/discovery/v2.0/keys`).
    ///
    /// ```
    /// use scopegate::Validator;
    ///
    /// let validator = Validator::builder("https://login.microsoftonline.com/{tenantid}/v2.0")
    ///     .jwks_url("https://login.microsoftonline.com/common/discovery/v2.0/keys")
    ///     .audience("api://rooms")
    ///     .tenants(["72f988bf-86f1-41af-91ab-2d7cd011db47"])
    ///     .build()?;
    /// # Ok::<(), scopegate::ConfigError>(())
    /// ```
    pub fn tenants(mut self, tenants: impl IntoIterator<Item = impl Into<String>>) -> Self {
        let tenants: Vec<Box<str>> = tenants
            .into_iter()
            .map(|tenant| tenant.into().into_boxed_str())
            .collect();
        self.tenants = Some(TenantFilter::List(tenants.into()));
        self
    }

    /// For an issuer template: decides which tenants' tokens are accepted (a lookup in your
    /// customer database, say), instead of a fixed [`tenants`](Self::tenants) list.
    pub fn tenant_filter(mut self, accepts: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        self.tenants = Some(TenantFilter::Callback(std::sync::Arc::new(accepts)));
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

    /// The one algorithm RSA keys published without `alg` verify. Each key is used with exactly
    /// one algorithm (RFC 8725 §3.1); without this choice an RSA key without `alg` verifies the
    /// first allowed of RS256, RS384, RS512, PS256, PS384, PS512 (RS256 by default), and each
    /// such key is logged when its key set is loaded (target `scopegate`). An issuer that
    /// signs PS256 with alg-less keys needs `rsa_keys_without_alg(Algorithm::PS256)`.
    pub fn rsa_keys_without_alg(mut self, algorithm: Algorithm) -> Self {
        self.rsa_without_alg = Some(algorithm);
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
        self.check_limits()?;
        let by_discovery = matches!(self.source, KeySource::Discovery);
        let template = IssuerTemplate::configure(&self.issuer, self.tenants.clone(), by_discovery)
            .map_err(ConfigError::new)?;
        let asymmetric = self.asymmetric_algorithms()?;
        let issuer: Arc<str> = self.issuer.as_str().into();
        let (keys, algorithms) = self.key_cache(issuer.clone(), asymmetric)?;
        let seconds = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        Ok(Validator::from_settings(Settings {
            issuer,
            audiences: self.audiences.into_iter().map(Box::from).collect(),
            cognito_clients: self.cognito_clients.into_iter().map(Box::from).collect(),
            template,
            algorithms,
            leeway: seconds(self.leeway),
            max_lifetime: self.max_lifetime.map(seconds),
            max_age: self.max_age.map(seconds),
            require_rfc9068: self.require_rfc9068,
            max_token_bytes: self.max_token_bytes,
            scope_sources: self.scope_sources.into(),
            keys: Arc::new(keys),
            clock: self.clock,
            #[cfg(test)]
            verifications: Default::default(),
        }))
    }

    /// Issuer, audiences, leeway and size cap.
    fn check_limits(&self) -> Result<(), ConfigError> {
        // The validator reads these claims itself; a scope source of the same name, or listed
        // twice, would silently grant nothing.
        const READ: [&str; 11] = [
            "iss",
            "aud",
            "exp",
            "nbf",
            "iat",
            "sub",
            "jti",
            "client_id",
            "azp",
            "tid",
            "token_use",
        ];
        for (index, source) in self.scope_sources.iter().enumerate() {
            if READ.contains(&source.name()) {
                return Err(ConfigError::new(format!(
                    "the claim {:?} cannot be a scope source: the validator reads it",
                    source.name()
                )));
            }
            if self.scope_sources[..index]
                .iter()
                .any(|earlier| earlier.name() == source.name())
            {
                return Err(ConfigError::new(format!(
                    "the scope source {:?} is listed twice",
                    source.name()
                )));
            }
        }
        if self.issuer.is_empty() {
            return Err(ConfigError::new("the issuer is empty"));
        }
        let named = self.audiences.len() + self.cognito_clients.len();
        let empty = self
            .audiences
            .iter()
            .chain(&self.cognito_clients)
            .any(String::is_empty);
        if named == 0 || empty {
            return Err(ConfigError::new(
                "at least one non-empty audience (or Cognito app client) is required",
            ));
        }
        if self.leeway > MAX_LEEWAY {
            return Err(ConfigError::new(format!(
                "leeway {:?} exceeds the maximum of 300 s",
                self.leeway
            )));
        }
        if self.max_token_bytes == 0 {
            return Err(ConfigError::new("max_token_bytes must be positive"));
        }
        Ok(())
    }

    /// The asymmetric allowlist: the default, or a non-empty list without HS algorithms.
    fn asymmetric_algorithms(&self) -> Result<AlgorithmSet, ConfigError> {
        let Some(list) = &self.algorithms else {
            return Ok(AlgorithmSet::ASYMMETRIC);
        };
        let set = AlgorithmSet::of(list.iter().copied());
        if set.intersect(AlgorithmSet::ASYMMETRIC) != set {
            return Err(ConfigError::new(
                "HS algorithms cannot be listed in algorithms(); use hmac_secret()",
            ));
        }
        if set.is_empty() {
            return Err(ConfigError::new(
                "algorithms() must name at least one algorithm",
            ));
        }
        Ok(set)
    }

    /// The key cache, and the allowlist widened by any HMAC secrets.
    fn key_cache(
        &self,
        issuer: Arc<str>,
        asymmetric: AlgorithmSet,
    ) -> Result<(KeyCache, AlgorithmSet), ConfigError> {
        match &self.source {
            KeySource::Jwks(document) => self.fixed_keys(issuer, document, asymmetric),
            remote => {
                if !self.hmac_secrets.is_empty() {
                    return Err(ConfigError::new(
                        "hmac_secret() cannot be combined with fetched keys",
                    ));
                }
                let remote = match remote {
                    KeySource::JwksUrl(url) => {
                        Remote::Jwks(check_url(url).map_err(ConfigError::new)?)
                    }
                    _ => self.discovery()?,
                };
                let fetcher = match &self.fetcher {
                    Some(fetcher) => fetcher.clone(),
                    None => {
                        default_fetcher().map_err(|error| ConfigError::new(error.to_string()))?
                    }
                };
                let cache = KeyCache::remote(
                    issuer,
                    remote,
                    fetcher,
                    self.cache.clone(),
                    self.clock.clone(),
                    self.key_rules(asymmetric)?,
                );
                Ok((cache, asymmetric))
            }
        }
    }

    /// What a key set's members may be used with.
    fn key_rules(&self, asymmetric: AlgorithmSet) -> Result<KeyRules, ConfigError> {
        if let Some(algorithm) = self.rsa_without_alg {
            let only = AlgorithmSet::of([algorithm]);
            if !only.same_family(AlgorithmSet::of([Algorithm::RS256]))
                || only.intersect(asymmetric).is_empty()
            {
                return Err(ConfigError::new(
                    "rsa_keys_without_alg() takes an RSA algorithm (RS256 ... PS512) that algorithms() allows",
                ));
            }
        }
        Ok(KeyRules {
            allowed: asymmetric,
            rsa_without_alg: self.rsa_without_alg,
        })
    }

    /// `{issuer}/.well-known/openid-configuration`.
    fn discovery(&self) -> Result<Remote, ConfigError> {
        check_url(&self.issuer).map_err(|reason| {
            ConfigError::new(format!("the issuer is used for discovery: {reason}"))
        })?;
        let base = self.issuer.strip_suffix('/').unwrap_or(&self.issuer);
        let url = format!("{base}/.well-known/openid-configuration");
        Ok(Remote::Discovery {
            url: check_url(&url).map_err(ConfigError::new)?,
            issuer: self.issuer.as_str().into(),
        })
    }

    /// A static JWKS document plus HMAC secrets: never fetched.
    fn fixed_keys(
        &self,
        issuer: Arc<str>,
        document: &[u8],
        asymmetric: AlgorithmSet,
    ) -> Result<(KeyCache, AlgorithmSet), ConfigError> {
        let mut keys = KeySet::from_jwks_json(document, self.key_rules(asymmetric)?)
            .map_err(|reason| ConfigError::new(format!("the JWKS document: {reason}")))?;
        let mut algorithms = asymmetric;
        for (algorithm, kid, secret) in &self.hmac_secrets {
            let only = AlgorithmSet::of([*algorithm]);
            if !only.intersect(AlgorithmSet::ASYMMETRIC).is_empty() {
                return Err(ConfigError::new(
                    "hmac_secret() takes HS256, HS384 or HS512",
                ));
            }
            if secret.len() < 32 {
                return Err(ConfigError::new("an HMAC secret must be at least 32 bytes"));
            }
            algorithms = only.union(algorithms);
            let key = DecodingKey::from_secret(secret)
                .map_err(|_| ConfigError::new("the HMAC secret was refused"))?;
            keys.insert(
                kid.as_deref().map(Box::from),
                VerifyingKey::unparsed(only, key),
            );
        }
        if keys.len() == 0 {
            return Err(ConfigError::new("the JWKS document has no usable key"));
        }
        Ok((
            KeyCache::fixed(issuer, keys, self.clock.clone()),
            algorithms,
        ))
    }
}

impl Validator {
    /// Starts configuring a validator for tokens whose `iss` is exactly `issuer`, or, for a
    /// template holding `{tenantid}`, that template with the token's `tid` (see
    /// [`ValidatorBuilder::tenants`]).
    pub fn builder(issuer: impl Into<String>) -> ValidatorBuilder {
        ValidatorBuilder::new(issuer.into())
    }
}

impl std::fmt::Debug for ValidatorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Secrets, the fetcher and the clock are left out: the first must never reach a log.
        f.debug_struct("ValidatorBuilder")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("cognito_clients", &self.cognito_clients)
            .field("tenants", &self.tenants.is_some())
            .field("algorithms", &self.algorithms)
            .field("rsa_without_alg", &self.rsa_without_alg)
            .field("hmac_secrets", &self.hmac_secrets.len())
            .field("leeway", &self.leeway)
            .field("max_lifetime", &self.max_lifetime)
            .field("max_age", &self.max_age)
            .field("require_rfc9068", &self.require_rfc9068)
            .field("max_token_bytes", &self.max_token_bytes)
            .field("scope_sources", &self.scope_sources)
            .field("cache", &self.cache)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            base().scope_source(ScopeSource::claim("sub")).build(),
            base()
                .scope_source(ScopeSource::claim("roles"))
                .scope_source(ScopeSource::claim("roles"))
                .build(),
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
