//! JWK Set documents (RFC 7517 §5) to verification keys, one member at a time
//! (SECURITY-BAR §3).

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use super::algorithm::{AlgorithmSet, parse_algorithm};
use super::material::Material;

use crate::json::{self, Members};
use crate::syntax::is_valid_kid;

/// Base64url for key material in a JWKS document. The document comes from the configured issuer,
/// not from the request, so padding is tolerated here (some issuers emit it); tokens use the
/// strict engine in `validate::token`.
const JWK_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// One usable verification key and the algorithms it may be used with.
pub(crate) struct VerifyingKey {
    pub(crate) permitted: AlgorithmSet,
    pub(crate) key: DecodingKey,
    /// The key parsed once for its one algorithm, when the backend can hold it so.
    #[cfg(feature = "aws-lc-rs")]
    pub(crate) parsed: Option<aws_lc_rs::signature::ParsedPublicKey>,
    /// The public key material as published (empty for local secrets): a refreshed key set
    /// keeps the very key object for an unchanged key.
    material: Box<[u8]>,
}

impl VerifyingKey {
    /// A key verified through jsonwebtoken on every use (HMAC secrets, tests).
    pub(crate) fn unparsed(permitted: AlgorithmSet, key: DecodingKey) -> Self {
        VerifyingKey {
            permitted,
            key,
            #[cfg(feature = "aws-lc-rs")]
            parsed: None,
            material: Box::default(),
        }
    }
}

/// The keys of one issuer, swapped in whole.
#[derive(Default)]
pub(crate) struct KeySet {
    /// Usually one key per `kid`; several only when they are of different families (RFC 7517
    /// §4.5 lets an RSA and an EC key share one).
    by_kid: HashMap<Box<str>, Vec<Arc<VerifyingKey>>>,
    /// Set when the whole set is one key: the only case where a token without `kid` is accepted.
    sole: Option<Arc<VerifyingKey>>,
    len: usize,
}

/// What looking a token's key up in a set found.
pub(crate) enum Lookup<'a> {
    Found(&'a Arc<VerifyingKey>),
    UnknownKid,
    /// No `kid` in the token and several keys to choose from.
    Ambiguous,
}

impl KeySet {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The key for a token's `kid` and `algorithm`: by `kid`, and among keys sharing it, the one
    /// whose family fits the algorithm (never "the first with that kid"). When none fits, the
    /// first is returned, and the algorithm check refuses it.
    pub(crate) fn lookup(&self, kid: Option<&str>, algorithm: Algorithm) -> Lookup<'_> {
        match kid {
            Some(kid) => match self.by_kid.get(kid).map(Vec::as_slice) {
                Some([only]) => Lookup::Found(only),
                Some(keys @ [first, ..]) => Lookup::Found(
                    keys.iter()
                        .find(|key| key.permitted.contains(algorithm))
                        .unwrap_or(first),
                ),
                _ => Lookup::UnknownKid,
            },
            None => match &self.sole {
                Some(key) => Lookup::Found(key),
                None if self.len == 0 => Lookup::UnknownKid,
                None => Lookup::Ambiguous,
            },
        }
    }

    /// Adds a key. A `kid` repeated within one key family keeps the first member: lookups stay
    /// exact and never try several keys. Keys of different families may share a `kid`.
    pub(crate) fn insert(&mut self, kid: Option<Box<str>>, key: VerifyingKey) {
        let key = Arc::new(key);
        if let Some(kid) = kid {
            let keys = self.by_kid.entry(kid).or_default();
            if keys
                .iter()
                .any(|other| other.permitted.same_family(key.permitted))
            {
                tracing::debug!("JWKS member skipped: repeated kid within one key family");
                return;
            }
            keys.push(key.clone());
        }
        self.len += 1;
        self.sole = if self.len == 1 { Some(key) } else { None };
    }

    /// Replaces each key that `previous` holds unchanged (same `kid`, material and algorithm)
    /// with `previous`'s own key object: tokens verified with it, in the verified-token cache,
    /// stay valid across a refresh that changed nothing for them.
    pub(crate) fn keep_unchanged_from(&mut self, previous: &KeySet) {
        let same = |a: &VerifyingKey, b: &VerifyingKey| {
            !a.material.is_empty() && a.material == b.material && a.permitted == b.permitted
        };
        for (kid, keys) in &mut self.by_kid {
            let Some(old_keys) = previous.by_kid.get(kid) else {
                continue;
            };
            for key in keys.iter_mut() {
                if let Some(old) = old_keys.iter().find(|old| same(old, key)) {
                    *key = old.clone();
                }
            }
        }
        if let (Some(sole), Some(old)) = (&self.sole, &previous.sole)
            && same(sole, old)
        {
            let old = old.clone();
            for keys in self.by_kid.values_mut() {
                for key in keys.iter_mut() {
                    if Arc::ptr_eq(key, sole) {
                        *key = old.clone();
                    }
                }
            }
            self.sole = Some(old);
        }
    }

    /// Parses a JWKS document, keeping the members usable under `rules`.
    /// Fails only when the document is not a JWKS at all; unusable members are skipped.
    pub(crate) fn from_jwks_json(document: &[u8], rules: KeyRules) -> Result<KeySet, String> {
        let not_a_jwks = || "the document is not a JSON object with one keys array".to_owned();
        let document = Members::parse(json::without_bom(document)).map_err(|_| not_a_jwks())?;
        let keys: Vec<Value> = document.get("keys").parse().ok_or_else(not_a_jwks)?;
        let mut set = KeySet::default();
        for member in &keys {
            match parse_member(member, rules) {
                Ok((kid, key)) => set.insert(kid, key),
                Err(reason) => tracing::debug!(reason, "JWKS member skipped"),
            }
        }
        Ok(set)
    }
}

