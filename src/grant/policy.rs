//! What the API grants beyond a token's own scope claims: roles per tenant and wildcard grants.
//! Set once per API, on the layer, whichever issuer signed the token.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

use super::roles::RolePolicy;
use super::set::GrantedScopes;
use super::source::ScopeSource;
use crate::error::ConfigError;

/// The API's grant policy. Each instance has its own id, so a granted set built under one policy
/// is never reused under another.
#[derive(Debug)]
pub(crate) struct GrantPolicy {
    id: u64,
    role_policies: Vec<RolePolicy>,
    wildcards: bool,
}

impl Clone for GrantPolicy {
    fn clone(&self) -> Self {
        GrantPolicy {
            id: next_id(),
            role_policies: self.role_policies.clone(),
            wildcards: self.wildcards,
        }
    }
}

impl Default for GrantPolicy {
    fn default() -> Self {
        GrantPolicy {
            id: next_id(),
            role_policies: Vec::new(),
            wildcards: false,
        }
    }
}

fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl GrantPolicy {
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Adds a role policy beside the others. Refused: a second policy on the same claim (it
    /// would silently replace or merge with the first), or a template another policy already
    /// uses (a tenant of one kind would then grant the same scope as a tenant of another: the
    /// admin of organization `x` would be the admin of room `x`).
    pub(crate) fn add_role_policy(&mut self, policy: RolePolicy) -> Result<(), ConfigError> {
        for existing in &self.role_policies {
            if existing.claim() == policy.claim() {
                return Err(ConfigError::new(format!(
                    "two role policies read the claim {:?}; put all its roles in one policy",
                    policy.claim()
                )));
            }
            if let Some(shared) = policy
                .templates()
                .find(|template| existing.templates().any(|other| other == *template))
            {
                return Err(ConfigError::new(format!(
                    "the role policies of {:?} and {:?} both grant {shared:?}; tenants of the two kinds would collide",
                    existing.claim(),
                    policy.claim()
                )));
            }
        }
        self.role_policies.push(policy);
        Ok(())
    }

    pub(crate) fn set_wildcards(&mut self, enabled: bool) {
        self.wildcards = enabled;
    }

    /// Whether granting needs more than the token's own scope claims.
    pub(crate) fn needs_full_set(&self) -> bool {
        self.wildcards || !self.role_policies.is_empty()
    }

    /// The granted set: the token's scope claims plus what its roles grant.
    pub(crate) fn granted<'a>(
        &self,
        issuer: &str,
        payload: &[u8],
        claims: impl IntoIterator<Item = (&'a ScopeSource, &'a Value)>,
    ) -> GrantedScopes {
        let mut from_roles = Vec::new();
        for policy in &self.role_policies {
            policy.expand(payload, &mut from_roles);
        }
        GrantedScopes::from_claims(issuer, from_roles, claims, self.wildcards)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_may_not_share_a_claim_or_a_template_in_any_spelling() {
        let mut policy = GrantPolicy::default();
        let orgs = RolePolicy::new("org_roles").role("admin", ["manage:org-{tenant}"]);
        policy.add_role_policy(orgs.unwrap()).unwrap();
        let same_claim = RolePolicy::new("org_roles").role("viewer", ["read:org-{tenant}"]);
        assert!(policy.add_role_policy(same_claim.unwrap()).is_err());
        let other_spelling = RolePolicy::new("room_roles").role("admin", ["manage:org-:tenant"]);
        assert!(policy.add_role_policy(other_spelling.unwrap()).is_err());
        let rooms = RolePolicy::new("room_roles").role("admin", ["manage:room-{tenant}"]);
        assert!(policy.add_role_policy(rooms.unwrap()).is_ok());
    }
}
