//! Authorization decisions: what a route requires, how a verified token meets it, and the
//! grants the API's own services add.

mod decision;
mod describe;
mod evaluate;
mod macros;
mod params;
mod policy;
mod requirement;
mod resolver;
mod step_up;

#[cfg(feature = "axum")]
pub(crate) use decision::decide_fully;
pub(crate) use decision::{Decision, decide};
pub use macros::ScopeRequirement;
pub(crate) use params::PathValues;
pub(crate) use policy::AccessPolicy;
pub use requirement::Requirement;
pub(crate) use resolver::{CachedResolver, DEFAULT_MAX_KEYS_PER_PRINCIPAL};
pub use resolver::{GrantResolver, ResolveError, ResolveRequest};
pub use step_up::StepUpRequirement;
