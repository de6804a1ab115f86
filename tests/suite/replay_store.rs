//! One suite for every DPoP replay store, then what only one store does: the memory store's
//! bound, and the Redis store's behaviour when Redis is down, slow or restarted.
//!
//! The Redis tests start their own `redis-server` on 127.0.0.1; without it they fail unless
//! `SCOPEGATE_SKIP_REDIS_TESTS=1`.

use std::sync::Arc;
use std::time::Duration;

use scopegate::BoxFuture;
use scopegate::dpop::{MemoryReplayStore, ReplayStore};
use scopegate::testing::ManualClock;

const WINDOW: Duration = Duration::from_secs(60);

/// A store under test, and how to let time pass for it.
struct Subject {
    store: Arc<dyn ReplayStore>,
    /// A ttl the expiry test can wait out.
    short_ttl: Duration,
    /// Lets `ttl` pass, in the store's eyes.
    pass: Box<dyn Fn(Duration) -> BoxFuture<'static, ()> + Send + Sync>,
    /// Whatever must live as long as the store (a Redis server).
    _keep: Option<Box<dyn Send + Sync>>,
}

/// A key as scopegate makes them: 43 characters of base64url, unique per call.
fn fresh_key() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{:0>43}", format!("k{n}-{}", std::process::id()))
}

async fn first_use_then_replay(subject: Subject) {
    let key = fresh_key();
    assert_eq!(subject.store.first_use(&key, WINDOW).await, Ok(true));
    assert_eq!(subject.store.first_use(&key, WINDOW).await, Ok(false));
    assert_eq!(subject.store.first_use(&key, WINDOW).await, Ok(false));
}

async fn different_keys_are_independent(subject: Subject) {
    let (a, b) = (fresh_key(), fresh_key());
    assert_eq!(subject.store.first_use(&a, WINDOW).await, Ok(true));
    assert_eq!(subject.store.first_use(&b, WINDOW).await, Ok(true));
    assert_eq!(subject.store.first_use(&a, WINDOW).await, Ok(false));
    assert_eq!(subject.store.first_use(&b, WINDOW).await, Ok(false));
}

async fn an_id_expires_after_its_ttl(subject: Subject) {
    let (key, longer) = (fresh_key(), fresh_key());
    assert_eq!(
        subject.store.first_use(&key, subject.short_ttl).await,
        Ok(true)
    );
    assert_eq!(subject.store.first_use(&longer, WINDOW).await, Ok(true));
    (subject.pass)(subject.short_ttl).await;
    assert_eq!(
        subject.store.first_use(&key, subject.short_ttl).await,
        Ok(true)
    );
    assert_eq!(subject.store.first_use(&longer, WINDOW).await, Ok(false));
}

async fn one_of_32_racing_tasks_wins(subject: Subject) {
    let key = Arc::<str>::from(fresh_key());
    let barrier = Arc::new(tokio::sync::Barrier::new(32));
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let (store, key, barrier) = (subject.store.clone(), key.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                store.first_use(&key, WINDOW).await
            })
        })
        .collect();
    let mut fresh = 0;
    for task in tasks {
        if task.await.expect("task ran").expect("store answered") {
            fresh += 1;
        }
    }
    assert_eq!(fresh, 1, "exactly one task may see the proof as fresh");
}

/// The shared suite, once per store: `$subject` is an `async` expression giving
/// `Option<Subject>` (`None`: skipped).
macro_rules! shared_suite {
    ($store:ident, $subject:expr) => {
        mod $store {
            use super::*;

            shared_suite!(@test $subject, first_use_then_replay);
            shared_suite!(@test $subject, different_keys_are_independent);
            shared_suite!(@test $subject, an_id_expires_after_its_ttl);
            shared_suite!(@test $subject, one_of_32_racing_tasks_wins);
        }
    };
    (@test $subject:expr, $check:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $check() {
            if let Some(subject) = $subject.await {
                super::$check(subject).await;
            }
        }
    };
}

async fn memory_subject() -> Option<Subject> {
    let clock = ManualClock::starting_now();
    let store = MemoryReplayStore::with_clock(1_000, clock.clone());
    Some(Subject {
        store: Arc::new(store),
        short_ttl: WINDOW / 2,
        pass: Box::new(move |ttl| {
            clock.advance(ttl);
            Box::pin(async {})
        }),
        _keep: None,
    })
}

shared_suite!(memory, memory_subject());

