//! The layer's whole per-request cost against the floor: a bare `jsonwebtoken::decode` of the same
//! token with the same key.
//!
//! `cargo bench --bench per_request` runs criterion groups (`RS256`, `ES256`, `EdDSA`, each with
//! `floor`, `layer-uncached` and `layer-cache-hit`; `scopes`, an axum router with and without a
//! path-bound requirement; `open-vs-protected`, one route without auth and behind the layer), then
//! prints the ratios, measured in the same process with interleaved rounds so both sides see the
//! same machine state.
//!
//! "layer-uncached" is one `AuthService::call` with the verified-token cache off, on a request
//! carrying `Authorization: Bearer ...`, up to the inner service's response: header parsing,
//! token parsing, key lookup, signature verification, claim checks, and the `Authenticated`
//! extension. "layer-cache-hit" is the same with the cache on (the default) and the token seen
//! before: a lookup by the token's bytes and the re-checks of time and key. The inner service
//! answers at once. Keys were fetched over HTTP from the test issuer before measuring.

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};
use axum::Router;
use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group};
use http::{HeaderValue, Request, Response, header::AUTHORIZATION};
use jsonwebtoken::{DecodingKey, Validation, jwk::Jwk};
use scopegate::testing::{TEST_AUDIENCE, TestIssuer};
use scopegate::{Algorithm, AuthLayer, Validator};
use serde::Deserialize;
use support::{CUSTOM_SCOPES, open_router, plain_router, request_once, required_router};
use tower::{Layer, Service, service_fn};

mod support;

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
    /// The physical floor: aws-lc-rs verifying the same signature with a key parsed beforehand.
    parsed: ParsedPublicKey,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
}

/// The issuer's public key for `algorithm`, parsed once with aws-lc-rs.
fn parsed_key(jwk: &serde_json::Value, algorithm: Algorithm) -> ParsedPublicKey {
    let bytes = |name: &str| {
        URL_SAFE_NO_PAD
            .decode(jwk[name].as_str().expect("member"))
            .expect("base64url")
    };
    match algorithm {
        Algorithm::RS256 => RsaPublicKeyComponents {
            n: bytes("n"),
            e: bytes("e"),
        }
        .to_parsed_public_key(&signature::RSA_PKCS1_2048_8192_SHA256)
        .expect("rsa key"),
        Algorithm::ES256 => ParsedPublicKey::new(
            &signature::ECDSA_P256_SHA256_FIXED,
            [&[4][..], &bytes("x"), &bytes("y")].concat(),
        )
        .expect("ec key"),
        _ => ParsedPublicKey::new(&signature::ED25519, bytes("x")).expect("ed25519 key"),
    }
}

fn raw_verify(case: &Case) {
    case.parsed
        .verify_sig(&case.signing_input, &case.signature)
        .expect("the floor must verify the signature");
}

struct Fixture {
    // Keeps the issuer's server (and its runtime) alive while measuring.
    _runtime: tokio::runtime::Runtime,
    _issuer: TestIssuer,
    validator: Validator,
    cases: Vec<Case>,
}

