//! Where else a bearer token may come from, each opt-in, for clients that cannot set the
//! `Authorization` header: browsers (a cookie) and WebSocket clients (the subprotocol list, or
//! the query of the upgrade request).

use http::{HeaderMap, Uri, header};

use crate::error::{ConfigError, ErrorKind};
use crate::service::AuthLayer;

impl<R: Clone> AuthLayer<R> {
    /// Also reads the bearer token from the cookie `name` when the request has no
    /// `Authorization` header (which always wins). For browser clients; pair it with your
    /// CSRF defence, since browsers send cookies on cross-site requests.
    pub fn token_from_cookie(self, name: &str) -> Result<Self, ConfigError> {
        TokenSources::check_cookie_name(name)?;
        Ok(self.edit(|state| state.sources.cookie = Some(name.into())))
    }

    /// Also reads the bearer token from `Sec-WebSocket-Protocol: access_token, <token>` on a
    /// WebSocket upgrade without `Authorization` header: browsers cannot set headers on
    /// WebSocket requests. Your handler answers with a subprotocol it accepts.
    pub fn token_from_websocket_protocol(self) -> Self {
        self.edit(|state| state.sources.websocket_protocol = true)
    }

    /// Also reads the bearer token from `?access_token=<token>` on a WebSocket upgrade
    /// without `Authorization` header, never on other requests (the query lands in logs;
    /// OAuth 2.1 drops it for plain requests).
    pub fn token_from_websocket_query(self) -> Self {
        self.edit(|state| state.sources.websocket_query = true)
    }
}

/// The opt-in token sources read after the `Authorization` header, which always wins.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TokenSources {
    /// The name of a cookie holding the token.
    pub(crate) cookie: Option<Box<str>>,
    /// `Sec-WebSocket-Protocol: access_token, <token>` on a WebSocket upgrade.
    pub(crate) websocket_protocol: bool,
    /// `?access_token=<token>` on a WebSocket upgrade, never on other requests.
    pub(crate) websocket_query: bool,
}

/// The subprotocol that announces the token as the next entry.
pub(crate) const TOKEN_SUBPROTOCOL: &str = "access_token";

impl TokenSources {
    pub(crate) fn any(&self) -> bool {
        self.cookie.is_some() || self.websocket_protocol || self.websocket_query
    }

    /// A cookie name: an RFC 6265 token (visible ASCII without separators).
    pub(crate) fn check_cookie_name(name: &str) -> Result<(), ConfigError> {
        let separator = |byte: u8| b"()<>@,;:\\\"/[]?={} \t".contains(&byte);
        let valid = !name.is_empty()
            && name
                .bytes()
                .all(|byte| byte.is_ascii_graphic() && !separator(byte));
        if valid {
            Ok(())
        } else {
            Err(ConfigError::new(
                "a cookie name must be visible ASCII without separators",
            ))
        }
    }

    /// The token the opt-in sources carry, when there is no `Authorization` header: `Ok(None)`
    /// when none does; 400 when two disagree or one is repeated; the header's size cap and
    /// character rules apply.
    pub(crate) fn token<'a>(
        &self,
        headers: &'a HeaderMap,
        uri: &'a Uri,
        max_token_bytes: usize,
    ) -> Result<Option<&'a str>, ErrorKind> {
        let upgrade = is_websocket_upgrade(headers);
        let found = [
            self.cookie
                .as_deref()
                .map(|name| from_cookie(headers, name))
                .transpose()?
                .flatten(),
            (self.websocket_protocol && upgrade)
                .then(|| from_subprotocols(headers))
                .transpose()?
                .flatten(),
            (self.websocket_query && upgrade)
                .then(|| from_query(uri))
                .transpose()?
                .flatten(),
        ];
        let mut token: Option<&str> = None;
        for candidate in found.into_iter().flatten() {
            match token {
                Some(seen) if seen != candidate => return Err(ErrorKind::ConflictingCredentials),
                _ => token = Some(candidate),
            }
        }
        let Some(token) = token else {
            return Ok(None);
        };
        if token.is_empty() {
            return Err(ErrorKind::MalformedAuthorizationHeader);
        }
        if token.len() > max_token_bytes {
            return Err(ErrorKind::TokenTooLong);
        }
        if token.contains(',') {
            return Err(ErrorKind::CommaJoinedCredentials);
        }
        Ok(Some(token))
    }
}

/// `Upgrade: websocket` with `Connection: upgrade` (RFC 6455 §4.1).
fn is_websocket_upgrade(headers: &HeaderMap) -> bool {
    let lists = |name, wanted: &str| {
        headers.get_all(name).iter().any(|value| {
            value.to_str().is_ok_and(|value| {
                value
                    .split(',')
                    .any(|item| item.trim().eq_ignore_ascii_case(wanted))
            })
        })
    };
    lists(header::UPGRADE, "websocket") && lists(header::CONNECTION, "upgrade")
}