/// What the API allows of a key set's members.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeyRules {
    /// The algorithms tokens may use.
    pub(crate) allowed: AlgorithmSet,
    /// The one algorithm of RSA keys published without `alg`; `None`: the first allowed, RS256
    /// before RS384 ... PS512.
    pub(crate) rsa_without_alg: Option<Algorithm>,
}

impl KeyRules {
    /// The default rules for `allowed`.
    pub(crate) fn allowing(allowed: AlgorithmSet) -> Self {
        KeyRules {
            allowed,
            rsa_without_alg: None,
        }
    }
}

/// Reads an optional string member; a present member of another type is an error.
fn optional_str<'a>(member: &'a Value, name: &str) -> Result<Option<&'a str>, &'static str> {
    match member.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err("a member has the wrong type"),
    }
}

fn required_bytes(member: &Value, name: &str) -> Result<Vec<u8>, &'static str> {
    let text = optional_str(member, name)?.ok_or("a required key parameter is missing")?;
    JWK_B64
        .decode(text)
        .map_err(|_| "a key parameter is not base64url")
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

fn parse_member(
    member: &Value,
    rules: KeyRules,
) -> Result<(Option<Box<str>>, VerifyingKey), &'static str> {
    let allowed = rules.allowed;
    if !member.is_object() {
        return Err("member is not an object");
    }
    let kid = match optional_str(member, "kid").map_err(|_| "kid is not a string")? {
        Some(kid) if is_valid_kid(kid) => Some(Box::from(kid)),
        Some(_) => return Err("kid is empty, too long or not printable ASCII"),
        None => None,
    };
    if optional_str(member, "use")?.is_some_and(|usage| usage != "sig") {
        return Err("use is not sig");
    }
    match member.get("key_ops") {
        None | Some(Value::Null) => {}
        Some(Value::Array(ops)) if ops.iter().any(|op| op == "verify") => {}
        Some(_) => return Err("key_ops does not include verify"),
    }

    let (family, key, material) = match optional_str(member, "kty")? {
        Some("RSA") => rsa_key(member)?,
        Some("EC") => ec_key(member)?,
        Some("OKP") => okp_key(member)?,
        // An HMAC secret in a published key set is a key-confusion hole: never use it.
        Some("oct") => return Err("kty oct is never taken from a key set"),
        _ => return Err("kty is missing or unknown"),
    };

    // Each key is used with exactly one algorithm (RFC 8725 §3.1): its own `alg`, or else the
    // one the API chose for RSA keys without `alg`, or else the first allowed algorithm of its
    // family (for RSA: RS256 before RS384 ... PS512).
    let permitted = match optional_str(member, "alg")? {
        Some(name) => {
            let alg = parse_algorithm(name).ok_or("alg is unknown")?;
            let only = AlgorithmSet::of([alg]);
            if only.intersect(family).is_empty() {
                return Err("alg does not fit the key type or curve");
            }
            only.intersect(allowed)
        }
        None => {
            let chosen = match rules.rsa_without_alg {
                Some(algorithm) if family == AlgorithmSet::RSA => AlgorithmSet::of([algorithm]),
                _ => family.intersect(allowed).first(),
            };
            let permitted = chosen.intersect(allowed);
            if family == AlgorithmSet::RSA
                && let Some(algorithm) = permitted.single()
            {
                tracing::info!(
                    target: "scopegate",
                    kid = optional_str(member, "kid").ok().flatten().unwrap_or(""),
                    algorithm = super::algorithm::algorithm_name(algorithm),
                    "an RSA key without alg verifies this algorithm only (ValidatorBuilder::rsa_keys_without_alg chooses another)"
                );
            }
            permitted
        }
    };
    if permitted.is_empty() {
        return Err("the key fits no allowed algorithm");
    }
    #[cfg(feature = "aws-lc-rs")]
    let parsed = permitted
        .single()
        .and_then(|algorithm| material.parse(algorithm));
    Ok((
        kid,
        VerifyingKey {
            permitted,
            key,
            #[cfg(feature = "aws-lc-rs")]
            parsed,
            material: material.bytes(),
        },
    ))
}

