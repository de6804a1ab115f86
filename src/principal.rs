//! The verified principal: a token that passed every check, its claims, and the scopes it
//! grants under the API's grant policy.

use std::any::Any;
use std::fmt;
use std::ops::Range;
use std::sync::{Arc, LazyLock, OnceLock};

use jsonwebtoken::Algorithm;
use serde::de::DeserializeOwned;

use crate::grant::{GrantPolicy, GrantedScopes, ScopeSource};
use crate::jose::VerifyingKey;
use crate::json;

/// A verified access token: typed registered claims, and any other claim by name.
///
/// The [`AuthLayer`](crate::AuthLayer) puts one in the request extensions when the token is
/// valid; with the `axum` feature it is an extractor. Cheap to clone.
///
/// ```
/// use scopegate::Authenticated;
///
/// async fn me(auth: Authenticated) -> String {
///     let org: Option<String> = auth.claim("org_id");
///     format!("{} in {:?}", auth.subject().unwrap_or("?"), org)
/// }
/// ```
///
/// In a route that also serves anonymous requests (see
/// [`AuthLayer::allow_anonymous`](crate::AuthLayer::allow_anonymous)), take
/// `Option<Authenticated>`.
#[derive(Clone)]
pub struct Authenticated {
    token: Arc<VerifiedToken>,
    /// The policy of the layer that let the request in, its grant policy (roles, wildcards)
    /// among it; `None` outside a layer: the token's own scope claims only.
    policy: Option<Arc<dyn LayerPolicy>>,
    /// Served from the verified-token cache: the token came before and will likely come again,
    /// so its granted set is worth building once.
    reused: bool,
}

/// What the validator verified.
pub(crate) struct VerifiedToken {
    pub(crate) issuer: Arc<str>,
    pub(crate) subject: Option<String>,
    pub(crate) audience: Vec<String>,
    pub(crate) expires_at: i64,
    pub(crate) issued_at: Option<i64>,
    pub(crate) not_before: Option<i64>,
    pub(crate) jwt_id: Option<String>,
    pub(crate) client_id: Option<String>,
    pub(crate) authorized_party: Option<String>,
    pub(crate) algorithm: Algorithm,
    pub(crate) key_id: Option<Box<str>>,
    /// The decoded claims JSON, for claims read by name or into a type.
    pub(crate) payload: Box<[u8]>,
    /// The issuer's scope sources and, per source, where the claim's raw JSON lies in
    /// `payload` if present: read when a requirement asks, never parsed up front.
    pub(crate) scope_sources: Arc<[ScopeSource]>,
    pub(crate) scope_claims: Vec<Option<Range<usize>>>,
    /// Built on first use, with the id of the policy it was built under: routes without a
    /// requirement never pay for it.
    pub(crate) granted: OnceLock<(u64, GrantedScopes)>,
    /// The key that verified the signature: a cached token holds only while the key set still
    /// has this very key for its `kid`.
    pub(crate) verified_with: Arc<VerifyingKey>,
    /// The key binding its `cnf` claim states.
    pub(crate) confirmation: Confirmation,
}

/// What a token's `cnf` claim binds it to (RFC 7800).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Confirmation {
    /// No `cnf`: a bearer token.
    None,
    /// `cnf.jkt`: the SHA-256 thumbprint of the DPoP proof key (RFC 9449 §6).
    Jkt(Box<str>),
    /// A binding scopegate cannot check (`x5t#S256`, `jwk`, several members, a malformed one).
    Unsupported,
}

impl VerifiedToken {
    /// Each present scope claim with its source, as raw JSON.
    pub(crate) fn scope_claims(&self) -> impl Iterator<Item = (&ScopeSource, &str)> {
        self.scope_sources
            .iter()
            .zip(&self.scope_claims)
            .filter_map(|(source, range)| {
                let raw = self.payload.get(range.clone()?)?;
                Some((source, std::str::from_utf8(raw).ok()?))
            })
    }
}

