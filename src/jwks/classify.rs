//! Why a reqwest request failed: the error sorted into a [`FetchErrorKind`] by walking its
//! chain of causes, and a description that keeps every cause (reqwest's own text stops at
//! "error sending request").

use std::error::Error;
use std::io;

use super::failure::{FetchError, FetchErrorKind};

/// How deep a chain of causes is followed.
const MAX_CAUSES: usize = 16;

/// The [`FetchError`] for a failed GET of `url`.
pub(crate) fn from_reqwest(url: &http::Uri, error: reqwest::Error) -> FetchError {
    let kind = kind_of(&error);
    // The URL is named once, first.
    let error = error.without_url();
    let mut message = format!("GET {url}");
    for cause in causes(&error) {
        let text = cause.to_string();
        // A wrapper often repeats the text of the error it wraps.
        if !text.is_empty() && !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
    }
    FetchError::with_kind(kind, message)
}

/// The first matching rule wins: a timeout or a refusal anywhere in the chain says more than
/// the outer error's category.
fn kind_of(error: &reqwest::Error) -> FetchErrorKind {
    let (mut timed_out, mut refused, mut tls) = (error.is_timeout(), false, false);
    for cause in causes(error) {
        if cause.is::<rustls::Error>() {
            tls = true;
        }
        if let Some(io) = cause.downcast_ref::<io::Error>() {
            match io.kind() {
                io::ErrorKind::TimedOut => timed_out = true,
                io::ErrorKind::ConnectionRefused => refused = true,
                _ => {}
            }
        }
    }
    if timed_out {
        FetchErrorKind::Timeout
    } else if refused {
        FetchErrorKind::ConnectRefused
    } else if tls {
        FetchErrorKind::Tls
    } else if error.is_connect() {
        FetchErrorKind::Connect
    } else if error.is_request() || error.is_body() || error.is_decode() {
        FetchErrorKind::Interrupted
    } else {
        FetchErrorKind::Other
    }
}

/// `error` and its causes, outermost first.
fn causes<'a>(error: &'a (dyn Error + 'static)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(Some(error), |error| next_cause(*error)).take(MAX_CAUSES)
}

fn next_cause<'a>(error: &'a (dyn Error + 'static)) -> Option<&'a (dyn Error + 'static)> {
    // `io::Error::source` skips the error an `io::Error` wraps (a rustls error, say): step into
    // it first.
    if let Some(inner) = error
        .downcast_ref::<io::Error>()
        .and_then(|io| io.get_ref())
    {
        return Some(inner);
    }
    error.source()
}
