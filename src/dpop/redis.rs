//! [`RedisReplayStore`]: proof ids remembered in Redis, shared by every replica of an API.
//!
//! ```no_run
//! use std::time::Duration;
//! use scopegate::dpop::{RedisReplayStore, ReplayStore};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Nothing is sent yet: the connection opens on first use.
//! let store = RedisReplayStore::new("redis://redis.internal:6379/0")?
//!     .timeout(Duration::from_millis(250));
//! let window = Duration::from_secs(300);
//! assert!(store.first_use("proof-key", window).await?); // fresh
//! assert!(!store.first_use("proof-key", window).await?); // a replay, on any replica
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, ErrorKind, RedisError, Value};
use arc_swap::ArcSwapOption;

use super::replay::{ReplayStore, ReplayStoreError, ttl_millis};
use crate::boxed::BoxFuture;
use crate::error::ConfigError;

/// Remembers DPoP proof ids in Redis: `SET <prefix><key> 1 NX PX <ttl>`, one round trip per
/// proof. The key is new when Redis answers `OK`, a replay when it answers nil.
///
/// - **Share it.** Every replica of the API must point at the same Redis (the same database
///   and key prefix); a replica with its own store would accept a proof already used on
///   another.
/// - **ttl.** Redis expires each id after the `ttl` scopegate asks for (until the proof stops
///   being acceptable: its `iat` plus the proof window),
///   counted in whole milliseconds, rounded up. Redis evicting keys under `maxmemory` would
///   forget live ids: use a `noeviction` or `volatile-*` policy with room to spare. A Redis
///   restarted without persistence has forgotten the ids of the current window.
/// - **Redis down.** Construction neither connects nor fails when Redis is unreachable: the
///   connection opens on first use and reopens after a failure. Each call is bounded by the
///   [timeout](Self::timeout) (500 ms unless set). A refused connection, a timeout, or any
///   reply other than `OK` or nil is an error, and the request is refused with 503: a proof
///   is never accepted unchecked. The error names the failure, never the key.
/// - **Runtime.** Calls run on Tokio.
/// - **TLS.** `rediss://` is not supported; reach Redis over a trusted network.
///
/// Clones share one connection.
#[derive(Clone)]
pub struct RedisReplayStore {
    client: Client,
    key_prefix: Arc<str>,
    timeout: Duration,
    /// The connection manager, made on first use and dropped after a failure.
    connection: Arc<ArcSwapOption<ConnectionManager>>,
}

impl RedisReplayStore {
    /// How long a call may take unless [`timeout`](Self::timeout) says otherwise: 500 ms.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(500);

    /// What each key starts with unless [`key_prefix`](Self::key_prefix) says otherwise.
    pub const DEFAULT_KEY_PREFIX: &'static str = "scopegate:dpop:";

    /// A store on the Redis at `url`: `redis://[[user]:password@]host[:port][/db]` or
    /// `redis+unix:///path/to/socket`. Only the URL is checked; nothing connects until the
    /// first proof. The error never repeats the URL, which may hold a password.
    pub fn new(url: &str) -> Result<Self, ConfigError> {
        let scheme = url.split_once("://").map_or("", |(scheme, _)| scheme);
        if scheme.eq_ignore_ascii_case("rediss") || scheme.eq_ignore_ascii_case("valkeys") {
            return Err(ConfigError::new(
                "Redis replay store: TLS (rediss://) is not supported; use redis://",
            ));
        }
        let client = Client::open(url).map_err(|_| {
            ConfigError::new(
                "Redis replay store: not a Redis URL (expected \
                 redis://[[user]:password@]host[:port][/db] or redis+unix:///path)",
            )
        })?;
        Ok(RedisReplayStore {
            client,
            key_prefix: Arc::from(Self::DEFAULT_KEY_PREFIX),
            timeout: Self::DEFAULT_TIMEOUT,
            connection: Arc::new(ArcSwapOption::empty()),
        })
    }

