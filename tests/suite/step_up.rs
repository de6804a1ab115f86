//! Step-up authentication (RFC 9470): `Requirement::step_up` on the token's `acr` and
//! `auth_time`, alone and composed with scopes (`all_of`, `any_of`), through `route_requiring`,
//! the `require` layer and `Access`, with the grant resolver and `ProblemJson`.
//!
//! Real tokens from the in-process issuer, a real server on 127.0.0.1 spoken to over HTTP/1.1,
//! and one `ManualClock` shared by the issuer and the validator, so that ages are exact.
//!
//! The rules: a step-up requirement that is all that falls short answers 401
//! `insufficient_user_authentication` with `acr_values` and `max_age`; when scopes fall short
//! too, 403 `insufficient_scope`; in `any_of`, an alternative that authenticating again would
//! satisfy wins over one lacking scopes.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::{delete, get, put};
use http::StatusCode;
use scopegate::jwks::BoxFuture;
use scopegate::testing::{ManualClock, TEST_AUDIENCE, TestIssuer};
use scopegate::{
    Access, AuthError, AuthLayer, Authenticated, ErrorKind, GrantResolver, OnRejection,
    ProblemJson, Requirement, ResolveError, ResolveRequest, RouterExt, require, scope,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

// --- the API -----------------------------------------------------------------------------------

const MFA: &str = "urn:rooms:mfa";
/// The time the clock starts at; tokens are issued then.
const START: u64 = 1_700_000_000;
/// The validator's leeway (the default).
const LEEWAY: u64 = 60;

/// The whole challenge of a step-up refusal on the settings routes.
const SETTINGS_CHALLENGE: &str = concat!(
    r#"Bearer realm="rooms", error="insufficient_user_authentication", "#,
    r#"error_description="the authentication does not meet the requirement of this request", "#,
    r#"acr_values="urn:rooms:mfa", max_age="300""#
);

/// `acr` is `urn:rooms:mfa` and the user authenticated at most 300 s ago.
fn fresh_mfa() -> Requirement {
    Requirement::step_up()
        .acr_values([MFA])
        .max_age(Duration::from_secs(300))
        .build()
        .unwrap()
}

fn admin_with_fresh_mfa() -> Requirement {
    Requirement::all_of([scope!("admin:rooms-in-{room}"), fresh_mfa()])
}

async fn settings(access: Access) -> Result<StatusCode, AuthError> {
    access.require(&admin_with_fresh_mfa()).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn allowed(access: Access) -> Result<&'static str, AuthError> {
    Ok(if access.allows(&admin_with_fresh_mfa()).await? {
        "yes"
    } else {
        "no"
    })
}

/// - `GET /acr`: `acr` only; `GET /recent`: `auth_time` within 300 s only.
/// - `PUT /{way}/rooms/{room}/settings` (204): `admin:rooms-in-{room}` and a fresh MFA, declared
///   with `route_requiring`, the `require` layer, and `Access::require`.
/// - `GET /access/rooms/{room}/allowed`: `Access::allows` of the same, `yes` or `no`.
/// - `DELETE /rooms/{room}` (204): `moderate:all`, or the room's admin scope with a fresh MFA.
/// - `GET /me`: any valid token.
fn app<R: OnRejection<Body>>(layer: AuthLayer<R>) -> Router {
    let no_content = || async { StatusCode::NO_CONTENT };
    Router::new()
        .route_requiring(
            "/acr",
            get(|| async { "acr" }),
            Requirement::step_up().acr_values([MFA]).build().unwrap(),
        )
        .route_requiring(
            "/recent",
            get(|| async { "recent" }),
            Requirement::step_up()
                .max_age(Duration::from_secs(300))
                .build()
                .unwrap(),
        )
        .route_requiring(
            "/route_requiring/rooms/{room}/settings",
            put(no_content),
            admin_with_fresh_mfa(),
        )
        .route(
            "/require_layer/rooms/{room}/settings",
            put(no_content).layer(require(admin_with_fresh_mfa())),
        )
        .route("/access/rooms/{room}/settings", put(settings))
        .route("/access/rooms/{room}/allowed", get(allowed))
        .route_requiring(
            "/rooms/{room}",
            delete(no_content),
            Requirement::any_of([scope!("moderate:all"), admin_with_fresh_mfa()]),
        )
        .route(
            "/me",
            get(|auth: Authenticated| async move { auth.subject().unwrap_or("").to_owned() }),
        )
        .layer(layer)
}

/// The ways of declaring the settings requirement, each at `/<way>/rooms/{room}/settings`.
const WAYS: [&str; 3] = ["route_requiring", "require_layer", "access"];

struct Api {
    issuer: TestIssuer,
    clock: ManualClock,
    address: SocketAddr,
}

/// The API behind a layer `configure` finishes, served on 127.0.0.1.
async fn start<R: OnRejection<Body>>(configure: impl FnOnce(AuthLayer) -> AuthLayer<R>) -> Api {
    let clock = ManualClock::new(Duration::from_secs(START));
    let issuer = TestIssuer::start_with_clock(clock.clone()).await.unwrap();
    let validator = issuer.validator().clock(clock.clone()).build().unwrap();
    let layer = AuthLayer::new(validator)
        .allow_anonymous()
        .realm("rooms")
        .unwrap();
    let address = serve(app(configure(layer))).await;
    Api {
        issuer,
        clock,
        address,
    }
}

async fn plain() -> Api {
    start(|layer| layer).await
}

async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    address
}

