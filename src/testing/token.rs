//! [`TokenBuilder`]: the claims and header of one token, and its signing.

use std::sync::Arc;

use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use super::keys::{KeyRing, SigningKey, b64};
use crate::jose::algorithm_name;

/// Builds and signs one token. Start one with [`TestIssuer::token`](super::TestIssuer::token).
///
/// Everything can be overridden, including the header, so tests can build the attacks a
/// validator must refuse. Its `Debug` output shows the algorithm, header and claims, never the
/// issuer's keys.
#[must_use]
pub struct TokenBuilder {
    keys: Arc<KeyRing>,
    algorithm: Algorithm,
    header: Map<String, Value>,
    claims: Map<String, Value>,
    now: i64,
    raw_header: Option<String>,
    raw_payload: Option<String>,
}

impl std::fmt::Debug for TokenBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenBuilder")
            .field("algorithm", &self.algorithm)
            .field("header", &self.header)
            .field("claims", &self.claims)
            .field("now", &self.now)
            .field("raw_header", &self.raw_header)
            .field("raw_payload", &self.raw_payload)
            .finish_non_exhaustive()
    }
}

impl TokenBuilder {
    /// A token signed `algorithm` with a key from `keys`, with `typ` `at+jwt` and `claims`;
    /// `now` is what [`expires_in`](Self::expires_in) counts from.
    pub(crate) fn new(
        keys: Arc<KeyRing>,
        algorithm: Algorithm,
        claims: Map<String, Value>,
        now: i64,
    ) -> Self {
        TokenBuilder {
            keys,
            algorithm,
            header: Map::from_iter([("typ".to_owned(), "at+jwt".into())]),
            claims,
            now,
            raw_header: None,
            raw_payload: None,
        }
    }

    /// Signs with the issuer's key for `algorithm` (RS256, PS256, ES256 or EdDSA).
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// Sets `sub`.
    pub fn subject(self, subject: &str) -> Self {
        self.claim("sub", subject)
    }

    /// Sets `scope` (a space-separated string).
    pub fn scope(self, scope: &str) -> Self {
        self.claim("scope", scope)
    }

    /// Sets `aud`.
    pub fn audience(self, audience: impl Into<Value>) -> Self {
        self.claim("aud", audience)
    }

    /// Sets `exp` to `seconds` from now (negative: in the past).
    pub fn expires_in(self, seconds: i64) -> Self {
        let exp = self.now.saturating_add(seconds);
        self.claim("exp", exp)
    }

    /// Sets any claim.
    pub fn claim(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.claims.insert(name.to_owned(), value.into());
        self
    }

    /// Removes a claim.
    pub fn without_claim(mut self, name: &str) -> Self {
        self.claims.remove(name);
        self
    }

    /// Sets a header member (`typ`, `kid`, `crit`, `jku`, ...). `alg` and `kid` default to the
    /// signing key's.
    pub fn header(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.header.insert(name.to_owned(), value.into());
        self
    }

    /// Removes a header member (`kid`, `typ`).
    pub fn without_header(mut self, name: &str) -> Self {
        self.header.insert(name.to_owned(), Value::Null);
        self
    }

    /// Uses this exact header JSON, unchecked (for duplicate-member and malformed cases).
    pub fn raw_header(mut self, json: &str) -> Self {
        self.raw_header = Some(json.to_owned());
        self
    }

    /// Uses this exact claims JSON, unchecked.
    pub fn raw_claims(mut self, json: &str) -> Self {
        self.raw_payload = Some(json.to_owned());
        self
    }

    /// Signs with HMAC under `secret` instead of the issuer's key, with `alg` set to
    /// `algorithm` (HS256/384/512) unless the header was overridden. For HMAC validators, and for
    /// the key-confusion attack of signing with an RSA public key as the secret.
    pub fn sign_hmac(mut self, algorithm: Algorithm, secret: &[u8]) -> String {
        use aws_lc_rs::hmac;
        let hash = match algorithm {
            Algorithm::HS384 => hmac::HMAC_SHA384,
            Algorithm::HS512 => hmac::HMAC_SHA512,
            _ => hmac::HMAC_SHA256,
        };
        self.header
            .entry("alg")
            .or_insert_with(|| algorithm_name(algorithm).into());
        let signing_input = self.signing_input(None);
        let tag = hmac::sign(&hmac::Key::new(hash, secret), signing_input.as_bytes());
        format!("{signing_input}.{}", b64(tag.as_ref()))
    }

    fn signing_input(self, key: Option<&SigningKey>) -> String {
        let mut header = Map::new();
        header.insert("alg".into(), algorithm_name(self.algorithm).into());
        if let Some(key) = key {
            header.insert("kid".into(), key.kid().into());
        }
        for (name, value) in self.header {
            if value.is_null() {
                header.remove(&name);
            } else {
                header.insert(name, value);
            }
        }
        let header = self
            .raw_header
            .unwrap_or_else(|| Value::Object(header).to_string());
        let payload = self
            .raw_payload
            .unwrap_or_else(|| Value::Object(self.claims).to_string());
        format!("{}.{}", b64(header), b64(payload))
    }

    /// Signs and returns the compact token.
    pub fn sign(self) -> String {
        let key = self.keys.key_for(self.algorithm);
        let algorithm = self.algorithm;
        let signing_input = self.signing_input(key.as_deref());
        let signature = key
            .map(|key| key.sign(algorithm, signing_input.as_bytes()))
            .unwrap_or_default();
        format!("{signing_input}.{}", b64(signature))
    }

    /// Binds the token to a client's DPoP key: `cnf.jkt` is the key's thumbprint.
    pub fn bound_to(self, key: &super::DpopKey) -> Self {
        self.claim("cnf", serde_json::json!({ "jkt": key.thumbprint() }))
    }

    /// Signs as [`sign`](Self::sign) does and returns the `Authorization` header value,
    /// `Bearer <token>`.
    ///
    /// ```
    /// use axum::http::Request;
    /// use scopegate::testing::TestIssuer;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let issuer = TestIssuer::start().await?;
    /// let request = Request::get("/rooms/r1/comments")
    ///     .header("authorization", issuer.token().scope("read:comments-in-r1").bearer())
    ///     .body(())?;
    ///
    /// let header = request.headers()["authorization"].to_str()?;
    /// let token = header.strip_prefix("Bearer ").ok_or("not a bearer header")?;
    /// let auth = issuer.validator().build()?.validate(token).await?;
    /// assert!(auth.grants("read:comments-in-r1"));
    /// # Ok(()) }
    /// ```
    pub fn bearer(self) -> String {
        format!("Bearer {}", self.sign())
    }
}
