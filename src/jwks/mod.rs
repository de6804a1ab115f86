//! Where verification keys come from: fetching, discovery, and the cache.
//!
//! Most users never touch this module: [`ValidatorBuilder`](crate::ValidatorBuilder) picks OIDC
//! discovery by default. It is public for [`JwksFetcher`], to bring your own HTTP client, and for
//! what an operator reads of a fetch: [`FetchError`], its [`FetchErrorKind`], and the
//! [`KeyStatus`] of an issuer.

mod cache;
#[cfg(feature = "reqwest")]
mod classify;
pub(crate) mod document;
mod error;
mod failure;
mod fetch;

pub use crate::boxed::BoxFuture;
pub use cache::KeyStatus;
pub(crate) use cache::{CachePolicy, Immediate, KeyCache, KeySeenIn, Remote};
pub(crate) use error::KeyError;
pub use failure::{FetchError, FetchErrorKind};
#[cfg(feature = "reqwest")]
pub use fetch::ReqwestFetcher;
pub use fetch::{ACCEPT, JwksFetcher, MAX_DOCUMENT_BYTES, USER_AGENT};
pub(crate) use fetch::{check_url, default_fetcher};
