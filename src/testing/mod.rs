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
//!
//! # Testing your own router
//!
//! Turn the feature on for your tests only:
//!
//! ```toml
//! [dev-dependencies]
//! scopegate = { version = "0.1", features = ["test-util"] }
//! ```
//!
//! Then put your router behind a validator for the test issuer and send it requests carrying
//! [`TokenBuilder::bearer`] (or [`TestIssuer::bearer`]) as their `Authorization` header. The
//! requests go through the router in-process with `tower::ServiceExt::oneshot`; only the
//! validator's key fetch goes over loopback HTTP.
//!
//! ```
//! use axum::body::Body;
//! use axum::extract::Path;
//! use axum::http::{Request, StatusCode};
//! use axum::routing::get;
//! use axum::Router;
//! use scopegate::testing::TestIssuer;
//! use scopegate::{scope, AuthLayer, RouterExt};
//! use tower::ServiceExt;
//!
//! async fn comments(Path(room): Path<String>) -> String {
//!     format!("the comments in {room}")
//! }
//!
//! // In your own tests this is a `#[tokio::test] async fn`.
//! #[tokio::main(flavor = "current_thread")]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let issuer = TestIssuer::start().await?;
//!     let app = Router::new()
//!         .route_requiring(
//!             "/rooms/{room}/comments",
//!             get(comments),
//!             scope!("read:comments-in-{room}"),
//!         )
//!         .layer(AuthLayer::new(issuer.validator().build()?));
//!
//!     // A token granting `read:comments-in-r1`, as an `Authorization` header value.
//!     let bearer = issuer.token().scope("read:comments-in-r1").bearer();
//!     let request = |room: &str, authorization: Option<&str>| {
//!         let mut request = Request::get(format!("/rooms/{room}/comments"));
//!         if let Some(authorization) = authorization {
//!             request = request.header("authorization", authorization);
//!         }
//!         request.body(Body::empty())
//!     };
//!
//!     // The room the token names: allowed.
//!     let response = app.clone().oneshot(request("r1", Some(&bearer))?).await?;
//!     assert_eq!(response.status(), StatusCode::OK);
//!     // Another room: a valid token without the scope, 403 Forbidden.
//!     let response = app.clone().oneshot(request("r2", Some(&bearer))?).await?;
//!     assert_eq!(response.status(), StatusCode::FORBIDDEN);
//!     // No token at all: 401 Unauthorized.
//!     let response = app.clone().oneshot(request("r1", None)?).await?;
//!     assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
//!     Ok(())
//! }
//! ```
//!
//! # How it is built
//!
//! Imports run one way: `issuer` (the server, its state and knobs) mints with `token` (the
//! builder and signing), which signs with `keys` (generation and the published JWKS). `clock`
//! stands alone.

use std::sync::{Mutex, MutexGuard};

use jsonwebtoken::Algorithm;

mod clock;
mod dpop;
mod issuer;
mod keys;
mod token;

pub use clock::ManualClock;
pub use dpop::{DpopKey, ProofBuilder};
pub use issuer::TestIssuer;
pub use token::TokenBuilder;

/// The audience [`TestIssuer`] puts in tokens unless told otherwise.
pub const TEST_AUDIENCE: &str = "https://api.scopegate.test";

/// The algorithms [`TestIssuer`] has a key for.
pub const TEST_ALGORITHMS: [Algorithm; 4] = [
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
];

/// A failure to start the test issuer.
#[derive(Debug, Clone)]
pub struct TestIssuerError(String);

impl std::fmt::Display for TestIssuerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "test issuer: {}", self.0)
    }
}

impl std::error::Error for TestIssuerError {}

/// Locks `mutex`, poisoned or not: the test issuer's state stays usable after a test panics.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
