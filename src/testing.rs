//! An in-process OIDC issuer for tests: real keys, really signed tokens, real HTTP on loopback.
//!
//! Feature `test-util`. It serves discovery and a JWKS on `127.0.0.1` (random port), mints tokens
//! with a builder, and can rotate its keys, go down, answer slowly, and count fetches, so you can
//! test your own API's authentication, key rotation and outage behaviour without a real identity
//! provider.
//!
//! ```
//! use scopegate::testing::TestIssuer;
//! use scopegate::Algorithm;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let issuer = TestIssuer::start().await?;
//! let validator = issuer.validator().build()?;
//!
//! let token = issuer
//!     .token()
//!     .algorithm(Algorithm::ES256)
//!     .subject("user-1")
//!     .claim("org_id", "org-a")
//!     .sign();
//! let auth = validator.validate(&token).await?;
//! assert_eq!(auth.subject(), Some("user-1"));
//! assert_eq!(issuer.jwks_fetches(), 1);
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256,
    RSA_PSS_SHA256, RsaKeyPair,
};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value, json};

use crate::clock::{Clock, SystemClock};
use crate::jose::algorithm_name;
use crate::validate::{Validator, ValidatorBuilder};

/// A clock that only moves when told to. Clones share the same time.
///
/// ```
/// use std::time::Duration;
/// use scopegate::Clock;
/// use scopegate::testing::ManualClock;
///
/// let clock = ManualClock::new(Duration::from_secs(1_700_000_000));
/// clock.advance(Duration::from_secs(60));
/// assert_eq!(clock.now(), Duration::from_secs(1_700_000_060));
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock showing `now` (since the Unix epoch).
    pub fn new(now: Duration) -> Self {
        ManualClock(Arc::new(AtomicU64::new(now.as_millis() as u64)))
    }

    /// A clock starting at the system's current time.
    pub fn starting_now() -> Self {
        Self::new(SystemClock.now())
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_millis() as u64, Ordering::SeqCst);
    }

    /// Sets the clock.
    pub fn set(&self, now: Duration) {
        self.0.store(now.as_millis() as u64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_millis(self.0.load(Ordering::SeqCst))
    }
}

/// The audience [`TestIssuer`] puts in tokens unless told otherwise.
pub const TEST_AUDIENCE: &str = "https://api.scopegate.test";

/// The algorithms [`TestIssuer`] has a key for.
pub const TEST_ALGORITHMS: [Algorithm; 4] = [
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
];

enum Secret {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

struct SigningKey {
    kid: String,
    algorithm: Algorithm,
    secret: Secret,
    jwk: Value,
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

impl SigningKey {
    fn generate(algorithm: Algorithm, generation: u64) -> Result<Self, TestIssuerError> {
        let failed = |_| TestIssuerError("key generation failed".into());
        let kid = format!(
            "{}-{generation}",
            algorithm_name(algorithm).to_ascii_lowercase()
        );
        let alg = algorithm_name(algorithm);
        let (secret, jwk) = match algorithm {
            Algorithm::RS256 | Algorithm::PS256 => {
                let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(failed)?;
                let public = pair.public_key();
                let jwk = json!({
                    "kty": "RSA", "use": "sig", "alg": alg, "kid": kid,
                    "n": b64(public.modulus().big_endian_without_leading_zero()),
                    "e": b64(public.exponent().big_endian_without_leading_zero()),
                });
                (Secret::Rsa(pair), jwk)
            }
            Algorithm::ES256 => {
                let pair =
                    EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(failed)?;
                let point = pair.public_key().as_ref();
                let (x, y) = point.get(1..).unwrap_or_default().split_at(32);
                let jwk = json!({
                    "kty": "EC", "crv": "P-256", "use": "sig", "alg": alg, "kid": kid,
                    "x": b64(x), "y": b64(y),
                });
                (Secret::Ec(pair), jwk)
            }
            Algorithm::EdDSA => {
                let pair = Ed25519KeyPair::generate().map_err(failed)?;
                let jwk = json!({
                    "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": alg, "kid": kid,
                    "x": b64(pair.public_key().as_ref()),
                });
                (Secret::Ed(pair), jwk)
            }
            _ => return Err(TestIssuerError(format!("the test issuer has no {alg} key"))),
        };
        Ok(SigningKey {
            kid,
            algorithm,
            secret,
            jwk,
        })
    }

