//! Per-tenant permissions: roles in a claim expanded by a policy, and grants from the API's own
//! service through a cached resolver. Both feed the same requirements as token scopes.

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use common::send_with;
use http::StatusCode;
use scopegate::jwks::BoxFuture;
use scopegate::testing::{ManualClock, TestIssuer};
use scopegate::{
    AuthLayer, GrantResolver, ResolveError, ResolveRequest, RolePolicy, RouterExt,
    ValidatorBuilder, scope,
};
use serde_json::json;

const ROLES: &str = "https://my-apis/roles";

fn rooms(layer: AuthLayer) -> Router {
    async fn ok() -> StatusCode {
        StatusCode::OK
    }
    Router::new()
        .route_requiring(
            "/rooms/{room}/comments",
            get(ok),
            scope!("read:comments-in-{room}"),
        )
        .route_requiring(
            "/rooms/{room}/comments",
            post(ok),
            scope!("add:comments-in-{room}"),
        )
        .layer(layer)
}

fn layer(validator: ValidatorBuilder) -> AuthLayer {
    AuthLayer::new(validator.build().unwrap())
}

async fn call(app: &Router, method: &str, path: &str, token: &str) -> (StatusCode, String) {
    use axum::body::Body;
    use tower::ServiceExt;
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.status(), challenge)
}

fn policy() -> RolePolicy {
    RolePolicy::new(ROLES)
        .role(
            "admin",
            ["read:comments-in-{tenant}", "add:comments-in-{tenant}"],
        )
        .unwrap()
        .role("member", ["read:comments-in-{tenant}"])
        .unwrap()
}

// --- roles per tenant in a claim -----------------------------------------------------------

#[tokio::test]
async fn roles_in_a_claim_grant_per_tenant_through_the_policy() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = rooms(layer(issuer.validator()).role_policy(policy()).unwrap());
    let token = issuer
        .token()
        .claim(ROLES, json!({"room_1": "admin", "room_2": ["member"]}))
        .sign();
    assert_eq!(
        call(&app, "POST", "/rooms/room_1/comments", &token).await.0,
        StatusCode::OK
    );
    assert_eq!(
        call(&app, "GET", "/rooms/room_2/comments", &token).await.0,
        StatusCode::OK
    );
    let (status, challenge) = call(&app, "POST", "/rooms/room_2/comments", &token).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        challenge.contains(r#"scope="add:comments-in-room_2""#),
        "{challenge}"
    );
    assert_eq!(
        call(&app, "GET", "/rooms/room_3/comments", &token).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn malformed_role_claims_grant_nothing_but_keep_the_token_valid() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = rooms(layer(issuer.validator()).role_policy(policy()).unwrap());
    for roles in [
        json!("admin"),
        json!(["admin"]),
        json!({"room_1": 1}),
        json!({"room_1": "owner"}),
        json!({"room_1": "ADMIN"}),
        json!({"room 1": "admin"}),
        json!({"*": "admin"}),
        json!({"room_1/x": "admin"}),
    ] {
        let token = issuer
            .token()
            .scope("read:comments-in-room_9")
            .claim(ROLES, roles.clone())
            .sign();
        assert_eq!(
            call(&app, "POST", "/rooms/room_1/comments", &token).await.0,
            StatusCode::FORBIDDEN,
            "{roles}"
        );
        // The token is still valid: its own scope works.
        assert_eq!(
            call(&app, "GET", "/rooms/room_9/comments", &token).await.0,
            StatusCode::OK,
            "{roles}"
        );
    }
}

#[tokio::test]
async fn a_repeated_tenant_in_the_role_claim_grants_nothing() {
    let issuer = TestIssuer::start().await.unwrap();
    let app = rooms(layer(issuer.validator()).role_policy(policy()).unwrap());
    let claims = format!(
        r#"{{"iss":"{}","aud":"{}","exp":{},"{ROLES}":{{"room_1":"member","room_1":"admin"}}}}"#,
        issuer.issuer(),
        scopegate::testing::TEST_AUDIENCE,
        i64::MAX / 2
    );
    let token = issuer.token().raw_claims(&claims).sign();
    assert_eq!(
        call(&app, "GET", "/rooms/room_1/comments", &token).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_policy_loads_from_json() {
    let issuer = TestIssuer::start().await.unwrap();
    let policy: RolePolicy = serde_json::from_value(json!({
        "claim": ROLES,
        "roles": {"admin": ["add:comments-in-{tenant}"]}
    }))
    .unwrap();
    let app = rooms(layer(issuer.validator()).role_policy(policy).unwrap());
    let token = issuer.token().claim(ROLES, json!({"r": "admin"})).sign();
    assert_eq!(
        call(&app, "POST", "/rooms/r/comments", &token).await.0,
        StatusCode::OK
    );
}

// --- grants from the API's own service ----------------------------------------------------

/// Grants `read:comments-in-<room>` to `sub` "member" only; counts calls; can fail.
#[derive(Clone, Default)]
struct RoomService {
    calls: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
}

impl GrantResolver for RoomService {
    fn resolve<'a>(
        &'a self,
        request: ResolveRequest<'a>,
    ) -> BoxFuture<'a, Result<Vec<String>, ResolveError>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.failing.load(Ordering::SeqCst) {
                return Err(ResolveError::new("rooms service unreachable"));
            }
            let room = request.param("room").unwrap_or_default();
            Ok(match request.claims().subject() {
                Some("member") => vec![format!("read:comments-in-{room}"), "not a scope".into()],
                _ => Vec::new(),
            })
        })
    }
}

