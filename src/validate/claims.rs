//! The claims a validator checks (RFC 7519 §4.1, RFC 9068 §2.2), read from the payload once.

use std::ops::Range;

use serde_json::Value;

use crate::error::ErrorKind;
use crate::grant::ScopeSource;
use crate::json;
use crate::principal::Confirmation;

/// The registered claims scopegate checks and the claims its issuer's scope sources name, read
/// in one pass over the payload. `None`: absent; `Some(Value::Null)`: present as `null`.
#[derive(Debug, Default)]
pub(crate) struct RegisteredClaims {
    pub(crate) iss: Option<Value>,
    pub(crate) aud: Option<Value>,
    pub(crate) exp: Option<Value>,
    pub(crate) nbf: Option<Value>,
    pub(crate) iat: Option<Value>,
    pub(crate) sub: Option<Value>,
    pub(crate) jti: Option<Value>,
    pub(crate) client_id: Option<Value>,
    pub(crate) azp: Option<Value>,
    /// Microsoft Entra ID's tenant, for issuer templates.
    pub(crate) tid: Option<Value>,
    /// AWS Cognito's `access` or `id`.
    pub(crate) token_use: Option<Value>,
    /// The key the token is bound to (RFC 7800, RFC 9449 §6).
    pub(crate) cnf: Option<Value>,
    /// One slot per scope source, in order: where the claim's raw JSON lies in the payload.
    pub(crate) scope_claims: Vec<Option<Range<usize>>>,
}

impl RegisteredClaims {
    /// Reads the payload: one strict JSON object in which no claim scopegate reads is repeated
    /// (a duplicate would resolve one way here and another way in a handler). Other repeated
    /// names are left to [`Authenticated::claim`](crate::Authenticated::claim), which treats
    /// them as absent.
    pub(crate) fn read(payload: &[u8], sources: &[ScopeSource]) -> Result<Self, ErrorKind> {
        let mut claims = RegisteredClaims {
            scope_claims: vec![None; sources.len()],
            ..RegisteredClaims::default()
        };
        let mut malformed = false;
        // One pass over the members, nothing collected: this runs on every request. Scope
        // claims are only located (read when a requirement asks); the registered ones are
        // parsed.
        json::scan(payload, |name, raw| {
            let slot = match &*name {
                "iss" => &mut claims.iss,
                "aud" => &mut claims.aud,
                "exp" => &mut claims.exp,
                "nbf" => &mut claims.nbf,
                "iat" => &mut claims.iat,
                "sub" => &mut claims.sub,
                "jti" => &mut claims.jti,
                "client_id" => &mut claims.client_id,
                "azp" => &mut claims.azp,
                "token_use" => &mut claims.token_use,
                "tid" => &mut claims.tid,
                "cnf" => &mut claims.cnf,
                other => {
                    let index = sources.iter().position(|source| source.name() == other);
                    if let Some(slot) = index.and_then(|index| claims.scope_claims.get_mut(index)) {
                        if slot.is_some() {
                            malformed = true;
                        }
                        // The raw text lies inside `payload`: its offset is where it starts.
                        let start = (raw.as_ptr() as usize).wrapping_sub(payload.as_ptr() as usize);
                        *slot = Some(start..start + raw.len());
                    }
                    return;
                }
            };
            if slot.is_some() {
                malformed = true;
                return;
            }
            match value_of(raw) {
                // `cnf` is read through `Value`, which would resolve a repeated member last-wins:
                // a repeated one binds to nothing scopegate can name (refused as unsupported).
                Ok(_)
                    if &*name == "cnf"
                        && json::Members::parse(raw.as_bytes())
                            .is_ok_and(|members| members.has_repeated_names()) =>
                {
                    *slot = Some(Value::Null)
                }
                Ok(value) => *slot = Some(value),
                Err(_) => malformed = true,
            }
        })
        .map_err(|_| ErrorKind::MalformedToken)?;
        if malformed {
            return Err(ErrorKind::MalformedToken);
        }
        Ok(claims)
    }
}

/// A registered claim's value. The grammar has checked `raw`, so its common forms, a string
/// without escapes and a whole number, are built without serde_json's dispatch, which cost
/// more than the rest of the claim checks on every uncached token.
fn value_of(raw: &str) -> Result<Value, serde_json::Error> {
    if let Some(text) = json::plain_string(raw) {
        return Ok(Value::String(text.to_owned()));
    }
    if raw.bytes().all(|byte| byte.is_ascii_digit())
        && let Ok(number) = raw.parse::<u64>()
    {
        return Ok(Value::from(number));
    }
    serde_json::from_str(raw)
}

/// `Ok(None)` when absent, `Err` when present but not a string.
pub(crate) fn optional_string(claim: &Option<Value>) -> Result<Option<&str>, ErrorKind> {
    match claim {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(ErrorKind::InvalidClaimType),
    }
}