    /// Signs `message` with this key, as `algorithm` says (an RSA key signs PS256 with PSS).
    fn sign(&self, algorithm: Algorithm, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &self.secret {
            Secret::Rsa(pair) => {
                let padding = match algorithm {
                    Algorithm::PS256 => &RSA_PSS_SHA256,
                    _ => &RSA_PKCS1_SHA256,
                };
                let mut signature = vec![0; pair.public_modulus_len()];
                match pair.sign(padding, &rng, message, &mut signature) {
                    Ok(()) => signature,
                    Err(_) => Vec::new(),
                }
            }
            Secret::Ec(pair) => pair
                .sign(&rng, message)
                .map(|signature| signature.as_ref().to_vec())
                .unwrap_or_default(),
            Secret::Ed(pair) => pair.sign(message).as_ref().to_vec(),
        }
    }
}

/// A failure to start the test issuer.
#[derive(Debug, Clone)]
pub struct TestIssuerError(String);

impl std::fmt::Display for TestIssuerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "test issuer: {}", self.0)
    }
}

impl std::error::Error for TestIssuerError {}

/// How the issuer's HTTP endpoints behave.
#[derive(Default)]
struct Behaviour {
    down: bool,
    delay: Duration,
    redirect_jwks: bool,
    cache_control: Option<String>,
    /// Served instead of the real key set.
    jwks_override: Option<Vec<u8>>,
    /// Served as discovery's `issuer` instead of the real one.
    discovery_issuer: Option<String>,
}

struct Shared {
    issuer: String,
    keys: Mutex<Vec<Arc<SigningKey>>>,
    generation: AtomicU64,
    behaviour: Mutex<Behaviour>,
    jwks_fetches: AtomicUsize,
    discovery_fetches: AtomicUsize,
    clock: Arc<dyn Clock>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    fn key_for(&self, algorithm: Algorithm) -> Option<Arc<SigningKey>> {
        lock(&self.keys)
            .iter()
            .find(|key| key.algorithm == algorithm)
            .cloned()
    }

    fn jwks(&self) -> Vec<u8> {
        let keys: Vec<Value> = lock(&self.keys).iter().map(|key| key.jwk.clone()).collect();
        json!({ "keys": keys }).to_string().into_bytes()
    }
}

