//! Entry points for the cargo-fuzz targets in `fuzz/` (feature `fuzzing`): not a public API.
//!
//! Each function takes arbitrary bytes, drives one of the crate's parsers with them, and returns
//! nothing. A panic is a finding: either in the code under test, or one of the cheap invariants
//! asserted here (a token parsed as valid has three segments, a bound scope is a scope-token, a
//! normalized origin normalizes to itself, ...). `tests/suite/fuzz_corpora.rs` replays the
//! committed corpora through the same functions on the stable toolchain.

use std::future::Future;
use std::task::{Context, Poll, Waker};

use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use jsonwebtoken::Algorithm;
use serde::de::IgnoredAny;

use crate::boxed::BoxFuture;
use crate::dpop::Dpop;
use crate::dpop::htu::{Origin, htu_matches};
use crate::dpop::proof::{ProofClaims, ProofRequest, check_proof};
use crate::grant::{GrantedScopes, ParamValue, RolePolicy, ScopeSource, ScopeTemplate};
use crate::grant::{check_template, is_bindable};
use crate::jose::{self, AlgorithmSet, KeyRules, KeySet, Lookup};
use crate::json::{self, Member, Members};
use crate::jwks::document::discover;
use crate::jwks::{FetchError, JwksFetcher};
use crate::principal::Confirmation;
use crate::service::credentials::{credentials, dpop_proof as dpop_proof_header};
use crate::service::sources::TokenSources;
use crate::syntax::{is_scope_token, is_valid_kid};
use crate::validate::DEFAULT_MAX_TOKEN_BYTES;
use crate::validate::claims::{self, RegisteredClaims, Rounding};

/// The issuer the discovery document must name.
pub const ISSUER: &str = "https://issuer.example/";

/// The public origin DPoP proofs are checked against.
pub const ORIGIN: &str = "https://api.example";

/// The request method DPoP proofs are checked against.
pub const METHOD: &str = "POST";

/// The request target DPoP proofs are checked against (the query is ignored).
pub const PATH: &str = "/rooms/a?x=1";

/// The access token DPoP proofs accompany (`ath` is its hash).
pub const ACCESS_TOKEN: &str = "fuzz-access-token";

/// The thumbprint of the key the seed proof in `fuzz/corpus/dpop_proof/` was signed with: the
/// key the access token is bound to.
pub const BOUND_TO: &str = "fAh9jja4w5LGctFl_uER7dwGNupJv7v6H1nupueZ0Ts";

/// The time DPoP proofs are checked at: the seed proof's `iat`.
pub const NOW: i64 = 1_767_225_600;

/// The claim the fixed role policy reads.
pub const ROLES_CLAIM: &str = "roles";

/// Request headers, one per line as `name: value`; a line `: target` (empty name) sets the
/// request target. Drives the `Authorization` and `DPoP` header readers and the opt-in token
/// sources (cookie, WebSocket subprotocol, WebSocket query), all enabled.
pub fn authorization_header(data: &[u8]) {
    let mut headers = HeaderMap::new();
    let mut target: &[u8] = b"/";
    for line in data.split(|byte| *byte == b'\n') {
        let Some(colon) = line.iter().position(|byte| *byte == b':') else {
            continue;
        };
        let (name, value) = line.split_at(colon);
        let value = &value[1..];
        let value = value.strip_prefix(b" ").unwrap_or(value);
        if name.is_empty() {
            target = value;
            continue;
        }
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            headers.append(name, value);
        }
    }
    let uri = Uri::try_from(target).unwrap_or_default();

    for max in [DEFAULT_MAX_TOKEN_BYTES, 16] {
        if let Ok(Some(found)) = credentials(&headers, max) {
            assert!(!found.token.is_empty() && found.token.len() <= max);
            assert!(!found.token.contains(&b','));
            let header = headers.get(AUTHORIZATION).map(HeaderValue::as_bytes);
            assert!(header.is_some_and(|header| header.ends_with(found.token)));
        }
        if let Ok(proof) = dpop_proof_header(&headers, max) {
            assert!(proof.len() <= max);
        }
        let all = TokenSources {
            cookie: Some("at".into()),
            websocket_protocol: true,
            websocket_query: true,
        };
        if let Ok(Some(token)) = all.token(&headers, &uri, max) {
            assert!(!token.is_empty() && token.len() <= max && !token.contains(','));
        }
        assert_eq!(TokenSources::default().token(&headers, &uri, max), Ok(None));
    }
    if let Some(origin) = Origin::forwarded(&headers) {
        assert_normalized(&origin);
    }
    if let Ok(name) = std::str::from_utf8(data) {
        let _ = TokenSources::check_cookie_name(name);
    }
}

