//! Reading the credentials from the request headers: `Authorization: Bearer` (RFC 6750 §2.1,
//! SECURITY-BAR §1) or `Authorization: DPoP` with its `DPoP` proof header (RFC 9449 §7.1).

use http::HeaderMap;
use http::header::AUTHORIZATION;

use crate::error::{ErrorKind, Scheme};

/// A token and the scheme it came with, as bytes: the token parser refuses anything outside
/// base64url, so no UTF-8 check is due before it, and a token the verified-token cache holds
/// is found by these bytes before any scan of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Credentials<'a> {
    pub(crate) scheme: Scheme,
    pub(crate) token: &'a [u8],
}

impl Credentials<'_> {
    /// No comma (which would join two credentials) and UTF-8: for a token not validated at
    /// once. A bearer token validated at once skips this: its refusal is renamed by
    /// [`named_refusal`], and no token holding a comma can pass (a comma is not base64url),
    /// so the answer is the same without a scan of every token that passes.
    pub(crate) fn checked(self) -> Result<Self, ErrorKind> {
        // A b64token never contains a comma: one here joins two credentials ("Bearer a,b"). The
        // scheme and the spaces before the token hold none, so any comma is in the token.
        if self.token.contains(&b',') {
            return Err(ErrorKind::CommaJoinedCredentials);
        }
        // Bytes outside visible ASCII can never be a JWS; the parser would refuse them anyway.
        match std::str::from_utf8(self.token) {
            Ok(_) => Ok(self),
            Err(_) => Err(ErrorKind::MalformedToken),
        }
    }
}

/// The refusal of `token`, renamed when a comma in it joins two credentials: that fault is
/// named whatever else is wrong with the token.
pub(crate) fn named_refusal(token: &[u8], kind: ErrorKind) -> ErrorKind {
    if token.contains(&b',') {
        ErrorKind::CommaJoinedCredentials
    } else {
        kind
    }
}

/// The scheme an `Authorization` value starts with, and the length of its name.
fn scheme_of(credentials: &[u8]) -> Option<(Scheme, usize)> {
    [(Scheme::Bearer, &b"bearer"[..]), (Scheme::Dpop, b"dpop")]
        .into_iter()
        .find(|(_, name)| {
            credentials
                .get(..name.len())
                .is_some_and(|start| start.eq_ignore_ascii_case(name))
        })
        .map(|(scheme, name)| (scheme, name.len()))
}

/// The token in `Authorization: Bearer <token>` or `Authorization: DPoP <token>`.
///
/// `Ok(None)`: no credentials scopegate reads (no header, or another scheme such as `Basic`).
/// The token is returned as written; its syntax is the token parser's business, so a bad
/// token is 401 `invalid_token` rather than 400. The service reads [`presented`] and checks
/// later, to look the token cache up first; this is the whole reading in one call.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn credentials(
    headers: &HeaderMap,
    max_token_bytes: usize,
) -> Result<Option<Credentials<'_>>, ErrorKind> {
    presented(headers, max_token_bytes)?
        .map(Credentials::checked)
        .transpose()
}

/// Reads the header up to the token. Every refusal here first looks for credentials behind a
/// comma, so that fault is named whatever else is wrong with the header, as before any split.
pub(crate) fn presented(
    headers: &HeaderMap,
    max_token_bytes: usize,
) -> Result<Option<Credentials<'_>>, ErrorKind> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ErrorKind::MultipleAuthorizationHeaders);
    }
    let bytes = value.as_bytes();
    let refuse = |kind| {
        Err(if comma_joined(bytes) {
            ErrorKind::CommaJoinedCredentials
        } else {
            kind
        })
    };
    // Not scopegate's scheme: nothing to read, unless credentials follow a comma.
    let not_ours = || {
        if comma_joined(bytes) {
            Err(ErrorKind::CommaJoinedCredentials)
        } else {
            Ok(None)
        }
    };
    let Some((scheme, name_len)) = scheme_of(bytes) else {
        // Credentials behind a comma, whatever comes first ("Basic x, Bearer y").
        return not_ours();
    };
    let rest = &bytes[name_len..];
    match rest.first() {
        // "Bearer" alone: the scheme with an empty token.
        None => return refuse(ErrorKind::MalformedAuthorizationHeader),
        Some(b' ') => {}
        // RFC 6750 allows only spaces between scheme and token.
        Some(b'\t') => return refuse(ErrorKind::MalformedAuthorizationHeader),
        // "Bearerfoo": some other scheme.
        Some(_) => return not_ours(),
    }
    // `1*SP` only: a tab after the spaces stays in the token, which then fails to parse.
    let start = rest
        .iter()
        .position(|byte| *byte != b' ')
        .unwrap_or(rest.len());
    let token = &rest[start..];
    if token.is_empty() {
        return refuse(ErrorKind::MalformedAuthorizationHeader);
    }
    if token.len() > max_token_bytes {
        return refuse(ErrorKind::TokenTooLong);
    }
    Ok(Some(Credentials { scheme, token }))
}