/// Members only a private key has (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The public key a DPoP proof carries in its header (RFC 9449 §4.2), for `algorithm` only,
/// and the input of its RFC 7638 thumbprint: the required members, in order, without
/// whitespace. A key with private members is refused.
pub(crate) fn embedded_key(
    member: &Value,
    algorithm: Algorithm,
) -> Result<(VerifyingKey, String), &'static str> {
    let Some(members) = member.as_object() else {
        return Err("jwk is not an object");
    };
    if PRIVATE_MEMBERS
        .iter()
        .any(|name| members.contains_key(*name))
    {
        return Err("jwk holds private key members");
    }
    let kty = optional_str(member, "kty")?;
    let (family, key, material) = match kty {
        Some("RSA") => rsa_key(member)?,
        Some("EC") => ec_key(member)?,
        Some("OKP") => okp_key(member)?,
        _ => return Err("kty is missing or not an asymmetric key type"),
    };
    let permitted = AlgorithmSet::of([algorithm]).intersect(family);
    if permitted.is_empty() {
        return Err("alg does not fit the key type or curve");
    }
    // What the key says of itself must allow this use, as for a key-set member.
    if let Some(own) = optional_str(member, "alg")?
        && parse_algorithm(own) != Some(algorithm)
    {
        return Err("the key's own alg is another algorithm");
    }
    if optional_str(member, "use")?.is_some_and(|usage| usage != "sig") {
        return Err("use is not sig");
    }
    match member.get("key_ops") {
        None | Some(Value::Null) => {}
        Some(Value::Array(ops)) if ops.iter().any(|op| op == "verify") => {}
        Some(_) => return Err("key_ops does not include verify"),
    }
    // Each value was decoded as base64url above, so it needs no JSON escaping. The thumbprint is
    // taken over the text: padding would make it another key's, so a client must send none.
    let text = |name| {
        optional_str(member, name)
            .ok()
            .flatten()
            .unwrap_or_default()
    };
    if ["e", "n", "x", "y"]
        .iter()
        .any(|name| text(name).contains('='))
    {
        return Err("jwk members are padded");
    }
    let thumbprint_input = match kty {
        Some("RSA") => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, text("e"), text("n")),
        Some("EC") => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            text("crv"),
            text("x"),
            text("y")
        ),
        _ => format!(
            r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#,
            text("crv"),
            text("x")
        ),
    };
    #[cfg(feature = "aws-lc-rs")]
    let parsed = material.parse(algorithm);
    let key = VerifyingKey {
        permitted,
        key,
        #[cfg(feature = "aws-lc-rs")]
        parsed,
        material: material.bytes(),
    };
    Ok((key, thumbprint_input))
}

/// A key's algorithm family, the key for jsonwebtoken, and its raw material.
type Parsed = (AlgorithmSet, DecodingKey, Material);

