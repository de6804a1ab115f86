//! Sender-constrained tokens: DPoP proofs (RFC 9449) and the replay store that makes each proof
//! usable once.
//!
//! Two stores come with scopegate: [`MemoryReplayStore`] for a single replica, and
//! `RedisReplayStore` (feature `redis`) for replicas that share one Redis.

mod memory;
#[cfg(feature = "redis")]
mod redis;
mod replay;

#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::RedisReplayStore;
pub use memory::MemoryReplayStore;
pub use replay::{ReplayStore, ReplayStoreError};
