//! The memory store's own rules: readiness, shards, expiry order, and its size in memory.

use std::task::{Context, Poll, Waker};

use super::*;
use crate::testing::ManualClock;

const WINDOW: Duration = Duration::from_secs(60);

fn store(max_entries: usize) -> (MemoryReplayStore, ManualClock) {
    let clock = ManualClock::starting_now();
    (
        MemoryReplayStore::with_clock(max_entries, clock.clone()),
        clock,
    )
}

/// Records without a runtime: the future must be ready on its first poll.
fn record(store: &MemoryReplayStore, key: &str, ttl: Duration) -> Result<bool, ReplayStoreError> {
    let mut future = store.first_use(key, ttl);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(result) => result,
        Poll::Pending => panic!("the memory store's future was not ready at once"),
    }
}

/// A key that lands in shard `index`.
fn key_in_shard(store: &MemoryReplayStore, index: usize, n: &mut u64) -> String {
    loop {
        *n += 1;
        let key = format!("{n:043}");
        if store.inner.router.hash_one(key.as_str()) % SHARDS as u64 == index as u64 {
            return key;
        }
    }
}

#[test]
fn expired_ids_are_dropped_as_new_ones_come() {
    let (store, clock) = store(100);
    for n in 0..50 {
        assert_eq!(record(&store, &format!("old-{n}"), WINDOW), Ok(true));
    }
    clock.advance(WINDOW);
    // Each shard drops its expired ids when a key lands in it; the sweep on a full store
    // drops the rest. After one new id per shard, only the new ids are left.
    let mut n = 0;
    for index in 0..SHARDS {
        let key = key_in_shard(&store, index, &mut n);
        assert_eq!(record(&store, &key, WINDOW), Ok(true));
    }
    assert_eq!(store.len(), SHARDS);
}

#[test]
fn a_full_store_sweeps_other_shards_before_refusing() {
    let (store, clock) = store(4);
    let mut n = 0;
    for _ in 0..4 {
        let key = key_in_shard(&store, 0, &mut n);
        assert_eq!(record(&store, &key, WINDOW), Ok(true));
    }
    let elsewhere = key_in_shard(&store, 1, &mut n);
    assert!(record(&store, &elsewhere, WINDOW).is_err());
    clock.advance(WINDOW);
    // Shard 1 holds nothing expired; the room comes from shard 0's expired ids.
    assert_eq!(record(&store, &elsewhere, WINDOW), Ok(true));
    assert_eq!(store.len(), 1);
}

#[test]
fn ids_expire_in_the_order_of_their_own_ttl() {
    let (store, clock) = store(10);
    assert_eq!(record(&store, "long", WINDOW * 2), Ok(true));
    assert_eq!(record(&store, "short", WINDOW), Ok(true));
    clock.advance(WINDOW);
    assert_eq!(record(&store, "short", WINDOW), Ok(true));
    assert_eq!(record(&store, "long", WINDOW), Ok(false));
}

#[test]
fn a_ttl_counts_in_whole_milliseconds_rounded_up() {
    let (store, clock) = store(10);
    assert_eq!(record(&store, "zero", Duration::ZERO), Ok(true));
    assert_eq!(record(&store, "zero", Duration::ZERO), Ok(false));
    let odd = Duration::from_micros(1_500);
    assert_eq!(record(&store, "odd", odd), Ok(true));
    clock.advance(Duration::from_millis(1));
    assert_eq!(record(&store, "zero", Duration::ZERO), Ok(true));
    assert_eq!(record(&store, "odd", odd), Ok(false));
    clock.advance(Duration::from_millis(1));
    assert_eq!(record(&store, "odd", odd), Ok(true));
}

#[test]
fn debug_shows_counts_not_keys() {
    let (store, _) = store(10);
    assert_eq!(record(&store, "secret-proof-key", WINDOW), Ok(true));
    let shown = format!("{store:?}");
    assert!(shown.contains("held: 1"), "{shown}");
    assert!(!shown.contains("secret-proof-key"), "{shown}");
}

/// The space a full default store takes: its tables as reserved, plus one allocation per
/// key (an `Arc<str>` of 43 bytes: 16 bytes of counts, rounded up to malloc's 16-byte bins
/// with its 8-byte header). Prints the figure the type's docs quote.
#[test]
fn memory_per_entry() {
    const KEY_BYTES: usize = 43;
    let entries = MemoryReplayStore::DEFAULT_MAX_ENTRIES;
    let (store, _) = store(entries);
    for n in 0..entries {
        assert_eq!(record(&store, &format!("{n:043}"), WINDOW), Ok(true));
    }
    let per_key = (16 + KEY_BYTES + 8).next_multiple_of(16);
    let mut bytes = entries * per_key;
    for shard in store.inner.shards.iter() {
        let shard = shard.lock().unwrap();
        // hashbrown: capacity is 7/8 of a power-of-two bucket count; a control byte each.
        let buckets = (shard.ids.capacity() * 8 / 7).next_power_of_two();
        bytes += buckets * (size_of::<Arc<str>>() + 1);
        bytes += shard.by_expiry.capacity() * size_of::<Reverse<(u64, Arc<str>)>>();
    }
    let per_entry = bytes / entries;
    println!(
        "{entries} ids: about {} MB, {per_entry} bytes each",
        bytes / 1_000_000
    );
    assert!(
        (100..=200).contains(&per_entry),
        "{per_entry} bytes per entry"
    );
}
