//! The tower services on their own, without axum routing: a plain `service_fn` behind
//! `AuthLayer` and `RequireLayer`, as a tonic or hyper user would stack them.

use std::cell::Cell;
use std::convert::Infallible;
use std::rc::Rc;

use http::{Request, Response, StatusCode, header};
use scopegate::testing::TestIssuer;
use scopegate::{AuthLayer, AuthService, RequireLayer, Requirement, scope};
use tower::{Layer, ServiceExt, service_fn};

fn request(token: Option<&str>) -> Request<()> {
    let mut request = Request::get("/health");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    request.body(()).unwrap()
}

/// A service that is neither `Send` nor `Sync` (it counts calls in an `Rc<Cell>`), on a
/// current-thread runtime: the layer must not demand more of it than tower does, even when the
/// first request waits for the key set to be fetched.
#[tokio::test(flavor = "current_thread")]
async fn the_layer_wraps_a_service_that_is_not_send() {
    let issuer = TestIssuer::start().await.unwrap();
    let calls = Rc::new(Cell::new(0));
    let counter = calls.clone();
    let inner = service_fn(move |_: Request<()>| {
        counter.set(counter.get() + 1);
        async { Ok::<_, Infallible>(Response::new(String::from("serving"))) }
    });
    let layer = AuthLayer::new(issuer.validator().build().unwrap());
    let service = layer.layer(inner);

    let token = issuer.token().sign();
    // The first request finds no key set cached: it waits for the fetch, then calls in.
    let response = service
        .clone()
        .oneshot(request(Some(&token)))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.body(), "serving");
    let refused = service.clone().oneshot(request(None)).await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(calls.get(), 1);
}

#[tokio::test]
async fn the_services_expose_what_they_wrap() {
    let issuer = TestIssuer::start().await.unwrap();
    let layer = AuthLayer::new(issuer.validator().build().unwrap());
    let mut service = AuthService::new(7_u32, &layer);
    assert_eq!(*service.get_ref(), 7);
    *service.get_mut() = 8;
    assert_eq!(service.into_inner(), 8);
    let require = RequireLayer::new(scope!("read:health"));
    let mut service = require.layer(1_u8);
    *service.get_mut() += 1;
    assert_eq!(*service.get_ref(), 2);
    assert_eq!(service.into_inner(), 2);
}

/// Behind the auth layer, a `RequireLayer` of the tower alone binds no path values: a fixed
/// scope and claim checks decide, and a template with a parameter is refused with 500 (never
/// a pass).
#[tokio::test]
async fn require_layer_without_axum_decides_fixed_scopes_and_refuses_parameters() {
    let issuer = TestIssuer::start().await.unwrap();
    let inner = service_fn(|_: Request<()>| async {
        Ok::<_, Infallible>(Response::new(String::from("ok")))
    });
    let stack = |requirement: Requirement| {
        let required = RequireLayer::new(requirement).layer(inner);
        AuthLayer::new(issuer.validator().build().unwrap()).layer(required)
    };
    let granted = issuer.token().scope("read:health").sign();
    let other = issuer.token().scope("read:other").sign();

    let fixed = stack(scope!("read:health"));
    let ok = fixed
        .clone()
        .oneshot(request(Some(&granted)))
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(ok.body(), "ok");
    let refused = fixed.clone().oneshot(request(Some(&other))).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let challenge = refused.headers()[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap();
    assert!(challenge.contains(r#"scope="read:health""#), "{challenge}");

    let templated = stack(scope!("read:rooms-{room}"));
    let unbound = templated
        .oneshot(request(Some(&issuer.token().scope("read:rooms-x").sign())))
        .await
        .unwrap();
    assert_eq!(unbound.status(), StatusCode::INTERNAL_SERVER_ERROR);
}
