//! [`TestIssuer`]: the loopback OIDC server, its state, key rotation and outage knobs.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value, json};

use super::keys::{KeyRing, SigningKey};
use super::token::TokenBuilder;
use super::{TEST_ALGORITHMS, TEST_AUDIENCE, TestIssuerError, lock};
use crate::clock::{Clock, SystemClock};
use crate::validate::{Validator, ValidatorBuilder};

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

/// What the issuer handle, its token builders and its HTTP handlers share.
struct Shared {
    issuer: String,
    keys: Arc<KeyRing>,
    generation: AtomicU64,
    behaviour: Mutex<Behaviour>,
    jwks_fetches: AtomicUsize,
    discovery_fetches: AtomicUsize,
    clock: Arc<dyn Clock>,
}

/// An OIDC issuer on `127.0.0.1` with fresh RS256, PS256, ES256 and EdDSA keys.
///
/// Dropping it stops the server. Its `Debug` output shows the issuer URL, the address and the
/// published `kid`s, never the private keys.
pub struct TestIssuer {
    shared: Arc<Shared>,
    address: SocketAddr,
    _shutdown: tokio::sync::oneshot::Sender<()>,
}

impl std::fmt::Debug for TestIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestIssuer")
            .field("issuer", &self.shared.issuer)
            .field("address", &self.address)
            .field("kids", &self.shared.keys.kids())
            .finish_non_exhaustive()
    }
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
            keys: Arc::default(),
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
        let claims = match claims {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        TokenBuilder::new(self.shared.keys.clone(), Algorithm::RS256, claims, now)
    }

    /// The `Authorization` header value for a default [`token`](Self::token) granting
    /// `scopes` (space-separated): `Bearer <token>`.
    ///
    /// ```
    /// use scopegate::testing::TestIssuer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = TestIssuer::start().await?;
    /// let header = issuer.bearer("read:comments write:comments");
    ///
    /// let token = header.strip_prefix("Bearer ").ok_or("not a bearer header")?;
    /// let auth = issuer.validator().build()?.validate(token).await?;
    /// assert!(auth.grants("read:comments") && auth.grants("write:comments"));
    /// # Ok(()) }
    /// ```
    pub fn bearer(&self, scopes: &str) -> String {
        self.token().scope(scopes).bearer()
    }

    /// Replaces every key with a fresh one (new `kid`s). Tokens signed before verify no more
    /// once a validator has refetched the key set.
    pub fn rotate_keys(&self) -> Result<(), TestIssuerError> {
        let generation = self.shared.generation.fetch_add(1, Ordering::SeqCst);
        let keys = TEST_ALGORITHMS
            .iter()
            .map(|alg| SigningKey::generate(*alg, generation).map(Arc::new))
            .collect::<Result<Vec<_>, _>>()?;
        self.shared.keys.replace(keys);
        Ok(())
    }

    /// Adds a fresh key for `algorithm` next to the current ones and returns its `kid`; tokens
    /// for `algorithm` are then signed with it (a rotation that publishes the new key first).
    pub fn add_key(&self, algorithm: Algorithm) -> Result<String, TestIssuerError> {
        let generation = self.shared.generation.fetch_add(1, Ordering::SeqCst);
        let key = SigningKey::generate(algorithm, generation)?;
        let kid = key.kid().to_owned();
        self.shared.keys.add_first(Arc::new(key));
        Ok(kid)
    }

    /// The current `kid` for `algorithm`.
    pub fn kid(&self, algorithm: Algorithm) -> Option<String> {
        self.shared
            .keys
            .key_for(algorithm)
            .map(|key| key.kid().to_owned())
    }

    /// The JWK (public) currently published for `algorithm`.
    pub fn public_jwk(&self, algorithm: Algorithm) -> Option<Value> {
        self.shared
            .keys
            .key_for(algorithm)
            .map(|key| key.jwk().clone())
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
        body.unwrap_or_else(|| shared.keys.jwks()),
    )
        .into_response();
    if let Some(value) = cache_control.and_then(|value| HeaderValue::from_str(&value).ok()) {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    response
}