#[cfg(test)]
impl VerifiedToken {
    /// A token with this claims JSON and nothing else set, for unit tests.
    pub(crate) fn for_tests(payload: &str) -> VerifiedToken {
        VerifiedToken {
            issuer: "iss".into(),
            subject: None,
            audience: vec![],
            expires_at: 0,
            issued_at: None,
            not_before: None,
            jwt_id: None,
            client_id: None,
            authorized_party: None,
            algorithm: Algorithm::EdDSA,
            key_id: None,
            payload: payload.as_bytes().into(),
            scope_sources: ScopeSource::defaults().into(),
            scope_claims: vec![None; 3],
            granted: OnceLock::new(),
            verified_with: Arc::new(VerifyingKey::unparsed(
                crate::jose::AlgorithmSet::default(),
                jsonwebtoken::DecodingKey::from_ed_der(&[0; 32]),
            )),
            confirmation: Confirmation::None,
        }
    }
}

/// What the layer that let a request in decides with. The principal reads only the grant
/// policy; the layers above read the rest through [`Any`], so the request carries one
/// extension where it would carry two, and this module names nothing above it.
pub(crate) trait LayerPolicy: Any + Send + Sync {
    /// The API's grant policy.
    fn grants(&self) -> &GrantPolicy;
}

/// The policy of a token validated outside any layer: its own scope claims only.
/// Borrowed, never cloned: no reference count shared by every request.
static OWN_CLAIMS_ONLY: LazyLock<GrantPolicy> = LazyLock::new(GrantPolicy::default);

impl Authenticated {
    pub(crate) fn new(token: VerifiedToken) -> Self {
        Authenticated {
            token: Arc::new(token),
            policy: None,
            reused: false,
        }
    }

    /// The same token, served again from the verified-token cache.
    pub(crate) fn reused(mut self) -> Self {
        self.reused = true;
        self
    }

    /// The same token under the policy of the layer letting it in.
    pub(crate) fn under_policy(mut self, policy: Arc<dyn LayerPolicy>) -> Self {
        self.policy = Some(policy);
        self
    }

    /// The policy of the layer that let the token in, if one did.
    pub(crate) fn layer_policy(&self) -> Option<&Arc<dyn LayerPolicy>> {
        self.policy.as_ref()
    }

    /// What the validator verified.
    pub(crate) fn verified(&self) -> &VerifiedToken {
        &self.token
    }

    fn policy(&self) -> &GrantPolicy {
        self.policy
            .as_deref()
            .map_or(&OWN_CLAIMS_ONLY, |policy| policy.grants())
    }

    /// `iss`: the configured issuer, or for an issuer template (`.../{tenantid}/v2.0`) the
    /// token's own tenant issuer.
    pub fn issuer(&self) -> &str {
        &self.token.issuer
    }

    /// `sub`, if present.
    pub fn subject(&self) -> Option<&str> {
        self.token.subject.as_deref()
    }

    /// `aud`, as a list (a single string becomes one element).
    pub fn audience(&self) -> &[String] {
        &self.token.audience
    }

    /// `exp`, in seconds since the Unix epoch (fractions rounded down).
    pub fn expires_at(&self) -> i64 {
        self.token.expires_at
    }

    /// `iat`, in seconds since the Unix epoch, if present.
    pub fn issued_at(&self) -> Option<i64> {
        self.token.issued_at
    }

    /// `nbf`, in seconds since the Unix epoch, if present.
    pub fn not_before(&self) -> Option<i64> {
        self.token.not_before
    }

    /// `jti`, if present.
    pub fn jwt_id(&self) -> Option<&str> {
        self.token.jwt_id.as_deref()
    }

    /// `client_id` (RFC 9068 §2.2), if present.
    pub fn client_id(&self) -> Option<&str> {
        self.token.client_id.as_deref()
    }

    /// The algorithm the signature was verified with.
    pub fn algorithm(&self) -> Algorithm {
        self.token.algorithm
    }

    /// The header `kid`, if present.
    pub fn key_id(&self) -> Option<&str> {
        self.token.key_id.as_deref()
    }