fn fixture() -> Fixture {
    let (runtime, issuer, validator) = support::issuer_and_validator();

    let cases = ALGORITHMS
        .iter()
        .map(|&algorithm| {
            // A realistic grant: a dozen scopes in `scope`, per-room scopes in a custom claim.
            let rooms: Vec<String> = (0..20)
                .flat_map(|room| [format!("read:comments-in-room_{room}"), format!("add:comments-in-room_{room}")])
                .collect();
            let token = issuer
                .token()
                .algorithm(algorithm)
                .scope("openid profile email read:invoices read:users write:users read:orgs read:rooms write:rooms read:files write:files admin:none")
                .claim(CUSTOM_SCOPES, rooms)
                .expires_in(2 * 60 * 60)
                .sign();
            let public = issuer.public_jwk(algorithm).expect("key");
            let jwk: Jwk = serde_json::from_value(public.clone()).expect("jwk");
            let (signing_input, signature) = token.rsplit_once('.').expect("three segments");
            let signature = URL_SAFE_NO_PAD.decode(signature).expect("signature");
            let mut validation = Validation::new(algorithm);
            validation.set_issuer(&[issuer.issuer()]);
            validation.set_audience(&[TEST_AUDIENCE]);
            validation.set_required_spec_claims(&["iss", "aud", "exp"]);
            Case {
                algorithm,
                header: HeaderValue::from_str(&format!("Bearer {token}")).expect("header"),
                key: DecodingKey::from_jwk(&jwk).expect("decoding key"),
                parsed: parsed_key(&public, algorithm),
                signing_input: signing_input.as_bytes().to_vec(),
                signature,
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

/// The layer with the verified-token cache off: every request verifies the signature.
fn uncached_layer(validator: &Validator) -> AuthLayer {
    AuthLayer::new(validator.clone()).verified_token_cache(0)
}

/// The route without and with `read:comments-in-{room}`, both behind the layer.
fn routers(validator: &Validator) -> (Router, Router) {
    (
        plain_router(AuthLayer::new(validator.clone())),
        required_router(AuthLayer::new(validator.clone())),
    )
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
        let mut uncached = uncached_layer(&fixture.validator).layer(inner_service());
        let mut cached = AuthLayer::new(fixture.validator.clone()).layer(inner_service());
        let mut group = c.benchmark_group(name(case.algorithm));
        group.bench_function("raw-verify", |b| b.iter(|| raw_verify(case)));
        group.bench_function("floor", |b| b.iter(|| floor(case)));
        group.bench_function("layer-uncached", |b| {
            b.iter(|| layer_once(&mut uncached, &case.header))
        });
        group.bench_function("layer-cache-hit", |b| {
            b.iter(|| layer_once(&mut cached, &case.header))
        });
        group.finish();
    }
    let case = &fixture.cases[0];
    let mut open = open_router();
    let (mut protected, _) = routers(&fixture.validator);
    let mut group = c.benchmark_group("open-vs-protected");
    group.bench_function("open", |b| b.iter(|| request_once(&mut open, None)));
    group.bench_function("protected-cache-hit", |b| {
        b.iter(|| request_once(&mut protected, Some(&case.header)))
    });
    group.finish();
    let case = &fixture.cases[0];
    let (mut plain, mut required) = routers(&fixture.validator);
    let mut group = c.benchmark_group("scopes");
    group.bench_function("router", |b| {
        b.iter(|| request_once(&mut plain, Some(&case.header)))
    });
    group.bench_function("router+requirement", |b| {
        b.iter(|| request_once(&mut required, Some(&case.header)))
    });
    let mut around = support::required_around(AuthLayer::new(fixture.validator.clone()));
    group.bench_function("around+requirement", |b| {
        b.iter(|| request_once(&mut around, Some(&case.header)))
    });
    group.finish();
}

/// The ratios, from interleaved rounds of both sides.
fn ratio_report() {
    let fixture = fixture();
    println!(
        "\nuncached layer / aws-lc-rs verify with a parsed key, {ROUNDS} interleaved rounds of {PER_ROUND}:"
    );
    for case in &fixture.cases {
        let mut service = uncached_layer(&fixture.validator).layer(inner_service());
        let (raw_median, layer_median) = interleaved_medians(
            || raw_verify(case),
            || layer_once(&mut service, &case.header),
        );
        println!(
            "  {:<6} raw verify {:>9.2?}  layer {:>9.2?}  ratio {:.3}",
            name(case.algorithm),
            raw_median,
            layer_median,
            layer_median.as_secs_f64() / raw_median.as_secs_f64()
        );
    }
    println!(
        "\nuncached layer / jsonwebtoken::decode, same process, {ROUNDS} interleaved rounds of {PER_ROUND}:"
    );
    for case in &fixture.cases {
        let mut service = uncached_layer(&fixture.validator).layer(inner_service());
        let (floor_median, layer_median) =
            interleaved_medians(|| floor(case), || layer_once(&mut service, &case.header));
        println!(
            "  {:<6} floor {:>9.2?}  layer {:>9.2?}  ratio {:.3}",
            name(case.algorithm),
            floor_median,
            layer_median,
            layer_median.as_secs_f64() / floor_median.as_secs_f64()
        );
    }

    let case = &fixture.cases[0];
    let mut open = open_router();
    let (mut protected, _) = routers(&fixture.validator);
    let (open_median, protected_median) = interleaved_medians(
        || request_once(&mut open, None),
        || request_once(&mut protected, Some(&case.header)),
    );
    println!(
        "\nrequests/s of a protected route (cache hit) / the same route without auth: {:.2?} vs {:.2?} per request = ratio {:.3}",
        protected_median,
        open_median,
        open_median.as_secs_f64() / protected_median.as_secs_f64()
    );

    let case = &fixture.cases[0];
    let (mut plain, mut required) = routers(&fixture.validator);
    let (plain_median, required_median) = interleaved_medians(
        || request_once(&mut plain, Some(&case.header)),
        || request_once(&mut required, Some(&case.header)),
    );
    println!(
        "\nrouter+requirement / router ({} token, 51 granted scopes): {:.2?} / {:.2?} = ratio {:.3}",
        name(case.algorithm),
        required_median,
        plain_median,
        required_median.as_secs_f64() / plain_median.as_secs_f64()
    );
}

const ROUNDS: usize = 15;
const PER_ROUND: u32 = 300;

/// Median per-operation times of `a` and `b`, measured in alternating rounds.
fn interleaved_medians(mut a: impl FnMut(), mut b: impl FnMut()) -> (Duration, Duration) {
    let round = |operation: &mut dyn FnMut()| {
        let start = Instant::now();
        for _ in 0..PER_ROUND {
            operation();
        }
        start.elapsed() / PER_ROUND
    };
    let (mut a_times, mut b_times): (Vec<Duration>, Vec<Duration>) =
        (0..ROUNDS).map(|_| (round(&mut a), round(&mut b))).unzip();
    a_times.sort();
    b_times.sort();
    (a_times[ROUNDS / 2], b_times[ROUNDS / 2])
}

/// Runs `operation` `count` times and nothing else: `bench/instructions.sh` counts the
/// instructions executed inside this function only (callgrind's `--toggle-collect`).
#[inline(never)]
fn measured_loop(count: u32, operation: &mut dyn FnMut()) {
    for _ in 0..count {
        operation();
    }
}

/// `PER_REQUEST_ONLY=<operation>` (for example `layer-uncached/RS256`, `open`,
/// `protected-cache-hit`): warms the operation up, runs it `PER_REQUEST_COUNT` times (1000)
/// in [`measured_loop`], and prints nothing else.
fn only(operation: &str) {
    let count = std::env::var("PER_REQUEST_COUNT")
        .ok()
        .and_then(|count| count.parse().ok())
        .unwrap_or(1000);
    let fixture = fixture();
    let validator = &fixture.validator;
    let (name_part, algorithm_part) = operation.split_once('/').unwrap_or((operation, "RS256"));
    let case = fixture
        .cases
        .iter()
        .find(|case| name(case.algorithm) == algorithm_part)
        .expect("an algorithm: RS256, ES256 or EdDSA");
    let mut uncached = uncached_layer(validator).layer(inner_service());
    let mut cached = AuthLayer::new(validator.clone()).layer(inner_service());
    let mut open = open_router();
    let (mut plain, mut required) = routers(validator);
    let mut run: Box<dyn FnMut()> = match name_part {
        "raw-verify" => Box::new(|| raw_verify(case)),
        "floor" => Box::new(|| floor(case)),
        "layer-uncached" => Box::new(|| layer_once(&mut uncached, &case.header)),
        "layer-cache-hit" => Box::new(|| layer_once(&mut cached, &case.header)),
        "open" => Box::new(|| request_once(&mut open, None)),
        "protected-cache-hit" | "router" => {
            Box::new(|| request_once(&mut plain, Some(&case.header)))
        }
        "router+requirement" => Box::new(|| request_once(&mut required, Some(&case.header))),
        "around+requirement" => {
            let mut around = support::required_around(AuthLayer::new(validator.clone()));
            Box::new(move || request_once(&mut around, Some(&case.header)))
        }
        other => panic!("unknown operation {other}"),
    };
    // Warm-up: the first calls fill caches (the token cache, axum's route table).
    for _ in 0..10 {
        run();
    }
    measured_loop(count, &mut run);
}

criterion_group!(benches, per_request);

fn main() {
    if let Ok(operation) = std::env::var("PER_REQUEST_ONLY") {
        only(&operation);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
    ratio_report();
}
