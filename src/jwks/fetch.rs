//! Getting documents from the issuer: the [`JwksFetcher`] trait, the URL policy every fetch obeys,
//! and the default reqwest implementation.

use http::Uri;

use super::failure::FetchError;
use crate::boxed::BoxFuture;

/// The largest JWKS or discovery document scopegate reads, in bytes.
pub const MAX_DOCUMENT_BYTES: usize = 64 * 1024;

/// The `Accept` header scopegate sends.
pub const ACCEPT: &str = "application/json, application/jwk-set+json";

/// The `User-Agent` header scopegate sends.
pub const USER_AGENT: &str = concat!("scopegate/", env!("CARGO_PKG_VERSION"));

/// Performs the HTTP GETs for discovery and JWKS documents.
///
/// scopegate checks what it can around every fetch, whichever fetcher is used: the URL policy
/// (https, or plain http to a loopback host), status 200 only, the body size cap, and an overall
/// timeout. An implementation must additionally:
///
/// - not follow redirects (a redirect is answered with its 3xx status, which scopegate refuses);
/// - stop reading once the body exceeds `max_body_bytes` and return [`FetchError`];
/// - apply connect and total timeouts.
///
/// Give a failure its [`FetchErrorKind`](super::FetchErrorKind) with [`FetchError::with_kind`]
/// when you know it (a timeout, a refused connection): logs, metrics and
/// [`KeyStatus`](super::KeyStatus) show it. [`FetchError::new`] reports `Other`.
///
/// Bring your own to use a client with custom roots, a proxy or mTLS, or to count requests in a
/// test:
///
/// ```
/// use scopegate::jwks::{BoxFuture, FetchError, JwksFetcher};
///
/// struct Fixed(&'static str);
///
/// impl JwksFetcher for Fixed {
///     fn get<'a>(
///         &'a self,
///         _url: &'a http::Uri,
///         _max_body_bytes: usize,
///     ) -> BoxFuture<'a, Result<http::Response<Vec<u8>>, FetchError>> {
///         Box::pin(async move { Ok(http::Response::new(self.0.as_bytes().to_vec())) })
///     }
/// }
/// ```
pub trait JwksFetcher: Send + Sync + 'static {
    /// GET `url` and return the status, headers and body.
    fn get<'a>(
        &'a self,
        url: &'a Uri,
        max_body_bytes: usize,
    ) -> BoxFuture<'a, Result<http::Response<Vec<u8>>, FetchError>>;
}

/// The URL policy (SECURITY-BAR §7): https anywhere, plain http only to a loopback host.
pub(crate) fn check_url(url: &str) -> Result<Uri, String> {
    let uri: Uri = url
        .parse()
        .map_err(|_| format!("{url:?} is not a valid URL"))?;
    let host = uri.host().ok_or_else(|| format!("{url:?} has no host"))?;
    match uri.scheme_str() {
        Some("https") => Ok(uri),
        Some("http") if is_loopback_host(host) => Ok(uri),
        Some("http") => Err(format!(
            "{url:?} uses plain http; only https is allowed, except for loopback hosts"
        )),
        _ => Err(format!("{url:?} is not an https URL")),
    }
}

/// `localhost`, `127.0.0.0/8` and `[::1]`.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(feature = "reqwest")]
pub use self::reqwest_fetcher::ReqwestFetcher;

/// The fetcher a validator uses unless given one: one client for every validator of the process
/// (its connection pool is shared too), so a multi-tenant `Issuers` setup does not open one pool
/// per issuer.
#[cfg(feature = "reqwest")]
pub(crate) fn default_fetcher() -> Result<std::sync::Arc<dyn JwksFetcher>, FetchError> {
    static SHARED: std::sync::OnceLock<ReqwestFetcher> = std::sync::OnceLock::new();
    let fetcher = match SHARED.get() {
        Some(fetcher) => fetcher.clone(),
        None => {
            let fetcher = ReqwestFetcher::new()?;
            SHARED.get_or_init(|| fetcher).clone()
        }
    };
    Ok(std::sync::Arc::new(fetcher))
}