// --- tokens --------------------------------------------------------------------------------------

impl Api {
    fn now(&self) -> i64 {
        use scopegate::Clock;
        self.clock.now().as_secs() as i64
    }

    /// A token valid for an hour granting `scope`, with `claims` added.
    fn token(&self, scope: &str, claims: &[(&str, Value)]) -> String {
        let mut token = self.issuer.token().scope(scope).expires_in(3600);
        for (name, value) in claims {
            token = token.claim(name, value.clone());
        }
        token.sign()
    }

    /// Granting `scope`, `acr` MFA, authenticated `ago` seconds ago.
    fn mfa_token(&self, scope: &str, ago: i64) -> String {
        self.token(
            scope,
            &[("acr", json!(MFA)), ("auth_time", json!(self.now() - ago))],
        )
    }

    /// A token with `extra` raw members appended to valid claims (for repeated members).
    fn raw_token(&self, scope: &str, extra: &str) -> String {
        let now = self.now();
        let claims = format!(
            r#"{{"iss":"{}","aud":"{TEST_AUDIENCE}","sub":"user-1","client_id":"test-client","iat":{now},"exp":{},"scope":"{scope}",{extra}}}"#,
            self.issuer.issuer(),
            now + 3600,
        );
        self.issuer.token().raw_claims(&claims).sign()
    }
}

// --- requests --------------------------------------------------------------------------------

#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn challenge(&self) -> Option<&str> {
        self.header("www-authenticate")
    }

    /// Every header value and the body, for leak checks.
    fn everything(&self) -> String {
        let mut all = self.body.clone();
        for (_, value) in &self.headers {
            all.push('\n');
            all.push_str(value);
        }
        all
    }
}

