//! The grant resolver's cache: keys per user and client, one call for concurrent misses, a bound
//! per principal, bounded memory, and cancelled calls that do not stick.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use http::StatusCode;
use scopegate::jwks::BoxFuture;
use scopegate::testing::{ManualClock, TestIssuer};
use scopegate::{AuthLayer, GrantResolver, ResolveError, ResolveRequest, RouterExt, scope};
use tower::ServiceExt;

/// The bound on distinct path values per principal and window the layer uses by default.
const DEFAULT_BOUND: usize = 100;

/// `sub`, `client_id` and `azp` of one call.
type Asker = (Option<String>, Option<String>, Option<String>);

/// Grants `read:comments-in-<room>` to every subject, or only to the `client_id` in `only_client`
/// when set. Records who asked, sleeps `delay` per call, and hangs forever on call number
/// `hang_on` (1-based) when set.
#[derive(Clone, Default)]
struct Rooms {
    calls: Arc<AtomicUsize>,
    askers: Arc<Mutex<Vec<Asker>>>,
    only_client: Option<&'static str>,
    delay: Duration,
    hang_on: Option<usize>,
}

impl Rooms {
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl GrantResolver for Rooms {
    fn resolve<'a>(
        &'a self,
        request: ResolveRequest<'a>,
    ) -> BoxFuture<'a, Result<Vec<String>, ResolveError>> {
        Box::pin(async move {
            let call = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
            let claims = request.claims();
            self.askers.lock().unwrap().push((
                claims.subject().map(str::to_owned),
                claims.client_id().map(str::to_owned),
                claims.authorized_party().map(str::to_owned),
            ));
            if self.hang_on == Some(call) {
                std::future::pending::<()>().await;
            }
            if !self.delay.is_zero() {
                tokio::time::sleep(self.delay).await;
            }
            if self
                .only_client
                .is_some_and(|only| claims.client_id() != Some(only))
            {
                return Ok(Vec::new());
            }
            let room = request.param("room").unwrap_or_default();
            Ok(vec![format!("read:comments-in-{room}")])
        })
    }
}

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
        .layer(layer)
}

async fn get_status(app: Router, path: String, token: String) -> StatusCode {
    let request = http::Request::builder()
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    app.oneshot(request).await.unwrap().status()
}

async fn room(app: &Router, room: &str, token: &str) -> StatusCode {
    get_status(
        app.clone(),
        format!("/rooms/{room}/comments"),
        token.to_owned(),
    )
    .await
}

/// A router whose resolver cache runs on `clock`, with `ttl` and `max_entries`.
async fn app_with(
    service: &Rooms,
    clock: &ManualClock,
    ttl: u64,
    max_entries: usize,
) -> (TestIssuer, Router) {
    let issuer = TestIssuer::start_with_clock(clock.clone()).await.unwrap();
    let layer = AuthLayer::new(issuer.validator().clock(clock.clone()).build().unwrap())
        .grant_resolver(service.clone())
        .grant_resolver_cache(Duration::from_secs(ttl), max_entries);
    let app = rooms(layer);
    (issuer, app)
}

// --- (a) the key names the client -----------------------------------------------------------

#[tokio::test]
async fn two_clients_of_one_user_get_separate_resolver_calls() {
    let clock = ManualClock::starting_now();
    let service = Rooms {
        only_client: Some("app-a"),
        ..Rooms::default()
    };
    let (issuer, app) = app_with(&service, &clock, 600, 100).await;
    let client = |client_id: &str| {
        issuer
            .token()
            .subject("alice")
            .claim("client_id", client_id)
            .expires_in(3600)
            .sign()
    };
    let (app_a, app_b) = (client("app-a"), client("app-b"));
    assert_eq!(room(&app, "r1", &app_a).await, StatusCode::OK);
    assert_eq!(room(&app, "r1", &app_a).await, StatusCode::OK);
    assert_eq!(service.calls(), 1, "cached for app-a");
    // The same user through another client: app-a's answer must not serve it.
    assert_eq!(room(&app, "r1", &app_b).await, StatusCode::FORBIDDEN);
    assert_eq!(service.calls(), 2, "app-b is asked about separately");
    assert_eq!(room(&app, "r1", &app_b).await, StatusCode::FORBIDDEN);
    assert_eq!(service.calls(), 2, "and cached separately");

    // Same sub and client_id, different azp: separate entries too.
    let party = |azp: &str| {
        issuer
            .token()
            .subject("alice")
            .claim("client_id", "app-a")
            .claim("azp", azp)
            .expires_in(3600)
            .sign()
    };
    assert_eq!(room(&app, "r1", &party("web")).await, StatusCode::OK);
    assert_eq!(room(&app, "r1", &party("mobile")).await, StatusCode::OK);
    assert_eq!(room(&app, "r1", &party("web")).await, StatusCode::OK);
    assert_eq!(service.calls(), 4);
    let askers = service.askers.lock().unwrap().clone();
    let azps: Vec<_> = askers.iter().map(|(_, _, azp)| azp.as_deref()).collect();
    assert_eq!(azps, [None, None, Some("web"), Some("mobile")]);
}