/// How many `[` and `{` `data` holds, inside strings too: no document nests deeper.
fn nesting_bound(data: &[u8]) -> usize {
    data.iter()
        .filter(|byte| matches!(byte, b'[' | b'{'))
        .count()
}

/// A compact JWS: split, decoded and its header parsed, as for an access token. Any bytes:
/// the parser takes the header's bytes as they come.
pub fn compact_token(data: &[u8]) {
    let token = data;
    // The segment decoder refuses exactly what the `base64` crate's URL_SAFE_NO_PAD refuses.
    for piece in data.split(|byte| *byte == b'.') {
        use base64::Engine as _;
        assert_eq!(
            jose::base64url::decode(piece).ok(),
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(piece)
                .ok()
        );
    }
    let max = DEFAULT_MAX_TOKEN_BYTES;
    let parts = jose::decode_parts(token, max);
    let parsed = jose::parse(token, max);
    let unverified = jose::unverified_payload(token, max);
    match &parts {
        Ok(parts) => {
            assert!(token.len() <= max);
            assert_eq!(token.split(|byte| *byte == b'.').count(), 3);
            assert_eq!(
                Some(parts.signing_input_len),
                token.iter().rposition(|byte| *byte == b'.')
            );
            assert!(
                unverified
                    .as_ref()
                    .is_ok_and(|payload| *payload == parts.payload)
            );
        }
        Err(_) => assert!(parsed.is_err()),
    }
    if let (Ok(parsed), Ok(parts)) = (&parsed, &parts) {
        assert_eq!(parsed.signing_input_len, parts.signing_input_len);
        assert_eq!(parsed.payload, parts.payload);
        assert_eq!(parsed.signature, parts.signature);
        assert!(parsed.kid.as_deref().is_none_or(is_valid_kid));
        assert!(Members::parse(&parts.header).is_ok_and(|header| !header.has_repeated_names()));
    }
}

/// A document served by the issuer: read as a JWKS with the default rules (every asymmetric
/// algorithm, RSA keys without `alg` for RS256), and as an OIDC discovery document.
pub fn jwks_document(data: &[u8]) {
    let rules = KeyRules::allowing(AlgorithmSet::ASYMMETRIC);
    if let Ok(first) = KeySet::from_jwks_json(data, rules) {
        let members = json::find(json::without_bom(data), "keys")
            .ok()
            .and_then(|keys| keys.parse::<Vec<IgnoredAny>>())
            .map_or(0, |keys| keys.len());
        assert!(first.len() <= members);
        for algorithm in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
            match first.lookup(None, algorithm) {
                Lookup::Found(_) => assert_eq!(first.len(), 1),
                Lookup::UnknownKid => assert_eq!(first.len(), 0),
                Lookup::Ambiguous => assert!(first.len() > 1),
            }
        }
        // A refresh that serves the same document again.
        if let Ok(mut again) = KeySet::from_jwks_json(data, rules) {
            again.keep_unchanged_from(&first);
            assert_eq!(again.len(), first.len());
        }
    }

    let fetcher = Served(data.to_vec());
    let url = Uri::from_static("https://issuer.example/.well-known/openid-configuration");
    let discovery = std::pin::pin!(discover(&fetcher, &url, ISSUER));
    // The fetcher answers at once, so the first poll finishes discovery.
    let polled = discovery.poll(&mut Context::from_waker(Waker::noop()));
    if let Poll::Ready(Ok(jwks)) = polled {
        assert!(matches!(jwks.scheme_str(), Some("https" | "http")));
    }
}

