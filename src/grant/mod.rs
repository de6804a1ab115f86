//! The grant vocabulary: which claims carry scopes, the granted set, scope templates bound to
//! path values, and role maps that expand into scopes.

mod policy;
mod roles;
mod set;
mod source;
mod template;

pub(crate) use policy::GrantPolicy;
pub use roles::RolePolicy;
pub use set::GrantedScopes;
pub use source::ScopeSource;
#[cfg(feature = "axum")]
pub(crate) use template::RESERVED_PREFIX;
pub(crate) use template::{BindError, ParamValue, ScopeTemplate, Unbound, is_bindable};
pub use template::{TemplateError, check_template};
