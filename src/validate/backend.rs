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
    signing_input: &str,
    signature: &[u8],
) -> Result<(), ErrorKind> {
    #[cfg(feature = "aws-lc-rs")]
    if let Some(parsed) = &key.parsed {
        return parsed
            .verify_sig(signing_input.as_bytes(), signature)
            .map_err(|_| ErrorKind::InvalidSignature);
    }
    let verifier = (PROVIDER.verifier_factory)(&algorithm, &key.key)
        .map_err(|_| ErrorKind::KeyAlgorithmMismatch)?;
    // The verifier trait takes the signature as a `Vec<u8>`.
    verifier
        .verify(signing_input.as_bytes(), &signature.to_vec())
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
            verify_signature(Algorithm::EdDSA, key, signing_input, &signature),
            Ok(())
        );
        signature[10] ^= 1;
        assert_eq!(
            verify_signature(Algorithm::EdDSA, key, signing_input, &signature),
            Err(ErrorKind::InvalidSignature)
        );
    }
}
