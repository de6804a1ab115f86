//! The boxed future the crate's trait objects return ([`JwksFetcher`](crate::jwks::JwksFetcher),
//! [`GrantResolver`](crate::GrantResolver)): object-safe async without a macro.

use std::future::Future;
use std::pin::Pin;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;
