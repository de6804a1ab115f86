//! A real `redis-server` for the tests: on 127.0.0.1 only, on a free port, without
//! persistence, killed when dropped.
#![allow(dead_code)]

use std::io::Write;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Set to `1` to skip the tests that need `redis-server` (they fail without it otherwise).
pub const SKIP_VARIABLE: &str = "SCOPEGATE_SKIP_REDIS_TESTS";

pub struct RedisServer {
    child: Child,
    port: u16,
}

impl RedisServer {
    /// A server on a free loopback port, answering `PING` when returned. `None` (with a
    /// notice on stderr) when `SCOPEGATE_SKIP_REDIS_TESTS=1`; a test failure when
    /// `redis-server` is not installed.
    pub async fn start() -> Option<RedisServer> {
        if std::env::var(SKIP_VARIABLE).is_ok_and(|value| value == "1") {
            // Straight to stderr: the test harness would swallow `eprintln!`.
            let _ = writeln!(
                std::io::stderr(),
                "note: {SKIP_VARIABLE}=1: skipping a test that needs redis-server"
            );
            return None;
        }
        Some(Self::start_on(free_port()).await)
    }

    /// A server on `port`, answering `PING` when returned.
    pub async fn start_on(port: u16) -> RedisServer {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start redis-server ({error}): the Redis replay store tests need it. \
                     Install it (Debian: `apt-get install redis-server`), or set \
                     {SKIP_VARIABLE}=1 to skip them"
                )
            });
        let server = RedisServer { child, port };
        for _ in 0..100 {
            if answers_ping(port).await {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server on 127.0.0.1:{port} did not answer PING within 5 s");
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Kills the server and waits until it is gone.
    pub fn stop(mut self) -> u16 {
        self.kill();
        self.port
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A loopback port nothing listens on (right after this returns).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("its address").port()
}

async fn answers_ping(port: u16) -> bool {
    let attempt = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
        stream.write_all(b"PING\r\n").await.ok()?;
        let mut reply = [0u8; 7];
        stream.read_exact(&mut reply).await.ok()?;
        Some(&reply == b"+PONG\r\n")
    };
    tokio::time::timeout(Duration::from_millis(500), attempt)
        .await
        .ok()
        .flatten()
        .unwrap_or(false)
}
