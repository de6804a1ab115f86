//! Rejections and their responses.
//!
//! Every way a request can fail authentication is an [`ErrorKind`]. An [`AuthError`] turns it into
//! the status code and `WWW-Authenticate` challenges of RFC 6750 §3 (and RFC 9449 §7.1 for DPoP,
//! RFC 9470 §3 for step-up). The `error_description` texts are fixed strings chosen by scopegate:
//! they never contain anything from the token or the request, so they cannot leak a token into
//! a log or reflect attacker input.

use std::fmt;

mod kind;
mod refusal;

pub use kind::ErrorKind;
pub use refusal::AuthError;
pub(crate) use refusal::{Challenges, Realm, Scheme, StepUp};

/// A configuration mistake, found when a validator, policy or router is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(String);

impl ConfigError {
    pub(crate) fn new(message: impl Into<String>) -> Self {
        ConfigError(message.into())
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "scopegate configuration: {}", self.0)
    }
}

impl std::error::Error for ConfigError {}
