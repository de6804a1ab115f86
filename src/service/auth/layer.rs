//! [`AuthLayer`]: the API's authentication and authorization policy, set once.

use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};

use crate::authorize::{
    AccessPolicy, CachedResolver, DEFAULT_MAX_KEYS_PER_PRINCIPAL, GrantResolver,
};
use crate::dpop::{DpopPolicy, Origin};
use crate::error::AuthError;
use crate::error::{Challenges, ConfigError, Realm, Scheme};
use crate::metadata::ResourceMetadata;

use super::metadata::ServedMetadata;
use crate::grant::{GrantPolicy, RolePolicy};
use crate::principal::Authenticated;
use crate::service::context::AuthContext;
use crate::service::rejection::DefaultRejection;
use crate::service::rejection::{OnRejection, Refused, log_refusal};
use crate::service::sources::TokenSources;
use crate::validate::Issuers;

/// Validates the bearer token of every request and hands the verified principal to the inner
/// service; holds the policy that belongs to the API rather than to one issuer: the realm, the
/// refusal renderer, role policies, wildcard grants and the grant resolver.
///
/// A request with a valid token reaches the inner service with an
/// [`Authenticated`](crate::Authenticated) in its extensions. Any other request is answered
/// per RFC 6750 without reaching it:
///
/// | request | response |
/// |---|---|
/// | no `Authorization: Bearer` | 401, `WWW-Authenticate: Bearer realm="..."` |
/// | two `Authorization` headers, comma-joined credentials, `Bearer` with no token | 400 `invalid_request` |
/// | any fault in the token | 401 `invalid_token` with a fixed `error_description` |
/// | no verification keys can be had (issuer down, nothing cached) | 503, never let through |
///
/// Requirements behind the layer answer 403 (or 500 when misconfigured); the layer renders
/// those too, with the same renderer. Generic over request and response bodies, so it wraps
/// axum routers and tonic services alike.
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use scopegate::{AuthLayer, Authenticated, ProblemJson, Validator};
///
/// # fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let validator = Validator::builder("https://issuer.example.com/")
///     .audience("https://api.example.com")
///     .build()?;
///
/// let app: Router = Router::new()
///     .route("/me", get(|auth: Authenticated| async move {
///         auth.subject().unwrap_or_default().to_owned()
///     }))
///     .layer(AuthLayer::new(validator).realm("rooms")?.on_rejection(ProblemJson));
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct AuthLayer<R = DefaultRejection> {
    pub(super) state: Arc<LayerState<R>>,
}

impl<R> Clone for AuthLayer<R> {
    fn clone(&self) -> Self {
        AuthLayer {
            state: self.state.clone(),
        }
    }
}

/// Everything an [`AuthService`] needs, shared by every route the layer wraps: one resolver
/// cache per API, however many routes `Router::layer` applies it to.
#[derive(Clone)]
pub(crate) struct LayerState<R> {
    pub(crate) issuers: Issuers,
    /// Realm, accepted schemes and resource metadata: what every challenge names.
    pub(crate) challenges: Arc<Challenges>,
    pub(crate) allow_anonymous: bool,
    pub(crate) access: Arc<AccessPolicy>,
    /// Where clients reach the API: `htu` and the resource metadata URL are on it.
    pub(super) public_origin: Option<Origin>,
    pub(crate) dpop: Option<Arc<DpopPolicy>>,
    /// Opt-out: tokens bound with `cnf` are let through with the `Bearer` scheme.
    pub(crate) bound_as_bearer: bool,
    /// RFC 9728 metadata as configured, and as served (with the DPoP members).
    pub(super) metadata: Option<ResourceMetadata>,
    pub(crate) served_metadata: Option<Arc<ServedMetadata>>,
    /// Opt-in places a bearer token may come from besides the `Authorization` header.
    pub(crate) sources: TokenSources,
    pub(crate) on_rejection: R,
    resolver: Option<Arc<dyn GrantResolver>>,
    resolver_cache: (Duration, usize),
    resolver_keys_per_principal: usize,
}

impl AuthLayer {
    /// Requires a valid bearer token on every request: from one [`Validator`](crate::Validator)'s
    /// issuer, or from any of [`Issuers`].
    pub fn new(validator: impl Into<Issuers>) -> Self {
        let issuers = validator.into();
        AuthLayer {
            state: Arc::new(LayerState {
                challenges: Arc::new(Challenges {
                    realm: Some(issuers.default_realm())
                        .filter(|realm| !realm.is_empty())
                        .and_then(Realm::new),
                    ..Challenges::default()
                }),
                access: Arc::new(AccessPolicy::new(issuers.clock(), issuers.leeway())),
                issuers,
                allow_anonymous: false,
                public_origin: None,
                dpop: None,
                bound_as_bearer: false,
                metadata: None,
                served_metadata: None,
                sources: TokenSources::default(),
                on_rejection: DefaultRejection,
                resolver: None,
                resolver_cache: (Duration::from_secs(60), 10_000),
                resolver_keys_per_principal: DEFAULT_MAX_KEYS_PER_PRINCIPAL,
            }),
        }
    }
}

