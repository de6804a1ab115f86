//! The URLs a metadata document names, checked with `http::Uri`.

use http::Uri;

use crate::error::ConfigError;
use crate::syntax::is_quoted_safe;

/// Whether a URL may carry a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Query {
    Refused,
    Allowed,
}

/// Checks that `text` is an absolute `https://` (or `http://`) URL with a host, no user
/// information and no fragment (and no query when `query` refuses one), written as it goes on
/// the wire: printable ASCII without spaces, quotes or backslashes. `what` names the value in
/// the error. Returns the parsed URL.
pub(super) fn check_url(what: &str, text: &str, query: Query) -> Result<Uri, ConfigError> {
    let refuse = |why: &str| Err(ConfigError::new(format!("{what} {text:?}: {why}")));
    if !(text.starts_with("https://") || text.starts_with("http://")) {
        return refuse("must be an absolute https:// URL (http:// for local development)");
    }
    // `http::Uri` accepts `"` in a path and drops a fragment without a word: check the text.
    if !text
        .bytes()
        .all(|byte| byte != b' ' && is_quoted_safe(byte))
    {
        return refuse(
            "must be printable ASCII without spaces, quotes or backslashes (percent-encode them)",
        );
    }
    if text.contains('#') {
        return refuse("must not have a fragment");
    }
    if query == Query::Refused && text.contains('?') {
        return refuse("must not have a query");
    }
    let uri: Uri = match text.parse() {
        Ok(uri) => uri,
        Err(error) => return refuse(&format!("is not a valid URL ({error})")),
    };
    match uri.authority() {
        Some(authority) if authority.as_str().contains('@') => {
            refuse("must not carry user information")
        }
        // `http::Uri` keeps a port it cannot read (`host:port`) and answers `None` for it.
        Some(authority)
            if authority.as_str() != authority.host() && authority.port_u16().is_none() =>
        {
            refuse("has an invalid port (a number up to 65535)")
        }
        Some(authority) if !authority.host().is_empty() => Ok(uri),
        _ => refuse("must name a host"),
    }
}

/// The path of a checked resource identifier as it follows the well-known suffix: empty for
/// `https://host` and `https://host/` (the slash after the host is dropped), else the path as
/// written.
pub(super) fn path_after_host(uri: &Uri) -> &str {
    match uri.path() {
        "/" => "",
        path => path,
    }
}