/// The named cookie across every `Cookie` header. Other cookies are not read, so one with
/// bytes outside ASCII does not spoil the request; the named one twice with different values
/// (two paths, say) is ambiguous.
fn from_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ErrorKind> {
    let mut found: Option<&str> = None;
    for value in headers.get_all(header::COOKIE) {
        for pair in value.as_bytes().split(|byte| *byte == b';') {
            let pair = pair.trim_ascii();
            let Some(equals) = pair.iter().position(|byte| *byte == b'=') else {
                continue;
            };
            if &pair[..equals] != name.as_bytes() {
                continue;
            }
            let cookie =
                std::str::from_utf8(&pair[equals + 1..]).map_err(|_| ErrorKind::MalformedToken)?;
            // RFC 6265 allows a quoted value.
            let cookie = cookie
                .strip_prefix('"')
                .and_then(|inner| inner.strip_suffix('"'))
                .unwrap_or(cookie);
            match found {
                Some(seen) if seen != cookie => return Err(ErrorKind::ConflictingCredentials),
                _ => found = Some(cookie),
            }
        }
    }
    Ok(found)
}

/// The entry after `access_token` in `Sec-WebSocket-Protocol`.
fn from_subprotocols(headers: &HeaderMap) -> Result<Option<&str>, ErrorKind> {
    let mut found = None;
    for value in headers.get_all(header::SEC_WEBSOCKET_PROTOCOL) {
        let value = value.to_str().map_err(|_| ErrorKind::MalformedToken)?;
        let mut entries = value.split(',').map(str::trim);
        while let Some(entry) = entries.next() {
            if entry != TOKEN_SUBPROTOCOL {
                continue;
            }
            let token = entries
                .next()
                .ok_or(ErrorKind::MalformedAuthorizationHeader)?;
            if found.is_some() {
                return Err(ErrorKind::ConflictingCredentials);
            }
            found = Some(token);
        }
    }
    Ok(found)
}

/// `access_token` in the query, once. A JWS needs no percent-encoding; an encoded one is
/// refused by the token parser rather than decoded here.
fn from_query(uri: &Uri) -> Result<Option<&str>, ErrorKind> {
    let mut found = None;
    for pair in uri.query().unwrap_or_default().split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if key != "access_token" {
            continue;
        }
        if found.is_some() {
            return Err(ErrorKind::ConflictingCredentials);
        }
        found = Some(value);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn all() -> TokenSources {
        TokenSources {
            cookie: Some("at".into()),
            websocket_protocol: true,
            websocket_query: true,
        }
    }

    fn upgrade(headers: &mut HeaderMap) {
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    }

    fn read(
        sources: &TokenSources,
        headers: &HeaderMap,
        uri: &str,
    ) -> Result<Option<String>, ErrorKind> {
        let uri: Uri = uri.parse().unwrap();
        sources
            .token(headers, &uri, 8192)
            .map(|token| token.map(str::to_owned))
    }

    #[test]
    fn each_source_when_enabled() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; at=tok; b=2"));
        assert_eq!(read(&all(), &headers, "/"), Ok(Some("tok".into())));
        assert_eq!(read(&TokenSources::default(), &headers, "/"), Ok(None));

        let mut headers = HeaderMap::new();
        upgrade(&mut headers);
        headers.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("chat, access_token, tok"),
        );
        assert_eq!(read(&all(), &headers, "/ws"), Ok(Some("tok".into())));

        let mut headers = HeaderMap::new();
        upgrade(&mut headers);
        assert_eq!(
            read(&all(), &headers, "/ws?x=1&access_token=tok"),
            Ok(Some("tok".into()))
        );
    }

    #[test]
    fn websocket_sources_only_on_an_upgrade() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static("access_token, tok"),
        );
        assert_eq!(read(&all(), &headers, "/ws?access_token=tok"), Ok(None));
    }

    #[test]
    fn disagreement_and_repeats_are_invalid_requests() {
        let mut headers = HeaderMap::new();
        upgrade(&mut headers);
        headers.insert(header::COOKIE, HeaderValue::from_static("at=one"));
        assert_eq!(
            read(&all(), &headers, "/ws?access_token=two"),
            Err(ErrorKind::ConflictingCredentials)
        );
        assert_eq!(
            read(&all(), &headers, "/ws?access_token=one"),
            Ok(Some("one".into()))
        );
        assert_eq!(
            read(&all(), &headers, "/ws?access_token=one&access_token=one"),
            Err(ErrorKind::ConflictingCredentials)
        );
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("at=one; at=two"));
        assert_eq!(
            read(&all(), &headers, "/"),
            Err(ErrorKind::ConflictingCredentials)
        );
        headers.insert(header::COOKIE, HeaderValue::from_static("at=one; at=one"));
        assert_eq!(read(&all(), &headers, "/"), Ok(Some("one".into())));
    }

    #[test]
    fn other_cookies_are_not_read() {
        let mut headers = HeaderMap::new();
        let value = HeaderValue::from_bytes(b"theme=caf\xc3\xa9; at=tok").unwrap();
        headers.insert(header::COOKIE, value);
        assert_eq!(read(&all(), &headers, "/"), Ok(Some("tok".into())));
    }

    #[test]
    fn the_header_rules_apply() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("at="));
        assert_eq!(
            read(&all(), &headers, "/"),
            Err(ErrorKind::MalformedAuthorizationHeader)
        );
        let long = format!("at={}", "a".repeat(8193));
        headers.insert(header::COOKIE, HeaderValue::from_str(&long).unwrap());
        assert_eq!(read(&all(), &headers, "/"), Err(ErrorKind::TokenTooLong));
        assert!(TokenSources::check_cookie_name("access_token").is_ok());
        assert!(TokenSources::check_cookie_name("a b").is_err());
        assert!(TokenSources::check_cookie_name("").is_err());
    }
}
