//! The test issuer's own helpers: `TokenBuilder::bearer`, `TestIssuer::bearer` and the `Debug`
//! output, through a real axum router behind `AuthLayer`.

use axum::Router;
use axum::body::Body;
use axum::extract::Path;
use axum::routing::get;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use scopegate::testing::TestIssuer;
use scopegate::{AuthLayer, RouterExt, scope};
use tower::ServiceExt;

/// `/rooms/{room}/comments` needs `read:comments-in-{room}`; `/a`, `/b` and `/c` need `a`, `b`
/// and `c`. Every handler answers its own name, so a 200 is known to come from it.
fn app(issuer: &TestIssuer) -> Router {
    let validator = issuer.validator().build().expect("validator");
    Router::new()
        .route_requiring(
            "/rooms/{room}/comments",
            get(|Path(room): Path<String>| async move { format!("comments in {room}") }),
            scope!("read:comments-in-{room}"),
        )
        .route_requiring("/a", get(|| async { "a" }), scope!("a"))
        .route_requiring("/b", get(|| async { "b" }), scope!("b"))
        .route_requiring("/c", get(|| async { "c" }), scope!("c"))
        .layer(AuthLayer::new(validator))
}

/// Sends `GET path` with `authorization` (if any); the status and the body.
async fn get_with(app: &Router, path: &str, authorization: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::get(path);
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn token_builder_bearer_is_a_header_the_layer_accepts() {
    let issuer = TestIssuer::start().await.expect("issuer");
    let app = app(&issuer);

    let bearer = issuer.token().scope("read:comments-in-r1").bearer();
    let token = bearer.strip_prefix("Bearer ").expect("a Bearer header");
    assert_eq!(token.split('.').count(), 3, "{bearer}");

    assert_eq!(
        get_with(&app, "/rooms/r1/comments", Some(&bearer)).await,
        (StatusCode::OK, "comments in r1".to_owned())
    );
    assert_eq!(
        get_with(&app, "/rooms/r2/comments", Some(&bearer)).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        get_with(&app, "/rooms/r1/comments", None).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn token_builder_bearer_signs_like_sign() {
    let issuer = TestIssuer::start().await.expect("issuer");
    let validator = issuer.validator().build().expect("validator");
    for algorithm in scopegate::testing::TEST_ALGORITHMS {
        let bearer = issuer.token().algorithm(algorithm).scope("a").bearer();
        let token = bearer.strip_prefix("Bearer ").expect("a Bearer header");
        let auth = validator.validate(token).await.expect("valid");
        assert_eq!(auth.algorithm(), algorithm);
        assert!(auth.grants("a"));
    }
}

#[tokio::test]
async fn test_issuer_bearer_grants_every_scope_it_names() {
    let issuer = TestIssuer::start().await.expect("issuer");
    let app = app(&issuer);

    let both = issuer.bearer("a b");
    assert!(both.starts_with("Bearer "), "{both}");
    assert_eq!(
        get_with(&app, "/a", Some(&both)).await,
        (StatusCode::OK, "a".to_owned())
    );
    assert_eq!(
        get_with(&app, "/b", Some(&both)).await,
        (StatusCode::OK, "b".to_owned())
    );
    // Only what it names.
    assert_eq!(
        get_with(&app, "/c", Some(&both)).await.0,
        StatusCode::FORBIDDEN
    );

    let templated = issuer.bearer("read:comments-in-r1");
    assert_eq!(
        get_with(&app, "/rooms/r1/comments", Some(&templated)).await,
        (StatusCode::OK, "comments in r1".to_owned())
    );
    assert_eq!(
        get_with(&app, "/a", Some(&templated)).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn debug_shows_the_issuer_and_claims_but_no_key() {
    let issuer = TestIssuer::start().await.expect("issuer");
    let debug = format!("{issuer:?}");
    assert!(debug.contains(issuer.issuer()), "{debug}");
    let kid = issuer
        .kid(scopegate::Algorithm::ES256)
        .expect("an ES256 key");
    assert!(debug.contains(&kid), "{debug}");
    for private in ["KeyPair", "Secret", "secret", "\"d\""] {
        assert!(!debug.contains(private), "{debug}");
    }

    let builder = issuer
        .token()
        .algorithm(scopegate::Algorithm::PS256)
        .scope("read:x");
    let debug = format!("{builder:?}");
    assert!(debug.contains("PS256"), "{debug}");
    assert!(debug.contains("read:x"), "{debug}");
    assert!(debug.contains(issuer.issuer()), "{debug}");
    for private in ["KeyPair", "Secret", "secret", "\"d\""] {
        assert!(!debug.contains(private), "{debug}");
    }
}
