//! `#[require_scope("...")]` on handlers: the same decision as the other ways.

use axum::Router;
use axum::extract::Path;
use axum::routing::delete;
use http::StatusCode;
use scopegate::testing::TestIssuer;
use scopegate::{AuthLayer, Authenticated};

#[scopegate::require_scope("delete:comments-in-:room")]
async fn delete_comment(Path((room, id)): Path<(String, u32)>, auth: Authenticated) -> String {
    format!("{} deleted {id} in {room}", auth.subject().unwrap_or(""))
}

#[scopegate::require_scope("delete:rooms-{room}")]
pub async fn delete_room() -> StatusCode {
    StatusCode::NO_CONTENT
}

#[tokio::test]
async fn the_attribute_enforces_its_template_and_keeps_the_other_extractors() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = Router::new()
        .route("/rooms/{room}/comments/{id}", delete(delete_comment))
        .route("/rooms/{room}", delete(delete_room))
        .layer(AuthLayer::new(issuer.validator().build().unwrap()));
    let token = issuer
        .token()
        .subject("alice")
        .scope("delete:comments-in-room_1 delete:rooms-room_1")
        .sign();
    let bearer = format!("Bearer {token}");
    let delete = |path: &'static str| {
        let app = app.clone();
        let bearer = bearer.clone();
        async move {
            let request = http::Request::delete(path)
                .header("authorization", bearer)
                .body(axum::body::Body::empty())
                .unwrap();
            tower::ServiceExt::oneshot(app, request).await.unwrap()
        }
    };
    let ok = delete("/rooms/room_1/comments/7").await;
    assert_eq!(ok.status(), StatusCode::OK);
    let refused = delete("/rooms/room_2/comments/7").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let challenge = refused.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains(r#"scope="delete:comments-in-room_2""#),
        "{challenge}"
    );
    assert_eq!(
        delete("/rooms/room_1").await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        delete("/rooms/room_2").await.status(),
        StatusCode::FORBIDDEN
    );
    // Without credentials, where the layer lets anonymous requests through: the attribute
    // answers 401, never 403.
    let anonymous_app = Router::new()
        .route("/rooms/{room}", axum::routing::delete(delete_room))
        .layer(AuthLayer::new(issuer.validator().build().unwrap()).allow_anonymous());
    let request = http::Request::delete("/rooms/room_1")
        .body(axum::body::Body::empty())
        .unwrap();
    let anonymous = tower::ServiceExt::oneshot(anonymous_app, request)
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        anonymous.headers()["www-authenticate"],
        format!(r#"Bearer realm="{}""#, scopegate::testing::TEST_AUDIENCE)
    );
}