    /// Bounds each call, connecting included. Past it the call is an error (503). Keep it
    /// well under your clients' own timeouts.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// What each key starts with (default `scopegate:dpop:`): set one per API when APIs that
    /// accept the same proofs' keys share a Redis but must not share ids.
    pub fn key_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.key_prefix = Arc::from(prefix.into());
        self
    }

    async fn set_if_absent(&self, key: &str, ttl: Duration) -> Result<bool, ReplayStoreError> {
        let manager = match self.connection.load_full() {
            Some(manager) => manager,
            None => self.connect().map_err(|error| failure(&error))?,
        };
        let mut connection = ConnectionManager::clone(&manager);
        let mut command = ::redis::cmd("SET");
        command
            .arg(format!("{}{key}", self.key_prefix))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(ttl_millis(ttl));
        let reply =
            tokio::time::timeout(self.timeout, command.query_async::<Value>(&mut connection));
        let outcome = match reply.await {
            Err(_elapsed) => Err(ReplayStoreError::new(format!(
                "Redis: timeout: no answer within {:?}",
                self.timeout
            ))),
            Ok(Err(error)) => Err(failure(&error)),
            Ok(Ok(value)) => read_reply(&value),
        };
        if outcome.is_err() {
            // The next call opens a new connection, unless another call did so already.
            self.connection.compare_and_swap(&Some(manager), None);
        }
        outcome
    }

    /// Makes the connection manager (lazily connecting) and shares it, or the one another call
    /// made meanwhile.
    fn connect(&self) -> Result<Arc<ConnectionManager>, RedisError> {
        // One attempt per connection, bounded like the call: a retry with backoff would only
        // turn a refusal into a timeout. After a failure the next call tries again.
        let config = ConnectionManagerConfig::new()
            .set_number_of_retries(0)
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        let fresh = Arc::new(ConnectionManager::new_lazy_with_config(
            self.client.clone(),
            config,
        )?);
        let before = self
            .connection
            .compare_and_swap(&None::<Arc<ConnectionManager>>, Some(Arc::clone(&fresh)));
        Ok(match &*before {
            Some(theirs) => Arc::clone(theirs),
            None => fresh,
        })
    }
}

impl ReplayStore for RedisReplayStore {
    fn first_use<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<bool, ReplayStoreError>> {
        Box::pin(self.set_if_absent(key, ttl))
    }
}

impl std::fmt::Debug for RedisReplayStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The address only: the URL may hold a password.
        f.debug_struct("RedisReplayStore")
            .field(
                "addr",
                &self.client.get_connection_info().addr().to_string(),
            )
            .field("key_prefix", &self.key_prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// `OK` is a fresh id, nil a replay; anything else is not an answer to `SET NX`.
fn read_reply(value: &Value) -> Result<bool, ReplayStoreError> {
    match value {
        Value::Okay => Ok(true),
        Value::SimpleString(text) if text == "OK" => Ok(true),
        Value::Nil => Ok(false),
        _ => Err(ReplayStoreError::new(
            "Redis: protocol: unexpected reply to SET NX",
        )),
    }
}

/// Names what failed, from the error's kind only: details could echo what was sent.
fn failure(error: &RedisError) -> ReplayStoreError {
    let what = if error.is_connection_refusal() {
        "connection refused".to_owned()
    } else if error.is_timeout() {
        "timeout".to_owned()
    } else if error.is_connection_dropped() {
        "connection lost".to_owned()
    } else {
        match error.kind() {
            ErrorKind::Io => "I/O error".to_owned(),
            ErrorKind::AuthenticationFailed => "authentication failed".to_owned(),
            ErrorKind::Parse | ErrorKind::UnexpectedReturnType => {
                "protocol: unreadable reply".to_owned()
            }
            ErrorKind::Server(_) | ErrorKind::Extension => match error.code() {
                Some(code) if is_error_code(code) => format!("server error {code}"),
                _ => "server error".to_owned(),
            },
            _ => "client error".to_owned(),
        }
    };
    ReplayStoreError::new(format!("Redis: {what}"))
}

/// Redis error codes are short upper-case words (`READONLY`, `OOM`, `NOPERM`); anything else
/// is not repeated.
fn is_error_code(code: &str) -> bool {
    (1..=16).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_ok_and_nil_are_answers() {
        assert_eq!(read_reply(&Value::Okay), Ok(true));
        assert_eq!(read_reply(&Value::Nil), Ok(false));
        for other in [Value::Int(1), Value::SimpleString("QUEUED".into())] {
            let error = read_reply(&other).unwrap_err();
            assert!(error.to_string().contains("protocol"), "{error}");
        }
    }

    #[test]
    fn urls_are_checked_without_connecting_and_never_repeated() {
        assert!(RedisReplayStore::new("redis://127.0.0.1:1/0").is_ok());
        assert!(RedisReplayStore::new("redis+unix:///run/redis.sock").is_ok());
        for url in [
            "rediss://:hunter2@cache:6380",
            "http://:hunter2@cache",
            ":hunter2@cache",
        ] {
            let error = RedisReplayStore::new(url).unwrap_err();
            assert!(!error.to_string().contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn debug_shows_the_address_not_the_password() {
        let store = RedisReplayStore::new("redis://:hunter2@cache.internal:6380/2").unwrap();
        let shown = format!("{store:?}");
        assert!(shown.contains("cache.internal:6380"), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
