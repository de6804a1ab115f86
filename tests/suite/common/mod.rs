//! Helpers shared by the integration tests: a router behind the layer, and one-shot requests.
#![allow(dead_code)]

pub mod dpop_kit;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use scopegate::{AuthLayer, Authenticated, Validator};
use tower::ServiceExt;

/// `/me` answers the verified subject.
pub fn app(validator: Validator) -> Router {
    app_behind(AuthLayer::new(validator))
}

/// `/me` behind a layer of your own configuration.
pub fn app_behind(layer: AuthLayer) -> Router {
    Router::new()
        .route(
            "/me",
            get(|auth: Authenticated| async move { auth.subject().unwrap_or("").to_owned() }),
        )
        .layer(layer)
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    /// The `WWW-Authenticate` value, or "" when absent.
    pub fn challenge(&self) -> &str {
        self.headers
            .get(header::WWW_AUTHENTICATE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts a 401 `invalid_token` whose description is `kind`'s.
    pub fn assert_invalid_token(&self, kind: scopegate::ErrorKind) {
        assert_eq!(
            self.status,
            StatusCode::UNAUTHORIZED,
            "{}",
            self.challenge()
        );
        assert!(
            self.challenge().contains(r#"error="invalid_token""#),
            "{}",
            self.challenge()
        );
        assert!(
            self.challenge()
                .contains(&format!(r#"error_description="{}""#, kind.description())),
            "expected {kind:?}, got {}",
            self.challenge()
        );
    }
}

/// Sends one request with the given `Authorization` header values.
pub async fn send_with(app: &Router, path: &str, authorization: &[&str]) -> Reply {
    let mut request = Request::get(path);
    for value in authorization {
        request = request.header(header::AUTHORIZATION, *value);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// `GET /me` with `Authorization: Bearer <token>`.
pub async fn send(app: &Router, token: &str) -> Reply {
    send_with(app, "/me", &[&format!("Bearer {token}")]).await
}
