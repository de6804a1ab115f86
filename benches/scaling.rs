//! Requests per second on 1, 2, ... threads, up to the machine's cores: the same route without
//! authentication; behind the layer with one token repeated on every thread (the verified-token
//! cache's hit, which takes no global lock), and with 64 tokens, as from many clients; and with the cache off and 2000 distinct RS256 tokens (every
//! request verifies a signature). Each thread drives its own clone of the router; no runtime,
//! no sockets, so what is measured is the layer and the router on every core at once.
//!
//! ```sh
//! cargo bench --bench scaling                 # 5 rounds of 1 s per side and thread count
//! SCALING_SECONDS=3 cargo bench --bench scaling
//! ```
//!
//! Prints requests/s per thread count, each side's speed-up over one thread (the number of
//! threads when nothing serializes), and the protected/open ratio at each thread count.

use std::sync::Barrier;
use std::time::{Duration, Instant};

use axum::Router;
use http::HeaderValue;
use scopegate::AuthLayer;
use serde_json::json;
use support::{CUSTOM_SCOPES, open_router, request_once, required_router};

mod support;

const ROUNDS: usize = 5;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Requests/s of `threads` threads, each with a clone of `router`, for `duration`. Thread `n`
/// starts at header `n` and walks the list.
fn throughput(
    router: &Router,
    headers: &[Option<HeaderValue>],
    threads: usize,
    duration: Duration,
) -> f64 {
    let start = Barrier::new(threads);
    let total: u64 = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|thread| {
                let mut router = router.clone();
                let start = &start;
                scope.spawn(move || {
                    start.wait();
                    let began = Instant::now();
                    let mut done = 0u64;
                    let mut next = thread * headers.len() / threads;
                    while began.elapsed() < duration {
                        // A batch between clock reads.
                        for _ in 0..64 {
                            request_once(&mut router, headers[next].as_ref());
                            next = (next + 1) % headers.len();
                            done += 1;
                        }
                    }
                    done as f64 / began.elapsed().as_secs_f64()
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|worker| worker.join().expect("worker") as u64)
            .sum()
    });
    total as f64
}

fn main() {
    let seconds: u64 = std::env::var("SCALING_SECONDS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(1);
    let duration = Duration::from_secs(seconds);
    let cores = std::thread::available_parallelism().map_or(1, |cores| cores.get());

    // The runtime serves the issuer's keys; it lives until the end of the measurement.
    let (_runtime, issuer, validator) = support::issuer_and_validator();

    let bearer =
        |token: String| Some(HeaderValue::from_str(&format!("Bearer {token}")).expect("header"));
    let grant = json!(["read:comments-in-room_7"]);
    let one = vec![bearer(
        issuer
            .token()
            .claim(CUSTOM_SCOPES, grant.clone())
            .expires_in(2 * 60 * 60)
            .sign(),
    )];
    let distinct: Vec<_> = (0..2000)
        .map(|n| {
            bearer(
                issuer
                    .token()
                    .subject(&format!("load-{n}"))
                    .claim(CUSTOM_SCOPES, grant.clone())
                    .expires_in(2 * 60 * 60)
                    .sign(),
            )
        })
        .collect();

    let open = open_router();
    let cached = required_router(AuthLayer::new(validator.clone()));
    let uncached = required_router(AuthLayer::new(validator.clone()).verified_token_cache(0));
    let sides: [(&str, &Router, &[Option<HeaderValue>]); 4] = [
        ("open", &open, &[None]),
        ("cache hit, one token", &cached, &one),
        ("cache hit, 64 tokens", &cached, &distinct[..64]),
        ("cache off, 2000 RS256 tokens", &uncached, &distinct),
    ];
    // Warm-up: keys, route tables, the token cache.
    for (_, router, headers) in &sides {
        let mut router = (*router).clone();
        for header in headers.iter() {
            request_once(&mut router, header.as_ref());
        }
    }

    // Rounds interleave every side and thread count, so a slow spell of the machine falls on
    // all of them; the median of each is reported.
    println!(
        "requests/s by thread count (median of {ROUNDS} rounds of {seconds} s, {cores} cores):"
    );
    let mut samples = vec![vec![Vec::new(); cores]; sides.len()];
    for _ in 0..ROUNDS {
        for (side, (_, router, headers)) in sides.iter().enumerate() {
            for threads in 1..=cores {
                samples[side][threads - 1].push(throughput(router, headers, threads, duration));
            }
        }
    }
    let figures: Vec<Vec<f64>> = samples
        .into_iter()
        .map(|side| side.into_iter().map(median).collect())
        .collect();
    for ((name, _, _), per_threads) in sides.iter().zip(&figures) {
        let line: Vec<String> = per_threads
            .iter()
            .enumerate()
            .map(|(index, rps)| format!("{} thr {:>11.0}", index + 1, rps))
            .collect();
        println!(
            "  {:<30} {}   speed-up at {cores}: {:.2}",
            name,
            line.join("   "),
            per_threads[cores - 1] / per_threads[0]
        );
    }
    for threads in 1..=cores {
        println!(
            "cache hit (one token) / open at {threads} thread(s): {:.3}",
            figures[1][threads - 1] / figures[0][threads - 1]
        );
    }
}
