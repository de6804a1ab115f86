//! The rooms API from scopegate's user stories, behind the scopegate layer.
//!
//! ```text
//! cargo run --example rooms
//! ```
//!
//! With no configuration it starts a built-in development issuer on 127.0.0.1 and prints its
//! tokens once, as shell `export` lines, then a curl command for each route with the status it
//! answers. Refusals are RFC 9457 problem details (`ProblemJson`). Against a real identity
//! provider:
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | SCOPEGATE_ISSUER | issuer URL, compared byte for byte with `iss`; keys via discovery | unset: built-in dev issuer |
//! | SCOPEGATE_AUDIENCE | the audience this API accepts | required with SCOPEGATE_ISSUER |
//! | SCOPEGATE_JWKS_URL | fetch keys here instead of discovery | from discovery |
//! | SCOPEGATE_ADDR | listen address | 127.0.0.1:3000 |
//! | SCOPEGATE_NO_AUTH | set: the same routes without authentication (the load script's baseline); `layered`: and behind two layers that do nothing, where scopegate's two are | unset |
//! | SCOPEGATE_MAX_TOKEN_BYTES | the longest token accepted | 8192 |
//! | SCOPEGATE_TOKEN_CACHE_BYTES | the verified-token cache's bound; 0 turns it off | 16 MiB |
//! | SCOPEGATE_TOKENS_FILE | with the dev issuer: write 2000 distinct tokens there (load script) | unset |
//! | SCOPEGATE_PUBLIC_URL | the origin clients reach the API under (DPoP `htu`, metadata URL) | `http://` + the bound address |
//! | SCOPEGATE_DPOP | `on`: bearer and DPoP-bound tokens; `required`: DPoP only | unset: bearer tokens only (bound ones refused) |
//!
//! | route | requirement |
//! |---|---|
//! | GET /health | none: liveness |
//! | GET /ready | none: 200 once every issuer's keys are loaded, 503 before |
//! | GET /metrics | none: scopegate's metrics, Prometheus text format |
//! | GET /openapi.json | none: the OpenAPI document, each route's requirement from its declaration |
//! | GET /.well-known/oauth-protected-resource... | none: RFC 9728 metadata (resource = the audience) |
//! | GET /me | any valid token: `{"sub": ..., "scopes": [...]}` |
//! | GET /rooms/{room}/comments | `read:comments-in-{room}` |
//! | POST /rooms/{room}/comments | `add:comments-in-{room}` (201) |
//! | DELETE /rooms/{room}/comments/{id} | `delete:comments-in-{room}` (204) |
//! | GET /orgs/{org}/invoices | `read:invoices` and claim `org_id` equal to `{org}` |
//! | PUT /rooms/{room}/settings | `admin:rooms-in-{room}`, and a step-up: `acr` `urn:rooms:mfa` with `auth_time` at most 300 s ago (204) |
//!
//! Granted scopes are the union of `scope`, `scp`, `permissions` and
//! `https://my-apis/customScopes`. A token that has the admin scope but not a recent MFA gets
//! 401 `insufficient_user_authentication` with `acr_values="urn:rooms:mfa"` and `max_age="300"`
//! (RFC 9470): the client sends the user back to sign in again with those. Logging follows
//! `RUST_LOG` (default `info`: one line per request).

use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, put};
use axum::{Json, Router};
use scopegate::openapi::{Documented, routing};
use scopegate::{Authenticated, GrantedScopes, Issuers, Requirement, scope};
use serde_json::{Value, json};

mod config;
mod guide;

/// The custom claim of the rooms story (seed 002), where an Auth0 Action puts per-room scopes.
pub(crate) const CUSTOM_SCOPES: &str = "https://my-apis/customScopes";

/// The `acr` of a sign-in with a second factor.
pub(crate) const MFA: &str = "urn:rooms:mfa";

/// How long ago the second factor may have been used for room settings.
pub(crate) const SETTINGS_MAX_AGE: Duration = Duration::from_secs(300);

