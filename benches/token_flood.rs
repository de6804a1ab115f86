//! Peak memory under a flood of distinct valid tokens: the verified-token cache must stay within
//! its bound. Each token is minted, validated once and dropped, so only the cache can keep them.
//!
//! ```sh
//! cargo bench --bench token_flood                      # 1 000 000 EdDSA tokens
//! FLOOD_TOKENS=200000 cargo bench --bench token_flood
//! ```
//!
//! `FLOOD_CACHE_BYTES` sets the cache's bound (0: off). Prints the process's peak resident memory (`VmHWM`) before and after, the growth, and the
//! cache's configured bound. Linux only (reads `/proc/self/status`).

use std::time::Instant;

use scopegate::testing::TestIssuer;
use scopegate::{Algorithm, DEFAULT_TOKEN_CACHE_BYTES, Issuers};

fn peak_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is read from the command line.
    let count: usize = std::env::var("FLOOD_TOKENS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(1_000_000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let issuer = TestIssuer::start().await.expect("test issuer");
        // FLOOD_CACHE_BYTES=0 measures the uncached path instead (for profiling).
        let cache_bytes = std::env::var("FLOOD_CACHE_BYTES")
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or(DEFAULT_TOKEN_CACHE_BYTES);
        let issuers = Issuers::from(issuer.validator().build().expect("validator"))
            .with_token_cache(cache_bytes);
        // Warm up: keys fetched, every allocator arena in use once.
        for n in 0..1_000 {
            let token = issuer
                .token()
                .algorithm(Algorithm::EdDSA)
                .subject(&format!("warm-{n}"))
                .sign();
            issuers.validate(&token).await.expect("valid");
        }
        let before = peak_kib();
        let started = Instant::now();
        for n in 0..count {
            let token = issuer
                .token()
                .algorithm(Algorithm::EdDSA)
                .subject(&format!("user-{n}"))
                .scope("read:comments-in-room_1 add:comments-in-room_1")
                .sign();
            issuers.validate(&token).await.expect("valid");
        }
        let after = peak_kib();
        println!(
            "{count} distinct valid tokens in {:.1?}: peak RSS {:.1} MiB before, {:.1} MiB after, growth {:.1} MiB; cache bound {:.1} MiB",
            started.elapsed(),
            before as f64 / 1024.0,
            after as f64 / 1024.0,
            after.saturating_sub(before) as f64 / 1024.0,
            DEFAULT_TOKEN_CACHE_BYTES as f64 / (1024.0 * 1024.0),
        );
    });
}