/// What `cnf` binds the token to: only a lone `jkt` (a SHA-256 JWK thumbprint, 43 characters
/// of base64url) is something scopegate can check; any other binding is kept as unsupported, so
/// the token is refused rather than taken as a bearer token.
pub(crate) fn confirmation(cnf: &Option<Value>) -> Confirmation {
    let Some(cnf) = cnf else {
        return Confirmation::None;
    };
    let jkt = cnf
        .as_object()
        .filter(|members| members.len() == 1)
        .and_then(|members| members.get("jkt"))
        .and_then(Value::as_str)
        .filter(|jkt| jkt.len() == 43 && jkt.bytes().all(is_base64url));
    match jkt {
        Some(jkt) => Confirmation::Jkt(jkt.into()),
        None => Confirmation::Unsupported,
    }
}

fn is_base64url(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_'
}

/// [`optional_string`], moved out of the claim for the principal to keep.
pub(crate) fn owned_string(claim: Option<Value>) -> Result<Option<String>, ErrorKind> {
    match claim {
        None => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(ErrorKind::InvalidClaimType),
    }
}

/// `aud`: a string, or a non-empty array of strings.
pub(crate) fn audiences(aud: Option<Value>) -> Option<Vec<String>> {
    match aud? {
        Value::String(one) => Some(vec![one]),
        Value::Array(many) if !many.is_empty() => many
            .into_iter()
            .map(|item| match item {
                Value::String(text) => Some(text),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

#[derive(Clone, Copy)]
pub(crate) enum Rounding {
    /// For `exp`: a fractional expiry counts as the whole second before it.
    Down,
    /// For `nbf`/`iat`: a fractional start counts as the next whole second.
    Up,
}

/// A NumericDate (RFC 7519 §2): a JSON number of seconds, possibly fractional.
pub(crate) fn numeric_date(claim: &Option<Value>, rounding: Rounding) -> Option<i64> {
    let Some(Value::Number(number)) = claim else {
        return None;
    };
    if let Some(seconds) = number.as_i64() {
        return Some(seconds);
    }
    if number.as_u64().is_some() {
        return Some(i64::MAX);
    }
    let seconds = number.as_f64()?;
    // `as` saturates at the i64 bounds.
    Some(match rounding {
        Rounding::Down => seconds.floor() as i64,
        Rounding::Up => seconds.ceil() as i64,
    })
}

/// An optional NumericDate; present with another type is `wrong_type`.
pub(crate) fn optional_date(
    claim: &Option<Value>,
    wrong_type: ErrorKind,
) -> Result<Option<i64>, ErrorKind> {
    match claim {
        None => Ok(None),
        present => numeric_date(present, Rounding::Up)
            .map(Some)
            .ok_or(wrong_type),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(json: &str) -> Option<Value> {
        Some(serde_json::from_str(json).unwrap())
    }

    #[test]
    fn numeric_dates() {
        assert_eq!(numeric_date(&date("10"), Rounding::Down), Some(10));
        assert_eq!(numeric_date(&date("10.5"), Rounding::Down), Some(10));
        assert_eq!(numeric_date(&date("10.5"), Rounding::Up), Some(11));
        assert_eq!(numeric_date(&date("-3"), Rounding::Down), Some(-3));
        assert_eq!(
            numeric_date(&date("18446744073709551615"), Rounding::Down),
            Some(i64::MAX)
        );
        assert_eq!(numeric_date(&date("1e300"), Rounding::Down), Some(i64::MAX));
        assert_eq!(numeric_date(&date("\"10\""), Rounding::Down), None);
        assert_eq!(numeric_date(&date("null"), Rounding::Down), None);
        assert_eq!(numeric_date(&None, Rounding::Down), None);
    }

    #[test]
    fn values_built_without_serde_are_what_serde_builds() {
        for raw in [
            r#""""#,
            r#""plain""#,
            r#""q\"uote""#,
            r#""\u00e9""#,
            "0",
            "1700000000",
            "18446744073709551615",
            "18446744073709551616",
            "-3",
            "10.5",
            "1e3",
            "null",
            "[\"a\"]",
        ] {
            assert_eq!(
                value_of(raw).unwrap(),
                serde_json::from_str::<Value>(raw).unwrap(),
                "{raw}"
            );
        }
    }

    #[test]
    fn audience_forms() {
        assert_eq!(audiences(date(r#""a""#)), Some(vec!["a".to_owned()]));
        assert_eq!(
            audiences(date(r#"["a","b"]"#)),
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        assert_eq!(audiences(date("[]")), None);
        assert_eq!(audiences(date(r#"["a",1]"#)), None);
        assert_eq!(audiences(date("1")), None);
        assert_eq!(audiences(date("null")), None);
        assert_eq!(audiences(None), None);
    }

    #[test]
    fn repeated_read_claims_are_malformed_and_others_are_not() {
        let sources = [ScopeSource::SCOPE];
        for payload in [
            r#"{"iss":"a","iss":"b"}"#,
            r#"{"scope":"a","scope":"b"}"#,
            r#"{"azp":"a","azp":"a"}"#,
            "[1]",
        ] {
            assert_eq!(
                RegisteredClaims::read(payload.as_bytes(), &sources).err(),
                Some(ErrorKind::MalformedToken),
                "{payload}"
            );
        }
        let claims =
            RegisteredClaims::read(br#"{"iss":"a","org":1,"org":2,"nbf":null}"#, &sources).unwrap();
        assert_eq!(claims.iss, Some(Value::String("a".into())));
        assert_eq!(claims.nbf, Some(Value::Null));
        assert_eq!(claims.exp, None);
    }
}