/// Without the `reqwest` feature there is no default: a validator needs `fetcher()`.
#[cfg(not(feature = "reqwest"))]
pub(crate) fn default_fetcher() -> Result<std::sync::Arc<dyn JwksFetcher>, FetchError> {
    Err(FetchError::new(
        "no fetcher: enable the `reqwest` feature or call fetcher()",
    ))
}

#[cfg(feature = "reqwest")]
mod reqwest_fetcher {
    use std::time::Duration;

    use super::super::classify::from_reqwest;
    use super::super::failure::FetchErrorKind;
    use super::{ACCEPT, BoxFuture, FetchError, JwksFetcher, USER_AGENT};

    /// The default fetcher: one shared reqwest client with rustls, no redirects, a 2 s connect
    /// and 5 s total timeout, and a capped body.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use scopegate::jwks::ReqwestFetcher;
    ///
    /// // A client of your own (custom roots, proxy, mTLS). Keep redirects off and set timeouts.
    /// let client = reqwest::Client::builder()
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     .connect_timeout(Duration::from_secs(2))
    ///     .timeout(Duration::from_secs(5))
    ///     .build()?;
    /// let fetcher = ReqwestFetcher::with_client(client);
    /// # Ok(()) }
    /// ```
    #[derive(Debug, Clone)]
    pub struct ReqwestFetcher {
        client: reqwest::Client,
    }

    impl ReqwestFetcher {
        /// The default client: rustls, no redirects, connect timeout 2 s, total timeout 5 s.
        /// Proxies from the environment (`HTTPS_PROXY`, `NO_PROXY`) are honoured, as reqwest
        /// does by default; build your own client with `no_proxy()` to ignore them.
        pub fn new() -> Result<Self, FetchError> {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(Duration::from_secs(2))
                .timeout(Duration::from_secs(5))
                .user_agent(USER_AGENT)
                .build()
                .map_err(|error| FetchError::new(format!("building the HTTP client: {error}")))?;
            Ok(ReqwestFetcher { client })
        }

        /// Uses a client you built. It must not follow redirects and should have timeouts.
        pub fn with_client(client: reqwest::Client) -> Self {
            ReqwestFetcher { client }
        }
    }

    impl JwksFetcher for ReqwestFetcher {
        fn get<'a>(
            &'a self,
            url: &'a http::Uri,
            max_body_bytes: usize,
        ) -> BoxFuture<'a, Result<http::Response<Vec<u8>>, FetchError>> {
            Box::pin(async move {
                let mut response = self
                    .client
                    .get(url.to_string())
                    .header(http::header::ACCEPT, ACCEPT)
                    // Also for clients built by the user, which may lack the default agent.
                    .header(http::header::USER_AGENT, USER_AGENT)
                    .send()
                    .await
                    .map_err(|error| from_reqwest(url, error))?;
                if response
                    .content_length()
                    .is_some_and(|len| len > max_body_bytes as u64)
                {
                    return Err(too_large(url, max_body_bytes));
                }
                let mut body = Vec::new();
                while let Some(chunk) = response
                    .chunk()
                    .await
                    .map_err(|error| from_reqwest(url, error))?
                {
                    if body.len() + chunk.len() > max_body_bytes {
                        return Err(too_large(url, max_body_bytes));
                    }
                    body.extend_from_slice(&chunk);
                }
                let mut out = http::Response::new(body);
                *out.status_mut() = response.status();
                *out.headers_mut() = std::mem::take(response.headers_mut());
                Ok(out)
            })
        }
    }

    fn too_large(url: &http::Uri, max_body_bytes: usize) -> FetchError {
        FetchError::with_kind(
            FetchErrorKind::TooLarge,
            format!("GET {url}: body is larger than {max_body_bytes} bytes"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_policy() {
        for ok in [
            "https://issuer.example.com/",
            "http://127.0.0.1:8080/jwks",
            "http://127.9.9.9/jwks",
            "http://localhost:1/x",
            "http://[::1]:9/x",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://issuer.example.com/",
            "http://10.0.0.1/jwks",
            "http://localhost.evil.com/",
            "ftp://127.0.0.1/",
            "file:///etc/passwd",
            "not a url",
            "/relative",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