#[tokio::test]
async fn the_resolver_is_called_only_when_the_token_falls_short() {
    let issuer = TestIssuer::start().await.unwrap();
    let service = RoomService::default();
    let app = rooms(layer(issuer.validator()).grant_resolver(service.clone()));
    let own = issuer
        .token()
        .subject("member")
        .scope("read:comments-in-r1")
        .sign();
    assert_eq!(
        call(&app, "GET", "/rooms/r1/comments", &own).await.0,
        StatusCode::OK
    );
    assert_eq!(service.calls.load(Ordering::SeqCst), 0);
    // No scope for r2 in the token: the resolver grants it.
    assert_eq!(
        call(&app, "GET", "/rooms/r2/comments", &own).await.0,
        StatusCode::OK
    );
    assert_eq!(service.calls.load(Ordering::SeqCst), 1);
    // It does not grant add: 403 naming the scope.
    let (status, challenge) = call(&app, "POST", "/rooms/r2/comments", &own).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        challenge.contains(r#"scope="add:comments-in-r2""#),
        "{challenge}"
    );
    // Another user gets nothing from it.
    let stranger = issuer.token().subject("stranger").sign();
    assert_eq!(
        call(&app, "GET", "/rooms/r2/comments", &stranger).await.0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn resolver_results_are_cached_per_user_and_route_values_until_the_ttl() {
    let clock = ManualClock::starting_now();
    let issuer = TestIssuer::start_with_clock(clock.clone()).await.unwrap();
    let service = RoomService::default();
    let app = rooms(
        layer(issuer.validator().clock(clock.clone()))
            .grant_resolver(service.clone())
            .grant_resolver_cache(Duration::from_secs(60), 100),
    );
    let member = issuer.token().subject("member").expires_in(3600).sign();
    for _ in 0..5 {
        assert_eq!(
            call(&app, "GET", "/rooms/r1/comments", &member).await.0,
            StatusCode::OK
        );
    }
    assert_eq!(
        service.calls.load(Ordering::SeqCst),
        1,
        "cached per user and room"
    );
    assert_eq!(
        call(&app, "GET", "/rooms/r2/comments", &member).await.0,
        StatusCode::OK
    );
    assert_eq!(
        service.calls.load(Ordering::SeqCst),
        2,
        "another room is another entry"
    );
    clock.advance(Duration::from_secs(61));
    assert_eq!(
        call(&app, "GET", "/rooms/r1/comments", &member).await.0,
        StatusCode::OK
    );
    assert_eq!(
        service.calls.load(Ordering::SeqCst),
        3,
        "expired after the TTL"
    );
}

#[tokio::test]
async fn the_resolver_cache_is_bounded() {
    let issuer = TestIssuer::start().await.unwrap();
    let service = RoomService::default();
    let app = rooms(
        layer(issuer.validator())
            .grant_resolver(service.clone())
            .grant_resolver_cache(Duration::from_secs(600), 2),
    );
    let member = issuer.token().subject("member").sign();
    for room in ["a", "b", "c"] {
        call(&app, "GET", &format!("/rooms/{room}/comments"), &member).await;
    }
    assert_eq!(service.calls.load(Ordering::SeqCst), 3);
    // "a" was evicted to make room for "c"; "c" is still cached.
    call(&app, "GET", "/rooms/c/comments", &member).await;
    assert_eq!(service.calls.load(Ordering::SeqCst), 3);
    call(&app, "GET", "/rooms/a/comments", &member).await;
    assert_eq!(service.calls.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_failing_resolver_fails_closed_with_503_and_is_not_hammered() {
    let clock = ManualClock::starting_now();
    let issuer = TestIssuer::start_with_clock(clock.clone()).await.unwrap();
    let service = RoomService::default();
    service.failing.store(true, Ordering::SeqCst);
    let app = rooms(layer(issuer.validator().clock(clock.clone())).grant_resolver(service.clone()));
    let member = issuer.token().subject("member").expires_in(3600).sign();
    for _ in 0..3 {
        let (status, challenge) = call(&app, "GET", "/rooms/r1/comments", &member).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(challenge.is_empty(), "no challenge on 503: {challenge}");
    }
    assert_eq!(
        service.calls.load(Ordering::SeqCst),
        1,
        "the failure is remembered briefly"
    );
    service.failing.store(false, Ordering::SeqCst);
    clock.advance(Duration::from_secs(6));
    assert_eq!(
        call(&app, "GET", "/rooms/r1/comments", &member).await.0,
        StatusCode::OK
    );
    assert_eq!(service.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_resolver_is_not_asked_about_refused_path_values() {
    let issuer = TestIssuer::start().await.unwrap();
    let service = RoomService::default();
    let app = rooms(layer(issuer.validator()).grant_resolver(service.clone()));
    let member = issuer.token().subject("member").sign();
    let reply = send_with(
        &app,
        "/rooms/a%20b/comments",
        &[&format!("Bearer {member}")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(
        !reply.challenge().contains("scope="),
        "{}",
        reply.challenge()
    );
    assert_eq!(service.calls.load(Ordering::SeqCst), 0);
}