// --- (b) single flight ------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_for_one_key_share_one_resolver_call() {
    let clock = ManualClock::starting_now();
    let service = Rooms {
        delay: Duration::from_millis(50),
        ..Rooms::default()
    };
    let (issuer, app) = app_with(&service, &clock, 600, 100).await;
    let token = issuer.token().subject("alice").expires_in(3600).sign();
    let requests: Vec<_> = (0..20)
        .map(|_| {
            tokio::spawn(get_status(
                app.clone(),
                "/rooms/r1/comments".to_owned(),
                token.clone(),
            ))
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap(), StatusCode::OK);
    }
    assert_eq!(service.calls(), 1, "one call for 20 concurrent misses");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_misses_share_one_failure_too() {
    #[derive(Clone, Default)]
    struct Down(Arc<AtomicUsize>);
    impl GrantResolver for Down {
        fn resolve<'a>(
            &'a self,
            _: ResolveRequest<'a>,
        ) -> BoxFuture<'a, Result<Vec<String>, ResolveError>> {
            Box::pin(async move {
                self.0.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(50)).await;
                Err(ResolveError::new("rooms service unreachable"))
            })
        }
    }
    let issuer = TestIssuer::start().await.unwrap();
    let down = Down::default();
    let app =
        rooms(AuthLayer::new(issuer.validator().build().unwrap()).grant_resolver(down.clone()));
    let token = issuer.token().subject("alice").sign();
    let requests: Vec<_> = (0..10)
        .map(|_| {
            tokio::spawn(get_status(
                app.clone(),
                "/rooms/r1/comments".to_owned(),
                token.clone(),
            ))
        })
        .collect();
    for request in requests {
        assert_eq!(request.await.unwrap(), StatusCode::SERVICE_UNAVAILABLE);
    }
    assert_eq!(down.0.load(Ordering::SeqCst), 1);
}

// --- (c) a bound per principal ----------------------------------------------------------------

/// Collects what is logged, for the duration of a test on one thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn one_user_flooding_distinct_rooms_is_bounded_and_others_are_not() {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .finish();
    // A current-thread runtime: the test body and the layer run on this thread.
    let _logging = tracing::subscriber::set_default(subscriber);

    let clock = ManualClock::starting_now();
    let service = Rooms::default();
    let (issuer, app) = app_with(&service, &clock, 60, 10_000).await;
    let flooder = issuer.token().subject("mallory").expires_in(3600).sign();
    let mut allowed = 0;
    for n in 0..DEFAULT_BOUND + 30 {
        if room(&app, &format!("secret-room-{n}"), &flooder).await == StatusCode::OK {
            allowed += 1;
        }
    }
    assert_eq!(
        service.calls(),
        DEFAULT_BOUND,
        "at most the bound is resolved"
    );
    assert_eq!(allowed, DEFAULT_BOUND);
    // Over the bound: the token's own grants decide, and a repeat does not ask either.
    assert_eq!(
        room(&app, "secret-room-120", &flooder).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(service.calls(), DEFAULT_BOUND);
    // What was resolved stays cached and keeps working.
    assert_eq!(room(&app, "secret-room-0", &flooder).await, StatusCode::OK);
    // Another user, and the same user through another client, are unaffected.
    let other = issuer.token().subject("alice").expires_in(3600).sign();
    assert_eq!(room(&app, "secret-room-120", &other).await, StatusCode::OK);
    let other_client = issuer
        .token()
        .subject("mallory")
        .claim("client_id", "another-app")
        .expires_in(3600)
        .sign();
    assert_eq!(
        room(&app, "secret-room-121", &other_client).await,
        StatusCode::OK
    );
    assert_eq!(service.calls(), DEFAULT_BOUND + 2);

    let logged = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert_eq!(logged.matches("WARN").count(), 1, "{logged}");
    assert!(logged.contains("scopegate"), "{logged}");
    assert!(!logged.contains("secret-room"), "no path values: {logged}");
    assert!(!logged.contains("mallory"), "no claims: {logged}");
    assert!(!logged.contains(&flooder), "no token: {logged}");

    // A new window: the user is resolved again.
    clock.advance(Duration::from_secs(61));
    assert_eq!(
        room(&app, "secret-room-125", &flooder).await,
        StatusCode::OK
    );
    assert_eq!(service.calls(), DEFAULT_BOUND + 3);
}