impl<R: Clone> AuthLayer<R> {
    pub(crate) fn edit(mut self, change: impl FnOnce(&mut LayerState<R>)) -> Self {
        change(Arc::make_mut(&mut self.state));
        self
    }

    fn edit_grants(self, change: impl FnOnce(&mut GrantPolicy)) -> Self {
        self.edit(|state| {
            let access = Arc::make_mut(&mut state.access);
            let mut grants = GrantPolicy::clone(&access.grants);
            change(&mut grants);
            access.grants = Arc::new(grants);
        })
    }

    /// A cache of verified tokens of at most `max_bytes` (tokens and claims; default
    /// [`DEFAULT_TOKEN_CACHE_BYTES`](crate::DEFAULT_TOKEN_CACHE_BYTES), 16 MiB); 0 turns it off.
    ///
    /// A token seen before skips signature verification. Each hit re-checks `exp`, `nbf`, `iat`
    /// and the maximum age against the clock, and that the key that verified it is still the
    /// key set's key for its `kid`: a key the issuer withdraws stops its tokens at the next key
    /// refresh, as without the cache. Refused tokens are never cached.
    ///
    /// The cache belongs to the layer's [`Issuers`]: clones of one layer share it; separate
    /// `AuthLayer::new` calls (one per router, say) make separate caches, so build the layer
    /// once and clone it.
    pub fn verified_token_cache(self, max_bytes: usize) -> Self {
        self.edit(|state| state.issuers = state.issuers.with_token_cache(max_bytes))
    }

    /// Lets requests without any credentials through, without claims. A request with a bad
    /// token is still refused. Handlers take `Option<Authenticated>`; an `Authenticated`
    /// extractor or a requirement answers 401 for anonymous requests.
    pub fn allow_anonymous(self) -> Self {
        self.edit(|state| state.allow_anonymous = true)
    }

    /// The `realm` named in `WWW-Authenticate` challenges. Default: the first audience of the
    /// first validator, when it is printable ASCII without quotes or backslashes.
    pub fn realm(self, realm: &str) -> Result<Self, ConfigError> {
        let realm = Realm::new(realm).ok_or_else(|| {
            ConfigError::new("the realm must be printable ASCII without quotes or backslashes")
        })?;
        Ok(self.edit(|state| Arc::make_mut(&mut state.challenges).realm = Some(realm)))
    }

    /// Renders every refusal with your own renderer: the layer's 400/401/503 and each 403 or
    /// 500 from a requirement behind it. [`ProblemJson`](crate::ProblemJson) and
    /// [`GrpcRejection`](crate::GrpcRejection) are ready-made.
    ///
    /// ```
    /// use scopegate::{AuthError, AuthLayer, Validator};
    ///
    /// # fn layer(validator: Validator) -> AuthLayer<impl scopegate::OnRejection<axum::body::Body>> {
    /// AuthLayer::new(validator).on_rejection(|error: &AuthError| {
    ///     // `error_code` is `invalid_request`, `invalid_token` or `insufficient_scope` where
    ///     // RFC 6750 defines one; a bare 401 (no credentials) and 5xx have none.
    ///     let code = error.kind().error_code().unwrap_or(match error.status().as_u16() {
    ///         401 => "unauthorized",
    ///         503 => "temporarily_unavailable",
    ///         _ => "server_error",
    ///     });
    ///     let body = format!(r#"{{"error":"{code}"}}"#);
    ///     let mut response = error.to_response(axum::body::Body::from(body));
    ///     response.headers_mut().insert(
    ///         http::header::CONTENT_TYPE,
    ///         http::HeaderValue::from_static("application/json"),
    ///     );
    ///     response
    /// })
    /// # }
    /// ```
    pub fn on_rejection<R2>(self, on_rejection: R2) -> AuthLayer<R2> {
        let state = Arc::unwrap_or_clone(self.state);
        AuthLayer {
            state: Arc::new(LayerState {
                issuers: state.issuers,
                challenges: state.challenges,
                allow_anonymous: state.allow_anonymous,
                access: state.access,
                public_origin: state.public_origin,
                dpop: state.dpop,
                bound_as_bearer: state.bound_as_bearer,
                metadata: state.metadata,
                served_metadata: state.served_metadata,
                sources: state.sources,
                on_rejection,
                resolver: state.resolver,
                resolver_cache: state.resolver_cache,
                resolver_keys_per_principal: state.resolver_keys_per_principal,
            }),
        }
    }