/// An OIDC issuer on `127.0.0.1` with fresh RS256, PS256, ES256 and EdDSA keys.
///
/// Dropping it stops the server.
#[allow(missing_debug_implementations)] // holds key pairs: nothing worth printing
pub struct TestIssuer {
    shared: Arc<Shared>,
    address: SocketAddr,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl TestIssuer {
    /// Starts an issuer on a random loopback port, with the system clock.
    pub async fn start() -> Result<TestIssuer, TestIssuerError> {
        Self::start_with_clock(SystemClock).await
    }

    /// Starts an issuer whose tokens take their times (`iat`, `exp`) from `clock`.
    pub async fn start_with_clock(clock: impl Clock) -> Result<TestIssuer, TestIssuerError> {
        let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
            .await
            .map_err(|error| TestIssuerError(format!("binding 127.0.0.1: {error}")))?;
        let address = listener
            .local_addr()
            .map_err(|error| TestIssuerError(error.to_string()))?;
        let shared = Arc::new(Shared {
            issuer: format!("http://{address}"),
            keys: Mutex::new(Vec::new()),
            generation: AtomicU64::new(0),
            behaviour: Mutex::default(),
            jwks_fetches: AtomicUsize::new(0),
            discovery_fetches: AtomicUsize::new(0),
            clock: Arc::new(clock),
        });
        let issuer = TestIssuer {
            shared: shared.clone(),
            address,
            _shutdown: spawn_server(listener, shared)?,
        };
        issuer.rotate_keys()?;
        Ok(issuer)
    }

    /// The issuer identifier, `http://127.0.0.1:<port>` (no trailing slash).
    pub fn issuer(&self) -> &str {
        &self.shared.issuer
    }

    /// The address the server listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The JWKS URL.
    pub fn jwks_url(&self) -> String {
        format!("{}/jwks", self.shared.issuer)
    }

    /// A validator builder for this issuer and [`TEST_AUDIENCE`], keys through discovery.
    pub fn validator(&self) -> ValidatorBuilder {
        Validator::builder(self.issuer()).audience(TEST_AUDIENCE)
    }

    /// Starts a token with defaults: this issuer, [`TEST_AUDIENCE`], `sub` `user-1`,
    /// `client_id` `test-client`, `iat` now, `exp` in 5 minutes, a fresh `jti`, `typ` `at+jwt`,
    /// signed RS256 with the current key.
    pub fn token(&self) -> TokenBuilder {
        let now = self.shared.clock.now().as_secs() as i64;
        let jti = format!(
            "jti-{}",
            self.shared.generation.fetch_add(1, Ordering::SeqCst)
        );
        let claims = json!({
            "iss": self.shared.issuer,
            "aud": TEST_AUDIENCE,
            "sub": "user-1",
            "client_id": "test-client",
            "iat": now,
            "exp": now + 300,
            "jti": jti,
        });
        TokenBuilder {
            shared: self.shared.clone(),
            algorithm: Algorithm::RS256,
            header: Map::from_iter([("typ".to_owned(), json!("at+jwt"))]),
            claims: match claims {
                Value::Object(map) => map,
                _ => Map::new(),
            },
            now,
            raw_header: None,
            raw_payload: None,
        }
    }

    /// Replaces every key with a fresh one (new `kid`s). Tokens signed before verify no more
    /// once a validator has refetched the key set.
    pub fn rotate_keys(&self) -> Result<(), TestIssuerError> {
        let generation = self.shared.generation.fetch_add(1, Ordering::SeqCst);
        let keys = TEST_ALGORITHMS
            .iter()
            .map(|alg| SigningKey::generate(*alg, generation).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        *lock(&self.shared.keys) = keys;
        Ok(())
    }

    /// Adds a fresh key for `algorithm` next to the current ones and returns its `kid`; tokens
    /// for `algorithm` are then signed with it (a rotation that publishes the new key first).
    pub fn add_key(&self, algorithm: Algorithm) -> Result<String, TestIssuerError> {
        let generation = self.shared.generation.fetch_add(1, Ordering::SeqCst);
        let key = SigningKey::generate(algorithm, generation)?;
        let kid = key.kid.clone();
        lock(&self.shared.keys).insert(0, Arc::new(key));
        Ok(kid)
    }

    /// The current `kid` for `algorithm`.
    pub fn kid(&self, algorithm: Algorithm) -> Option<String> {
        self.shared.key_for(algorithm).map(|key| key.kid.clone())
    }

    /// The JWK (public) currently published for `algorithm`.
    pub fn public_jwk(&self, algorithm: Algorithm) -> Option<Value> {
        self.shared.key_for(algorithm).map(|key| key.jwk.clone())
    }

    /// While `true`, every endpoint answers 503.
    pub fn set_down(&self, down: bool) {
        lock(&self.shared.behaviour).down = down;
    }

    /// Delays every answer by `delay`.
    pub fn set_delay(&self, delay: Duration) {
        lock(&self.shared.behaviour).delay = delay;
    }

    /// While `true`, `/jwks` answers `302 Found` pointing at itself.
    pub fn set_redirect_jwks(&self, redirect: bool) {
        lock(&self.shared.behaviour).redirect_jwks = redirect;
    }

    /// The `Cache-Control` header of JWKS responses (none by default).
    pub fn set_cache_control(&self, value: Option<&str>) {
        lock(&self.shared.behaviour).cache_control = value.map(str::to_owned);
    }

    /// Serves `body` as the JWKS instead of the real key set (`None` restores it).
    pub fn set_jwks_body(&self, body: Option<Vec<u8>>) {
        lock(&self.shared.behaviour).jwks_override = body;
    }

    /// Makes discovery name another `issuer` (`None` restores the real one).
    pub fn set_discovery_issuer(&self, issuer: Option<&str>) {
        lock(&self.shared.behaviour).discovery_issuer = issuer.map(str::to_owned);
    }

    /// How many times the JWKS has been requested.
    pub fn jwks_fetches(&self) -> usize {
        self.shared.jwks_fetches.load(Ordering::SeqCst)
    }

    /// How many times the discovery document has been requested.
    pub fn discovery_fetches(&self) -> usize {
        self.shared.discovery_fetches.load(Ordering::SeqCst)
    }
}

fn spawn_server(
    listener: tokio::net::TcpListener,
    shared: Arc<Shared>,
) -> Result<tokio::sync::oneshot::Sender<()>, TestIssuerError> {
    let app = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .with_state(shared);
    let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = stopped.await;
    });
    let runtime = tokio::runtime::Handle::try_current()
        .map_err(|_| TestIssuerError("start it inside a tokio runtime".into()))?;
    runtime.spawn(async move {
        if let Err(error) = server.await {
            tracing::warn!(%error, "test issuer stopped");
        }
    });
    Ok(shutdown)
}

