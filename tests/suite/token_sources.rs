//! Opt-in token sources, through the layer: a cookie, the WebSocket subprotocol list and the
//! WebSocket upgrade query, each only when enabled, the `Authorization` header always first,
//! and disagreeing sources refused with 400. Really signed tokens from the in-process issuer.

use crate::common;

use axum::body::Body;
use http::{Request, StatusCode, header};
use scopegate::AuthLayer;
use scopegate::testing::TestIssuer;
use tower::ServiceExt;

use common::{Reply, app_behind};

async fn send(app: &axum::Router, request: http::request::Builder) -> Reply {
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn upgrade(uri: &str) -> http::request::Builder {
    Request::get(uri)
        .header(header::UPGRADE, "websocket")
        .header(header::CONNECTION, "Upgrade")
}

async fn layer(issuer: &TestIssuer) -> AuthLayer {
    AuthLayer::new(issuer.validator().build().unwrap())
}

#[tokio::test]
async fn cookie_only_when_enabled() {
    let issuer = TestIssuer::start().await.unwrap();
    let token = issuer.token().subject("cookie-user").sign();
    let cookie = format!("theme=dark; at={token}");

    let plain = app_behind(layer(&issuer).await);
    let reply = send(&plain, Request::get("/me").header(header::COOKIE, &cookie)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);

    let app = app_behind(layer(&issuer).await.token_from_cookie("at").unwrap());
    let reply = send(&app, Request::get("/me").header(header::COOKIE, &cookie)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.challenge());
    assert_eq!(reply.body, "cookie-user");

    // A bad token in the cookie is a bad token: 401 invalid_token, not anonymous.
    let reply = send(
        &app,
        Request::get("/me").header(header::COOKIE, "at=not.a.token"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(
        reply.challenge().contains("invalid_token"),
        "{}",
        reply.challenge()
    );
    assert!(
        AuthLayer::new(issuer.validator().build().unwrap())
            .token_from_cookie("a;b")
            .is_err()
    );
}

#[tokio::test]
async fn the_authorization_header_always_wins() {
    let issuer = TestIssuer::start().await.unwrap();
    let header_token = issuer.token().subject("header-user").sign();
    let cookie_token = issuer.token().subject("cookie-user").sign();
    let app = app_behind(layer(&issuer).await.token_from_cookie("at").unwrap());
    let reply = send(
        &app,
        Request::get("/me")
            .header(header::AUTHORIZATION, format!("Bearer {header_token}"))
            .header(header::COOKIE, format!("at={cookie_token}")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, "header-user");
}

#[tokio::test]
async fn websocket_subprotocol_and_query_only_on_upgrades() {
    let issuer = TestIssuer::start().await.unwrap();
    let token = issuer.token().subject("ws-user").sign();
    let app = app_behind(
        layer(&issuer)
            .await
            .token_from_websocket_protocol()
            .token_from_websocket_query(),
    );
    let protocols = format!("chat.v1, access_token, {token}");
    let reply = send(
        &app,
        upgrade("/me").header(header::SEC_WEBSOCKET_PROTOCOL, &protocols),
    )
    .await;
    assert_eq!(reply.body, "ws-user");
    let reply = send(&app, upgrade(&format!("/me?access_token={token}"))).await;
    assert_eq!(reply.body, "ws-user");

    // Not an upgrade: neither source is read.
    let reply = send(
        &app,
        Request::get(format!("/me?access_token={token}"))
            .header(header::SEC_WEBSOCKET_PROTOCOL, &protocols),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(
        !reply.challenge().contains("error="),
        "{}",
        reply.challenge()
    );

    // Not enabled: an upgrade with a query token has no credentials.
    let plain = app_behind(layer(&issuer).await);
    let reply = send(&plain, upgrade(&format!("/me?access_token={token}"))).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn disagreeing_sources_are_bad_requests() {
    let issuer = TestIssuer::start().await.unwrap();
    let one = issuer.token().subject("one").sign();
    let two = issuer.token().subject("two").sign();
    let app = app_behind(
        layer(&issuer)
            .await
            .token_from_cookie("at")
            .unwrap()
            .token_from_websocket_query(),
    );
    let reply = send(
        &app,
        upgrade(&format!("/me?access_token={two}")).header(header::COOKIE, format!("at={one}")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.challenge().contains(r#"error="invalid_request""#));
    assert!(!reply.challenge().contains(&one[..20]));

    // The same token in both: fine.
    let reply = send(
        &app,
        upgrade(&format!("/me?access_token={one}")).header(header::COOKIE, format!("at={one}")),
    )
    .await;
    assert_eq!(reply.body, "one");
}

/// Another scheme in `Authorization` (Basic, for a proxy) still means the header was sent: the
/// opt-in sources are not read, as documented.
#[tokio::test]
async fn another_scheme_in_the_header_keeps_the_sources_unread() {
    let issuer = TestIssuer::start().await.unwrap();
    let token = issuer.token().subject("cookie-user").sign();
    let app = app_behind(layer(&issuer).await.token_from_cookie("at").unwrap());
    let reply = send(
        &app,
        Request::get("/me")
            .header(header::AUTHORIZATION, "Basic dXNlcjpwYXNz")
            .header(header::COOKIE, format!("at={token}")),
    )
    .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert!(
        !reply.challenge().contains("error="),
        "{}",
        reply.challenge()
    );
}
