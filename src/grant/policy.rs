//! What the API grants beyond a token's own scope claims: roles per tenant and wildcard grants.
//! Set once per API, on the layer, whichever issuer signed the token.

use std::sync::atomic::{AtomicU64, Ordering};

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
    /// would silently replace or merge with the first), or a template that could spell the same
    /// scope as another policy's (a tenant of one kind would then grant a tenant of the other:
    /// with `manage:{tenant}` for organizations and `manage:room-{tenant}` for rooms, the admin
    /// of organization `room-42` would manage room 42).
    pub(crate) fn add_role_policy(&mut self, policy: RolePolicy) -> Result<(), ConfigError> {
        for existing in &self.role_policies {
            if existing.claim() == policy.claim() {
                return Err(ConfigError::new(format!(
                    "two role policies read the claim {:?}; put all its roles in one policy",
                    policy.claim()
                )));
            }
            if let Some((theirs, mine)) = existing.overlap_with(&policy) {
                return Err(ConfigError::new(format!(
                    "the role policies of {:?} ({theirs:?}) and {:?} ({mine:?}) could grant the same scope for tenants of the two kinds; give each kind its own prefix (manage:org-{{tenant}}, manage:room-{{tenant}})",
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
        claims: impl IntoIterator<Item = (&'a ScopeSource, &'a str)>,
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
        // Not the same text, but organization `room-42` would spell room 42's scope.
        let nested = RolePolicy::new("room_roles").role("admin", ["manage:org-room-{tenant}"]);
        assert!(policy.add_role_policy(nested.unwrap()).is_err());
        let plain = RolePolicy::new("room_roles").role("auditor", ["manage:org-all"]);
        assert!(policy.add_role_policy(plain.unwrap()).is_err());
        let rooms =
            RolePolicy::new("room_roles").role("admin", ["manage:room-{tenant}", "read:all"]);
        assert!(policy.add_role_policy(rooms.unwrap()).is_ok());
    }
}
