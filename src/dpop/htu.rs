//! Comparing a proof's `htu` with the request (RFC 9449 §4.3 step 9): the request's path on
//! the API's public origin, query and fragment ignored on both sides, after the syntax- and
//! scheme-based normalization of RFC 3986 §6.2.2 and §6.2.3.

use http::Uri;
use http::uri::{Authority, Scheme};

use crate::error::ConfigError;

/// The scheme, host and port under which clients reach the API, normalized: lowercase,
/// without the scheme's default port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Origin(String);

impl Origin {
    /// `https://api.example.com` or `http://127.0.0.1:3000`; no path beyond `/`, no query.
    pub(crate) fn parse(origin: &str) -> Result<Origin, ConfigError> {
        let refuse = || {
            ConfigError::new(
                "the public origin must be http(s)://host[:port], without path, query, fragment or user info",
            )
        };
        let uri: Uri = origin.parse().map_err(|_| refuse())?;
        let path_is_bare = matches!(uri.path(), "" | "/") && uri.query().is_none();
        let scheme = uri
            .scheme()
            .filter(|scheme| is_http(scheme))
            .ok_or_else(refuse)?;
        let authority = uri.authority().ok_or_else(refuse)?;
        // `Uri` drops a fragment silently: an origin has none (RFC 6454 §6.1).
        if !path_is_bare || origin.ends_with('?') || origin.contains('#') {
            return Err(refuse());
        }
        normalized_origin(scheme, authority)
            .map(Origin)
            .ok_or_else(refuse)
    }

    /// The origin as text: `https://api.example.com`.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The origin `X-Forwarded-Proto` and `X-Forwarded-Host` name, each present once; `None`
    /// when either is absent, repeated or unusable.
    pub(crate) fn forwarded(headers: &http::HeaderMap) -> Option<Origin> {
        let one = |name: &str| {
            let mut values = headers.get_all(name).iter();
            let value = values.next()?;
            values.next().is_none().then_some(value.to_str().ok()?)
        };
        let (proto, host) = (one("x-forwarded-proto")?, one("x-forwarded-host")?);
        Origin::parse(&format!("{}://{}", proto.trim(), host.trim())).ok()
    }
}

fn is_http(scheme: &Scheme) -> bool {
    *scheme == Scheme::HTTP || *scheme == Scheme::HTTPS
}

/// `scheme://host[:port]`, lowercase, the default port dropped; `None` with user info or a
/// port that is not a number up to 65535.
fn normalized_origin(scheme: &Scheme, authority: &Authority) -> Option<String> {
    // `Authority` takes `:443` as an empty host; an origin has a host.
    if authority.as_str().contains('@') || authority.host().is_empty() {
        return None;
    }
    // `Authority` keeps a port it cannot read (`:99999`, `:abc`) and answers `None` for it, as
    // for no port at all: read it from the text. An empty port is the default (RFC 3986 §6.2.3).
    let port = match authority.as_str().strip_prefix(authority.host())? {
        "" | ":" => None,
        rest => Some(
            rest.strip_prefix(':')
                .filter(|digits| digits.bytes().all(|byte| byte.is_ascii_digit()))?
                .parse::<u16>()
                .ok()?,
        ),
    };
    let scheme = scheme.as_str().to_ascii_lowercase();
    let host = authority.host().to_ascii_lowercase();
    let default_port = if scheme == "https" { 443 } else { 80 };
    Some(match port {
        Some(port) if port != default_port => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    })
}

/// Whether `htu` names `path` on `origin`: the request's path as received (`/rooms/a`, query
/// ignored), compared after normalizing percent-encoding on both sides.
pub(crate) fn htu_matches(htu: &str, origin: &Origin, path: &str) -> bool {
    let Some((htu_origin, htu_path)) = split_htu(htu) else {
        return false;
    };
    htu_origin == origin.0 && normalized_path(htu_path) == normalized_path(request_path(path))
}

/// The request target's path: everything before `?`.
fn request_path(target: &str) -> &str {
    target.split(['?', '#']).next().unwrap_or_default()
}

/// An absolute `htu` as normalized origin and raw path, query and fragment dropped.
fn split_htu(htu: &str) -> Option<(String, &str)> {
    let without_fragment = htu.split('#').next().unwrap_or_default();
    let without_query = without_fragment.split('?').next().unwrap_or_default();
    let uri: Uri = without_query.parse().ok()?;
    let scheme = uri.scheme().filter(|scheme| is_http(scheme))?;
    let origin = normalized_origin(scheme, uri.authority()?)?;
    // The path as written: `Uri` keeps it, and an empty path means `/`.
    let start = without_query.find("://")? + 3;
    let path = without_query[start..]
        .find('/')
        .map_or("", |slash| &without_query[start + slash..]);
    Some((origin, path))
}