    /// `azp` (OIDC Core §2), if present.
    pub fn authorized_party(&self) -> Option<&str> {
        self.token.authorized_party.as_deref()
    }

    /// The thumbprint of the key the token is bound to (`cnf.jkt`, RFC 9449 §6), when it is a
    /// DPoP-bound token. Through the [`AuthLayer`](crate::AuthLayer), such a token got in only
    /// with a valid proof of that key.
    pub fn key_thumbprint(&self) -> Option<&str> {
        match &self.token.confirmation {
            Confirmation::Jkt(jkt) => Some(jkt),
            _ => None,
        }
    }

    /// The key binding of the token's `cnf` claim.
    pub(crate) fn confirmation(&self) -> &Confirmation {
        &self.token.confirmation
    }

    /// A top-level claim by its literal name (`"org_id"`, `"https://my-apis/customScopes"`).
    ///
    /// `None` when the claim is absent, does not deserialize into `T`, or appears more than once
    /// in the token (a repeated name is ambiguous, so it counts as absent).
    pub fn claim<T: DeserializeOwned>(&self, name: &str) -> Option<T> {
        json::find(&self.token.payload, name).ok()?.parse()
    }

    /// The scopes this token grants: its issuer's scope sources, plus what the API's role
    /// policies grant for it.
    pub fn scopes(&self) -> GrantedScopes {
        let token = &*self.token;
        let build = || {
            self.policy()
                .granted(&token.issuer, &token.payload, token.scope_claims())
        };
        let (policy, granted) = token.granted.get_or_init(|| (self.policy().id(), build()));
        if *policy == self.policy().id() {
            granted.clone()
        } else {
            build()
        }
    }

    /// Whether the token grants `scope`, exactly as [`scopes`](Self::scopes) would say. A token
    /// seen once is answered by a scan of its scope claims, without building the set; a token
    /// served again from the verified-token cache builds the set once and looks it up from then
    /// on.
    pub fn grants(&self, scope: &str) -> bool {
        let token = &*self.token;
        if let Some((policy, granted)) = token.granted.get()
            && *policy == self.policy().id()
        {
            return granted.contains(scope);
        }
        if self.reused || self.policy().needs_full_set() {
            return self.scopes().contains(scope);
        }
        token
            .scope_claims()
            .any(|(source, raw)| source.grants(raw, scope))
    }

    /// All claims, deserialized into `T`.
    pub fn claims<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.token.payload)
    }

    /// The claims JSON exactly as it was signed.
    pub fn claims_json(&self) -> &[u8] {
        &self.token.payload
    }
}

impl fmt::Debug for Authenticated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticated")
            .field("issuer", &self.token.issuer)
            .field("subject", &self.token.subject)
            .field("client_id", &self.token.client_id)
            .field("expires_at", &self.token.expires_at)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_payload(json: &str) -> Authenticated {
        Authenticated::new(VerifiedToken::for_tests(json))
    }

    #[test]
    fn claims_by_literal_name() {
        let auth = with_payload(
            r#"{"org_id":"a","https://my-apis/customScopes":["x","y"],"n":5,"nested":{"org_id":"b"}}"#,
        );
        assert_eq!(auth.claim::<String>("org_id").as_deref(), Some("a"));
        assert_eq!(
            auth.claim::<Vec<String>>("https://my-apis/customScopes"),
            Some(vec!["x".to_owned(), "y".to_owned()])
        );
        assert_eq!(auth.claim::<String>("n"), None);
        assert_eq!(auth.claim::<u32>("n"), Some(5));
        assert_eq!(auth.claim::<String>("missing"), None);
    }

    #[test]
    fn repeated_claim_counts_as_absent() {
        let auth = with_payload(r#"{"org_id":"a","org_id":"b"}"#);
        assert_eq!(auth.claim::<String>("org_id"), None);
    }

    #[test]
    fn escaped_names_match() {
        let auth = with_payload(r#"{"org\u005fid":"a"}"#);
        assert_eq!(auth.claim::<String>("org_id").as_deref(), Some("a"));
    }
}
