//! Every failed fetch keeps its cause and is sorted into a `FetchErrorKind`: a refused
//! connection, a timeout, a TLS failure, a broken response, a bad status, a body too large,
//! a document that is not one, a key set without a usable key, a discovery document naming
//! another issuer. Everything runs over real HTTP on 127.0.0.1: the test issuer, or tiny
//! listeners that misbehave on purpose. Nothing is timed: a timeout is configured short and only
//! its kind is checked.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scopegate::Validator;
use scopegate::jwks::{
    BoxFuture, FetchError, FetchErrorKind, JwksFetcher, MAX_DOCUMENT_BYTES, ReqwestFetcher,
};
use scopegate::testing::TestIssuer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Text a misbehaving server puts in its bodies: it must never reach an error message.
const BODY_MARKER: &str = "body-marker-7f3a";

/// A validator whose keys come from `url` directly (no discovery).
fn validator_fetching(url: &str) -> scopegate::ValidatorBuilder {
    Validator::builder("https://issuer.example/")
        .audience("api")
        .jwks_url(url)
}

/// The error `ready()` reports for `validator`, after checking it keeps no response body.
async fn fetch_error(validator: &Validator) -> FetchError {
    let error = validator.ready().await.expect_err("the fetch should fail");
    assert!(
        !error.to_string().contains(BODY_MARKER),
        "a response body leaked into {error}"
    );
    assert_eq!(
        validator.key_status().last_error_kind(),
        Some(error.kind()),
        "the status reports the same failure"
    );
    error
}

/// A loopback port nobody listens on (bound, then released).
async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap()
}

/// A listener that accepts connections and never answers; they stay open while the runtime
/// lives.
async fn silent_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    address
}

/// A listener that reads each request's head and answers `response` (raw bytes), then closes.
async fn raw_server(response: Vec<u8>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let response = Arc::new(response);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(answer(stream, response.clone()));
        }
    });
    address
}

async fn answer(mut stream: TcpStream, response: Arc<Vec<u8>>) {
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    // Until the end of the head, or whatever a non-HTTP client sent first.
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&buffer[..n]),
        }
        if !head.starts_with(b"GET") {
            break;
        }
    }
    let _ = stream.write_all(&response).await;
    let _ = stream.shutdown().await;
}

#[tokio::test]
async fn a_refused_connection_is_connect_refused_and_says_so() {
    let address = closed_port().await;
    let validator = validator_fetching(&format!("http://{address}/jwks"))
        .build()
        .unwrap();
    let error = fetch_error(&validator).await;
    assert_eq!(error.kind(), FetchErrorKind::ConnectRefused, "{error}");
    let message = error.to_string();
    assert!(
        message.contains(&format!("http://{address}/jwks")),
        "{message}"
    );
    // The cause reqwest's own text leaves out.
    assert!(message.to_lowercase().contains("refused"), "{message}");
}

#[tokio::test]
async fn an_issuer_that_never_answers_is_a_timeout() {
    let address = silent_server().await;
    let url = format!("http://{address}/jwks");
    // scopegate's own limit on a fetch.
    let validator = validator_fetching(&url)
        .fetch_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let error = fetch_error(&validator).await;
    assert_eq!(error.kind(), FetchErrorKind::Timeout, "{error}");

    // The fetcher's own timeout, recognised in reqwest's error.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let fetcher = ReqwestFetcher::with_client(client);
    let error = fetcher
        .get(&url.parse().unwrap(), MAX_DOCUMENT_BYTES)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), FetchErrorKind::Timeout, "{error}");
    assert!(error.to_string().contains(&url), "{error}");
}

