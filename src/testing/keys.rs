//! The test issuer's signing keys: generation, signing, and the JWKS that publishes them.

use std::sync::{Arc, Mutex};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, RSA_PKCS1_SHA256,
    RSA_PSS_SHA256, RsaKeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

use super::{TestIssuerError, lock};
use crate::jose::algorithm_name;

/// Unpadded base64url, as JOSE encodes everything.
pub(crate) fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

enum Secret {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A private key with its `kid` and the public JWK published for it.
pub(crate) struct SigningKey {
    kid: String,
    algorithm: Algorithm,
    secret: Secret,
    jwk: Value,
}

impl SigningKey {
    /// A fresh key for `algorithm`, its `kid` numbered by `generation`.
    pub(crate) fn generate(algorithm: Algorithm, generation: u64) -> Result<Self, TestIssuerError> {
        let failed = |_| TestIssuerError("key generation failed".into());
        let kid = format!(
            "{}-{generation}",
            algorithm_name(algorithm).to_ascii_lowercase()
        );
        let alg = algorithm_name(algorithm);
        let (secret, jwk) = match algorithm {
            Algorithm::RS256 | Algorithm::PS256 => {
                let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(failed)?;
                let public = pair.public_key();
                let jwk = json!({
                    "kty": "RSA", "use": "sig", "alg": alg, "kid": kid,
                    "n": b64(public.modulus().big_endian_without_leading_zero()),
                    "e": b64(public.exponent().big_endian_without_leading_zero()),
                });
                (Secret::Rsa(pair), jwk)
            }
            Algorithm::ES256 => {
                let pair =
                    EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(failed)?;
                let point = pair.public_key().as_ref();
                let (x, y) = point.get(1..).unwrap_or_default().split_at(32);
                let jwk = json!({
                    "kty": "EC", "crv": "P-256", "use": "sig", "alg": alg, "kid": kid,
                    "x": b64(x), "y": b64(y),
                });
                (Secret::Ec(pair), jwk)
            }
            Algorithm::EdDSA => {
                let pair = Ed25519KeyPair::generate().map_err(failed)?;
                let jwk = json!({
                    "kty": "OKP", "crv": "Ed25519", "use": "sig", "alg": alg, "kid": kid,
                    "x": b64(pair.public_key().as_ref()),
                });
                (Secret::Ed(pair), jwk)
            }
            _ => return Err(TestIssuerError(format!("the test issuer has no {alg} key"))),
        };
        Ok(SigningKey {
            kid,
            algorithm,
            secret,
            jwk,
        })
    }

    /// The key's `kid`.
    pub(crate) fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWK published for the key.
    pub(crate) fn jwk(&self) -> &Value {
        &self.jwk
    }

    /// Signs `message` with this key, as `algorithm` says (an RSA key signs PS256 with PSS).
    pub(crate) fn sign(&self, algorithm: Algorithm, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match &self.secret {
            Secret::Rsa(pair) => {
                let padding = match algorithm {
                    Algorithm::PS256 => &RSA_PSS_SHA256,
                    _ => &RSA_PKCS1_SHA256,
                };
                let mut signature = vec![0; pair.public_modulus_len()];
                match pair.sign(padding, &rng, message, &mut signature) {
                    Ok(()) => signature,
                    Err(_) => Vec::new(),
                }
            }
            Secret::Ec(pair) => pair
                .sign(&rng, message)
                .map(|signature| signature.as_ref().to_vec())
                .unwrap_or_default(),
            Secret::Ed(pair) => pair.sign(message).as_ref().to_vec(),
        }
    }
}

/// The keys the issuer signs with and publishes, newest first per algorithm. Shared by the
/// issuer and its token builders, so a token is signed with the key current when it is signed.
#[derive(Default)]
pub(crate) struct KeyRing(Mutex<Vec<Arc<SigningKey>>>);

impl KeyRing {
    /// The key tokens for `algorithm` are signed with: the first one for it.
    pub(crate) fn key_for(&self, algorithm: Algorithm) -> Option<Arc<SigningKey>> {
        lock(&self.0)
            .iter()
            .find(|key| key.algorithm == algorithm)
            .cloned()
    }

    /// Every `kid`, in the order the JWKS lists them.
    pub(crate) fn kids(&self) -> Vec<String> {
        lock(&self.0).iter().map(|key| key.kid.clone()).collect()
    }

    /// Replaces every key.
    pub(crate) fn replace(&self, keys: Vec<Arc<SigningKey>>) {
        *lock(&self.0) = keys;
    }

    /// Puts `key` first: it signs from now on, the older keys stay published.
    pub(crate) fn add_first(&self, key: Arc<SigningKey>) {
        lock(&self.0).insert(0, key);
    }

    /// The JWKS document publishing every key.
    pub(crate) fn jwks(&self) -> Vec<u8> {
        let keys: Vec<Value> = lock(&self.0).iter().map(|key| key.jwk.clone()).collect();
        json!({ "keys": keys }).to_string().into_bytes()
    }
}