#[tokio::test]
async fn a_full_memory_store_refuses_until_ids_expire() {
    let clock = ManualClock::starting_now();
    let store = MemoryReplayStore::with_clock(8, clock.clone());
    let held: Vec<String> = (0..8).map(|_| fresh_key()).collect();
    for key in &held {
        assert_eq!(store.first_use(key, WINDOW).await, Ok(true));
    }
    let newcomer = fresh_key();
    let refusal = store.first_use(&newcomer, WINDOW).await.unwrap_err();
    assert!(refusal.to_string().contains("full"), "{refusal}");
    assert!(!refusal.to_string().contains(&newcomer), "{refusal}");
    // Full, yet every live id is still known.
    for key in &held {
        assert_eq!(store.first_use(key, WINDOW).await, Ok(false));
    }
    clock.advance(WINDOW);
    assert_eq!(store.first_use(&newcomer, WINDOW).await, Ok(true));
    assert!(store.len() <= 8);
}

#[cfg(feature = "redis")]
mod redis_store {
    use scopegate::dpop::RedisReplayStore;
    use tokio::net::TcpListener;

    use super::*;
    use crate::redis_server::{RedisServer, free_port};

    /// Long enough for any one call here: the tests check that calls end, not when.
    const GUARD: Duration = Duration::from_secs(10);

    async fn redis_subject() -> Option<Subject> {
        let server = RedisServer::start().await?;
        let store = RedisReplayStore::new(&server.url()).expect("a valid URL");
        Some(Subject {
            store: Arc::new(store),
            short_ttl: Duration::from_millis(300),
            // Redis's own clock: wait the ttl out, with a margin.
            pass: Box::new(|ttl| Box::pin(tokio::time::sleep(ttl + Duration::from_millis(100)))),
            _keep: Some(Box::new(server)),
        })
    }

    shared_suite!(shared, redis_subject());

    /// Runs `first_use` under the guard: `Err` when the store answered with an error.
    async fn guarded(store: &RedisReplayStore, key: &str) -> Result<bool, String> {
        tokio::time::timeout(GUARD, store.first_use(key, WINDOW))
            .await
            .expect("the store answered rather than hanging")
            .map_err(|error| error.to_string())
    }

    #[tokio::test]
    async fn an_unreachable_redis_is_an_error() {
        let store = RedisReplayStore::new(&format!("redis://127.0.0.1:{}", free_port()))
            .expect("a valid URL");
        let key = fresh_key();
        let error = guarded(&store, &key).await.unwrap_err();
        assert!(error.contains("connection refused"), "{error}");
        assert!(!error.contains(&key), "{error}");
        // And again: a failed connection is retried, not remembered as fine.
        assert!(guarded(&store, &key).await.is_err());
    }

    #[tokio::test]
    async fn a_redis_that_never_answers_is_a_timeout() {
        // Accepts connections and holds them, never answering.
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("address").port();
        let silent = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let store = RedisReplayStore::new(&format!("redis://127.0.0.1:{port}"))
            .expect("a valid URL")
            .timeout(Duration::from_millis(300));
        let key = fresh_key();
        let error = guarded(&store, &key).await.unwrap_err();
        assert!(error.contains("timeout"), "{error}");
        assert!(!error.contains(&key), "{error}");
        assert!(guarded(&store, &key).await.is_err());
        silent.abort();
    }

    #[tokio::test]
    async fn the_store_works_again_after_redis_restarts() {
        let Some(server) = RedisServer::start().await else {
            return;
        };
        let store = RedisReplayStore::new(&server.url()).expect("a valid URL");
        assert_eq!(guarded(&store, &fresh_key()).await, Ok(true));

        let port = server.stop();
        // Down: never accepted unchecked.
        assert!(guarded(&store, &fresh_key()).await.is_err());
        assert!(guarded(&store, &fresh_key()).await.is_err());

        let _server = RedisServer::start_on(port).await;
        let key = fresh_key();
        assert_eq!(guarded(&store, &key).await, Ok(true));
        assert_eq!(guarded(&store, &key).await, Ok(false));
    }

    #[tokio::test]
    async fn the_key_prefix_is_configurable() {
        let Some(server) = RedisServer::start().await else {
            return;
        };
        let one = RedisReplayStore::new(&server.url()).expect("a valid URL");
        let other = one.clone().key_prefix("another-api:dpop:");
        let key = fresh_key();
        assert_eq!(guarded(&one, &key).await, Ok(true));
        assert_eq!(guarded(&other, &key).await, Ok(true));
        assert_eq!(guarded(&other, &key).await, Ok(false));
    }
}
