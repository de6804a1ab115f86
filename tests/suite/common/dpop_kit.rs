//! Helpers for the DPoP and resource-metadata suites: one-shot requests with any method and
//! headers, a renderer that reports the refusal's `ErrorKind`, and a raw ES256 signer for the
//! proofs `ProofBuilder` cannot express (repeated JSON members, a hand-written header).
#![allow(dead_code)]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use axum::Router;
use axum::body::Body;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::BodyExt;
use scopegate::AuthError;
use tower::ServiceExt;

/// The public origin every layer in these suites is configured with.
pub const ORIGIN: &str = "https://rooms.example";

/// The header [`kind_renderer`] names the refusal's `ErrorKind` in.
pub const KIND_HEADER: &str = "x-error-kind";

/// A renderer as a plain function pointer, so layers using it have one nameable type.
pub type Renderer = fn(&AuthError) -> Response<Body>;

/// The standard status and challenge, plus the `ErrorKind` (its `Debug` name) in a header:
/// a test then knows exactly why a request was refused.
pub fn kind_renderer(error: &AuthError) -> Response<Body> {
    let mut response = error.to_response(Body::empty());
    let kind = HeaderValue::from_str(&format!("{:?}", error.kind())).unwrap();
    response.headers_mut().insert(KIND_HEADER, kind);
    response
}

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

/// `base64url(SHA-256(data))`, as `ath` and JWK thumbprints are written.
pub fn sha256_b64(data: impl AsRef<[u8]>) -> String {
    b64(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        data.as_ref(),
    ))
}

/// `path` on the public origin: the `htu` a proof for that path names.
pub fn htu(path: &str) -> String {
    format!("{ORIGIN}{path}")
}

/// A response, read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    /// The `WWW-Authenticate` value, or "" when absent.
    pub fn challenge(&self) -> &str {
        self.header(header::WWW_AUTHENTICATE.as_str())
    }

    /// The `ErrorKind` [`kind_renderer`] named, or "" for a response that is no refusal.
    pub fn kind(&self) -> &str {
        self.header(KIND_HEADER)
    }

    /// A header's value, or "" when absent.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
    }

    /// How many `WWW-Authenticate` headers the response has.
    pub fn challenge_count(&self) -> usize {
        self.headers
            .get_all(header::WWW_AUTHENTICATE)
            .iter()
            .count()
    }
}

/// Sends one request through `app` with the given headers (a name may repeat).
pub async fn send(app: &Router, method: Method, path: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    read(response).await
}

/// Reads a response whole.
pub async fn read(response: Response<Body>) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// `Authorization: DPoP <token>` and `DPoP: <proof>` on `method path`.
pub async fn send_dpop(
    app: &Router,
    method: Method,
    path: &str,
    token: &str,
    proof: &str,
) -> Reply {
    let authorization = format!("DPoP {token}");
    send(
        app,
        method,
        path,
        &[("authorization", &authorization), ("dpop", proof)],
    )
    .await
}

/// `Authorization: Bearer <token>` on `GET path`.
pub async fn send_bearer(app: &Router, path: &str, token: &str) -> Reply {
    let authorization = format!("Bearer {token}");
    send(app, Method::GET, path, &[("authorization", &authorization)]).await
}

/// A P-256 key that signs any header and claims text as written, for the proofs the test kit's
/// builder cannot express. Its thumbprint is computed here, independently of scopegate.
pub struct RawEcKey {
    pair: EcdsaKeyPair,
    x: String,
    y: String,
}

impl RawEcKey {
    pub fn generate() -> Self {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        // An uncompressed point: 0x04, then x and y, 32 bytes each.
        let point = pair.public_key().as_ref().to_vec();
        assert_eq!((point.len(), point[0]), (65, 4));
        RawEcKey {
            x: b64(&point[1..33]),
            y: b64(&point[33..]),
            pair,
        }
    }

    /// The public JWK, as JSON text.
    pub fn jwk_json(&self) -> String {
        format!(
            r#"{{"kty":"EC","crv":"P-256","x":"{}","y":"{}"}}"#,
            self.x, self.y
        )
    }

    /// The RFC 7638 thumbprint: the required members in lexicographic order, no whitespace.
    pub fn thumbprint(&self) -> String {
        sha256_b64(format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            self.x, self.y
        ))
    }

    /// The compact JWS of `header` and `claims` (JSON texts, used byte for byte), signed ES256.
    pub fn sign(&self, header: &str, claims: &str) -> String {
        let signing_input = format!("{}.{}", b64(header), b64(claims));
        let signature = self
            .pair
            .sign(&SystemRandom::new(), signing_input.as_bytes())
            .unwrap();
        format!("{signing_input}.{}", b64(signature.as_ref()))
    }

    /// The usual proof header: `typ`, `alg` ES256 and the key.
    pub fn header(&self) -> String {
        format!(
            r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{}}}"#,
            self.jwk_json()
        )
    }
}
