//! PLACEHOLDER until the in-memory store lands from its branch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::replay::{ReplayStore, ReplayStoreError};
use crate::boxed::BoxFuture;
use crate::clock::{Clock, SystemClock};

/// In-memory replay store (placeholder).
#[derive(Clone)]
pub struct MemoryReplayStore {
    seen: Arc<Mutex<HashMap<String, Duration>>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for MemoryReplayStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MemoryReplayStore")
    }
}

impl MemoryReplayStore {
    /// A store.
    pub fn new(_max_entries: usize) -> Self {
        MemoryReplayStore {
            seen: Arc::default(),
            clock: Arc::new(SystemClock),
        }
    }
    /// With a clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }
}

impl ReplayStore for MemoryReplayStore {
    fn first_use<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, ReplayStoreError>> {
        let now = self.clock.now();
        let fresh = match self.seen.lock() {
            Ok(mut seen) => {
                let live = seen.get(key).is_some_and(|until| *until > now);
                if !live {
                    seen.insert(key.to_owned(), now + ttl);
                }
                Ok(!live)
            }
            Err(_) => Err(ReplayStoreError::new("poisoned")),
        };
        Box::pin(std::future::ready(fresh))
    }
}