fn rsa_key(member: &Value) -> Result<Parsed, &'static str> {
    let n = required_bytes(member, "n")?;
    let e = required_bytes(member, "e")?;
    let n = strip_leading_zeros(&n);
    let e = strip_leading_zeros(&e);
    let Some(first) = n.first() else {
        return Err("RSA modulus is zero");
    };
    let bits = n.len() * 8 - first.leading_zeros() as usize;
    // RFC 7518 §3.3: 2048 bits at least. 8192 is the most the verifiers accept.
    if !(2048..=8192).contains(&bits) {
        return Err("RSA modulus size is out of range");
    }
    // e must be odd and at least 3; more than 8 bytes is no real exponent.
    let odd = e.last().is_some_and(|b| b & 1 == 1);
    if e.is_empty() || e.len() > 8 || !odd || (e.len() == 1 && e[0] < 3) {
        return Err("RSA exponent is invalid");
    }
    Ok((
        AlgorithmSet::RSA,
        DecodingKey::from_rsa_raw_components(n, e),
        Material::Rsa {
            n: n.to_vec(),
            e: e.to_vec(),
        },
    ))
}

fn ec_key(member: &Value) -> Result<Parsed, &'static str> {
    let (family, size) = match optional_str(member, "crv")? {
        Some("P-256") => (AlgorithmSet::P256, 32),
        Some("P-384") => (AlgorithmSet::P384, 48),
        _ => return Err("EC curve is missing or unsupported"),
    };
    let x = required_bytes(member, "x")?;
    let y = required_bytes(member, "y")?;
    if x.len() != size || y.len() != size {
        return Err("EC coordinates have the wrong length");
    }
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let key = DecodingKey::from_ec_components(&engine.encode(&x), &engine.encode(&y))
        .map_err(|_| "EC coordinates are invalid")?;
    let point = [&[4][..], &x, &y].concat();
    Ok((family, key, Material::Ec(point)))
}

