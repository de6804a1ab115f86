//! Bearer-token authentication for tower and axum: validate OAuth2/OIDC access tokens (JWTs)
//! against the issuer's cached JWKS, build one set of granted scopes from every claim that
//! carries them, and state each route's requirement as a template bound to its path parameters.
//!
//! This runs as it is, against the in-process test issuer of the `test-util` feature:
//!
//! ```
//! use axum::{Router, body::Body, http::Request, routing::delete};
//! use scopegate::testing::TestIssuer;
//! use scopegate::{AuthLayer, RouterExt, scope};
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let issuer = TestIssuer::start().await?;
//! let app = Router::new()
//!     .route_requiring(
//!         "/rooms/{room}/comments/{id}",
//!         delete(|| async { "deleted" }),
//!         scope!("delete:comments-in-{room}"),
//!     )
//!     .layer(AuthLayer::new(issuer.validator().build()?));
//!
//! let token = issuer.token().scope("delete:comments-in-room_1").sign();
//! let request = |room: &str| {
//!     Request::delete(format!("/rooms/{room}/comments/7"))
//!         .header("authorization", format!("Bearer {token}"))
//!         .body(Body::empty())
//! };
//! assert_eq!(app.clone().oneshot(request("room_1")?).await?.status(), 200);
//! assert_eq!(app.clone().oneshot(request("room_2")?).await?.status(), 403);
//! # Ok(()) }
//! ```
//!
//! Against a real issuer, keys come from OIDC discovery:
//!
//! ```no_run
//! use axum::{Router, routing::get};
//! use scopegate::{AuthLayer, Authenticated, Validator};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // Keys come from https://issuer.example.com/.well-known/openid-configuration.
//!     let validator = Validator::builder("https://issuer.example.com/")
//!         .audience("https://api.example.com")
//!         .build()?;
//!
//!     let app = Router::new()
//!         .route("/me", get(|auth: Authenticated| async move {
//!             format!("hello {}", auth.subject().unwrap_or("anonymous client"))
//!         }))
//!         .layer(AuthLayer::new(validator));
//!
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```
//!
//! # What is checked
//!
//! Every rule and its source is listed in the README's security table. In short: the
//! `Authorization` header per RFC 6750; a strict compact JWS (8 KiB cap, canonical base64url,
//! no repeated members); `alg` from an asymmetric allowlist and matching the key's type, curve
//! and own `alg`; no `crit`; `typ` absent, `JWT` or `at+jwt`; `kid` looked up exactly;
//! `iss` byte-equal; `aud` one of yours; `exp`, `nbf`, `iat` with a 60 s leeway; a token
//! bound to a key (`cnf`) only with its proof: DPoP (RFC 9449, [`dpop`]) when turned on.
//!
//! Beyond the token: step-up requirements on `acr`/`auth_time` (RFC 9470,
//! [`Requirement::step_up`]), protected-resource metadata served and named in every challenge
//! (RFC 9728, [`ResourceMetadata`]), and opt-in token sources for browsers and WebSockets.
//!
//! # Keys
//!
//! Fetched lazily from OIDC discovery or a JWKS URL, cached for 10 minutes or as
//! `Cache-Control` says (clamped to 5 min – 24 h), refreshed in the background before expiry,
//! refetched once per 30 s cooldown when a token names an unknown `kid` (key rotation), and
//! kept for up to an hour when the issuer is down. Requests read keys through an atomic
//! pointer; a small mutex is taken only to start or join a fetch.
//!
//! # Features
//!
//! - `axum` (default): extractors, [`RouterExt::route_requiring`], [`require`]. Without it the
//!   tower layers, the validator and requirement checks work as they are (tonic services).
//! - `aws-lc-rs` (default) or `rust-crypto`: the signature backend. With both, aws-lc-rs is used.
//! - `reqwest` (default): the default HTTP fetcher.
//! - `macros` (default): the `#[require_scope("...")]` attribute.
//! - `redis`: `dpop::RedisReplayStore`, DPoP proof ids remembered in a Redis that replicas
//!   share.
//! - `utoipa`: [`openapi`], routes declared once, enforced by the router and documented in a
//!   utoipa OpenAPI document (security schemes, per-operation security requirements).
//! - `test-util`: [`testing`], an in-process issuer that mints really signed tokens.
//! - `metrics`: counters and gauges through the [`metrics`](https://docs.rs/metrics) facade
//!   (refusals by kind, key fetches by result, key-set size and age, the verified-token and
//!   grant-resolver caches); install any recorder to collect them. The README lists them.
//!
//! # How it is built
//!
//! Imports run one way, from the request's edge to the leaves:
//!
//! | module | holds |
//! |---|---|
//! | `router`, `extract` (feature `axum`), `openapi` (feature `utoipa`) | `route_requiring`, extractors, the `require` layer, OpenAPI records |
//! | `service` | `AuthLayer`/`AuthService`, `RequireLayer`/`RequireService`, refusal renderers |
//! | `dpop`, `metadata` | DPoP proofs and replay stores; the RFC 9728 document |
//! | `validate` | `Validator`, its builder, `Issuers`, the claim rules |
//! | `authorize` | `Requirement`, the one decision, the grant resolver and its cache |
//! | `principal` | `Authenticated`: the verified token and the scopes it grants |
//! | `grant` | scope sources, the granted set, templates, role policies |
//! | `jwks` | fetching and caching key sets |
//! | `jose` | algorithms, the compact JWS, JWK sets |
//! | `json`, `syntax`, `error`, `clock`, `boxed`, `observe` | the strict JSON reader, character rules, refusals, time, metrics |

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod authorize;
mod boxed;
mod clock;
pub mod dpop;
mod error;
#[cfg(feature = "axum")]
mod extract;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
mod grant;
mod jose;
mod json;
pub mod jwks;
mod metadata;
mod observe;
#[cfg(feature = "utoipa")]
pub mod openapi;
mod principal;
#[cfg(feature = "axum")]
mod router;
mod service;
mod short_text;
mod syntax;
mod validate;

