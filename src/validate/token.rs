//! The compact JWS: three strict base64url segments, a header scopegate understands, and the
//! raw claims. Nothing here trusts the token yet; it only refuses what is malformed.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::error::ErrorKind;
use crate::jwks::keys::{is_valid_kid, parse_algorithm, starts_as_object};
use crate::scope::ScopeSource;

/// A JSON member that may be absent, and if present may hold any JSON value, `null` included.
/// `Option<Value>` would read `null` as absent, which would let `"crit": null` slip through.
#[derive(Debug, Default)]
pub(crate) enum Member {
    #[default]
    Absent,
    Present(Value),
}

impl<'de> Deserialize<'de> for Member {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Value::deserialize(deserializer).map(Member::Present)
    }
}

impl Member {
    pub(crate) fn as_value(&self) -> Option<&Value> {
        match self {
            Member::Absent => None,
            Member::Present(value) => Some(value),
        }
    }

    /// `Ok(None)` when absent, `Err` when present but not a string.
    pub(crate) fn as_str(&self) -> Result<Option<&str>, ()> {
        match self {
            Member::Absent => Ok(None),
            Member::Present(Value::String(text)) => Ok(Some(text)),
            Member::Present(_) => Err(()),
        }
    }

    pub(crate) fn into_value(self) -> Option<Value> {
        match self {
            Member::Absent => None,
            Member::Present(value) => Some(value),
        }
    }

    pub(crate) fn into_string(self) -> Option<String> {
        match self {
            Member::Present(Value::String(text)) => Some(text),
            _ => None,
        }
    }
}

/// The header members scopegate reads. Derived deserialization refuses a repeated member.
/// `jwk`, `jku`, `x5u` and `x5c` are deliberately not read: keys come only from the configured
/// key set (SECURITY-BAR §3).
#[derive(Deserialize)]
struct RawHeader {
    #[serde(default)]
    alg: Member,
    #[serde(default)]
    kid: Member,
    #[serde(default)]
    typ: Member,
    #[serde(default)]
    crit: Member,
}

/// The registered claims scopegate checks, and the claims configured as scope sources, read in
/// one pass. A repeated name among them makes the token malformed: a duplicate would otherwise
/// resolve last-wins here and differently elsewhere.
#[derive(Default)]
pub(crate) struct RawClaims {
    pub(crate) iss: Member,
    pub(crate) aud: Member,
    pub(crate) exp: Member,
    pub(crate) nbf: Member,
    pub(crate) iat: Member,
    pub(crate) sub: Member,
    pub(crate) jti: Member,
    pub(crate) client_id: Member,
    /// One slot per configured scope source, in order.
    pub(crate) captured: Vec<Member>,
}

const REGISTERED: [&str; 8] = ["iss", "aud", "exp", "nbf", "iat", "sub", "jti", "client_id"];

impl RawClaims {
    fn registered_mut(&mut self, index: usize) -> Option<&mut Member> {
        Some(match index {
            0 => &mut self.iss,
            1 => &mut self.aud,
            2 => &mut self.exp,
            3 => &mut self.nbf,
            4 => &mut self.iat,
            5 => &mut self.sub,
            6 => &mut self.jti,
            7 => &mut self.client_id,
            _ => return None,
        })
    }
}

/// Reads a claims object, capturing the members named in `capture` besides the registered ones.
struct ClaimsSeed<'a> {
    capture: &'a [ScopeSource],
}

enum Key {
    Registered(usize),
    Captured(usize),
    Other,
}

struct KeySeed<'a>(&'a [ScopeSource]);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Key;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Key, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed<'_> {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a claim name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        if let Some(index) = REGISTERED.iter().position(|name| *name == key) {
            return Ok(Key::Registered(index));
        }
        Ok(
            match self.0.iter().position(|source| source.name() == key) {
                Some(index) => Key::Captured(index),
                None => Key::Other,
            },
        )
    }
}

impl<'de> DeserializeSeed<'de> for ClaimsSeed<'_> {
    type Value = RawClaims;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawClaims, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ClaimsSeed<'_> {
    type Value = RawClaims;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object of claims")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawClaims, A::Error> {
        let mut claims = RawClaims {
            captured: (0..self.capture.len()).map(|_| Member::Absent).collect(),
            ..RawClaims::default()
        };
        while let Some(key) = map.next_key_seed(KeySeed(self.capture))? {
            let slot = match key {
                Key::Registered(index) => claims.registered_mut(index),
                Key::Captured(index) => claims.captured.get_mut(index),
                Key::Other => None,
            };
            match slot {
                Some(Member::Present(_)) => return Err(de::Error::custom("repeated claim")),
                Some(slot) => *slot = Member::Present(map.next_value()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(claims)
    }
}

/// The header's `typ`, reduced to what the policy needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenType {
    Absent,
    Jwt,
    AccessToken,
    Other,
}

/// A token split, decoded and parsed, not yet verified.
pub(crate) struct ParsedToken {
    pub(crate) algorithm: Algorithm,
    pub(crate) kid: Option<Box<str>>,
    pub(crate) typ: TokenType,
    /// Length of `header.payload`, the signed bytes at the start of the token.
    pub(crate) signing_input_len: usize,
    pub(crate) signature: Vec<u8>,
    pub(crate) payload: Vec<u8>,
    pub(crate) claims: RawClaims,
}