/// RFC 3986 §6.2.2: percent-encoded unreserved characters decoded, other triplets uppercase;
/// an empty path is `/` (§6.2.3).
fn normalized_path(path: &str) -> String {
    if path.is_empty() {
        return "/".to_owned();
    }
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        let decoded = (byte == b'%')
            .then(|| bytes.get(index + 1..index + 3))
            .flatten()
            .filter(|hex| hex.iter().all(u8::is_ascii_hexdigit))
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match decoded {
            Some(value) if value.is_ascii_alphanumeric() || b"-._~".contains(&value) => {
                out.push(char::from(value));
                index += 3;
            }
            Some(value) => {
                out.push_str(&format!("%{value:02X}"));
                index += 3;
            }
            None => {
                out.push(char::from(byte));
                index += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(text: &str) -> Origin {
        Origin::parse(text).unwrap()
    }

    #[test]
    fn origins_are_normalized_and_checked() {
        assert_eq!(
            origin("HTTPS://API.Example.com:443").as_str(),
            "https://api.example.com"
        );
        assert_eq!(
            origin("http://127.0.0.1:3000/").as_str(),
            "http://127.0.0.1:3000"
        );
        assert_eq!(origin("http://localhost:80").as_str(), "http://localhost");
        for bad in [
            "api.example.com",
            "ftp://api.example.com",
            "https://api.example.com/v1",
            "https://api.example.com/?a",
            "https://user@api.example.com",
            "https://api.example.com#top",
            "https://:443",
            "http://:",
            "https://api.example.com/#",
            "https://api.example.com:99999",
            "https://api.example.com:abc",
            "/relative",
        ] {
            assert!(Origin::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn htu_matches_the_path_on_the_origin() {
        let api = origin("https://api.example.com");
        assert!(htu_matches(
            "https://api.example.com/rooms/a",
            &api,
            "/rooms/a"
        ));
        assert!(htu_matches(
            "https://API.example.com:443/rooms/a",
            &api,
            "/rooms/a"
        ));
        assert!(htu_matches(
            "https://api.example.com/rooms/a?x=1#f",
            &api,
            "/rooms/a"
        ));
        assert!(htu_matches(
            "https://api.example.com/rooms/a",
            &api,
            "/rooms/a?y=2"
        ));
        assert!(htu_matches(
            "https://api.example.com/rooms/%61",
            &api,
            "/rooms/a"
        ));
        assert!(htu_matches("https://api.example.com/a%2fb", &api, "/a%2Fb"));
        assert!(htu_matches("https://api.example.com", &api, "/"));

        assert!(!htu_matches(
            "https://api.example.com/rooms/b",
            &api,
            "/rooms/a"
        ));
        assert!(!htu_matches(
            "https://other.example.com/rooms/a",
            &api,
            "/rooms/a"
        ));
        assert!(!htu_matches(
            "http://api.example.com/rooms/a",
            &api,
            "/rooms/a"
        ));
        assert!(!htu_matches(
            "https://api.example.com:8443/rooms/a",
            &api,
            "/rooms/a"
        ));
        assert!(!htu_matches(
            "https://u@api.example.com/rooms/a",
            &api,
            "/rooms/a"
        ));
        assert!(!htu_matches("/rooms/a", &api, "/rooms/a"));
        assert!(!htu_matches(
            "https://api.example.com:99999/rooms/a",
            &api,
            "/rooms/a"
        ));
        assert!(!htu_matches(
            "https://api.example.com/Rooms/a",
            &api,
            "/rooms/a"
        ));
        assert!(!htu_matches("https://api.example.com/a%2Fb", &api, "/a/b"));
        // `%+1` is no percent-encoding: it stays as written.
        assert!(!htu_matches("https://api.example.com/x%01", &api, "/x%+1"));
    }

    #[test]
    fn forwarded_origin_only_from_single_headers() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(Origin::forwarded(&headers), None);
        headers.insert("x-forwarded-proto", "https".parse().unwrap());
        headers.insert("x-forwarded-host", "api.example.com".parse().unwrap());
        assert_eq!(
            Origin::forwarded(&headers),
            Some(origin("https://api.example.com"))
        );
        headers.append("x-forwarded-host", "evil.example.com".parse().unwrap());
        assert_eq!(Origin::forwarded(&headers), None);
    }
}