fn okp_key(member: &Value) -> Result<Parsed, &'static str> {
    if optional_str(member, "crv")? != Some("Ed25519") {
        return Err("OKP curve is missing or unsupported");
    }
    let x = required_bytes(member, "x")?;
    if x.len() != 32 {
        return Err("Ed25519 key has the wrong length");
    }
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let key = DecodingKey::from_ed_components(&engine.encode(&x))
        .map_err(|_| "Ed25519 key is invalid")?;
    Ok((AlgorithmSet::ED25519, key, Material::Ed25519(x)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ed_member(kid: &str) -> Value {
        json!({"kty": "OKP", "crv": "Ed25519", "kid": kid,
               "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})
    }

    #[test]
    fn members_are_filtered_one_by_one() {
        let good = ed_member("good");
        let cases = [
            json!({"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"}),
            json!({"kty": "OKP", "crv": "Ed25519", "kid": 7, "x": good["x"]}),
            json!({"kty": "OKP", "crv": "Ed25519", "use": "enc", "x": good["x"]}),
            json!({"kty": "OKP", "crv": "Ed25519", "key_ops": ["encrypt"], "x": good["x"]}),
            json!({"kty": "OKP", "crv": "Ed448", "x": good["x"]}),
            json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}),
            json!({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}),
            json!({"kty": "RSA", "n": "AQAB", "e": "AQAB"}),
            json!({"kty": "OKP", "crv": "Ed25519", "alg": "RS256", "x": good["x"]}),
            json!({"kty": "XYZ"}),
            json!("not an object"),
        ];
        assert!(
            KeySet::from_jwks_json(b"[[]]", KeyRules::allowing(AlgorithmSet::ASYMMETRIC)).is_err()
        );
        for case in &cases {
            assert!(
                parse_member(case, KeyRules::allowing(AlgorithmSet::ASYMMETRIC)).is_err(),
                "{case}"
            );
        }
        let document = json!({"keys": [cases[0], cases[1], good, cases[3]]});
        let set = KeySet::from_jwks_json(
            document.to_string().as_bytes(),
            KeyRules::allowing(AlgorithmSet::ASYMMETRIC),
        )
        .unwrap();
        assert_eq!(set.len(), 1);
        assert!(matches!(
            set.lookup(Some("good"), Algorithm::EdDSA),
            Lookup::Found(_)
        ));
    }

    #[test]
    fn key_without_kid_only_when_alone() {
        let mut set = KeySet::default();
        let key =
            || VerifyingKey::unparsed(AlgorithmSet::ED25519, DecodingKey::from_ed_der(&[0; 32]));
        assert!(matches!(
            set.lookup(None, Algorithm::EdDSA),
            Lookup::UnknownKid
        ));
        set.insert(Some("a".into()), key());
        assert!(matches!(
            set.lookup(None, Algorithm::EdDSA),
            Lookup::Found(_)
        ));
        set.insert(Some("b".into()), key());
        assert!(matches!(
            set.lookup(None, Algorithm::EdDSA),
            Lookup::Ambiguous
        ));
        assert!(matches!(
            set.lookup(Some("B"), Algorithm::EdDSA),
            Lookup::UnknownKid
        ));
    }

    #[test]
    fn rsa_exponent_and_modulus_rules() {
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let n2048 = engine.encode([0xC5u8; 256]);
        let n1024 = engine.encode([0xC5u8; 128]);
        let ok = json!({"kty": "RSA", "n": n2048, "e": "AQAB"});
        let (_, key) = parse_member(&ok, KeyRules::allowing(AlgorithmSet::ASYMMETRIC)).unwrap();
        // Without its own alg, a key gets exactly one: the first allowed of its family.
        assert_eq!(key.permitted, AlgorithmSet::of([Algorithm::RS256]));
        let ps_only = AlgorithmSet::of([Algorithm::PS256, Algorithm::PS384]);
        let (_, key) = parse_member(&ok, KeyRules::allowing(ps_only)).unwrap();
        assert_eq!(key.permitted, AlgorithmSet::of([Algorithm::PS256]));
        for n in ["", "AA", "AAAA"] {
            let zero = json!({"kty": "RSA", "n": n, "e": "AQAB"});
            assert!(
                parse_member(&zero, KeyRules::allowing(AlgorithmSet::ASYMMETRIC)).is_err(),
                "{n:?}"
            );
        }
        let n8200 = engine.encode([0xC5u8; 1025]);
        let huge = json!({"kty": "RSA", "n": n8200, "e": "AQAB"});
        assert!(parse_member(&huge, KeyRules::allowing(AlgorithmSet::ASYMMETRIC)).is_err());
        let padded = json!({"kty": "RSA", "n": engine.encode([[0u8].as_slice(), &[0xC5; 256]].concat()), "e": "AQAB"});
        assert!(parse_member(&padded, KeyRules::allowing(AlgorithmSet::ASYMMETRIC)).is_ok());
        for (n, e) in [
            (&n1024, "AQAB"),
            (&n2048, "AQ"),
            (&n2048, "Ag"),
            (&n2048, "AAE"),
        ] {
            let member = json!({"kty": "RSA", "n": n, "e": e});
            assert!(
                parse_member(&member, KeyRules::allowing(AlgorithmSet::ASYMMETRIC)).is_err(),
                "{member}"
            );
        }
        // An RSA key may not be used for ES256 even when its alg says so.
        let mislabelled = json!({"kty": "RSA", "n": n2048, "e": "AQAB", "alg": "ES256"});
        assert!(parse_member(&mislabelled, KeyRules::allowing(AlgorithmSet::ASYMMETRIC)).is_err());
        // Its own alg narrows it to one algorithm.
        let labelled = json!({"kty": "RSA", "n": n2048, "e": "AQAB", "alg": "PS256"});
        let (_, key) =
            parse_member(&labelled, KeyRules::allowing(AlgorithmSet::ASYMMETRIC)).unwrap();
        assert!(key.permitted.contains(Algorithm::PS256));
        assert!(!key.permitted.contains(Algorithm::RS256));
    }

    #[test]
    fn a_refreshed_set_keeps_the_key_objects_of_unchanged_keys() {
        let rules = KeyRules::allowing(AlgorithmSet::ASYMMETRIC);
        let other = json!({"kty": "OKP", "crv": "Ed25519", "kid": "b",
            "x": "fUHyO2AfFs0V6F5LnvBRNJLiwnyUKONHDZUbKUBzUdE"});
        let first = json!({"keys": [ed_member("a"), other]}).to_string();
        let old = KeySet::from_jwks_json(first.as_bytes(), rules).unwrap();
        // "a" unchanged, "b" replaced in place with other material.
        let second = json!({"keys": [ed_member("a"), ed_member("b")]}).to_string();
        let mut new = KeySet::from_jwks_json(second.as_bytes(), rules).unwrap();
        new.keep_unchanged_from(&old);
        let key = |set: &KeySet, kid: &str| match set.lookup(Some(kid), Algorithm::EdDSA) {
            Lookup::Found(key) => key.clone(),
            _ => panic!("{kid} must be found"),
        };
        assert!(Arc::ptr_eq(&key(&new, "a"), &key(&old, "a")));
        assert!(!Arc::ptr_eq(&key(&new, "b"), &key(&old, "b")));
    }
}
