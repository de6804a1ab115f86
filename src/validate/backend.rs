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