/// A fetcher that answers every GET with 200 and the same body.
struct Served(Vec<u8>);

impl JwksFetcher for Served {
    fn get<'a>(
        &'a self,
        _url: &'a Uri,
        _max_body_bytes: usize,
    ) -> BoxFuture<'a, Result<http::Response<Vec<u8>>, FetchError>> {
        Box::pin(async move { Ok(http::Response::new(self.0.clone())) })
    }
}

/// A scope template, then NUL-separated path values bound to its parameters in order. A value
/// that is not UTF-8 is unusable, `\x01` is ambiguous, and a parameter without a value is
/// missing.
pub fn scope_template(data: &[u8]) {
    let mut pieces = data.split(|byte| *byte == 0);
    let Some(Ok(template)) = pieces.next().map(std::str::from_utf8) else {
        return;
    };
    let values: Vec<&[u8]> = pieces.collect();
    let checked = check_template(template);
    let parsed = ScopeTemplate::parse(template);
    assert_eq!(checked.err(), parsed.as_ref().err().copied());
    let Ok(parsed) = parsed else {
        return;
    };
    assert_eq!(parsed.source(), template);
    let names: Vec<&str> = parsed.parameters().collect();
    let value_of = |name: &str| {
        let index = names.iter().position(|known| *known == name);
        match index.and_then(|index| values.get(index)).copied() {
            None => ParamValue::Missing,
            Some([1]) => ParamValue::Ambiguous,
            Some(bytes) => match std::str::from_utf8(bytes) {
                Ok(value) => ParamValue::Value(value),
                Err(_) => ParamValue::Unusable,
            },
        }
    };
    if let Ok(scope) = parsed.bind(value_of) {
        assert!(is_scope_token(&scope), "{scope:?}");
        for name in &names {
            if let ParamValue::Value(value) = value_of(name) {
                assert!(is_bindable(value) && scope.contains(value));
            }
        }
    }
    let has_parameters = !names.is_empty();
    assert_eq!(parsed.may_overlap(&parsed), has_parameters);
    assert!(!parsed.has_parameter_before_trailing_star() || has_parameters);
    for other in ["manage:room-{tenant}", "read:all", "{a}-x-{b}"] {
        if let Ok(other) = ScopeTemplate::parse(other) {
            assert_eq!(parsed.may_overlap(&other), other.may_overlap(&parsed));
        }
    }
}

/// A role policy as JSON (serde), a NUL, and a claims object: the claims are expanded with the
/// policy read and with a fixed one reading [`ROLES_CLAIM`]. Without a NUL, the whole input is
/// both.
pub fn role_policy(data: &[u8]) {
    let (policy, claims) = match data.iter().position(|byte| *byte == 0) {
        Some(nul) => (&data[..nul], &data[nul + 1..]),
        None => (data, data),
    };
    let fixed = RolePolicy::new(ROLES_CLAIM)
        .role(
            "admin",
            [
                "add:comments-in-{tenant}",
                "delete:comments-in-:tenant",
                "read:all",
            ],
        )
        .and_then(|policy| policy.role("member", ["add:comments-in-{tenant}"]));
    let Ok(fixed) = fixed else {
        unreachable!("the fixed role policy is valid");
    };
    let read: Option<RolePolicy> = serde_json::from_slice(policy).ok();
    for policy in std::iter::once(&fixed).chain(&read) {
        let mut scopes = Vec::new();
        policy.expand(claims, &mut scopes);
        for scope in &scopes {
            assert!(is_scope_token(scope), "{scope:?}");
        }
        if !matches!(json::find(claims, policy.claim()), Ok(Member::Present(_))) {
            assert!(scopes.is_empty());
        }
    }
    if let Some(read) = &read {
        let _ = read.overlap_with(&fixed);
        let _ = fixed.overlap_with(read);
    }
}

