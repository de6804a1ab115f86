//! Validation: from a token string to a verified principal, for one issuer or several.

mod backend;
mod builder;
pub(crate) mod claims;
mod issuers;
mod tenants;
mod token_cache;
mod validator;

pub(crate) use backend::verify_signature;
pub use builder::{DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_BYTES, MAX_LEEWAY, ValidatorBuilder};
pub use issuers::Issuers;
pub use token_cache::DEFAULT_TOKEN_CACHE_BYTES;
pub use validator::Validator;
pub(crate) use validator::{Outcome, PendingValidation};
