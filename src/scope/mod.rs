//! Granted scopes, scope templates and route requirements.
//!
//! After validation, one [`GrantedScopes`] set is built from every configured [`ScopeSource`]
//! (`scope`, `scp`, `permissions` and custom claims). A route states a [`Requirement`], usually
//! a template such as `delete:comments-in-:room` bound to the route's own path parameters; see
//! [the `require` module](mod@crate::require) for the ways to attach one.

mod grant;
mod requirement;
mod resolver;
mod roles;
mod template;

pub(crate) use grant::is_scope_token;
pub use grant::{GrantedScopes, ScopeSource};
pub use requirement::Requirement;
pub(crate) use requirement::{Denial, ParamValue, param_value};
pub(crate) use resolver::CachedResolver;
pub use resolver::{GrantResolver, ResolveError, ResolveRequest};
pub use roles::RolePolicy;
pub use template::{TemplateError, check_template};