pub(crate) type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    let address = std::env::var("SCOPEGATE_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let trust = config::trust().await?;
    let listener = tokio::net::TcpListener::bind(&address).await?;
    let base = format!("http://{}", listener.local_addr()?);
    // Where clients reach the API: DPoP proofs name URIs on it, the metadata URL is on it.
    let public_url = std::env::var("SCOPEGATE_PUBLIC_URL").unwrap_or_else(|_| base.clone());

    // Each protected route declared once: the router enforces it, /openapi.json shows it.
    let (protected, security) = Documented::new(Router::new().route("/me", get(me)))
        .route_requiring(
            "/rooms/{room}/comments",
            routing::get(list_comments),
            scope!("read:comments-in-{room}"),
        )
        .route_requiring(
            "/rooms/{room}/comments",
            routing::post(add_comment),
            scope!("add:comments-in-{room}"),
        )
        .route_requiring(
            "/rooms/{room}/comments/{id}",
            routing::delete(delete_comment),
            scope!("delete:comments-in-{room}"),
        )
        .route_requiring(
            "/orgs/{org}/invoices",
            routing::get(list_invoices),
            Requirement::all_of([
                scope!("read:invoices"),
                Requirement::claim_equals("org_id", "org"),
            ]),
        )
        .route_requiring(
            "/rooms/{room}/settings",
            routing::put(update_settings),
            Requirement::all_of([
                scope!("admin:rooms-in-{room}"),
                // Scopes short: 403. Scopes there but no recent MFA: 401 step-up.
                Requirement::step_up()
                    .acr_values([MFA])
                    .max_age(SETTINGS_MAX_AGE)
                    .build()?,
            ]),
        )
        .into_parts();
    // Every refusal, the layer's and the requirements', as RFC 9457 problem details.
    let protected = protected.layer(config::auth_layer(&trust, &public_url)?);
    let openapi = Json(config::openapi(&trust, &security)?);
    let app = match std::env::var("SCOPEGATE_NO_AUTH").ok() {
        None => protected,
        // The baselines of `bench/http.sh`: the same handlers, without authentication; and
        // behind two layers that do nothing, where the requirement's and the AuthLayer's are,
        // which shows what axum's layering costs any middleware.
        Some(how) => {
            let layered = how == "layered";
            let nothing = || tower::util::MapRequestLayer::new(std::convert::identity::<Request>);
            let wrap = |methods: axum::routing::MethodRouter| {
                if layered {
                    methods.layer(nothing())
                } else {
                    methods
                }
            };
            let open = Router::new()
                .route(
                    "/rooms/{room}/comments",
                    wrap(get(list_comments).post(add_comment)),
                )
                .route("/rooms/{room}/comments/{id}", wrap(delete(delete_comment)))
                .route("/orgs/{org}/invoices", wrap(get(list_invoices)))
                .route("/rooms/{room}/settings", wrap(put(update_settings)));
            if layered { open.layer(nothing()) } else { open }
        }
    };
    // Operations, outside the layer: liveness never depends on tokens or keys; readiness
    // waits for every issuer's keys; metrics in the Prometheus text format.
    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new().install_recorder()?;
    scopegate::describe_metrics();
    let issuers = Issuers::from(trust.validator.clone());
    let app = app
        .route("/health", get(|| async { "ok" }))
        .route(
            "/ready",
            get(move || async move {
                if issuers.is_ready() {
                    (StatusCode::OK, "ready")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "keys not loaded")
                }
            }),
        )
        .route("/metrics", get(move || async move { metrics.render() }))
        .route(
            "/openapi.json",
            get(move || std::future::ready(openapi.clone())),
        )
        .layer(middleware::from_fn(log_request));

    tracing::info!("rooms API listening on {base}");
    if let Some(dev) = &trust.dev {
        guide::print(dev, &public_url, config::dpop_mode()?.as_ref());
        if let Ok(path) = std::env::var("SCOPEGATE_TOKENS_FILE") {
            guide::write_load_tokens(dev, &path)?;
        }
    }
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("shutting down");
        })
        .await?;
    Ok(())
}

/// `{"sub": ..., "scopes": [...]}`: the verified subject and every granted scope, sorted.
async fn me(auth: Authenticated, scopes: GrantedScopes) -> Json<Value> {
    Json(json!({ "sub": auth.subject(), "scopes": scopes.iter().collect::<Vec<_>>() }))
}

async fn list_comments() -> Json<Value> {
    Json(json!([]))
}

async fn add_comment() -> StatusCode {
    StatusCode::CREATED
}

async fn delete_comment() -> StatusCode {
    StatusCode::NO_CONTENT
}

async fn list_invoices() -> Json<Value> {
    Json(json!([]))
}

async fn update_settings() -> StatusCode {
    StatusCode::NO_CONTENT
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