    /// Grants scopes from the user's roles per tenant, as `policy` defines them (see
    /// [`RolePolicy`]). Call it again for another kind of tenant (organizations, rooms), each
    /// on its own claim.
    ///
    /// Refused: a second policy on the same claim, or a template another policy already uses
    /// (the admin of organization `x` would then also be the admin of room `x`).
    pub fn role_policy(self, policy: RolePolicy) -> Result<Self, ConfigError> {
        let mut grants = GrantPolicy::clone(&self.state.access.grants);
        grants.add_role_policy(policy)?;
        Ok(self.edit(|state| Arc::make_mut(&mut state.access).grants = Arc::new(grants)))
    }

    /// Lets a granted scope ending in `*` (`delete:comments-in-*`) satisfy any longer required
    /// scope that starts with the part before the `*`. Off by default. It applies to granted
    /// scopes only: a path value can never contain `*`, so a request cannot widen a grant.
    pub fn wildcard_grants(self, enabled: bool) -> Self {
        self.edit_grants(|grants| grants.set_wildcards(enabled))
    }

    /// Asks `resolver` for extra grants when a token's own grants do not meet a requirement
    /// (see [`GrantResolver`]), whichever issuer signed it. Results are cached for 60 s, at most
    /// 10 000 entries, unless [`grant_resolver_cache`](Self::grant_resolver_cache) says
    /// otherwise.
    pub fn grant_resolver(self, resolver: impl GrantResolver) -> Self {
        self.edit(|state| {
            state.resolver = Some(Arc::new(resolver));
            state.rebuild_resolver();
        })
    }

    /// The grant resolver cache's time to live and size bound.
    pub fn grant_resolver_cache(self, ttl: Duration, max_entries: usize) -> Self {
        self.edit(|state| {
            state.resolver_cache = (ttl, max_entries);
            state.rebuild_resolver();
        })
    }

    /// How many distinct path values one principal (issuer, `sub`, `client_id`, `azp`) may have
    /// resolved per cache TTL; past it the resolver is not asked and the token's own grants
    /// decide (403). Default 100, at least 1. It keeps one signed-in user from turning every
    /// request into a resolver call by varying a path value.
    pub fn grant_resolver_keys_per_principal(self, limit: usize) -> Self {
        self.edit(|state| {
            state.resolver_keys_per_principal = limit;
            state.rebuild_resolver();
        })
    }
}

impl<R> std::fmt::Debug for LayerState<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthLayer")
            .field("issuers", &self.issuers)
            .field("challenges", &self.challenges)
            .field("allow_anonymous", &self.allow_anonymous)
            .field("access", &self.access)
            .field("public_origin", &self.public_origin)
            .field("dpop", &self.dpop.as_ref().map(|dpop| &dpop.config))
            .field("bound_as_bearer", &self.bound_as_bearer)
            .field("sources", &self.sources)
            .field("resolver_cache", &self.resolver_cache)
            .finish_non_exhaustive()
    }
}

impl<R> LayerState<R> {
    /// One cache per configuration: rebuilt whenever the resolver or its bounds change.
    fn rebuild_resolver(&mut self) {
        let (ttl, max_entries) = self.resolver_cache;
        let cached = self.resolver.clone().map(|resolver| {
            Arc::new(
                CachedResolver::new(resolver, ttl, max_entries, self.issuers.clock())
                    .max_keys_per_principal(self.resolver_keys_per_principal),
            )
        });
        Arc::make_mut(&mut self.access).resolver = cached;
    }
}

/// The response for a refusal of a request that used `scheme`: logged once, rendered with the
/// API's renderer and challenges.
pub(crate) fn render<R: OnRejection<B>, B>(
    state: &LayerState<R>,
    error: AuthError,
    scheme: Scheme,
) -> Response<B> {
    log_refusal(&error);
    let error = error.with_challenges(&state.challenges).presented(scheme);
    let mut response = state.on_rejection.on_rejection(&error);
    // A renderer built on `AuthError::into_response` returns a marked response: rendered now,
    // it must not be rendered (and logged) again by a layer further out.
    response.extensions_mut().remove::<Refused>();
    response
}

/// A response from further in: a marked refusal is rendered, anything else passes unchanged.
pub(crate) fn finish<R: OnRejection<B>, B>(
    state: &LayerState<R>,
    mut response: Response<B>,
    scheme: Scheme,
) -> Response<B> {
    match response.extensions_mut().remove::<Refused>() {
        Some(Refused(error)) => render(state, error, scheme),
        None => response,
    }
}

/// Lets a request in with the API's policy for the requirements further in, inside the
/// principal; an anonymous one with the [`AuthContext`] mark.
pub(crate) fn admit<B, R>(
    request: &mut Request<B>,
    state: &LayerState<R>,
    auth: Option<Authenticated>,
) {
    crate::observe::request_accepted();
    let extensions = request.extensions_mut();
    // The principal carries the policy: one extension for a verified request, not two.
    match auth {
        Some(auth) => {
            extensions.insert(auth.under_policy(state.access.clone()));
        }
        None => {
            extensions.insert(AuthContext);
        }
    }
}
