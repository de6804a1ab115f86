//! Randomized inputs never panic and never pass: mutated real tokens, random segments, random
//! JSON inside valid base64url, and random Authorization header values. Bounded and seeded, so a
//! failure reproduces.

use crate::common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{app, send_with};
use http::StatusCode;
use scopegate::Algorithm;
use scopegate::testing::TestIssuer;

/// xorshift64*: enough to vary inputs, reproducible from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ,\t~";

const JSON_PIECES: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"alg\"",
    "\"RS256\"",
    "\"none\"",
    "\"kid\"",
    "\"crit\"",
    "\"typ\"",
    "\"at+jwt\"",
    "\"iss\"",
    "\"aud\"",
    "\"exp\"",
    "\"nbf\"",
    "\"iat\"",
    "\"scope\"",
    "null",
    "true",
    "1e999",
    "-1",
    "18446744073709551616",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "0.5",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_and_mutated_tokens_are_refused_without_panicking() {
    let issuer = TestIssuer::start().await.unwrap();
    let validator = issuer.validator().build().unwrap();
    let mut rng = Rng(0x5c09_e6a7_e000_0001);
    let valid: Vec<String> = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA]
        .into_iter()
        .map(|alg| issuer.token().algorithm(alg).sign())
        .collect();
    for token in &valid {
        assert!(validator.validate(token).await.is_ok());
    }

    for round in 0..3000 {
        let candidate = match round % 3 {
            // A real token with a few bytes changed.
            0 => {
                let mut bytes = valid[rng.below(valid.len())].clone().into_bytes();
                for _ in 0..=rng.below(3) {
                    let at = rng.below(bytes.len());
                    bytes[at] = ALPHABET[rng.below(ALPHABET.len())];
                }
                String::from_utf8(bytes).unwrap()
            }
            // Random characters and dots.
            1 => (0..rng.below(200))
                .map(|_| ALPHABET[rng.below(ALPHABET.len())] as char)
                .collect(),
            // Random JSON-ish header and payload, correctly encoded, with a junk signature.
            _ => {
                let mut json = || {
                    (0..rng.below(24))
                        .map(|_| rng.pick(JSON_PIECES))
                        .collect::<String>()
                };
                let (header, payload) = (json(), json());
                format!(
                    "{}.{}.c2ln",
                    URL_SAFE_NO_PAD.encode(header),
                    URL_SAFE_NO_PAD.encode(payload)
                )
            }
        };
        if valid.contains(&candidate) {
            continue;
        }
        let outcome = validator.validate(&candidate).await;
        assert!(
            outcome.is_err(),
            "round {round}: {candidate:?} was accepted"
        );
    }
}

#[tokio::test]
async fn random_authorization_headers_never_pass() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = app(issuer.validator().build().unwrap());
    let mut rng = Rng(0x0dd_ba11_cafe_f00d);
    let schemes = [
        "Bearer ", "bearer  ", "Bearer", "Basic ", "Bearer\t", "", "DPoP ", "BEARER ",
    ];
    for round in 0..500 {
        let body: String = (0..rng.below(120))
            .map(|_| ALPHABET[rng.below(ALPHABET.len())] as char)
            .collect();
        let value = format!("{}{}", rng.pick(&schemes), body);
        let Ok(header) = http::HeaderValue::from_str(&value) else {
            continue;
        };
        let reply = send_with(&app, "/me", &[header.to_str().unwrap()]).await;
        assert!(
            matches!(
                reply.status,
                StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED
            ),
            "round {round}: {value:?} got {}",
            reply.status
        );
    }
}
