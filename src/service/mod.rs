//! The tower middleware: [`AuthLayer`]/[`AuthService`] at the edge, [`RequireLayer`]/
//! [`RequireService`] for requirements behind it, and the renderers of refusals.

mod auth;
mod context;
pub(crate) mod credentials;
mod rejection;
mod require;
pub(crate) mod sources;

pub use auth::{AuthLayer, AuthService, ResponseFuture};
#[cfg(feature = "axum")]
pub(crate) use context::AuthContext;
#[cfg(feature = "axum")]
pub(crate) use rejection::refusal_response;
pub use rejection::{DefaultRejection, GrpcRejection, OnRejection, ProblemJson};
pub use require::{RequireFuture, RequireLayer, RequireService};
