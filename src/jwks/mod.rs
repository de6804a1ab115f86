//! Where verification keys come from: fetching, discovery, and the cache.
//!
//! Most users never touch this module: [`ValidatorBuilder`](crate::ValidatorBuilder) picks OIDC
//! discovery by default. It is public for [`JwksFetcher`], to bring your own HTTP client.

mod cache;
pub(crate) mod document;
mod error;
mod fetch;

pub use crate::boxed::BoxFuture;
pub(crate) use cache::{CachePolicy, Immediate, KeyCache, Remote};
pub(crate) use error::KeyError;
#[cfg(feature = "reqwest")]
pub use fetch::ReqwestFetcher;
pub use fetch::{ACCEPT, FetchError, JwksFetcher, MAX_DOCUMENT_BYTES, USER_AGENT};
pub(crate) use fetch::{check_url, default_fetcher};
