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
//! | SCOPEGATE_NO_AUTH | set: the same routes without authentication (the load script's baseline) | unset |
//! | SCOPEGATE_MAX_TOKEN_BYTES | the longest token accepted | 8192 |
//! | SCOPEGATE_TOKEN_CACHE_BYTES | the verified-token cache's bound; 0 turns it off | 16 MiB |
//! | SCOPEGATE_TOKENS_FILE | with the dev issuer: write 2000 distinct tokens there (load script) | unset |
//!
//! | route | requirement |
//! |---|---|
//! | GET /health | none |
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

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use scopegate::testing::TestIssuer;
use scopegate::{
    AuthLayer, Authenticated, GrantedScopes, ProblemJson, Requirement, RouterExt, ScopeSource,
    Validator, ValidatorBuilder, scope,
};
use serde_json::{Value, json};

/// The custom claim of the rooms story (seed 002), where an Auth0 Action puts per-room scopes.
const CUSTOM_SCOPES: &str = "https://my-apis/customScopes";

/// The `acr` of a sign-in with a second factor.
const MFA: &str = "urn:rooms:mfa";

/// How long ago the second factor may have been used for room settings.
const SETTINGS_MAX_AGE: Duration = Duration::from_secs(300);

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
            let builder = dev
                .validator()
                .scope_source(ScopeSource::claim(CUSTOM_SCOPES));
            let validator = with_token_limit(builder)?.build()?;
            (validator, Some(dev))
        }
    };

    let protected = Router::new()
        .route("/me", get(me))
        .route_requiring(
            "/rooms/{room}/comments",
            get(list_comments),
            scope!("read:comments-in-{room}"),
        )
        .route_requiring(
            "/rooms/{room}/comments",
            post(add_comment),
            scope!("add:comments-in-{room}"),
        )
        .route_requiring(
            "/rooms/{room}/comments/{id}",
            delete(delete_comment),
            scope!("delete:comments-in-{room}"),
        )
        .route_requiring(
            "/orgs/{org}/invoices",
            get(list_invoices),
            Requirement::all_of([
                scope!("read:invoices"),
                Requirement::claim_equals("org_id", "org"),
            ]),
        )
        .route_requiring(
            "/rooms/{room}/settings",
            put(update_settings),
            Requirement::all_of([
                scope!("admin:rooms-in-{room}"),
                // Scopes short: 403. Scopes there but no recent MFA: 401 step-up.
                Requirement::step_up()
                    .acr_values([MFA])
                    .max_age(SETTINGS_MAX_AGE)
                    .build()?,
            ]),
        )
        // Every refusal, the layer's and the requirements', as RFC 9457 problem details.
        .layer(auth_layer(validator)?);
    let app = if std::env::var_os("SCOPEGATE_NO_AUTH").is_some() {
        // The baseline of `bench/http.sh`: the same handlers, without authentication.
        Router::new()
            .route(
                "/rooms/{room}/comments",
                get(list_comments).post(add_comment),
            )
            .route("/rooms/{room}/comments/{id}", delete(delete_comment))
            .route("/orgs/{org}/invoices", get(list_invoices))
            .route("/rooms/{room}/settings", put(update_settings))
    } else {
        protected
    };
    let app = app
        // Outside the layer: liveness does not depend on tokens or keys.
        .route("/health", get(|| async { "ok" }))
        .layer(middleware::from_fn(log_request));

    let listener = tokio::net::TcpListener::bind(&address).await?;
    let base = format!("http://{}", listener.local_addr()?);
    tracing::info!("rooms API listening on {base}");
    if let Some(dev) = &dev_issuer {
        print_dev_guide(dev, &base);
        if let Ok(path) = std::env::var("SCOPEGATE_TOKENS_FILE") {
            write_load_tokens(dev, &path)?;
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

/// Every refusal, the layer's and the requirements', as RFC 9457 problem details.
/// `SCOPEGATE_TOKEN_CACHE_BYTES` sizes the verified-token cache (0: off, for the load script's
/// every-token-new case).
fn auth_layer(validator: Validator) -> Result<AuthLayer<ProblemJson>, Error> {
    let layer = AuthLayer::new(validator).on_rejection(ProblemJson);
    Ok(match std::env::var("SCOPEGATE_TOKEN_CACHE_BYTES") {
        Ok(bytes) => layer.verified_token_cache(bytes.parse()?),
        Err(_) => layer,
    })
}

/// For `bench/http.sh`: 2000 distinct tokens that may read room_1's comments, one per line.
fn write_load_tokens(dev: &TestIssuer, path: &str) -> Result<(), Error> {
    let tokens: Vec<String> = (0..2000)
        .map(|n| {
            dev.token()
                .subject(&format!("load-{n}"))
                .claim(CUSTOM_SCOPES, json!(["read:comments-in-room_1"]))
                .expires_in(60 * 60)
                .sign()
        })
        .collect();
    std::fs::write(path, tokens.join("\n") + "\n")?;
    Ok(())
}

fn configured_validator(issuer: String) -> Result<Validator, Error> {
    let audience = std::env::var("SCOPEGATE_AUDIENCE")
        .map_err(|_| "SCOPEGATE_AUDIENCE is required when SCOPEGATE_ISSUER is set")?;
    let mut builder = Validator::builder(issuer)
        .audience(audience)
        .scope_source(ScopeSource::claim(CUSTOM_SCOPES));
    if let Ok(jwks_url) = std::env::var("SCOPEGATE_JWKS_URL") {
        builder = builder.jwks_url(jwks_url);
    }
    Ok(with_token_limit(builder)?.build()?)
}

/// `SCOPEGATE_MAX_TOKEN_BYTES` raises the 8 KiB cap, for issuers whose tokens carry many
/// groups (Entra ID tokens with 200 groups run to about 12 KB).
fn with_token_limit(builder: ValidatorBuilder) -> Result<ValidatorBuilder, Error> {
    Ok(match std::env::var("SCOPEGATE_MAX_TOKEN_BYTES") {
        Ok(bytes) => builder.max_token_bytes(bytes.parse()?),
        Err(_) => builder,
    })
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

/// Prints each token once as a shell `export` line, then one curl command per route with the
/// status it answers: `  # METHOD -> STATUS ...` over `  curl -i ...` (CI runs every one).
fn print_dev_guide(dev: &TestIssuer, base: &str) {
    let hour = 60 * 60;
    // Alice may read and add in room_1 (in the custom claim, as seed 002's Action does), and
    // delete there through `scope`. She is Admin of org-a only (seed 000's Organizations).
    let alice = dev
        .token()
        .subject("alice")
        .scope("delete:comments-in-room_1 read:invoices")
        .claim(
            CUSTOM_SCOPES,
            json!(["read:comments-in-room_1", "add:comments-in-room_1"]),
        )
        .claim("org_id", "org-a")
        .expires_in(hour)
        .sign();
    let expired = dev.token().subject("alice").expires_in(-hour).sign();
    // Bob administers room_1. He signed in with a second factor just now ($BOB_MFA), without
    // one (no `acr`, $BOB_NO_MFA), or with one an hour ago ($BOB_STALE).
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let bob = |acr: Option<&str>, authenticated_at: u64| {
        let token = dev
            .token()
            .subject("bob")
            .scope("admin:rooms-in-room_1")
            .claim("auth_time", authenticated_at)
            .expires_in(hour);
        match acr {
            Some(acr) => token.claim("acr", acr),
            None => token,
        }
        .sign()
    };
    let bob_mfa = bob(Some(MFA), now);
    let bob_no_mfa = bob(None, now);
    let bob_stale = bob(Some(MFA), now.saturating_sub(hour as u64));

    println!();
    println!(
        "Built-in dev issuer: {} (tokens valid for one hour)",
        dev.issuer()
    );
    println!(
        "$ALICE grants read/add/delete comments in room_1 and read:invoices for org-a; $EXPIRED expired an hour ago."
    );
    println!(
        "$BOB_MFA administers room_1 and used MFA just now (fresh for {} s); $BOB_NO_MFA signed in without it; $BOB_STALE used MFA an hour ago.",
        SETTINGS_MAX_AGE.as_secs()
    );
    println!("Refusals are application/problem+json. Paste the export lines into a shell first:");
    println!();
    println!("  export ALICE={alice}");
    println!("  export EXPIRED={expired}");
    println!("  export BOB_MFA={bob_mfa}");
    println!("  export BOB_NO_MFA={bob_no_mfa}");
    println!("  export BOB_STALE={bob_stale}");
    println!();

    let bearer = |variable: &str| format!("-H \"authorization: Bearer ${variable}\" ");
    let examples = [
        ("GET", "/health", String::new(), "200"),
        ("GET", "/me", String::new(), "401 no credentials"),
        ("GET", "/me", bearer("ALICE"), "200 sub and scopes"),
        ("GET", "/rooms/room_1/comments", bearer("ALICE"), "200"),
        ("POST", "/rooms/room_1/comments", bearer("ALICE"), "201"),
        ("DELETE", "/rooms/room_1/comments/7", bearer("ALICE"), "204"),
        (
            "POST",
            "/rooms/room_2/comments",
            bearer("ALICE"),
            "403 scope=add:comments-in-room_2",
        ),
        ("GET", "/orgs/org-a/invoices", bearer("ALICE"), "200"),
        (
            "GET",
            "/orgs/org-b/invoices",
            bearer("ALICE"),
            "403 org_id is org-a (no scope= named)",
        ),
        ("PUT", "/rooms/room_1/settings", bearer("BOB_MFA"), "204"),
        (
            "PUT",
            "/rooms/room_1/settings",
            bearer("BOB_NO_MFA"),
            r#"401 error="insufficient_user_authentication" acr_values="urn:rooms:mfa" max_age="300" (no MFA)"#,
        ),
        (
            "PUT",
            "/rooms/room_1/settings",
            bearer("BOB_STALE"),
            r#"401 error="insufficient_user_authentication" acr_values="urn:rooms:mfa" max_age="300" (MFA too long ago)"#,
        ),
        (
            "PUT",
            "/rooms/room_2/settings",
            bearer("BOB_MFA"),
            r#"403 scope="admin:rooms-in-room_2" (not his room: scopes first)"#,
        ),
        (
            "GET",
            "/me",
            bearer("EXPIRED"),
            "401 invalid_token (expired)",
        ),
        (
            "GET",
            "/me",
            "-H \"authorization: Bearer a, Bearer b\" ".into(),
            "400 invalid_request",
        ),
    ];
    for (method, path, auth, expect) in examples {
        println!("  # {method} -> {expect}");
        let method = if method == "GET" {
            String::new()
        } else {
            format!("-X {method} ")
        };
        println!("  curl -i {method}{auth}{base}{path}");
    }
    println!();
}
