//! The compact JWS (RFC 7515 §7.1): three strict base64url segments and a header scopegate
//! understands. Nothing here trusts the token yet; it only refuses what is malformed. The claims
//! are returned as bytes: what they mean is the validator's business.

use jsonwebtoken::Algorithm;

use super::algorithm::parse_algorithm;
use super::base64url;
use crate::error::ErrorKind;
use crate::json::{Member, Members};
use crate::syntax::is_valid_kid;

/// The header's `typ`, reduced to what the policy needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenType {
    Absent,
    Jwt,
    AccessToken,
    Other,
}

/// A token split, decoded and its header parsed, not yet verified.
#[derive(Debug)]
pub(crate) struct CompactToken {
    pub(crate) algorithm: Algorithm,
    pub(crate) kid: Option<Box<str>>,
    pub(crate) typ: TokenType,
    /// Length of `header.payload`, the signed bytes at the start of the token.
    pub(crate) signing_input_len: usize,
    pub(crate) signature: Vec<u8>,
    /// The decoded claims segment, not yet read.
    pub(crate) payload: Vec<u8>,
}

fn decode_segment(segment: &[u8]) -> Result<Vec<u8>, ErrorKind> {
    // The URL-safe alphabet without padding; trailing bits must be zero (canonical encoding).
    base64url::decode(segment).map_err(|_| ErrorKind::MalformedToken)
}

/// The size cap and the three non-empty segments, before any decoding. The dots are found
/// from both ends, so the payload, the longest segment, is not searched: a dot inside it is
/// not base64url, and refused as malformed when it is decoded, as a fourth segment would be.
/// The token is bytes: decoding refuses anything outside base64url, so no UTF-8 check is due.
fn split_compact(token: &[u8], max_len: usize) -> Result<[&[u8]; 3], ErrorKind> {
    if token.len() > max_len {
        return Err(ErrorKind::TokenTooLong);
    }
    let (Some(first), Some(last)) = (memchr::memchr(b'.', token), memchr::memrchr(b'.', token))
    else {
        return Err(ErrorKind::MalformedToken);
    };
    match (
        token.get(..first),
        token.get(first + 1..last),
        token.get(last + 1..),
    ) {
        (Some(header), Some(payload), Some(signature))
            if !header.is_empty() && !payload.is_empty() && !signature.is_empty() =>
        {
            Ok([header, payload, signature])
        }
        _ => Err(ErrorKind::MalformedToken),
    }
}

/// The decoded claims segment, unverified: only to choose which issuer's validator checks the
/// token, which then parses it again in full.
pub(crate) fn unverified_payload(token: &[u8], max_len: usize) -> Result<Vec<u8>, ErrorKind> {
    let [_, payload, _] = split_compact(token, max_len)?;
    decode_segment(payload)
}

/// A compact JWS split and decoded, nothing in it read yet.
pub(crate) struct DecodedParts {
    pub(crate) header: Vec<u8>,
    pub(crate) payload: Vec<u8>,
    pub(crate) signature: Vec<u8>,
    /// Length of `header.payload`, the signed bytes at the start of the token.
    pub(crate) signing_input_len: usize,
}

/// The size cap, three non-empty strict base64url segments, decoded.
pub(crate) fn decode_parts(token: &[u8], max_len: usize) -> Result<DecodedParts, ErrorKind> {
    let [header, payload, signature] = split_compact(token, max_len)?;
    Ok(DecodedParts {
        header: decode_segment(header)?,
        payload: decode_segment(payload)?,
        signature: decode_segment(signature)?,
        signing_input_len: header.len() + 1 + payload.len(),
    })
}

/// Splits `token` and parses its header, refusing anything malformed before any key is looked
/// at. The header is one strict JSON object: a repeated member name is malformed (RFC 7515 §4).
/// `jwk`, `jku`, `x5u` and `x5c` are never read: keys come only from the configured key set.
pub(crate) fn parse(token: &[u8], max_len: usize) -> Result<CompactToken, ErrorKind> {
    let parts = decode_parts(token, max_len)?;
    let header = Members::parse(&parts.header).map_err(|_| ErrorKind::MalformedToken)?;
    if header.has_repeated_names() {
        return Err(ErrorKind::MalformedToken);
    }
    let algorithm = match header.get("alg").text() {
        Some(name) => parse_algorithm(&name).ok_or(ErrorKind::UnsupportedAlgorithm)?,
        None => return Err(ErrorKind::UnsupportedAlgorithm),
    };
    // No extension is understood, so any `crit` (even `[]`, `null` or a non-array) is refused.
    if !matches!(header.get("crit"), Member::Absent) {
        return Err(ErrorKind::CriticalHeader);
    }
    let typ = match header.get("typ") {
        Member::Absent => TokenType::Absent,
        present => present
            .text()
            .map_or(TokenType::Other, |typ| classify_typ(&typ)),
    };
    let kid = match header.get("kid") {
        Member::Absent => None,
        present => match present.text() {
            Some(kid) if is_valid_kid(&kid) => Some(Box::from(&*kid)),
            _ => return Err(ErrorKind::InvalidKeyId),
        },
    };
    Ok(CompactToken {
        algorithm,
        kid,
        typ,
        signing_input_len: parts.signing_input_len,
        signature: parts.signature,
        payload: parts.payload,
    })
}