#[cfg(feature = "test-util")]
pub mod testing;

pub use authorize::{
    GrantResolver, Requirement, ResolveError, ResolveRequest, ScopeRequirement, StepUpRequirement,
};
pub use boxed::BoxFuture;
pub use clock::{Clock, SystemClock};
pub use error::{AuthError, ConfigError, ErrorKind};
#[cfg(feature = "axum")]
pub use extract::{Access, Claims, RequireScope, require, require_scope};
pub use grant::{GrantedScopes, RolePolicy, ScopeSource, TemplateError, check_template};
pub use jsonwebtoken::Algorithm;
pub use metadata::ResourceMetadata;
#[cfg(feature = "metrics")]
pub use observe::describe_metrics;
pub use principal::Authenticated;
#[cfg(feature = "axum")]
pub use router::RouterExt;
/// Requires a scope template on an async axum handler, checked at compile time (feature
/// `macros`, on by default).
///
/// ```
/// use axum::{Router, routing::delete};
///
/// #[scopegate::require_scope("delete:comments-in-{room}")]
/// async fn delete_comment() -> &'static str {
///     "deleted"
/// }
///
/// let app: Router = Router::new().route("/rooms/{room}/comments/{id}", delete(delete_comment));
/// ```
///
/// It adds a [`RequireScope`] extractor as the handler's first argument; the route's path
/// parameters are checked per request, as with the extractor.
#[cfg(feature = "macros")]
pub use scopegate_macros::require_scope;
pub use service::{
    AuthLayer, AuthService, DefaultRejection, GrpcRejection, OnRejection, ProblemJson,
    RequireFuture, RequireLayer, RequireService, ResponseFuture,
};
pub use validate::{
    DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES, DEFAULT_TOKEN_CACHE_BYTES, Issuers, MAX_LEEWAY,
    Validator, ValidatorBuilder,
};

/// The README's Rust snippets, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
