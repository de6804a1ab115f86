//! Header and claims must be valid UTF-8 JSON as a whole (RFC 7515 §5.2, RFC 7519 §7.2,
//! RFC 8259 §8.1), including members nobody reads: tokens really signed (HS256 with a local
//! secret, so the claims bytes can be anything).

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use scopegate::{Algorithm, ErrorKind, Validator};

const SECRET: [u8; 32] = [7; 32];

fn validator() -> Validator {
    Validator::builder("https://issuer.example/")
        .audience("api")
        .hmac_secret(Algorithm::HS256, None, SECRET.to_vec())
        .build()
        .unwrap()
}

/// A token with these exact claims bytes, signed with the secret.
fn token(claims: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, &SECRET),
        input.as_bytes(),
    );
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

fn claims_with(extra: &[u8]) -> Vec<u8> {
    [
        &br#"{"iss":"https://issuer.example/","aud":"api","exp":4102444800,"sub":"u","note":""#[..],
        extra,
        br#""}"#,
    ]
    .concat()
}

#[tokio::test]
async fn invalid_utf8_in_a_claim_nobody_reads_refuses_the_token() {
    let validator = validator();
    assert!(
        validator
            .validate(&token(&claims_with(b"fine")))
            .await
            .is_ok()
    );
    for bytes in [&b"\xff\xfe"[..], b"\xc0\xaf", b"\xed\xa0\x80", b"a\x80"] {
        let refused = validator.validate(&token(&claims_with(bytes))).await;
        assert_eq!(
            refused.map(|_| ()).map_err(|error| error.kind()),
            Err(ErrorKind::MalformedToken),
            "{bytes:?}"
        );
    }
}
