//! [`MemoryReplayStore`]: proof ids remembered in this process, bounded and sharded.
//!
//! ```
//! use std::time::Duration;
//! use scopegate::dpop::{MemoryReplayStore, ReplayStore};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), scopegate::dpop::ReplayStoreError> {
//! let store = MemoryReplayStore::default(); // 200_000 proof ids at most
//! let window = Duration::from_secs(300);
//! assert!(store.first_use("proof-key", window).await?); // fresh
//! assert!(!store.first_use("proof-key", window).await?); // a replay
//! # Ok(()) }
//! ```

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::replay::{ReplayStore, ReplayStoreError, ttl_millis};
use crate::boxed::BoxFuture;
use crate::clock::{Clock, SystemClock};

/// Shards, each behind its own mutex: concurrent requests with different proofs rarely meet.
const SHARDS: usize = 16;

/// Remembers DPoP proof ids in this process's memory.
///
/// Right for a single replica. Several replicas behind a load balancer each have their own
/// memory, so a proof replayed against another replica would be accepted there: share a
/// `RedisReplayStore` (feature `redis`) between them instead.
///
/// - **Bounded.** At most `max_entries` ids are held; an id is held for the `ttl` it was
///   recorded with. Expired ids are dropped as new ones arrive, without a background task.
///   When every held id is still live, [`first_use`](ReplayStore::first_use) answers an error
///   (the request is refused with 503) rather than forgetting a live id, which would let its
///   proof be replayed. A replay of a held id is still recognised while full.
/// - **Memory.** About 130 bytes per id for scopegate's 43-character keys (133 estimated from
///   the tables' capacities by the test `memory_per_entry`; 126 measured as
///   resident memory): the default 200_000 ids take about 26 MB when full. The space is kept
///   once reached.
/// - **Sharded.** 16 shards chosen by a keyed hash, each with its own short mutex; no lock is
///   held across an `.await` (the returned future is ready at once).
///
/// Clones share the same ids.
#[derive(Clone)]
pub struct MemoryReplayStore {
    inner: Arc<Inner>,
}

struct Inner {
    shards: Box<[Mutex<Shard>]>,
    /// Which shard a key goes to; keyed per store, so keys cannot be aimed at one shard.
    router: RandomState,
    /// Ids held in all shards together, counted before insertion.
    held: AtomicUsize,
    max_entries: usize,
    clock: Arc<dyn Clock>,
}

/// One shard's ids, and the same ids ordered by expiry so that expired ones leave first.
#[derive(Default)]
struct Shard {
    ids: HashSet<Arc<str>>,
    by_expiry: BinaryHeap<Reverse<(u64, Arc<str>)>>,
}

impl Shard {
    /// Drops every id that expired at or before `now` (ms); returns how many.
    fn purge(&mut self, now: u64) -> usize {
        let mut dropped = 0;
        while self
            .by_expiry
            .peek()
            .is_some_and(|Reverse((at, _))| *at <= now)
        {
            if let Some(Reverse((_, id))) = self.by_expiry.pop() {
                self.ids.remove(&id);
                dropped += 1;
            }
        }
        dropped
    }

    fn insert(&mut self, key: &str, expires: u64) {
        let id: Arc<str> = Arc::from(key);
        self.ids.insert(Arc::clone(&id));
        self.by_expiry.push(Reverse((expires, id)));
    }
}

impl MemoryReplayStore {
    /// The default bound, [`MemoryReplayStore::default`]'s: 200_000 ids, about 26 MB when full.
    /// An id is kept until its proof's `iat` plus the window: at the default 60 s window, up to
    /// 121 s, so the default holds at least about 1 600 fresh proofs a second.
    pub const DEFAULT_MAX_ENTRIES: usize = 200_000;

    /// A store holding at most `max_entries` ids, on the system clock. Size it as the proofs
    /// per second you accept times the proof window in seconds, with room to spare. With `0`
    /// every proof is refused (503).
    pub fn new(max_entries: usize) -> Self {
        Self::with_clock(max_entries, SystemClock)
    }

    /// A store holding at most `max_entries` ids, reading time from `clock` (in tests,
    /// `scopegate::testing::ManualClock`).
    pub fn with_clock(max_entries: usize, clock: impl Clock) -> Self {
        let shards = (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect();
        MemoryReplayStore {
            inner: Arc::new(Inner {
                shards,
                router: RandomState::new(),
                held: AtomicUsize::new(0),
                max_entries,
                clock: Arc::new(clock),
            }),
        }
    }

    /// The bound this store was made with.
    pub fn max_entries(&self) -> usize {
        self.inner.max_entries
    }

    /// How many ids are held, counting expired ones not dropped yet.
    pub fn len(&self) -> usize {
        self.inner.held.load(Ordering::Relaxed)
    }

    /// Whether no id is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Default for MemoryReplayStore {
    /// [`MemoryReplayStore::DEFAULT_MAX_ENTRIES`] ids, on the system clock.
    fn default() -> Self {
        Self::new(Self::DEFAULT_MAX_ENTRIES)
    }
}

impl std::fmt::Debug for MemoryReplayStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryReplayStore")
            .field("held", &self.len())
            .field("max_entries", &self.inner.max_entries)
            .field("shards", &SHARDS)
            .finish_non_exhaustive()
    }
}

impl ReplayStore for MemoryReplayStore {
    fn first_use<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, ReplayStoreError>> {
        Box::pin(std::future::ready(self.inner.first_use(key, ttl)))
    }
}

impl Inner {
    fn first_use(&self, key: &str, ttl: Duration) -> Result<bool, ReplayStoreError> {
        let now = millis(self.clock.now());
        let expires = now.saturating_add(ttl_millis(ttl));
        let index = (self.router.hash_one(key) % SHARDS as u64) as usize;

        if let Some(fresh) = self.try_record(index, key, now, expires) {
            return Ok(fresh);
        }
        // Full: drop what expired in every shard, one shard at a time, then try once more.
        for index in 0..SHARDS {
            let dropped = self.lock(index).purge(now);
            self.held.fetch_sub(dropped, Ordering::Relaxed);
        }
        self.try_record(index, key, now, expires).ok_or_else(|| {
            ReplayStoreError::new(format!(
                "memory store full: {} proof ids live; raise its bound or use a shorter proof window",
                self.max_entries
            ))
        })
    }

    /// `Some(true)` when recorded, `Some(false)` when already held, `None` when full.
    fn try_record(&self, index: usize, key: &str, now: u64, expires: u64) -> Option<bool> {
        let mut shard = self.lock(index);
        let dropped = shard.purge(now);
        self.held.fetch_sub(dropped, Ordering::Relaxed);
        if shard.ids.contains(key) {
            return Some(false);
        }
        // Counted under the shard's lock: an id is only ever inserted after a slot is taken.
        let slot = self
            .held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| {
                (held < self.max_entries).then_some(held + 1)
            });
        if slot.is_err() {
            return None;
        }
        shard.insert(key, expires);
        Some(true)
    }

    fn lock(&self, index: usize) -> MutexGuard<'_, Shard> {
        // A shard's state is whole between statements that can panic, so a poisoned lock
        // still guards consistent data.
        self.shards[index]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Milliseconds, saturating far beyond any real clock or window.
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(all(test, feature = "test-util"))]
mod tests;
