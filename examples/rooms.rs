//! The rooms API from scopegate's user stories, behind the scopegate layer.
//!
//! ```text
//! cargo run --example rooms
//! ```
//!
//! With no configuration it starts a built-in development issuer on 127.0.0.1 and prints a
//! ready token and a curl command for each route. Against a real identity provider:
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | SCOPEGATE_ISSUER | issuer URL, compared byte for byte with `iss`; keys via discovery | unset: built-in dev issuer |
//! | SCOPEGATE_AUDIENCE | the audience this API accepts | required with SCOPEGATE_ISSUER |
//! | SCOPEGATE_JWKS_URL | fetch keys here instead of discovery | from discovery |
//! | SCOPEGATE_ADDR | listen address | 127.0.0.1:3000 |
//!
//! Logging follows `RUST_LOG` (default `info`: one line per request).
//!
//! Routes so far: `GET /health` (no token) and `GET /me` (any valid token). The per-room scope
//! requirements arrive with scopegate's scope templates.

use std::time::Instant;

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use scopegate::testing::TestIssuer;
use scopegate::{AuthLayer, Authenticated, Validator};
use serde_json::{Value, json};

type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    let address = std::env::var("SCOPEGATE_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let (validator, dev_issuer) = match std::env::var("SCOPEGATE_ISSUER") {
        Ok(issuer) => (configured_validator(issuer)?, None),
        Err(_) => {
            let dev = TestIssuer::start().await?;
            let validator = dev.validator().build()?;
            (validator, Some(dev))
        }
    };

    let app = Router::new()
        .route("/me", get(me))
        .layer(AuthLayer::new(validator))
        // Outside the layer: liveness does not depend on tokens or keys.
        .route("/health", get(|| async { "ok" }))
        .layer(middleware::from_fn(log_request));

    let listener = tokio::net::TcpListener::bind(&address).await?;
    let base = format!("http://{}", listener.local_addr()?);
    tracing::info!("rooms API listening on {base}");
    if let Some(dev) = &dev_issuer {
        print_dev_guide(dev, &base);
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutting down");
        })
        .await?;
    Ok(())
}

fn configured_validator(issuer: String) -> Result<Validator, Error> {
    let audience = std::env::var("SCOPEGATE_AUDIENCE")
        .map_err(|_| "SCOPEGATE_AUDIENCE is required when SCOPEGATE_ISSUER is set")?;
    let mut builder = Validator::builder(issuer).audience(audience);
    if let Ok(jwks_url) = std::env::var("SCOPEGATE_JWKS_URL") {
        builder = builder.jwks_url(jwks_url);
    }
    Ok(builder.build()?)
}

/// `{"sub": ..., "scopes": [...]}`: the verified subject and the sorted `scope` claim.
async fn me(auth: Authenticated) -> Json<Value> {
    let mut scopes: Vec<String> = auth
        .claim::<String>("scope")
        .map(|scope| {
            scope
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    scopes.sort();
    scopes.dedup();
    Json(json!({ "sub": auth.subject(), "scopes": scopes }))
}

/// One line per request: method, path, status, and the refusal reason when there is one.
async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let challenge = response
        .headers()
        .get(http::header::WWW_AUTHENTICATE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    tracing::info!(
        "{method} {path} -> {} {challenge} ({:?})",
        response.status().as_u16(),
        started.elapsed()
    );
    response
}

fn print_dev_guide(dev: &TestIssuer, base: &str) {
    let token = dev
        .token()
        .subject("alice")
        .scope("read:comments-in-room-1 add:comments-in-room-1")
        .expires_in(60 * 60)
        .sign();
    let expired = dev.token().subject("alice").expires_in(-3600).sign();
    println!();
    println!("Built-in dev issuer: {}", dev.issuer());
    println!("Tokens below are valid for one hour. Try:");
    println!();
    println!("  # 200, no token needed");
    println!("  curl -i {base}/health");
    println!("  # 401, no credentials: WWW-Authenticate: Bearer realm=...");
    println!("  curl -i {base}/me");
    println!("  # 200, {{\"sub\":\"alice\",\"scopes\":[...]}}");
    println!("  curl -i -H 'Authorization: Bearer {token}' {base}/me");
    println!("  # 401 invalid_token: expired");
    println!("  curl -i -H 'Authorization: Bearer {expired}' {base}/me");
    println!("  # 400 invalid_request: two credentials");
    println!("  curl -i -H 'Authorization: Bearer a, Bearer b' {base}/me");
    println!();
}
