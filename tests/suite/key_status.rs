//! What `Validator::key_status`, `Issuers::status` and `Issuers::is_ready` report: before the
//! first fetch, after one, while the issuer is down (the keys kept within the stale window), and
//! after the stale window. Time moves on a `ManualClock` shared by the issuer and the validator;
//! a failed refresh is awaited through a token with an unknown `kid`, whose validation waits for
//! the fetch it causes.

use std::time::Duration;

use scopegate::jwks::FetchErrorKind;
use scopegate::testing::{ManualClock, TEST_ALGORITHMS, TestIssuer};
use scopegate::{Algorithm, ErrorKind, Issuers, Validator};

const LIFETIME: Duration = Duration::from_secs(10 * 60);
const STALE_WINDOW: Duration = Duration::from_secs(60 * 60);

async fn clocked_issuer() -> (ManualClock, TestIssuer) {
    let clock = ManualClock::starting_now();
    let issuer = TestIssuer::start_with_clock(clock.clone()).await.unwrap();
    (clock, issuer)
}

#[tokio::test]
async fn before_the_first_fetch_nothing_is_loaded_or_attempted() {
    let (clock, issuer) = clocked_issuer().await;
    let validator = issuer.validator().clock(clock).build().unwrap();
    let status = validator.key_status();
    assert_eq!(status.issuer(), issuer.issuer());
    assert!(!status.is_loaded());
    assert_eq!(status.key_count(), 0);
    assert_eq!(status.age(), None);
    assert_eq!(status.since_last_attempt(), None);
    assert!(status.last_error().is_none());
    assert_eq!(issuer.discovery_fetches(), 0, "a status read never fetches");
}

#[tokio::test]
async fn after_a_fetch_the_keys_and_their_age_are_reported() {
    let (clock, issuer) = clocked_issuer().await;
    let validator = issuer.validator().clock(clock.clone()).build().unwrap();
    validator.ready().await.unwrap();
    let status = validator.key_status();
    assert!(status.is_loaded());
    assert_eq!(status.key_count(), TEST_ALGORITHMS.len());
    assert_eq!(status.age(), Some(Duration::ZERO));
    assert_eq!(status.since_last_attempt(), Some(Duration::ZERO));
    assert_eq!(status.last_error_kind(), None);

    clock.advance(Duration::from_secs(90));
    let status = validator.key_status();
    assert_eq!(status.age(), Some(Duration::from_secs(90)));
    assert_eq!(status.since_last_attempt(), Some(Duration::from_secs(90)));
}

#[tokio::test]
async fn an_issuer_down_keeps_its_keys_within_the_stale_window_and_reports_why() {
    let (clock, issuer) = clocked_issuer().await;
    let validator = issuer.validator().clock(clock.clone()).build().unwrap();
    validator.ready().await.unwrap();
    let token = issuer.token().expires_in(3 * 3600).sign();

    issuer.set_down(true);
    clock.advance(LIFETIME + Duration::from_secs(60));
    // An unknown kid causes a refetch and waits for it: the failure is recorded when it returns.
    let unknown = issuer.token().header("kid", "not-published").sign();
    let refused = validator.validate(&unknown).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::UnknownKey);

    let status = validator.key_status();
    assert!(status.is_loaded(), "kept within the stale window");
    assert_eq!(status.key_count(), TEST_ALGORITHMS.len());
    assert_eq!(status.age(), Some(LIFETIME + Duration::from_secs(60)));
    assert_eq!(status.since_last_attempt(), Some(Duration::ZERO));
    assert_eq!(status.last_error_kind(), Some(FetchErrorKind::Status));
    assert!(
        status.last_error().unwrap().to_string().contains("503"),
        "{:?}",
        status.last_error()
    );
    validator
        .validate(&token)
        .await
        .expect("the cached key still verifies");

    // Past the stale window the keys are no longer used.
    clock.advance(STALE_WINDOW);
    let status = validator.key_status();
    assert!(!status.is_loaded());
    assert_eq!(status.key_count(), 0);
    assert_eq!(
        status.age(),
        Some(LIFETIME + STALE_WINDOW + Duration::from_secs(60)),
        "the age of the last good set stays known"
    );
    assert_eq!(status.last_error_kind(), Some(FetchErrorKind::Status));

    // The issuer back: a successful fetch clears the error.
    issuer.set_down(false);
    validator.ready().await.unwrap();
    let status = validator.key_status();
    assert!(status.is_loaded());
    assert_eq!(status.last_error_kind(), None);
    assert_eq!(status.age(), Some(Duration::ZERO));
}

#[tokio::test]
async fn issuers_report_each_issuer_in_order_and_a_probe_turns_ready_by_itself() {
    let clock = ManualClock::starting_now();
    let first = TestIssuer::start_with_clock(clock.clone()).await.unwrap();
    let second = TestIssuer::start_with_clock(clock.clone()).await.unwrap();
    let template = "https://login.example/{tenantid}/v2.0";
    let issuers = Issuers::new([
        first.validator().clock(clock.clone()).build().unwrap(),
        Validator::builder(template)
            .audience("api")
            .tenants(["tenant-1"])
            .jwks_url(second.jwks_url())
            .clock(clock.clone())
            .build()
            .unwrap(),
        Validator::builder("https://static.example/")
            .audience("api")
            .jwks_document(
                serde_json::json!({ "keys": [first.public_jwk(Algorithm::RS256).unwrap()] })
                    .to_string(),
            )
            .build()
            .unwrap(),
    ])
    .unwrap();

    let status = issuers.status();
    let names: Vec<&str> = status.iter().map(|status| status.issuer()).collect();
    assert_eq!(names, [first.issuer(), template, "https://static.example/"]);
    let loaded: Vec<bool> = status.iter().map(|status| status.is_loaded()).collect();
    assert_eq!(
        loaded,
        [false, false, true],
        "a static document is loaded from the start"
    );
    assert_eq!(status[2].age(), None, "a static document is never fetched");
    assert_eq!((first.discovery_fetches(), second.jwks_fetches()), (0, 0));

    // The probe starts the fetches it needs (once per cooldown) and turns ready without any
    // request: polled here as a readiness probe would be.
    assert!(!issuers.is_ready());
    let mut ready = false;
    for _ in 0..200 {
        if issuers.is_ready() {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(ready, "{:?}", issuers.status());
    assert_eq!((first.discovery_fetches(), second.jwks_fetches()), (1, 1));
    assert!(issuers.status().iter().all(|status| status.is_loaded()));
}