/// Whether a piece after a comma names a scheme scopegate reads. One fast scan first: most
/// headers have no comma, and splitting a kilobyte-long token byte by byte cost more than the
/// rest of the header's reading.
fn comma_joined(header: &[u8]) -> bool {
    header.contains(&b',')
        && header
            .split(|byte| *byte == b',')
            .skip(1)
            .any(|piece| scheme_of(piece.trim_ascii_start()).is_some())
}

/// The scheme the request's one `Authorization` header names (`DPoP`, `DPoP abc,d`), even
/// when its credentials cannot be read: a refusal of the header errs on that scheme's
/// challenge. `Scheme::None` for no header, several, or another scheme.
pub(crate) fn presented_scheme(headers: &HeaderMap) -> Scheme {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Scheme::None;
    };
    let bytes = value.as_bytes();
    scheme_of(bytes)
        .filter(|(_, len)| matches!(bytes.get(*len), None | Some(b' ' | b'\t')))
        .map_or(Scheme::None, |(scheme, _)| scheme)
}

/// The one `DPoP` proof header: two are 400 `invalid_request`, none is a missing proof.
pub(crate) fn dpop_proof(headers: &HeaderMap, max_proof_bytes: usize) -> Result<&str, ErrorKind> {
    let mut values = headers.get_all("dpop").iter();
    let Some(value) = values.next() else {
        return Err(ErrorKind::MissingDpopProof);
    };
    if values.next().is_some() {
        return Err(ErrorKind::MultipleDpopProofs);
    }
    if value.len() > max_proof_bytes {
        return Err(ErrorKind::MalformedDpopProof);
    }
    value.to_str().map_err(|_| ErrorKind::MalformedDpopProof)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(values: &[&[u8]]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(AUTHORIZATION, HeaderValue::from_bytes(value).unwrap());
        }
        map
    }

    fn read(values: &[&[u8]]) -> Result<Option<String>, ErrorKind> {
        credentials(&headers(values), 8192)
            .map(|found| found.map(|found| String::from_utf8_lossy(found.token).into_owned()))
    }

    #[test]
    fn scheme_is_case_insensitive_and_spaces_may_repeat() {
        for value in [
            &b"Bearer abc"[..],
            b"bearer abc",
            b"BEARER abc",
            b"Bearer   abc",
        ] {
            assert_eq!(read(&[value]), Ok(Some("abc".into())), "{value:?}");
        }
    }

    #[test]
    fn checked_names_the_comma_first_and_named_refusal_renames_any_refusal() {
        let bearer = |token: &'static [u8]| Credentials {
            scheme: Scheme::Bearer,
            token,
        };
        assert_eq!(bearer(b"a.b.c").checked(), Ok(bearer(b"a.b.c")));
        assert_eq!(
            bearer(b"a,\xff").checked(),
            Err(ErrorKind::CommaJoinedCredentials)
        );
        assert_eq!(bearer(b"a\xff").checked(), Err(ErrorKind::MalformedToken));
        assert_eq!(
            named_refusal(b"a,b", ErrorKind::Expired),
            ErrorKind::CommaJoinedCredentials
        );
        assert_eq!(named_refusal(b"ab", ErrorKind::Expired), ErrorKind::Expired);
    }

    #[test]
    fn no_credentials() {
        assert_eq!(read(&[]), Ok(None));
        assert_eq!(read(&[b"Basic dXNlcjpwYXNz"]), Ok(None));
        assert_eq!(read(&[b"Bearerabc"]), Ok(None));
        assert_eq!(read(&[b"Bear"]), Ok(None));
        assert_eq!(read(&[b"DPoPabc"]), Ok(None));
    }

    #[test]
    fn both_schemes_are_read() {
        for (value, scheme) in [
            (&b"Bearer abc"[..], Scheme::Bearer),
            (b"DPoP abc", Scheme::Dpop),
            (b"dpop  abc", Scheme::Dpop),
        ] {
            let map = headers(&[value]);
            let found = credentials(&map, 8192).unwrap().unwrap();
            assert_eq!((found.scheme, found.token), (scheme, &b"abc"[..]));
        }
        assert_eq!(
            read(&[b"Basic x, DPoP y"]),
            Err(ErrorKind::CommaJoinedCredentials)
        );
        assert_eq!(
            read(&[b"DPoP"]),
            Err(ErrorKind::MalformedAuthorizationHeader)
        );
    }

    #[test]
    fn the_presented_scheme_is_read_from_a_faulty_header() {
        for (values, scheme) in [
            (&[&b"DPoP"[..]][..], Scheme::Dpop),
            (&[b"dpop a,b"], Scheme::Dpop),
            (&[b"DPoP\tabc"], Scheme::Dpop),
            (&[b"Bearer"], Scheme::Bearer),
            (&[b"DPoPabc, Bearer x"], Scheme::None),
            (&[b"Basic x, DPoP y"], Scheme::None),
            (&[b"DPoP a", b"DPoP b"], Scheme::None),
            (&[], Scheme::None),
        ] {
            assert_eq!(presented_scheme(&headers(values)), scheme, "{values:?}");
        }
    }

    #[test]
    fn exactly_one_proof_header() {
        let mut map = HeaderMap::new();
        assert_eq!(dpop_proof(&map, 8192), Err(ErrorKind::MissingDpopProof));
        map.append("dpop", HeaderValue::from_static("a.b.c"));
        assert_eq!(dpop_proof(&map, 8192), Ok("a.b.c"));
        assert_eq!(dpop_proof(&map, 4), Err(ErrorKind::MalformedDpopProof));
        map.append("dpop", HeaderValue::from_static("d.e.f"));
        assert_eq!(dpop_proof(&map, 8192), Err(ErrorKind::MultipleDpopProofs));
    }

    #[test]
    fn header_faults_are_invalid_request() {
        assert_eq!(
            read(&[b"Bearer a", b"Bearer b"]),
            Err(ErrorKind::MultipleAuthorizationHeaders)
        );
        assert_eq!(
            read(&[b"Bearer a", b"Basic b"]),
            Err(ErrorKind::MultipleAuthorizationHeaders)
        );
        assert_eq!(
            read(&[b"Bearer a, Bearer b"]),
            Err(ErrorKind::CommaJoinedCredentials)
        );
        assert_eq!(
            read(&[b"Bearer a,b"]),
            Err(ErrorKind::CommaJoinedCredentials)
        );
        assert_eq!(
            read(&[b"Bearer"]),
            Err(ErrorKind::MalformedAuthorizationHeader)
        );
        assert_eq!(
            read(&[b"Bearer "]),
            Err(ErrorKind::MalformedAuthorizationHeader)
        );
        assert_eq!(
            read(&[b"Bearer\tabc"]),
            Err(ErrorKind::MalformedAuthorizationHeader)
        );
    }

    #[test]
    fn token_faults_are_left_to_the_parser_or_capped() {
        assert_eq!(read(&[b"Bearer a b"]), Ok(Some("a b".into())));
        assert_eq!(read(&[b"Bearer \tabc"]), Ok(Some("\tabc".into())));
        let long = [b"Bearer ".as_slice(), &[b'a'; 8193]].concat();
        assert_eq!(read(&[&long]), Err(ErrorKind::TokenTooLong));
        assert_eq!(read(&[b"Bearer \xff\xfe"]), Err(ErrorKind::MalformedToken));
    }
}
