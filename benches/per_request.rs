//! The layer's whole per-request cost against the floor: a bare `jsonwebtoken::decode` of the same
//! token with the same key.
//!
//! `cargo bench --bench per_request` runs criterion groups (`RS256`, `ES256`, `EdDSA`, each with
//! `floor` and `layer`), then prints the layer/floor ratio per algorithm, measured in the same
//! process with interleaved rounds so both sides see the same machine state.
//!
//! "layer" is one `AuthService::call` on a request carrying `Authorization: Bearer ...`, up to
//! the inner service's response: header parsing, token parsing, key lookup in the cache,
//! signature verification, claim checks, and building the `Authenticated` extension. The inner
//! service answers at once. Keys were fetched over HTTP from the test issuer before measuring.

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use axum::body::Body;
use criterion::{Criterion, criterion_group};
use http::{HeaderValue, Request, Response, header::AUTHORIZATION};
use jsonwebtoken::{DecodingKey, Validation, jwk::Jwk};
use scopegate::testing::{TEST_AUDIENCE, TestIssuer};
use scopegate::{Algorithm, AuthLayer, Validator};
use serde::Deserialize;
use tower::{Layer, Service, service_fn};

const ALGORITHMS: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

/// What the floor decodes: the registered claims the layer also reads.
#[derive(Deserialize)]
#[allow(dead_code)]
struct FloorClaims {
    iss: String,
    sub: String,
    aud: String,
    exp: u64,
    iat: u64,
    jti: String,
    client_id: String,
}

struct Case {
    algorithm: Algorithm,
    token: String,
    header: HeaderValue,
    key: DecodingKey,
    validation: Validation,
}

struct Fixture {
    // Keeps the issuer's server (and its runtime) alive while measuring.
    _runtime: tokio::runtime::Runtime,
    _issuer: TestIssuer,
    validator: Validator,
    cases: Vec<Case>,
}

fn fixture() -> Fixture {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let issuer = runtime.block_on(TestIssuer::start()).expect("test issuer");
    let day = Duration::from_secs(24 * 60 * 60);
    let validator = issuer
        .validator()
        // No background refresh may start during the measurement.
        .jwks_default_lifetime(day)
        .jwks_lifetime_bounds(day, day)
        .build()
        .expect("validator");
    runtime.block_on(validator.ready()).expect("keys fetched");

    let cases = ALGORITHMS
        .iter()
        .map(|&algorithm| {
            let token = issuer
                .token()
                .algorithm(algorithm)
                .expires_in(2 * 60 * 60)
                .sign();
            let jwk: Jwk =
                serde_json::from_value(issuer.public_jwk(algorithm).expect("key")).expect("jwk");
            let mut validation = Validation::new(algorithm);
            validation.set_issuer(&[issuer.issuer()]);
            validation.set_audience(&[TEST_AUDIENCE]);
            validation.set_required_spec_claims(&["iss", "aud", "exp"]);
            Case {
                algorithm,
                header: HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
                key: DecodingKey::from_jwk(&jwk).expect("decoding key"),
                token,
                validation,
            }
        })
        .collect();
    Fixture {
        _runtime: runtime,
        _issuer: issuer,
        validator,
        cases,
    }
}

fn floor(case: &Case) {
    let data = jsonwebtoken::decode::<FloorClaims>(&case.token, &case.key, &case.validation)
        .expect("the floor must accept the token");
    black_box(data);
}

type Inner = tower::util::ServiceFn<
    fn(Request<Body>) -> std::future::Ready<Result<Response<Body>, Infallible>>,
>;

fn inner_service() -> Inner {
    fn answer(request: Request<Body>) -> std::future::Ready<Result<Response<Body>, Infallible>> {
        black_box(&request);
        std::future::ready(Ok(Response::new(Body::empty())))
    }
    service_fn(answer as fn(_) -> _)
}

/// One request through the layer. With the key cached the response future is ready on its first
/// poll, so no executor is involved.
fn layer_once(service: &mut scopegate::AuthService<Inner>, header: &HeaderValue) {
    let mut request = Request::new(Body::empty());
    request.headers_mut().insert(AUTHORIZATION, header.clone());
    let future = pin!(service.call(request));
    let mut context = Context::from_waker(Waker::noop());
    match future.poll(&mut context) {
        Poll::Ready(Ok(response)) => {
            assert_eq!(response.status(), 200, "the layer must accept the token");
            black_box(response);
        }
        _ => panic!("the layer must answer without waiting when the key is cached"),
    }
}

fn name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::RS256 => "RS256",
        Algorithm::ES256 => "ES256",
        _ => "EdDSA",
    }
}

fn per_request(c: &mut Criterion) {
    let fixture = fixture();
    for case in &fixture.cases {
        let mut service = AuthLayer::new(fixture.validator.clone()).layer(inner_service());
        let mut group = c.benchmark_group(name(case.algorithm));
        group.bench_function("floor", |b| b.iter(|| floor(case)));
        group.bench_function("layer", |b| {
            b.iter(|| layer_once(&mut service, &case.header))
        });
        group.finish();
    }
}

/// Median time per operation over interleaved rounds, then the ratio layer / floor.
fn ratio_report() {
    let fixture = fixture();
    const ROUNDS: usize = 15;
    const PER_ROUND: u32 = 300;
    println!("\nlayer / floor, same process, {ROUNDS} interleaved rounds of {PER_ROUND}:");
    for case in &fixture.cases {
        let mut service = AuthLayer::new(fixture.validator.clone()).layer(inner_service());
        let mut floor_times = Vec::with_capacity(ROUNDS);
        let mut layer_times = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let start = Instant::now();
            for _ in 0..PER_ROUND {
                floor(case);
            }
            floor_times.push(start.elapsed() / PER_ROUND);
            let start = Instant::now();
            for _ in 0..PER_ROUND {
                layer_once(&mut service, &case.header);
            }
            layer_times.push(start.elapsed() / PER_ROUND);
        }
        floor_times.sort();
        layer_times.sort();
        let floor_median = floor_times[ROUNDS / 2];
        let layer_median = layer_times[ROUNDS / 2];
        println!(
            "  {:<6} floor {:>9.2?}  layer {:>9.2?}  ratio {:.3}",
            name(case.algorithm),
            floor_median,
            layer_median,
            layer_median.as_secs_f64() / floor_median.as_secs_f64()
        );
    }
}

criterion_group!(benches, per_request);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    ratio_report();
}