/// Applies the configured delay and outage; `Some` is the response to give instead.
async fn misbehave(shared: &Shared) -> Option<Response> {
    let (down, delay) = {
        let behaviour = lock(&shared.behaviour);
        (behaviour.down, behaviour.delay)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    down.then(|| StatusCode::SERVICE_UNAVAILABLE.into_response())
}

async fn discovery(State(shared): State<Arc<Shared>>) -> Response {
    shared.discovery_fetches.fetch_add(1, Ordering::SeqCst);
    if let Some(response) = misbehave(&shared).await {
        return response;
    }
    let issuer = lock(&shared.behaviour)
        .discovery_issuer
        .clone()
        .unwrap_or_else(|| shared.issuer.clone());
    let document = json!({
        "issuer": issuer,
        "jwks_uri": format!("{}/jwks", shared.issuer),
        "id_token_signing_alg_values_supported": ["RS256", "PS256", "ES256", "EdDSA"],
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        document.to_string(),
    )
        .into_response()
}

async fn jwks(State(shared): State<Arc<Shared>>) -> Response {
    shared.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    if let Some(response) = misbehave(&shared).await {
        return response;
    }
    let (redirect, cache_control, body) = {
        let behaviour = lock(&shared.behaviour);
        (
            behaviour.redirect_jwks,
            behaviour.cache_control.clone(),
            behaviour.jwks_override.clone(),
        )
    };
    if redirect {
        return (StatusCode::FOUND, [(header::LOCATION, "/jwks")]).into_response();
    }
    let mut response = (
        [(header::CONTENT_TYPE, "application/jwk-set+json")],
        body.unwrap_or_else(|| shared.jwks()),
    )
        .into_response();
    if let Some(value) = cache_control.and_then(|value| HeaderValue::from_str(&value).ok()) {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response
}

/// Builds and signs one token. Start one with [`TestIssuer::token`].
///
/// Everything can be overridden, including the header, so tests can build the attacks a
/// validator must refuse.
#[must_use]
#[allow(missing_debug_implementations)] // holds the issuer's key pairs
pub struct TokenBuilder {
    shared: Arc<Shared>,
    algorithm: Algorithm,
    header: Map<String, Value>,
    claims: Map<String, Value>,
    now: i64,
    raw_header: Option<String>,
    raw_payload: Option<String>,
}

impl TokenBuilder {
    /// Signs with the issuer's key for `algorithm` (RS256, PS256, ES256 or EdDSA).
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Sets `sub`.
    pub fn subject(self, subject: &str) -> Self {
        self.claim("sub", subject)
    }

    /// Sets `scope` (a space-separated string).
    pub fn scope(self, scope: &str) -> Self {
        self.claim("scope", scope)
    }

    /// Sets `aud`.
    pub fn audience(self, audience: impl Into<Value>) -> Self {
        self.claim("aud", audience)
    }

    /// Sets `exp` to `seconds` from now (negative: in the past).
    pub fn expires_in(self, seconds: i64) -> Self {
        let exp = self.now.saturating_add(seconds);
        self.claim("exp", exp)
    }

    /// Sets any claim.
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.claims.insert(name.to_owned(), value.into());
        self
    }

    /// Removes a claim.
    pub fn without_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Sets a header member (`typ`, `kid`, `crit`, `jku`, ...). `alg` and `kid` default to the
    /// signing key's.
    pub fn header(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.header.insert(name.to_owned(), value.into());
        self
    }

    /// Removes a header member (`kid`, `typ`).
    pub fn without_header(mut self, name: &str) -> Self {
        self.header.insert(name.to_owned(), Value::Null);
        self
    }

    /// Uses this exact header JSON, unchecked (for duplicate-member and malformed cases).
    pub fn raw_header(mut self, json: &str) -> Self {
        self.raw_header = Some(json.to_owned());
        self
    }

    /// Uses this exact claims JSON, unchecked.
    pub fn raw_claims(mut self, json: &str) -> Self {
        self.raw_payload = Some(json.to_owned());
        self
    }

    /// Signs with HMAC under `secret` instead of the issuer's key, with `alg` set to
    /// `algorithm` (HS256/384/512) unless the header was overridden. For HMAC validators, and for
    /// the key-confusion attack of signing with an RSA public key as the secret.
    pub fn sign_hmac(mut self, algorithm: Algorithm, secret: &[u8]) -> String {
        use aws_lc_rs::hmac;
        let hash = match algorithm {
            Algorithm::HS384 => hmac::HMAC_SHA384,
            Algorithm::HS512 => hmac::HMAC_SHA512,
            _ => hmac::HMAC_SHA256,
        };
        self.header
            .entry("alg")
            .or_insert_with(|| algorithm_name(algorithm).into());
        let signing_input = self.signing_input(None);
        let tag = hmac::sign(&hmac::Key::new(hash, secret), signing_input.as_bytes());
        format!("{signing_input}.{}", b64(tag.as_ref()))
    }

    fn signing_input(self, key: Option<&SigningKey>) -> String {
        let mut header = Map::new();
        header.insert("alg".into(), algorithm_name(self.algorithm).into());
        if let Some(key) = key {
            header.insert("kid".into(), key.kid.clone().into());
        }
        for (name, value) in self.header {
            if value.is_null() {
                header.remove(&name);
            } else {
                header.insert(name, value);
            }
        }
        let header = self
            .raw_header
            .unwrap_or_else(|| Value::Object(header).to_string());
        let payload = self
            .raw_payload
            .unwrap_or_else(|| Value::Object(self.claims).to_string());
        format!("{}.{}", b64(header), b64(payload))
    }

    /// Signs and returns the compact token.
    pub fn sign(self) -> String {
        let key = self.shared.key_for(self.algorithm);
        let algorithm = self.algorithm;
        let signing_input = self.signing_input(key.as_deref());
        let signature = key
            .map(|key| key.sign(algorithm, signing_input.as_bytes()))
            .unwrap_or_default();
        format!("{signing_input}.{}", b64(signature))
    }
}