/// A DPoP proof checked against a fixed request ([`METHOD`] [`PATH`] on [`ORIGIN`] at [`NOW`],
/// with [`ACCESS_TOKEN`] bound to [`BOUND_TO`]); its bytes also read as proof claims, and, split
/// at the first newline, as an `htu` and a request target compared by `htu_matches`.
pub fn dpop_proof(data: &[u8]) {
    let Ok(origin) = Origin::parse(ORIGIN) else {
        unreachable!("the fixed origin is valid");
    };
    let _ = ProofClaims::read(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let request = ProofRequest {
        method: METHOD,
        path: PATH,
        origin: &origin,
        access_token: ACCESS_TOKEN,
        bound_to: BOUND_TO,
        now: NOW,
    };
    if let Ok(checked) = check_proof(text, &Dpop::accepted(), &request, DEFAULT_MAX_TOKEN_BYTES) {
        assert_eq!(checked.replay_key.len(), 43);
    }

    let (htu, path) = text.split_once('\n').unwrap_or((text, "/rooms/a"));
    let matches = htu_matches(htu, &origin, path);
    // The request's query is ignored.
    assert_eq!(matches, htu_matches(htu, &origin, &format!("{path}?q=1")));
    if let Ok(other) = Origin::parse(htu) {
        assert_normalized(&other);
        let _ = htu_matches(htu, &other, path);
    }
}

/// A normalized origin parses back to itself (`fuzz/regressions/*/origin-empty-host` once
/// broke this: an empty host normalized to `https://`).
fn assert_normalized(origin: &Origin) {
    assert_eq!(Origin::parse(origin.as_str()).ok().as_ref(), Some(origin));
}

/// A claims object: the strict JSON reader (`Members`, `scan`, `find` agree with each other,
/// and with serde_json on which documents are one object), the registered claims, and the
/// scopes the default sources plus one custom claim grant.
pub fn claims(data: &[u8]) {
    let members = Members::parse(data);
    let mut scanned = 0;
    let scan = json::scan(data, |_, value| {
        scanned += 1;
        // Every value handed out reads alone, as its reader will read it.
        assert!(
            serde_json::from_str::<IgnoredAny>(value).is_ok(),
            "{value:?}"
        );
    });
    assert_eq!(members.is_ok(), scan.is_ok());
    // serde_json skips unread strings without checking their bytes, and any nesting depth.
    let serde_object = std::str::from_utf8(data).is_ok()
        && serde_json::from_slice::<std::collections::BTreeMap<String, IgnoredAny>>(data).is_ok();
    if nesting_bound(data) <= 128 {
        assert_eq!(
            scan.is_ok(),
            serde_object,
            "the grammar and serde_json disagree"
        );
    }
    if let Ok(members) = &members {
        assert_eq!(members.iter().count(), scanned);
        let mut repeated = false;
        for (name, _) in members.iter().take(16) {
            match (json::find(data, name), members.get(name)) {
                (Ok(Member::Present(found)), Member::Present(got)) => {
                    assert_eq!(found, got);
                }
                (Ok(Member::Repeated), Member::Repeated) => repeated = true,
                (found, got) => panic!("find {found:?} and get {got:?} disagree on {name:?}"),
            }
        }
        assert!(!repeated || members.has_repeated_names());
    }

    let sources = [
        ScopeSource::SCOPE,
        ScopeSource::SCP,
        ScopeSource::PERMISSIONS,
        ScopeSource::claim("https://example.com/scopes"),
    ];
    let Ok(read) = RegisteredClaims::read(data, &sources) else {
        return;
    };
    assert!(members.is_ok());
    let mut located = Vec::new();
    for (source, range) in sources.iter().zip(&read.scope_claims) {
        let Some(range) = range else {
            continue;
        };
        let raw = data.get(range.clone()).map(std::str::from_utf8);
        let Some(Ok(raw)) = raw else {
            panic!("the claim {} lies outside the payload", source.name());
        };
        assert!(serde_json::from_str::<IgnoredAny>(raw).is_ok());
        located.push((source, raw));
    }
    let granted = GrantedScopes::from_claims(ISSUER, Vec::new(), located.iter().copied(), true);
    for scope in granted.iter() {
        assert!(is_scope_token(scope) && granted.contains(scope));
        assert!(
            located
                .iter()
                .any(|(source, raw)| source.grants(raw, scope))
        );
    }
    if let Confirmation::Jkt(jkt) = claims::confirmation(&read.cnf) {
        assert_eq!(jkt.len(), 43);
    }
    let _ = claims::numeric_date(&read.exp, Rounding::Down);
    let _ = claims::optional_date(&read.nbf, crate::ErrorKind::InvalidClaimType);
    let _ = claims::audiences(read.aud.clone());
    let _ = claims::optional_string(&read.sub);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seeds reach past the first checks: a fuzzer mutating them starts deep.
    #[test]
    fn seeds_are_valid_inputs() {
        let Ok(origin) = Origin::parse(ORIGIN) else {
            panic!("the fixed origin is valid");
        };
        let request = ProofRequest {
            method: METHOD,
            path: PATH,
            origin: &origin,
            access_token: ACCESS_TOKEN,
            bound_to: BOUND_TO,
            now: NOW,
        };
        let proof = include_str!("../fuzz/corpus/dpop_proof/seed-es256");
        let checked = check_proof(proof, &Dpop::accepted(), &request, DEFAULT_MAX_TOKEN_BYTES);
        assert!(checked.is_ok(), "{checked:?}");

        for token in [
            &include_bytes!("../fuzz/corpus/compact_token/seed-rs256")[..],
            include_bytes!("../fuzz/corpus/compact_token/seed-es256"),
            include_bytes!("../fuzz/corpus/compact_token/seed-eddsa"),
            include_bytes!("../fuzz/corpus/compact_token/seed-rfc7520"),
        ] {
            assert!(
                jose::parse(token, DEFAULT_MAX_TOKEN_BYTES).is_ok(),
                "{token:?}"
            );
        }

        let rules = KeyRules::allowing(AlgorithmSet::ASYMMETRIC);
        let issuer = include_bytes!("../fuzz/corpus/jwks_document/seed-issuer");
        assert_eq!(KeySet::from_jwks_json(issuer, rules).unwrap().len(), 4);
        let rfc = include_bytes!("../fuzz/corpus/jwks_document/seed-rfc7520");
        assert_eq!(KeySet::from_jwks_json(rfc, rules).unwrap().len(), 1);
        let url = Uri::from_static("https://issuer.example/.well-known/openid-configuration");
        for document in [
            &include_bytes!("../fuzz/corpus/jwks_document/seed-discovery")[..],
            include_bytes!("../fuzz/corpus/jwks_document/seed-discovery-bom"),
        ] {
            let fetcher = Served(document.to_vec());
            let discovery = std::pin::pin!(discover(&fetcher, &url, ISSUER));
            let polled = discovery.poll(&mut Context::from_waker(Waker::noop()));
            assert!(matches!(polled, Poll::Ready(Ok(_))), "{polled:?}");
        }

        let policy = include_bytes!("../fuzz/corpus/role_policy/seed-policy");
        let nul = policy.iter().position(|byte| *byte == 0).unwrap();
        let read: RolePolicy = serde_json::from_slice(&policy[..nul]).unwrap();
        let mut scopes = Vec::new();
        read.expand(&policy[nul + 1..], &mut scopes);
        assert!(
            scopes
                .iter()
                .any(|scope| &**scope == "add:comments-in-room_2")
        );

        let sources = [ScopeSource::SCOPE, ScopeSource::PERMISSIONS];
        let access = include_bytes!("../fuzz/corpus/claims/seed-access");
        let read = RegisteredClaims::read(access, &sources).unwrap();
        assert!(read.scope_claims.iter().all(Option::is_some));
    }
}