impl Api {
    /// One HTTP/1.1 request on a fresh connection, read until the server closes it.
    async fn send(&self, method: &str, path: &str, token: Option<&str>) -> Reply {
        let mut stream = tokio::net::TcpStream::connect(self.address).await.unwrap();
        let authorization = token
            .map(|token| format!("Authorization: Bearer {token}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\
             Content-Length: 0\r\n{authorization}\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        parse(&String::from_utf8(raw).unwrap())
    }

    async fn get(&self, path: &str, token: &str) -> Reply {
        self.send("GET", path, Some(token)).await
    }
}

fn parse(raw: &str) -> Reply {
    let (head, body) = raw.split_once("\r\n\r\n").expect("a complete response");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let code = status_line
        .split(' ')
        .nth(1)
        .unwrap()
        .parse::<u16>()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.trim().to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();
    let chunked = headers
        .iter()
        .any(|(name, value)| name == "transfer-encoding" && value.contains("chunked"));
    let body = if chunked {
        unchunk(body)
    } else {
        body.to_owned()
    };
    Reply {
        status: StatusCode::from_u16(code).unwrap(),
        headers,
        body,
    }
}

fn unchunk(mut chunks: &str) -> String {
    let mut body = String::new();
    loop {
        let (size, rest) = chunks.split_once("\r\n").unwrap();
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            return body;
        }
        body.push_str(&rest[..size]);
        chunks = &rest[size + 2..];
    }
}

// --- assertions --------------------------------------------------------------------------------

fn step_up_challenge(acr_values: Option<&str>, max_age: Option<u64>) -> String {
    let mut challenge = format!(
        r#"Bearer realm="rooms", error="insufficient_user_authentication", error_description="{}""#,
        ErrorKind::InsufficientUserAuthentication.description()
    );
    if let Some(acr_values) = acr_values {
        challenge.push_str(&format!(r#", acr_values="{acr_values}""#));
    }
    if let Some(max_age) = max_age {
        challenge.push_str(&format!(r#", max_age="{max_age}""#));
    }
    challenge
}

fn insufficient_scope(scope: &str) -> String {
    format!(
        r#"Bearer realm="rooms", error="insufficient_scope", error_description="{}", scope="{scope}""#,
        ErrorKind::InsufficientScope.description()
    )
}

#[track_caller]
fn assert_passed(reply: &Reply, status: StatusCode, body: &str, context: &str) {
    assert_eq!(reply.status, status, "{context}: {reply:?}");
    assert_eq!(reply.body, body, "{context}: {reply:?}");
    assert_eq!(reply.challenge(), None, "{context}: {reply:?}");
}

/// 401 step-up with exactly this challenge, and an empty body (the default renderer).
#[track_caller]
fn assert_step_up(reply: &Reply, challenge: &str, context: &str) {
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "{context}: {reply:?}"
    );
    assert_eq!(reply.challenge(), Some(challenge), "{context}: {reply:?}");
    assert_eq!(reply.body, "", "{context}: {reply:?}");
}

#[track_caller]
fn assert_forbidden(reply: &Reply, scope: &str, context: &str) {
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{context}: {reply:?}");
    assert_eq!(
        reply.challenge(),
        Some(insufficient_scope(scope).as_str()),
        "{context}: {reply:?}"
    );
}

// --- acr -----------------------------------------------------------------------------------------

#[tokio::test]
async fn acr_holds_only_for_a_string_equal_to_an_accepted_value() {
    let api = plain().await;
    let acr_only = step_up_challenge(Some(MFA), None);

    let reply = api
        .get("/acr", &api.token("", &[("acr", json!(MFA))]))
        .await;
    assert_passed(&reply, StatusCode::OK, "acr", "acr matches");

    let refused = [
        ("another acr", json!("urn:rooms:pwd")),
        ("another case", json!("URN:ROOMS:MFA")),
        ("a prefix", json!("urn:rooms:mf")),
        ("an array holding it", json!([MFA])),
        ("a number", json!(2)),
        ("an object", json!({ "value": MFA })),
        ("null", Value::Null),
    ];
    for (context, acr) in refused {
        let reply = api.get("/acr", &api.token("", &[("acr", acr)])).await;
        assert_step_up(&reply, &acr_only, context);
    }

    let absent = api.get("/acr", &api.token("", &[])).await;
    assert_step_up(&absent, &acr_only, "acr absent");

    let repeated = format!(r#""acr":"{MFA}","acr":"{MFA}""#);
    let reply = api.get("/acr", &api.raw_token("", &repeated)).await;
    assert_step_up(&reply, &acr_only, "acr repeated (counts as absent)");
    let once = format!(r#""acr":"{MFA}""#);
    let reply = api.get("/acr", &api.raw_token("", &once)).await;
    assert_passed(
        &reply,
        StatusCode::OK,
        "acr",
        "the same raw claims, acr once",
    );
}

// --- auth_time -----------------------------------------------------------------------------------

#[tokio::test]
async fn auth_time_holds_within_max_age_and_not_beyond() {
    let api = plain().await;
    let recent_only = step_up_challenge(None, Some(300));
    let now = api.now();
    let with_auth_time = |auth_time: Value| api.token("", &[("auth_time", auth_time)]);

    let holding = [
        ("authenticated now", json!(now)),
        ("authenticated a minute ago", json!(now - 60)),
        ("exactly max_age ago", json!(now - 300)),
        ("fractional, within max_age", json!(now as f64 - 299.5)),
        (
            "ahead by the leeway (clock skew)",
            json!(now + LEEWAY as i64),
        ),
    ];
    for (context, auth_time) in holding {
        let reply = api.get("/recent", &with_auth_time(auth_time)).await;
        assert_passed(&reply, StatusCode::OK, "recent", context);
    }

    let refused = [
        ("one second past max_age", json!(now - 301)),
        (
            "fractional, past max_age (rounded down)",
            json!(now as f64 - 300.5),
        ),
        ("an hour ago", json!(now - 3600)),
        (
            "ahead by more than the leeway",
            json!(now + LEEWAY as i64 + 1),
        ),
        ("far in the future", json!(i64::MAX)),
        ("beyond i64", json!(u64::MAX)),
        ("a string of digits", json!(now.to_string())),
        ("a boolean", json!(true)),
        ("an array", json!([now])),
        ("null", Value::Null),
        ("negative", json!(-1)),
    ];
    for (context, auth_time) in refused {
        let reply = api.get("/recent", &with_auth_time(auth_time)).await;
        assert_step_up(&reply, &recent_only, context);
    }

    let absent = api.get("/recent", &api.token("", &[])).await;
    assert_step_up(&absent, &recent_only, "auth_time absent");

    let repeated = format!(r#""auth_time":{now},"auth_time":{now}"#);
    let reply = api.get("/recent", &api.raw_token("", &repeated)).await;
    assert_step_up(&reply, &recent_only, "auth_time repeated");
}

#[tokio::test]
async fn the_age_is_read_from_the_validators_clock_on_every_request() {
    let api = plain().await;
    let token = api.token("", &[("auth_time", json!(api.now()))]);
    let reply = api.get("/recent", &token).await;
    assert_passed(&reply, StatusCode::OK, "recent", "fresh");

    // The same token, served again (the verified-token cache), as the clock moves.
    api.clock.advance(Duration::from_secs(300));
    let reply = api.get("/recent", &token).await;
    assert_passed(&reply, StatusCode::OK, "recent", "300 s later");

    api.clock.advance(Duration::from_secs(1));
    let reply = api.get("/recent", &token).await;
    assert_step_up(&reply, &step_up_challenge(None, Some(300)), "301 s later");
    // The token itself is still valid.
    let reply = api.get("/me", &token).await;
    assert_passed(&reply, StatusCode::OK, "user-1", "the token is valid");
}

// --- composed with scopes -------------------------------------------------------------------------

#[tokio::test]
async fn settings_need_the_scope_and_a_fresh_mfa_every_way() {
    let api = plain().await;
    let admin = "admin:rooms-in-r1";
    let stale = api.mfa_token(admin, 301);
    let cases: [(&str, String, Option<&str>); 7] = [
        ("scope and fresh mfa", api.mfa_token(admin, 0), None),
        (
            "scope and mfa exactly 300 s ago",
            api.mfa_token(admin, 300),
            None,
        ),
        (
            "scope, fresh, no acr",
            api.token(admin, &[("auth_time", json!(api.now()))]),
            Some(SETTINGS_CHALLENGE),
        ),
        (
            "scope, mfa, no auth_time",
            api.token(admin, &[("acr", json!(MFA))]),
            Some(SETTINGS_CHALLENGE),
        ),
        ("scope, mfa 301 s ago", stale, Some(SETTINGS_CHALLENGE)),
        // Scopes fall short: 403, whatever the authentication.
        ("fresh mfa, no scope", api.mfa_token("", 0), Some("403")),
        ("no scope, no step-up", api.token("", &[]), Some("403")),
    ];
    for way in WAYS {
        let path = format!("/{way}/rooms/r1/settings");
        for (context, token, refusal) in &cases {
            let context = format!("{way}: {context}");
            let reply = api.send("PUT", &path, Some(token)).await;
            match refusal {
                None => assert_passed(&reply, StatusCode::NO_CONTENT, "", &context),
                Some("403") => assert_forbidden(&reply, admin, &context),
                Some(challenge) => assert_step_up(&reply, challenge, &context),
            }
        }
        // Another room's admin scope does not count, however fresh the MFA.
        let other_room = api.mfa_token("admin:rooms-in-r2", 0);
        let reply = api.send("PUT", &path, Some(&other_room)).await;
        assert_forbidden(&reply, admin, &format!("{way}: another room's scope"));
        // No token at all: the bare 401 of missing credentials, not a step-up.
        let reply = api.send("PUT", &path, None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{way}: {reply:?}");
        assert_eq!(reply.challenge(), Some(r#"Bearer realm="rooms""#), "{way}");
    }
}

#[tokio::test]
async fn access_allows_answers_false_for_a_missing_step_up() {
    let api = plain().await;
    let admin = "admin:rooms-in-r1";
    let path = "/access/rooms/r1/allowed";
    let reply = api.get(path, &api.mfa_token(admin, 0)).await;
    assert_passed(&reply, StatusCode::OK, "yes", "scope and fresh mfa");
    let reply = api.get(path, &api.mfa_token(admin, 301)).await;
    assert_passed(&reply, StatusCode::OK, "no", "stale mfa");
    let reply = api.get(path, &api.mfa_token("", 0)).await;
    assert_passed(&reply, StatusCode::OK, "no", "no scope");
}

#[tokio::test]
async fn any_of_prefers_the_alternative_a_step_up_would_satisfy() {
    let api = plain().await;
    let path = "/rooms/r1";
    let cases = [
        ("moderator, no step-up", api.token("moderate:all", &[]), 204),
        (
            "admin with fresh mfa",
            api.mfa_token("admin:rooms-in-r1", 0),
            204,
        ),
        // The admin alternative lacks only the authentication: authenticating again helps.
        (
            "admin, stale mfa",
            api.mfa_token("admin:rooms-in-r1", 301),
            401,
        ),
        // Neither alternative's scopes: the first alternative is named.
        ("fresh mfa, no scope", api.mfa_token("", 0), 403),
        (
            "another room's admin",
            api.mfa_token("admin:rooms-in-r2", 0),
            403,
        ),
    ];
    for (context, token, status) in cases {
        let reply = api.send("DELETE", path, Some(&token)).await;
        match status {
            204 => assert_passed(&reply, StatusCode::NO_CONTENT, "", context),
            401 => assert_step_up(&reply, SETTINGS_CHALLENGE, context),
            _ => assert_forbidden(&reply, "moderate:all", context),
        }
    }
}

// --- the grant resolver ----------------------------------------------------------------------------

/// Grants each subject its listed scopes; counts calls.
#[derive(Clone, Default)]
struct Grants {
    by_subject: Arc<HashMap<&'static str, Vec<&'static str>>>,
    calls: Arc<AtomicUsize>,
}

impl GrantResolver for Grants {
    fn resolve<'a>(
        &'a self,
        request: ResolveRequest<'a>,
    ) -> BoxFuture<'a, Result<Vec<String>, ResolveError>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let subject = request.claims().subject().unwrap_or_default();
            Ok(self
                .by_subject
                .get(subject)
                .map(|scopes| scopes.iter().map(|scope| scope.to_string()).collect())
                .unwrap_or_default())
        })
    }
}

#[tokio::test]
async fn the_resolver_adds_scopes_but_never_the_authentication() {
    let grants = Grants {
        by_subject: Arc::new(HashMap::from([
            ("admin", vec!["admin:rooms-in-r1"]),
            ("moderator", vec!["moderate:all"]),
        ])),
        ..Grants::default()
    };
    let resolver = grants.clone();
    let api = start(move |layer| layer.grant_resolver(resolver)).await;
    let signed = |subject: &str, scope: &str, claims: &[(&str, Value)]| {
        let mut token = api
            .issuer
            .token()
            .subject(subject)
            .scope(scope)
            .expires_in(3600);
        for (name, value) in claims {
            token = token.claim(name, value.clone());
        }
        token.sign()
    };
    let fresh = [("acr", json!(MFA)), ("auth_time", json!(api.now()))];

    // The resolver grants the scope; the authentication still falls short: 401, not 403.
    for way in WAYS {
        let path = format!("/{way}/rooms/r1/settings");
        let reply = api
            .send("PUT", &path, Some(&signed("admin", "", &[])))
            .await;
        assert_step_up(
            &reply,
            SETTINGS_CHALLENGE,
            &format!("{way}: resolved, no mfa"),
        );
        let reply = api
            .send("PUT", &path, Some(&signed("admin", "", &fresh)))
            .await;
        assert_passed(
            &reply,
            StatusCode::NO_CONTENT,
            "",
            &format!("{way}: resolved"),
        );
        let reply = api
            .send("PUT", &path, Some(&signed("nobody", "", &fresh)))
            .await;
        assert_forbidden(
            &reply,
            "admin:rooms-in-r1",
            &format!("{way}: nothing resolved"),
        );
    }

    // Scopes met and only the authentication short: the resolver is not asked.
    let before = grants.calls.load(Ordering::SeqCst);
    let own_scope = signed("nobody", "admin:rooms-in-r1", &[]);
    let reply = api
        .send(
            "PUT",
            "/route_requiring/rooms/r1/settings",
            Some(&own_scope),
        )
        .await;
    assert_step_up(&reply, SETTINGS_CHALLENGE, "own scope, no mfa");
    assert_eq!(grants.calls.load(Ordering::SeqCst), before);

    // any_of: the resolver is asked about the alternative that needs scopes only before the
    // user is sent to authenticate again.
    let admin_no_mfa = |subject| signed(subject, "admin:rooms-in-r1", &[]);
    let reply = api
        .send("DELETE", "/rooms/r1", Some(&admin_no_mfa("moderator")))
        .await;
    assert_passed(&reply, StatusCode::NO_CONTENT, "", "moderate:all resolved");
    let reply = api
        .send("DELETE", "/rooms/r1", Some(&admin_no_mfa("nobody")))
        .await;
    assert_step_up(&reply, SETTINGS_CHALLENGE, "nothing resolved: step up");
}

// --- rendering -------------------------------------------------------------------------------------

#[tokio::test]
async fn problem_json_names_the_authentication_it_asks_for() {
    let api = start(|layer| layer.on_rejection(ProblemJson)).await;
    let token = api.mfa_token("admin:rooms-in-r1", 301);
    let reply = api
        .send("PUT", "/route_requiring/rooms/r1/settings", Some(&token))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{reply:?}");
    assert_eq!(reply.challenge(), Some(SETTINGS_CHALLENGE), "{reply:?}");
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json")
    );
    let problem: Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(
        problem,
        json!({
            "type": "about:blank",
            "title": "Unauthorized",
            "status": 401,
            "detail": ErrorKind::InsufficientUserAuthentication.description(),
            "error": "insufficient_user_authentication",
            "acr_values": MFA,
            "max_age": 300,
        })
    );

    // Scopes short: the 403 problem, without step-up members.
    let reply = api
        .send(
            "PUT",
            "/route_requiring/rooms/r1/settings",
            Some(&api.token("", &[])),
        )
        .await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN, "{reply:?}");
    let problem: Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(problem["error"], "insufficient_scope");
    assert_eq!(problem["scope"], "admin:rooms-in-r1");
    assert!(problem.get("acr_values").is_none() && problem.get("max_age").is_none());
}

#[tokio::test]
async fn refusals_never_echo_the_tokens_claims() {
    let api = start(|layer| layer.on_rejection(ProblemJson)).await;
    let token = api.token(
        "admin:rooms-in-r1",
        &[
            ("acr", json!("urn:attacker:echo-me")),
            ("auth_time", json!(1_234_567)),
        ],
    );
    let reply = api
        .send("PUT", "/route_requiring/rooms/r1/settings", Some(&token))
        .await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{reply:?}");
    let everything = reply.everything();
    for leak in ["attacker", "echo-me", "1234567", &token[..20]] {
        assert!(!everything.contains(leak), "{leak} in {everything}");
    }
}

// --- configuration -----------------------------------------------------------------------------------

#[test]
fn the_configuration_is_checked_when_built() {
    let refused = [
        ("nothing asked", Requirement::step_up()),
        (
            "no acr values",
            Requirement::step_up().acr_values(Vec::<String>::new()),
        ),
        ("an empty value", Requirement::step_up().acr_values([""])),
        (
            "a space",
            Requirement::step_up().acr_values(["urn:a urn:b"]),
        ),
        ("a quote", Requirement::step_up().acr_values(["urn:\"a"])),
        (
            "a backslash",
            Requirement::step_up().acr_values(["urn:\\a"]),
        ),
        (
            "non-ASCII",
            Requirement::step_up().acr_values(["urn:\u{e9}"]),
        ),
        (
            "fractional seconds",
            Requirement::step_up().max_age(Duration::from_millis(300_500)),
        ),
    ];
    for (context, step_up) in refused {
        assert!(step_up.build().is_err(), "{context}");
    }

    let requirement = Requirement::all_of([
        scope!("admin:rooms-in-{room}"),
        Requirement::step_up()
            .acr_values([MFA, "urn:rooms:hwk"])
            .max_age(Duration::from_secs(300))
            .build()
            .unwrap(),
    ]);
    assert_eq!(
        requirement.to_string(),
        r#"all_of(admin:rooms-in-{room}, step_up(acr_values="urn:rooms:mfa urn:rooms:hwk", max_age=300))"#
    );
    assert_eq!(requirement.parameters(), ["room"]);
}