fn decode_segment(segment: &str) -> Result<Vec<u8>, ErrorKind> {
    // The standard alphabet without padding; trailing bits must be zero (canonical encoding).
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| ErrorKind::MalformedToken)
}

/// The size cap and the three non-empty segments, before any decoding.
fn split_compact(token: &str, max_len: usize) -> Result<[&str; 3], ErrorKind> {
    if token.len() > max_len {
        return Err(ErrorKind::TokenTooLong);
    }
    let mut segments = token.split('.');
    match (
        segments.next(),
        segments.next(),
        segments.next(),
        segments.next(),
    ) {
        (Some(header), Some(payload), Some(signature), None)
            if !header.is_empty() && !payload.is_empty() && !signature.is_empty() =>
        {
            Ok([header, payload, signature])
        }
        _ => Err(ErrorKind::MalformedToken),
    }
}

/// The token's `iss`, unverified: only to choose which issuer's validator checks it. Absent,
/// not a string, or repeated: `IssuerMismatch`.
pub(crate) fn unverified_issuer(token: &str, max_len: usize) -> Result<String, ErrorKind> {
    let [_, payload, _] = split_compact(token, max_len)?;
    let payload = decode_segment(payload)?;
    crate::claims::find_claim::<String>(&payload, "iss").ok_or(ErrorKind::IssuerMismatch)
}

/// Parses a JSON object. Derived struct deserialization would also take an array (fields by
/// position), which no other JOSE implementation does: refuse anything but an object.
fn parse_object<T>(
    json: &[u8],
    seed: impl for<'de> DeserializeSeed<'de, Value = T>,
) -> Result<T, ErrorKind> {
    if !starts_as_object(json) {
        return Err(ErrorKind::MalformedToken);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let value = seed
        .deserialize(&mut deserializer)
        .map_err(|_| ErrorKind::MalformedToken)?;
    deserializer.end().map_err(|_| ErrorKind::MalformedToken)?;
    Ok(value)
}

/// Splits and parses `token`, refusing anything malformed before any key is looked at.
/// `capture`: the scope-source claims to read besides the registered ones.
pub(crate) fn parse(
    token: &str,
    max_len: usize,
    capture: &[ScopeSource],
) -> Result<ParsedToken, ErrorKind> {
    let [header_b64, payload_b64, signature_b64] = split_compact(token, max_len)?;
    let header_json = decode_segment(header_b64)?;
    let header: RawHeader = parse_object(&header_json, PhantomData)?;
    let algorithm = match header.alg.as_str() {
        Ok(Some(name)) => parse_algorithm(name).ok_or(ErrorKind::UnsupportedAlgorithm)?,
        _ => return Err(ErrorKind::UnsupportedAlgorithm),
    };
    // No extension is understood, so any `crit` (even `[]` or a non-array) is refused.
    if header.crit.as_value().is_some() {
        return Err(ErrorKind::CriticalHeader);
    }
    let typ = match header.typ.as_str() {
        Ok(None) => TokenType::Absent,
        Ok(Some(typ)) => classify_typ(typ),
        Err(()) => TokenType::Other,
    };
    let kid = match header.kid.as_str() {
        Ok(None) => None,
        Ok(Some(kid)) if is_valid_kid(kid) => Some(Box::from(kid)),
        _ => return Err(ErrorKind::InvalidKeyId),
    };

    let payload = decode_segment(payload_b64)?;
    let claims = parse_object(&payload, ClaimsSeed { capture })?;
    let signature = decode_segment(signature_b64)?;

    Ok(ParsedToken {
        algorithm,
        kid,
        typ,
        signing_input_len: header_b64.len() + 1 + payload_b64.len(),
        signature,
        payload,
        claims,
    })
}

/// RFC 9068 §4 / RFC 8725 §3.11: compared case-insensitively, `application/` implied.
fn classify_typ(typ: &str) -> TokenType {
    let prefix = "application/";
    let bare = match typ.get(..prefix.len()) {
        Some(head) if head.eq_ignore_ascii_case(prefix) => &typ[prefix.len()..],
        _ => typ,
    };
    if bare.eq_ignore_ascii_case("jwt") {
        TokenType::Jwt
    } else if bare.eq_ignore_ascii_case("at+jwt") {
        TokenType::AccessToken
    } else {
        TokenType::Other
    }
}

#[cfg(test)]
mod tests {
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
        assert!(parse(&ok, 8192, &[]).is_ok());
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
        ];
        for (header, expected) in cases {
            assert_eq!(
                parse(&token(header, "{}"), 8192, &[]).err(),
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
            format!("{header}.{}.c2ln", b64(r#"{"iss":"a","iss":"b"}"#)),
            format!("{header}.{}.c2ln", b64("[1]")),
            format!("{header}.{}.c2ln", b64(&"[".repeat(5000))),
        ] {
            assert_eq!(
                parse(&bad, 1 << 20, &[]).err(),
                Some(ErrorKind::MalformedToken),
                "{bad}"
            );
        }
        let long = format!("{header}.{payload}.{}", "A".repeat(9000));
        assert_eq!(parse(&long, 8192, &[]).err(), Some(ErrorKind::TokenTooLong));
    }
}