#[tokio::test]
async fn tokens_naming_nobody_are_resolved_every_time() {
    let issuer = TestIssuer::start().await.unwrap();
    let service = Rooms::default();
    let app =
        rooms(AuthLayer::new(issuer.validator().build().unwrap()).grant_resolver(service.clone()));
    let nobody = issuer
        .token()
        .without_claim("sub")
        .without_claim("client_id")
        .sign();
    for _ in 0..3 {
        assert_eq!(room(&app, "r1", &nobody).await, StatusCode::OK);
    }
    assert_eq!(service.calls(), 3, "no identity to cache for");
}

// --- (d) bounded memory, hot entries ------------------------------------------------------------

#[tokio::test]
async fn the_resolver_cache_stays_bounded_under_a_flood() {
    let clock = ManualClock::starting_now();
    let service = Rooms::default();
    let (issuer, app) = app_with(&service, &clock, 600, 2).await;
    let token = issuer.token().subject("alice").expires_in(3600).sign();
    for n in 0..50 {
        assert_eq!(room(&app, &format!("r{n}"), &token).await, StatusCode::OK);
    }
    assert_eq!(service.calls(), 50);
    // The two newest are cached...
    assert_eq!(room(&app, "r49", &token).await, StatusCode::OK);
    assert_eq!(room(&app, "r48", &token).await, StatusCode::OK);
    assert_eq!(service.calls(), 50);
    // ...and nothing older was kept.
    for n in 0..48 {
        assert_eq!(room(&app, &format!("r{n}"), &token).await, StatusCode::OK);
    }
    assert_eq!(service.calls(), 98);
}

#[tokio::test]
async fn a_hot_entry_is_not_evicted_by_a_flood_of_new_ones() {
    let clock = ManualClock::starting_now();
    let service = Rooms::default();
    let (issuer, app) = app_with(&service, &clock, 600, 2).await;
    let token = issuer.token().subject("alice").expires_in(3600).sign();
    for n in 0..30 {
        assert_eq!(room(&app, "hot", &token).await, StatusCode::OK);
        // Time moves on: the hot entry is always the one closest to expiry.
        clock.advance(Duration::from_secs(1));
        assert_eq!(room(&app, &format!("r{n}"), &token).await, StatusCode::OK);
    }
    assert_eq!(service.calls(), 31, "the hot room was resolved once");
}

// --- (e) cancellation ---------------------------------------------------------------------------

#[tokio::test]
async fn a_cancelled_resolution_does_not_stick() {
    let clock = ManualClock::starting_now();
    let service = Rooms {
        hang_on: Some(1),
        ..Rooms::default()
    };
    let (issuer, app) = app_with(&service, &clock, 600, 100).await;
    let token = issuer.token().subject("alice").expires_in(3600).sign();
    // The first call hangs: the request is dropped mid-resolve.
    let first = tokio::time::timeout(Duration::from_millis(200), room(&app, "r1", &token)).await;
    assert!(first.is_err(), "the first request should have timed out");
    assert_eq!(service.calls(), 1);
    // A later request resolves again instead of waiting on the abandoned call.
    let later = tokio::time::timeout(Duration::from_secs(10), room(&app, "r1", &token)).await;
    assert_eq!(later, Ok(StatusCode::OK));
    assert_eq!(service.calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_takes_over_when_the_resolving_request_is_cancelled() {
    let clock = ManualClock::starting_now();
    let service = Rooms {
        hang_on: Some(1),
        ..Rooms::default()
    };
    let (issuer, app) = app_with(&service, &clock, 600, 100).await;
    let token = issuer.token().subject("alice").expires_in(3600).sign();
    let path = "/rooms/r1/comments".to_owned();
    let leader = tokio::spawn(get_status(app.clone(), path.clone(), token.clone()));
    while service.calls() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let waiter = tokio::spawn(get_status(app.clone(), path.clone(), token.clone()));
    // A waiter that gives up does not disturb anything either.
    let impatient = tokio::time::timeout(
        Duration::from_millis(20),
        get_status(app.clone(), path, token),
    )
    .await;
    assert!(impatient.is_err());
    assert_eq!(
        service.calls(),
        1,
        "the waiters wait for the call under way"
    );
    leader.abort();
    assert!(leader.await.unwrap_err().is_cancelled());
    let waited = tokio::time::timeout(Duration::from_secs(10), waiter).await;
    assert_eq!(waited.map(Result::unwrap), Ok(StatusCode::OK));
    assert_eq!(service.calls(), 2, "the waiter resolved in its place");
}

#[tokio::test]
async fn the_per_principal_bound_is_configurable_on_the_layer() {
    let clock = ManualClock::starting_now();
    let service = Rooms::default();
    let issuer = TestIssuer::start_with_clock(clock.clone()).await.unwrap();
    let layer = AuthLayer::new(issuer.validator().clock(clock.clone()).build().unwrap())
        .grant_resolver(service.clone())
        .grant_resolver_keys_per_principal(3);
    let app = rooms(layer);
    let user = issuer.token().subject("bob").expires_in(3600).sign();
    let mut statuses = Vec::new();
    for n in 0..5 {
        statuses.push(room(&app, &format!("room-{n}"), &user).await);
    }
    assert_eq!(service.calls(), 3);
    assert_eq!(
        statuses,
        [
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::OK,
            StatusCode::FORBIDDEN,
            StatusCode::FORBIDDEN
        ]
    );
}

// --- what the resolver is asked about --------------------------------------------------------

/// The path values of one resolver call.
type Asked = Vec<(String, String)>;

/// Records each `params()` it is asked with; grants the room it is asked about.
#[derive(Clone, Default)]
struct Recorder {
    asked: Arc<Mutex<Vec<Asked>>>,
    hang: bool,
}

impl GrantResolver for Recorder {
    fn resolve<'a>(
        &'a self,
        request: ResolveRequest<'a>,
    ) -> BoxFuture<'a, Result<Vec<String>, ResolveError>> {
        Box::pin(async move {
            let params = request
                .params()
                .map(|(name, value)| (name.to_owned(), value.to_owned()))
                .collect();
            self.asked.lock().unwrap().push(params);
            if self.hang {
                std::future::pending::<()>().await;
            }
            let room = request.param("room").unwrap_or("none");
            Ok(vec![format!("delete:comments-in-{room}")])
        })
    }
}

