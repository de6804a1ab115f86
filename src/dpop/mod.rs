//! Sender-constrained tokens: DPoP proofs (RFC 9449) and the replay store that makes each proof
//! usable once.
//!
//! Turn it on with [`AuthLayer::dpop`](crate::AuthLayer::dpop). A request then may (or, with
//! [`Dpop::required`], must) send `Authorization: DPoP <token>` and one `DPoP` header holding a
//! proof: a JWT signed by the client's key, naming the request's method and URI, issued within
//! the proof window, carrying the hash of the token, and signed by the very key the token is
//! bound to (`cnf.jkt`). Each proof is accepted once: its id is recorded in a
//! [`ReplayStore`]. Two stores come with scopegate: [`MemoryReplayStore`] for a single
//! replica, and `RedisReplayStore` (feature `redis`) for replicas that share one Redis.
//!
//! ```
//! use std::time::Duration;
//! use scopegate::dpop::{Dpop, MemoryReplayStore};
//!
//! let dpop = Dpop::required()
//!     .replay_store(MemoryReplayStore::new(50_000))
//!     .replay_timeout(Duration::from_millis(250));
//! ```

mod config;
mod digest;
pub(crate) mod htu;
mod memory;
pub(crate) mod proof;
#[cfg(feature = "redis")]
mod redis;
mod replay;

use std::sync::Arc;
use std::time::Duration;

#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use self::redis::RedisReplayStore;
pub use config::Dpop;
pub use memory::MemoryReplayStore;
pub use replay::{ReplayStore, ReplayStoreError};

#[cfg(feature = "test-util")]
pub(crate) use digest::sha256_base64url;
pub(crate) use htu::Origin;
pub(crate) use proof::{CheckedProof, ProofRequest, check_proof};

use crate::clock::Clock;
use crate::error::ErrorKind;

/// DPoP as one API applies it: the configuration, its replay store and the public origin.
#[derive(Clone, Debug)]
pub(crate) struct DpopPolicy {
    pub(crate) config: Dpop,
    store: Arc<dyn ReplayStore>,
    origin: Origin,
}

/// How many proof ids the default in-memory store holds.
const DEFAULT_MEMORY_ENTRIES: usize = MemoryReplayStore::DEFAULT_MAX_ENTRIES;

/// The layer's shared clock, as a `Clock` the store can own.
struct ClockRef(Arc<dyn Clock>);

impl Clock for ClockRef {
    fn now(&self) -> Duration {
        self.0.now()
    }
}

impl DpopPolicy {
    pub(crate) fn new(config: Dpop, origin: Origin, clock: Arc<dyn Clock>) -> Self {
        let store = config.replay_store.clone().unwrap_or_else(|| {
            Arc::new(MemoryReplayStore::with_clock(
                DEFAULT_MEMORY_ENTRIES,
                ClockRef(clock),
            ))
        });
        DpopPolicy {
            config,
            store,
            origin,
        }
    }

    /// The origin `htu` is compared with: the forwarded one when trusted and present.
    pub(crate) fn origin_for(&self, headers: &http::HeaderMap) -> Origin {
        self.config
            .trust_forwarded_headers
            .then(|| Origin::forwarded(headers))
            .flatten()
            .unwrap_or_else(|| self.origin.clone())
    }

    /// Records the proof's use: refused when seen within the window, 503 when the store does
    /// not answer in time.
    ///
    /// Needs a Tokio runtime with its timer enabled, as axum's and tonic's servers run.
    pub(crate) async fn first_use(&self, proof: &CheckedProof, now: i64) -> Result<(), ErrorKind> {
        // The proof is acceptable until `iat + window` (its `iat` may lie a window ahead): its
        // id must be remembered that long, and no longer, so the store holds what it must.
        let window = i64::try_from(self.config.proof_window.as_secs()).unwrap_or(i64::MAX);
        let remaining = proof.issued_at.saturating_add(window).saturating_sub(now);
        let ttl = Duration::from_secs(u64::try_from(remaining).unwrap_or(0).saturating_add(1));
        let answer = tokio::time::timeout(
            self.config.replay_timeout,
            self.store.first_use(&proof.replay_key, ttl),
        )
        .await;
        match answer {
            Ok(Ok(true)) => Ok(()),
            Ok(Ok(false)) => Err(ErrorKind::DpopProofReplayed),
            Ok(Err(error)) => {
                tracing::error!(target: "scopegate", %error, "the DPoP replay store failed; refusing with 503");
                Err(ErrorKind::ReplayCheckUnavailable)
            }
            Err(_) => {
                tracing::error!(target: "scopegate", "the DPoP replay store did not answer in time; refusing with 503");
                Err(ErrorKind::ReplayCheckUnavailable)
            }
        }
    }
}

impl std::fmt::Debug for dyn ReplayStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReplayStore")
    }
}
