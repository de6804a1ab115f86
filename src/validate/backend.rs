//! The signature backend, chosen here rather than through jsonwebtoken's process-wide default,
//! which panics when both backends are compiled in (e.g. under `--all-features`).

use jsonwebtoken::Algorithm;
use jsonwebtoken::crypto::CryptoProvider;

use crate::error::ErrorKind;
use crate::jose::VerifyingKey;

#[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
compile_error!(
    "scopegate needs a signature backend: enable the `aws-lc-rs` or `rust-crypto` feature"
);

#[cfg(feature = "aws-lc-rs")]
static PROVIDER: &CryptoProvider = &jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER;
#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
static PROVIDER: &CryptoProvider = &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;

/// Verifies `signature` over `signing_input` with `key`, used with `algorithm` only (the
/// caller has checked the key permits it). A key parsed when the key set was loaded verifies
/// without parsing its material again.
pub(crate) fn verify_signature(
    algorithm: Algorithm,
    key: &VerifyingKey,
    signing_input: &[u8],
    signature: &[u8],
) -> Result<(), ErrorKind> {
    #[cfg(feature = "aws-lc-rs")]
    if let Some(parsed) = &key.parsed {
        return parsed
            .verify_sig(signing_input, signature)
            .map_err(|_| ErrorKind::InvalidSignature);
    }
    let verifier = (PROVIDER.verifier_factory)(&algorithm, &key.key)
        .map_err(|_| ErrorKind::KeyAlgorithmMismatch)?;
    // The verifier trait takes the signature as a `Vec<u8>`.
    verifier
        .verify(signing_input, &signature.to_vec())
        .map_err(|_| ErrorKind::InvalidSignature)
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;
    use crate::jose::{AlgorithmSet, KeyRules, KeySet, Lookup};

    /// RFC 8037 A.4 / A.5: Ed25519 signing and validation, with the RFC's key and signature.
    /// The payload is text, not claims, so only the signature layer can take it.
    #[test]
    fn rfc_8037_ed25519_example_verifies() {
        let document = r#"{"keys":[{"kty":"OKP","crv":"Ed25519",
            "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#;
        let keys = KeySet::from_jwks_json(
            document.as_bytes(),
            KeyRules::allowing(AlgorithmSet::ASYMMETRIC),
        )
        .unwrap();
        let Lookup::Found(key) = keys.lookup(None, Algorithm::EdDSA) else {
            panic!("the RFC's key must be usable");
        };
        let signing_input = "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc";
        let mut signature = URL_SAFE_NO_PAD
            .decode("hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg")
            .unwrap();
        assert_eq!(
            verify_signature(Algorithm::EdDSA, key, signing_input.as_bytes(), &signature),
            Ok(())
        );
        signature[10] ^= 1;
        assert_eq!(
            verify_signature(Algorithm::EdDSA, key, signing_input.as_bytes(), &signature),
            Err(ErrorKind::InvalidSignature)
        );
    }

    /// RFC 7520 §4.1: RS256 signing with the RFC's RSA key (§3.4, no `alg`: RS256 by default).
    #[test]
    fn rfc_7520_rs256_example_verifies() {
        let document = r#"{"keys":[{"kty":"RSA","kid":"bilbo.baggins@hobbiton.example","use":"sig",
            "n":"n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqVwGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5gHdrNP5zw",
            "e":"AQAB"}]}"#;
        let keys = KeySet::from_jwks_json(
            document.as_bytes(),
            KeyRules::allowing(AlgorithmSet::ASYMMETRIC),
        )
        .unwrap();
        let Lookup::Found(key) =
            keys.lookup(Some("bilbo.baggins@hobbiton.example"), Algorithm::RS256)
        else {
            panic!("the RFC's key must be usable");
        };
        let token = concat!(
            "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9.",
            "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4.",
            "MRjdkly7_-oTPTS3AXP41iQIGKa80A0ZmTuV5MEaHoxnW2e5CZ5NlKtainoFmKZopdHM1O2U4mwzJdQx996ivp83xuglII7PNDi84wnB-BDkoBwA78185hX-Es4JIwmDLJK3lfWRa-XtL0RnltuYv746iYTh_qHRD68BNt1uSNCrUCTJDt5aAE6x8wW1Kt9eRo4QPocSadnHXFxnt8Is9UzpERV0ePPQdLuW3IS_de3xyIrDaLGdjluPxUAhb6L2aXic1U12podGU0KLUQSE_oI-ZnmKJ3F4uOZDnd6QZWJushZ41Axf_fcIe8u9ipH84ogoree7vjbU5y18kDquDg"
        );
        let (signing_input, signature) = token.rsplit_once('.').unwrap();
        let mut signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        assert_eq!(
            verify_signature(Algorithm::RS256, key, signing_input.as_bytes(), &signature),
            Ok(())
        );
        signature[0] ^= 1;
        assert_eq!(
            verify_signature(Algorithm::RS256, key, signing_input.as_bytes(), &signature),
            Err(ErrorKind::InvalidSignature)
        );
    }

    /// RFC 7520 §4.2: PS384 with the same key, which publishes no `alg`: the issuer's choice
    /// for alg-less RSA keys (`rsa_keys_without_alg`) makes it PS384.
    #[test]
    fn rfc_7520_ps384_example_verifies() {
        let document = r#"{"keys":[{"kty":"RSA","kid":"bilbo.baggins@hobbiton.example","use":"sig",
            "n":"n4EPtAOCc9AlkeQHPzHStgAbgs7bTZLwUBZdR8_KuKPEHLd4rHVTeT-O-XV2jRojdNhxJWTDvNd7nqQ0VEiZQHz_AJmSCpMaJMRBSFKrKb2wqVwGU_NsYOYL-QtiWN2lbzcEe6XC0dApr5ydQLrHqkHHig3RBordaZ6Aj-oBHqFEHYpPe7Tpe-OfVfHd1E6cS6M1FZcD1NNLYD5lFHpPI9bTwJlsde3uhGqC0ZCuEHg8lhzwOHrtIQbS0FVbb9k3-tVTU4fg_3L_vniUFAKwuCLqKnS2BYwdq_mzSnbLY7h_qixoR7jig3__kRhuaxwUkRz5iaiQkqgc5gHdrNP5zw",
            "e":"AQAB"}]}"#;
        let rules = KeyRules {
            allowed: AlgorithmSet::ASYMMETRIC,
            rsa_without_alg: Some(Algorithm::PS384),
        };
        let keys = KeySet::from_jwks_json(document.as_bytes(), rules).unwrap();
        let Lookup::Found(key) =
            keys.lookup(Some("bilbo.baggins@hobbiton.example"), Algorithm::PS384)
        else {
            panic!("the RFC's key must be usable");
        };
        assert!(key.permitted.contains(Algorithm::PS384));
        let signing_input = concat!(
            "eyJhbGciOiJQUzM4NCIsImtpZCI6ImJpbGJvLmJhZ2dpbnNAaG9iYml0b24uZXhhbXBsZSJ9.",
            "SXTigJlzIGEgZGFuZ2Vyb3VzIGJ1c2luZXNzLCBGcm9kbywgZ29pbmcgb3V0IHlvdXIgZG9vci4gWW91IHN0ZXAgb250byB0aGUgcm9hZCwgYW5kIGlmIHlvdSBkb24ndCBrZWVwIHlvdXIgZmVldCwgdGhlcmXigJlzIG5vIGtub3dpbmcgd2hlcmUgeW91IG1pZ2h0IGJlIHN3ZXB0IG9mZiB0by4"
        );
        let mut signature = URL_SAFE_NO_PAD
            .decode("cu22eBqkYDKgIlTpzDXGvaFfz6WGoz7fUDcfT0kkOy42miAh2qyBzk1xEsnk2IpN6-tPid6VrklHkqsGqDqHCdP6O8TTB5dDDItllVo6_1OLPpcbUrhiUSMxbbXUvdvWXzg-UD8biiReQFlfz28zGWVsdiNAUf8ZnyPEgVFn442ZdNqiVJRmBqrYRXe8P_ijQ7p8Vdz0TTrxUeT3lm8d9shnr2lfJT8ImUjvAA2Xez2Mlp8cBE5awDzT0qI0n6uiP1aCN_2_jLAeQTlqRHtfa64QQSUmFAAjVKPbByi7xho0uTOcbH510a6GYmJUAfmWjwZ6oD4ifKo8DYM-X72Eaw")
            .unwrap();
        assert_eq!(
            verify_signature(Algorithm::PS384, key, signing_input.as_bytes(), &signature),
            Ok(())
        );
        signature[5] ^= 1;
        assert_eq!(
            verify_signature(Algorithm::PS384, key, signing_input.as_bytes(), &signature),
            Err(ErrorKind::InvalidSignature)
        );
    }
}