fn comments(layer: AuthLayer) -> Router {
    use scopegate::Requirement;
    Router::new()
        .route_requiring(
            "/rooms/{room}/comments/{id}",
            axum::routing::delete(|| async { StatusCode::OK }),
            Requirement::any_of([scope!("delete:comments-in-{room}"), scope!("moderate:all")]),
        )
        .layer(layer)
}

async fn delete(app: &Router, path: &str, token: &str) -> StatusCode {
    let request = http::Request::delete(path)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    app.clone().oneshot(request).await.unwrap().status()
}

#[tokio::test]
async fn the_resolver_sees_and_is_cached_by_only_the_values_the_requirement_binds() {
    let issuer = TestIssuer::start().await.unwrap();
    let recorder = Recorder::default();
    let app = comments(
        AuthLayer::new(issuer.validator().build().unwrap()).grant_resolver(recorder.clone()),
    );
    let user = issuer.token().subject("alice").sign();
    // 150 comments in one room: one call, none refused (the per-principal bound counts rooms).
    for id in 0..150 {
        let path = format!("/rooms/r1/comments/{id}");
        assert_eq!(delete(&app, &path, &user).await, StatusCode::OK, "{id}");
    }
    let asked = recorder.asked.lock().unwrap().clone();
    assert_eq!(asked, [vec![("room".to_owned(), "r1".to_owned())]]);
}

#[tokio::test]
async fn the_resolver_never_sees_a_refused_path_value() {
    let issuer = TestIssuer::start().await.unwrap();
    let recorder = Recorder::default();
    let app = comments(
        AuthLayer::new(issuer.validator().build().unwrap()).grant_resolver(recorder.clone()),
    );
    let user = issuer.token().subject("alice").sign();
    // `..%2F..` decodes to `../`: refused by the binding rules. The other alternative
    // (`moderate:all`) could still be granted, so the resolver is asked, without the value.
    let status = delete(&app, "/rooms/..%2F../comments/1", &user).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let asked = recorder.asked.lock().unwrap().clone();
    assert_eq!(asked, [Vec::<(String, String)>::new()]);
}

#[tokio::test]
async fn a_resolver_that_never_answers_fails_closed_after_its_timeout() {
    let issuer = TestIssuer::start().await.unwrap();
    let recorder = Recorder {
        hang: true,
        ..Recorder::default()
    };
    let app = comments(
        AuthLayer::new(issuer.validator().build().unwrap()).grant_resolver(recorder.clone()),
    );
    let user = issuer.token().subject("alice").sign();
    // Without the call timeout this request would wait for the resolver forever.
    let answered = tokio::time::timeout(
        Duration::from_secs(60),
        delete(&app, "/rooms/r1/comments/1", &user),
    )
    .await;
    assert_eq!(answered, Ok(StatusCode::SERVICE_UNAVAILABLE));
}
