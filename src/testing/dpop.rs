//! A client's DPoP key (RFC 9449): it signs proofs for requests, and its thumbprint binds
//! tokens to it.

use std::sync::atomic::{AtomicU64, Ordering};

use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use super::TestIssuerError;
use super::keys::{SigningKey, b64};
use crate::clock::{Clock, SystemClock};
use crate::dpop::sha256_base64url;
use crate::jose::{algorithm_name, embedded_key};

/// A client's proof-of-possession key: RS256, PS256, ES256 or EdDSA.
///
/// ```
/// use scopegate::Algorithm;
/// use scopegate::testing::{DpopKey, TestIssuer};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let issuer = TestIssuer::start().await?;
/// let key = DpopKey::generate(Algorithm::ES256)?;
/// let token = issuer.token().scope("read:rooms").bound_to(&key).sign();
/// let proof = key
///     .proof("GET", "https://rooms.example/rooms")
///     .access_token(&token)
///     .sign();
/// // Authorization: DPoP <token>, DPoP: <proof>
/// # let _ = proof;
/// # Ok(()) }
/// ```
pub struct DpopKey {
    key: SigningKey,
    algorithm: Algorithm,
    jwk: Value,
    thumbprint: String,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopKey")
            .field("algorithm", &self.algorithm)
            .field("thumbprint", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

impl DpopKey {
    /// A fresh key for `algorithm`.
    pub fn generate(algorithm: Algorithm) -> Result<Self, TestIssuerError> {
        static GENERATION: AtomicU64 = AtomicU64::new(0);
        let key = SigningKey::generate(algorithm, GENERATION.fetch_add(1, Ordering::Relaxed))?;
        // The public members only: what a client puts in its proofs.
        let mut jwk = key.jwk().clone();
        if let Some(members) = jwk.as_object_mut() {
            for name in ["kid", "use", "alg"] {
                members.remove(name);
            }
        }
        let (_, thumbprint_input) = embedded_key(&jwk, algorithm)
            .map_err(|why| TestIssuerError(format!("unusable DPoP key: {why}")))?;
        Ok(DpopKey {
            key,
            algorithm,
            thumbprint: sha256_base64url(thumbprint_input.as_bytes()),
            jwk,
        })
    }

    /// The key's RFC 7638 SHA-256 thumbprint: the `cnf.jkt` of tokens bound to it.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// The public JWK proofs carry in their header.
    pub fn jwk(&self) -> &Value {
        &self.jwk
    }

    /// A proof for `method` on `htu`, issued now by the system clock, with a fresh `jti`.
    pub fn proof(&self, method: &str, htu: &str) -> ProofBuilder<'_> {
        static NEXT_JTI: AtomicU64 = AtomicU64::new(0);
        let mut header = Map::new();
        header.insert("typ".into(), "dpop+jwt".into());
        header.insert("alg".into(), algorithm_name(self.algorithm).into());
        header.insert("jwk".into(), self.jwk.clone());
        let mut claims = Map::new();
        let jti = format!(
            "{}-{}",
            std::process::id(),
            NEXT_JTI.fetch_add(1, Ordering::Relaxed)
        );
        claims.insert("jti".into(), jti.into());
        claims.insert("htm".into(), method.into());
        claims.insert("htu".into(), htu.into());
        claims.insert("iat".into(), SystemClock.now().as_secs().into());
        ProofBuilder {
            key: self,
            header,
            claims,
        }
    }
}

/// A DPoP proof being built: every header member and claim can be changed or removed, to make
/// the proofs a server must refuse.
#[must_use]
#[derive(Debug)]
pub struct ProofBuilder<'a> {
    key: &'a DpopKey,
    header: Map<String, Value>,
    claims: Map<String, Value>,
}

impl ProofBuilder<'_> {
    /// Sets `ath` to the hash of `token`, as a proof sent with it must.
    pub fn access_token(self, token: &str) -> Self {
        self.claim("ath", sha256_base64url(token.as_bytes()))
    }

    /// Sets `iat`.
    pub fn issued_at(self, seconds: i64) -> Self {
        self.claim("iat", seconds)
    }

    /// Sets or replaces a claim.
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.claims.insert(name.into(), value.into());
        self
    }

    /// Removes a claim.
    pub fn without_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Sets or replaces a header member (`typ`, `alg`, `jwk`, ...).
    pub fn header(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.header.insert(name.into(), value.into());
        self
    }

    /// Removes a header member.
    pub fn without_header(mut self, name: &str) -> Self {
        self.header.remove(name);
        self
    }

    /// Signs with the key (whatever `alg` the header now names) and returns the compact proof.
    pub fn sign(self) -> String {
        let signing_input = format!(
            "{}.{}",
            b64(Value::Object(self.header).to_string()),
            b64(Value::Object(self.claims).to_string())
        );
        let signature = self
            .key
            .key
            .sign(self.key.algorithm, signing_input.as_bytes());
        format!("{signing_input}.{}", b64(signature))
    }
}
