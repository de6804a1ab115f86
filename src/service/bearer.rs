//! Reading the bearer token from the request headers (RFC 6750 §2.1, SECURITY-BAR §1).

use http::HeaderMap;
use http::header::AUTHORIZATION;

use crate::error::ErrorKind;

/// The token in `Authorization: Bearer <token>`.
///
/// `Ok(None)`: no bearer credentials (no header, or another scheme such as `Basic`).
/// The token is returned as written; its syntax is the token parser's business, so a bad
/// token is 401 `invalid_token` rather than 400.
pub(crate) fn bearer_token(
    headers: &HeaderMap,
    max_token_bytes: usize,
) -> Result<Option<&str>, ErrorKind> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(ErrorKind::MultipleAuthorizationHeaders);
    }
    let bytes = value.as_bytes();
    const SCHEME: &[u8] = b"bearer";
    let is_bearer = |credentials: &[u8]| {
        credentials
            .get(..SCHEME.len())
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case(SCHEME))
    };
    // A bearer token behind a comma, whatever comes first ("Basic x, Bearer y").
    if bytes
        .split(|byte| *byte == b',')
        .skip(1)
        .any(|piece| is_bearer(piece.trim_ascii_start()))
    {
        return Err(ErrorKind::CommaJoinedCredentials);
    }
    if !is_bearer(bytes) {
        return Ok(None);
    }
    let rest = &bytes[SCHEME.len()..];
    match rest.first() {
        // "Bearer" alone: the scheme with an empty token.
        None => return Err(ErrorKind::MalformedAuthorizationHeader),
        Some(b' ') => {}
        // RFC 6750 allows only spaces between scheme and token.
        Some(b'\t') => return Err(ErrorKind::MalformedAuthorizationHeader),
        // "Bearerfoo": some other scheme.
        Some(_) => return Ok(None),
    }
    // `1*SP` only: a tab after the spaces stays in the token, which then fails to parse.
    let start = rest
        .iter()
        .position(|byte| *byte != b' ')
        .unwrap_or(rest.len());
    let token = &rest[start..];
    if token.is_empty() {
        return Err(ErrorKind::MalformedAuthorizationHeader);
    }
    if token.len() > max_token_bytes {
        return Err(ErrorKind::TokenTooLong);
    }
    // A b64token never contains a comma: one here joins two credentials ("Bearer a,b").
    if token.contains(&b',') {
        return Err(ErrorKind::CommaJoinedCredentials);
    }
    // Bytes outside visible ASCII can never be a JWS; the parser would refuse them anyway.
    std::str::from_utf8(token)
        .map(Some)
        .map_err(|_| ErrorKind::MalformedToken)
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
        bearer_token(&headers(values), 8192).map(|token| token.map(str::to_owned))
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
    fn no_credentials() {
        assert_eq!(read(&[]), Ok(None));
        assert_eq!(read(&[b"Basic dXNlcjpwYXNz"]), Ok(None));
        assert_eq!(read(&[b"Bearerabc"]), Ok(None));
        assert_eq!(read(&[b"Bear"]), Ok(None));
        assert_eq!(read(&[b"DPoP abc"]), Ok(None));
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