/// Whether a `typ` names this media type: compared case-insensitively, `application/` implied
/// (RFC 7515 §4.1.9).
pub(crate) fn typ_is(typ: &str, media_type: &str) -> bool {
    let prefix = "application/";
    let bare = match typ.get(..prefix.len()) {
        Some(head) if head.eq_ignore_ascii_case(prefix) => &typ[prefix.len()..],
        _ => typ,
    };
    bare.eq_ignore_ascii_case(media_type)
}

/// RFC 9068 §4 / RFC 8725 §3.11.
fn classify_typ(typ: &str) -> TokenType {
    if typ_is(typ, "jwt") {
        TokenType::Jwt
    } else if typ_is(typ, "at+jwt") {
        TokenType::AccessToken
    } else {
        TokenType::Other
    }
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::*;

    fn b64(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    fn token(header: &str, payload: &str) -> String {
        format!("{}.{}.c2ln", b64(header), b64(payload))
    }

    #[test]
    fn typ_forms() {
        assert_eq!(classify_typ("JWT"), TokenType::Jwt);
        assert_eq!(classify_typ("jwt"), TokenType::Jwt);
        assert_eq!(classify_typ("at+jwt"), TokenType::AccessToken);
        assert_eq!(classify_typ("Application/AT+JWT"), TokenType::AccessToken);
        assert_eq!(classify_typ("application/jwt"), TokenType::Jwt);
        assert_eq!(classify_typ("dpop+jwt"), TokenType::Other);
        assert_eq!(classify_typ("logout+jwt"), TokenType::Other);
        assert_eq!(classify_typ("application/"), TokenType::Other);
        assert_eq!(classify_typ(""), TokenType::Other);
    }

    #[test]
    fn header_rules() {
        let ok = token(r#"{"alg":"RS256","kid":"k"}"#, "{}");
        assert!(parse(ok.as_bytes(), 8192).is_ok());
        let cases = [
            (r#"{"alg":"none"}"#, ErrorKind::UnsupportedAlgorithm),
            (r#"{"alg":"NONE"}"#, ErrorKind::UnsupportedAlgorithm),
            (r#"{"alg":null}"#, ErrorKind::UnsupportedAlgorithm),
            (r#"{"kid":"k"}"#, ErrorKind::UnsupportedAlgorithm),
            (r#"{"alg":"RS256","crit":[]}"#, ErrorKind::CriticalHeader),
            (r#"{"alg":"RS256","crit":null}"#, ErrorKind::CriticalHeader),
            (
                r#"{"alg":"RS256","crit":["exp"]}"#,
                ErrorKind::CriticalHeader,
            ),
            (r#"{"alg":"RS256","kid":5}"#, ErrorKind::InvalidKeyId),
            (r#"{"alg":"RS256","kid":""}"#, ErrorKind::InvalidKeyId),
            (
                r#"{"alg":"RS256","kid":"a\u0000b"}"#,
                ErrorKind::InvalidKeyId,
            ),
            (
                r#"{"alg":"RS256","alg":"RS256"}"#,
                ErrorKind::MalformedToken,
            ),
            (r#"["alg"]"#, ErrorKind::MalformedToken),
            (r#"{"alg":"RS256","x":1,"x":2}"#, ErrorKind::MalformedToken),
            // A byte order mark is tolerated in an issuer's documents, never in a token.
            ("\u{feff}{\"alg\":\"RS256\"}", ErrorKind::MalformedToken),
        ];
        for (header, expected) in cases {
            assert_eq!(
                parse(token(header, "{}").as_bytes(), 8192).err(),
                Some(expected),
                "{header}"
            );
        }
    }

    #[test]
    fn shape_rules() {
        let header = b64(r#"{"alg":"RS256"}"#);
        let payload = b64("{}");
        for bad in [
            format!("{header}.{payload}"),
            format!("{header}.{payload}.c2ln.c2ln"),
            format!("{header}..c2ln"),
            format!("{header}.{payload}."),
            format!("{header}=.{payload}.c2ln"),
            format!("{header}.{payload}.c2ln="),
            format!("{header}.{payload}.c2l+"),
            format!("{header}.{payload}.c2l/"),
            // "cw" is canonical for one byte; "cx" sets a trailing bit: non-canonical.
            format!("{header}.{payload}.cx"),
        ] {
            assert_eq!(
                parse(bad.as_bytes(), 1 << 20).err(),
                Some(ErrorKind::MalformedToken),
                "{bad}"
            );
        }
        let long = format!("{header}.{payload}.{}", "A".repeat(9000));
        assert_eq!(
            parse(long.as_bytes(), 8192).err(),
            Some(ErrorKind::TokenTooLong)
        );
    }
}