#[tokio::test]
async fn a_peer_that_does_not_speak_tls_is_a_tls_failure() {
    let address =
        raw_server(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n".to_vec()).await;
    let validator = validator_fetching(&format!("https://{address}/jwks"))
        .build()
        .unwrap();
    let error = fetch_error(&validator).await;
    assert_eq!(error.kind(), FetchErrorKind::Tls, "{error}");
}

#[tokio::test]
async fn a_connection_closed_without_an_answer_is_interrupted() {
    let address = raw_server(Vec::new()).await;
    let validator = validator_fetching(&format!("http://{address}/jwks"))
        .build()
        .unwrap();
    let error = fetch_error(&validator).await;
    assert_eq!(error.kind(), FetchErrorKind::Interrupted, "{error}");
}

#[tokio::test]
async fn a_server_error_is_status_and_its_body_is_not_quoted() {
    let body = format!("internal {BODY_MARKER}");
    let response = format!(
        "HTTP/1.1 500 Internal Server Error\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let address = raw_server(response.into_bytes()).await;
    let validator = validator_fetching(&format!("http://{address}/jwks"))
        .build()
        .unwrap();
    let error = fetch_error(&validator).await;
    assert_eq!(error.kind(), FetchErrorKind::Status, "{error}");
    assert!(error.to_string().contains("500"), "{error}");
}

#[tokio::test]
async fn a_body_over_the_cap_is_too_large_with_or_without_a_length() {
    // Announced by Content-Length.
    let issuer = TestIssuer::start().await.unwrap();
    issuer.set_jwks_body(Some(vec![b' '; MAX_DOCUMENT_BYTES + 1]));
    let validator = issuer
        .validator()
        .jwks_url(issuer.jwks_url())
        .build()
        .unwrap();
    let error = fetch_error(&validator).await;
    assert_eq!(error.kind(), FetchErrorKind::TooLarge, "{error}");

    // Only found while reading: no length, the body ends when the connection closes.
    let mut response = b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n".to_vec();
    response.resize(response.len() + MAX_DOCUMENT_BYTES + 1, b' ');
    let address = raw_server(response).await;
    let validator = validator_fetching(&format!("http://{address}/jwks"))
        .build()
        .unwrap();
    let error = fetch_error(&validator).await;
    assert_eq!(error.kind(), FetchErrorKind::TooLarge, "{error}");
}

#[tokio::test]
async fn a_body_that_is_not_a_key_set_is_an_invalid_document() {
    let issuer = TestIssuer::start().await.unwrap();
    let validator = issuer
        .validator()
        .jwks_url(issuer.jwks_url())
        .refetch_cooldown(Duration::ZERO)
        .build()
        .unwrap();
    for (fetched, body) in [
        format!("<html>{BODY_MARKER}</html>"),
        format!(r#"{{"not_keys": "{BODY_MARKER}"}}"#),
    ]
    .into_iter()
    .enumerate()
    {
        issuer.set_jwks_body(Some(body.into_bytes()));
        let error = fetch_error(&validator).await;
        assert_eq!(error.kind(), FetchErrorKind::InvalidDocument, "{error}");
        assert_eq!(issuer.jwks_fetches(), fetched + 1);
    }

    // The same for a discovery document.
    let address = raw_server(
        format!(
            "HTTP/1.1 200 OK\r\ncontent-length: 9\r\nconnection: close\r\n\r\n{}",
            &BODY_MARKER[..9]
        )
        .into_bytes(),
    )
    .await;
    let validator = Validator::builder(format!("http://{address}"))
        .audience("api")
        .build()
        .unwrap();
    let error = fetch_error(&validator).await;
    assert_eq!(error.kind(), FetchErrorKind::InvalidDocument, "{error}");
}

#[tokio::test]
async fn a_key_set_without_a_usable_key_is_no_usable_key() {
    let issuer = TestIssuer::start().await.unwrap();
    // A symmetric key is never taken from a fetched set.
    issuer.set_jwks_body(Some(
        br#"{"keys":[{"kty":"oct","alg":"HS256","kid":"k","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQ"}]}"#
            .to_vec(),
    ));
    let validator = issuer
        .validator()
        .jwks_url(issuer.jwks_url())
        .build()
        .unwrap();
    let error = fetch_error(&validator).await;
    assert_eq!(error.kind(), FetchErrorKind::NoUsableKey, "{error}");
}

#[tokio::test]
async fn discovery_naming_another_issuer_is_an_issuer_mismatch() {
    let issuer = TestIssuer::start().await.unwrap();
    issuer.set_discovery_issuer(Some("https://elsewhere.example/"));
    let validator = issuer.validator().build().unwrap();
    let error = fetch_error(&validator).await;
    assert_eq!(error.kind(), FetchErrorKind::IssuerMismatch, "{error}");
    assert!(error.to_string().contains("elsewhere.example"), "{error}");
}

/// A fetcher of your own reports its failures: `new` is `Other`, `with_kind` is kept.
struct Failing(Option<FetchErrorKind>);

impl JwksFetcher for Failing {
    fn get<'a>(
        &'a self,
        _url: &'a http::Uri,
        _max_body_bytes: usize,
    ) -> BoxFuture<'a, Result<http::Response<Vec<u8>>, FetchError>> {
        let error = match self.0 {
            Some(kind) => FetchError::with_kind(kind, "the proxy said no"),
            None => FetchError::new("the proxy said no"),
        };
        Box::pin(async move { Err(error) })
    }
}

#[tokio::test]
async fn a_custom_fetcher_chooses_its_kind() {
    for (given, expected) in [
        (None, FetchErrorKind::Other),
        (Some(FetchErrorKind::Connect), FetchErrorKind::Connect),
    ] {
        let validator = validator_fetching("https://issuer.example/jwks")
            .fetcher(Failing(given))
            .build()
            .unwrap();
        let error = fetch_error(&validator).await;
        assert_eq!(error.kind(), expected);
        assert_eq!(error.to_string(), "the proxy said no");
    }
}

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
async fn the_warning_names_the_issuer_and_the_kind() {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::WARN)
        .finish();
    // A current-thread runtime: the fetch task runs on this thread too.
    let _logging = tracing::subscriber::set_default(subscriber);

    let address = closed_port().await;
    let validator = validator_fetching(&format!("http://{address}/jwks"))
        .build()
        .unwrap();
    fetch_error(&validator).await;
    let logged = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert!(logged.contains("WARN scopegate:"), "{logged}");
    assert!(logged.contains(r#"kind="connect_refused""#), "{logged}");
    assert!(
        logged.contains("issuer=https://issuer.example/"),
        "{logged}"
    );
}
