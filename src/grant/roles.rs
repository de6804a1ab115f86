//! Roles per tenant in a claim, turned into granted scopes by a policy the API holds.
//!
//! The token carries which role the user has in which tenant, for example
//! `"https://my-apis/roles": {"room_1": "admin", "room_2": ["member"]}`; the API decides what
//! each role may do. So the identity provider never has to enumerate every per-room scope, and
//! route requirements (`add:comments-in-:room`) stay the same whichever way grants arrive.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde::de::{self, Deserializer};
use serde_json::Value;

use super::template::{ParamValue, ScopeTemplate, is_bindable};
use crate::error::ConfigError;
use crate::json::{self, Member, Members};

/// The one parameter a role's templates may use: the tenant the role is held in.
const TENANT: &str = "tenant";

/// What each role grants, as scope templates over `{tenant}`, and the claim holding the
/// user's roles per tenant.
///
/// In code:
///
/// ```
/// use scopegate::RolePolicy;
///
/// let policy = RolePolicy::new("https://my-apis/roles")
///     .role("admin", ["add:comments-in-{tenant}", "delete:comments-in-{tenant}"])?
///     .role("member", ["add:comments-in-{tenant}"])?;
/// # Ok::<(), scopegate::ConfigError>(())
/// ```
///
/// From a file, with any serde format (`serde_json`, `toml`, ...):
///
/// ```
/// use scopegate::RolePolicy;
///
/// let policy: RolePolicy = serde_json::from_str(r#"{
///     "claim": "https://my-apis/roles",
///     "roles": {
///         "admin": ["add:comments-in-{tenant}", "delete:comments-in-{tenant}"],
///         "member": ["add:comments-in-{tenant}"]
///     }
/// }"#)?;
/// # Ok::<(), serde_json::Error>(())
/// ```
///
/// The claim is an object from tenant to a role name or an array of role names. Tenant values
/// obey the path-value rules (a non-empty scope-token without `*`, `/` or `%`); an entry that
/// breaks them, an unknown role, or a value of the wrong type grants nothing. A repeated tenant
/// in the object, or a repeated claim, makes the whole claim grant nothing.
#[derive(Clone, Debug)]
pub struct RolePolicy {
    claim: Box<str>,
    roles: BTreeMap<Box<str>, Vec<ScopeTemplate>>,
}

impl RolePolicy {
    /// A policy reading roles from `claim` (its literal top-level name), with no roles yet.
    pub fn new(claim: impl Into<String>) -> Self {
        RolePolicy {
            claim: claim.into().into(),
            roles: BTreeMap::new(),
        }
    }

    /// What `role` grants in a tenant: templates whose only parameter is `{tenant}` (or
    /// `:tenant`), or plain scopes. Calling it again for a role adds to it.
    pub fn role<'t>(
        mut self,
        role: &str,
        templates: impl IntoIterator<Item = &'t str>,
    ) -> Result<Self, ConfigError> {
        let parsed = templates
            .into_iter()
            .map(|template| parse_role_template(role, template))
            .collect::<Result<Vec<_>, _>>()?;
        self.roles.entry(role.into()).or_default().extend(parsed);
        Ok(self)
    }

    /// The claim holding the roles.
    pub fn claim(&self) -> &str {
        &self.claim
    }

    /// Adds the scopes the token's roles grant to `out`. `payload` is the verified claims JSON.
    pub(crate) fn expand(&self, payload: &[u8], out: &mut Vec<Box<str>>) {
        let entries = match json::find(payload, &self.claim) {
            Ok(Member::Present(raw)) => Members::parse(raw.as_bytes()).ok(),
            _ => None,
        };
        let Some(entries) = entries.filter(|entries| !entries.has_repeated_names()) else {
            tracing::debug!(claim = %self.claim, "scopegate: role claim absent, repeated or malformed; it grants nothing");
            return;
        };
        for (tenant, roles) in entries.iter() {
            // An entry whose tenant breaks the path-value rules grants nothing at all, not even
            // the role's plain scopes.
            if !is_bindable(tenant) {
                tracing::debug!(
                    "scopegate: a tenant value breaks the binding rules; it grants nothing"
                );
                continue;
            }
            let roles = match Member::Present(roles).parse::<Value>() {
                Some(Value::String(role)) => vec![Value::String(role)],
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            };
            for role in roles.iter().filter_map(Value::as_str) {
                let Some(templates) = self.roles.get(role) else {
                    tracing::debug!("scopegate: unknown role grants nothing");
                    continue;
                };
                for template in templates {
                    let bound = template.bind(|name| {
                        if name == TENANT {
                            ParamValue::Value(tenant)
                        } else {
                            ParamValue::Missing
                        }
                    });
                    if let Ok(scope) = bound {
                        out.push(scope.into());
                    }
                }
            }
        }
    }

    /// A template of this policy and one of `other` that could grant the same scope, for
    /// different tenants of the two kinds.
    pub(crate) fn overlap_with<'a>(&'a self, other: &'a RolePolicy) -> Option<(&'a str, &'a str)> {
        let templates = |policy: &'a RolePolicy| policy.roles.values().flatten();
        templates(self).find_map(|mine| {
            templates(other)
                .find(|theirs| mine.may_overlap(theirs))
                .map(|theirs| (mine.source(), theirs.source()))
        })
    }
}

fn parse_role_template(role: &str, template: &str) -> Result<ScopeTemplate, ConfigError> {
    let parsed = ScopeTemplate::parse(template).map_err(|error| {
        ConfigError::new(format!("role {role:?}: template {template:?}: {error}"))
    })?;
    if let Some(other) = parsed.parameters().find(|name| *name != TENANT) {
        return Err(ConfigError::new(format!(
            "role {role:?}: template {template:?} uses the parameter `{other}`; role templates may only use `{{tenant}}`"
        )));
    }
    if parsed.has_parameter_before_trailing_star() {
        return Err(ConfigError::new(format!(
            "role {role:?}: template {template:?} ends in `*` after `{{tenant}}`; with wildcard grants the tenant would become a prefix (room_1* covers room_10, a-* covers a-b)"
        )));
    }
    Ok(parsed)
}

impl<'de> Deserialize<'de> for RolePolicy {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Document {
            claim: String,
            roles: BTreeMap<String, Vec<String>>,
        }
        let document = Document::deserialize(deserializer)?;
        let mut policy = RolePolicy::new(document.claim);
        for (role, templates) in &document.roles {
            policy = policy
                .role(role, templates.iter().map(String::as_str))
                .map_err(de::Error::custom)?;
        }
        Ok(policy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RolePolicy {
        RolePolicy::new("roles")
            .role(
                "admin",
                ["add:comments-in-{tenant}", "delete:comments-in-:tenant"],
            )
            .unwrap()
            .role("member", ["add:comments-in-{tenant}"])
            .unwrap()
            .role("auditor", ["read:audit"])
            .unwrap()
    }

    fn expand(payload: &str) -> Vec<String> {
        let mut out = Vec::new();
        policy().expand(payload.as_bytes(), &mut out);
        let mut out: Vec<String> = out.into_iter().map(String::from).collect();
        out.sort();
        out
    }

    #[test]
    fn roles_expand_per_tenant() {
        assert_eq!(
            expand(r#"{"roles":{"room_1":"admin","room_2":["member","auditor"]}}"#),
            [
                "add:comments-in-room_1",
                "add:comments-in-room_2",
                "delete:comments-in-room_1",
                "read:audit"
            ]
        );
    }

    #[test]
    fn malformed_role_claims_grant_nothing() {
        for payload in [
            r#"{}"#,
            r#"{"roles":"admin"}"#,
            r#"{"roles":["admin"]}"#,
            r#"{"roles":null}"#,
            r#"{"roles":{"room_1":5}}"#,
            r#"{"roles":{"room_1":{"admin":true}}}"#,
            r#"{"roles":{"room_1":"owner"}}"#,
            r#"{"roles":{"room_1":"Admin"}}"#,
            r#"{"roles":{"room_1":"member","room_1":"admin"}}"#,
            r#"{"roles":{"room_1":"admin"},"roles":{"room_1":"admin"}}"#,
        ] {
            assert!(expand(payload).is_empty(), "{payload}");
        }
    }

    #[test]
    fn unsafe_tenant_values_grant_nothing() {
        for tenant in ["", "a b", "a/b", "a%2F", "*", "caf\u{e9}"] {
            let payload = serde_json::json!({"roles": {tenant: "admin"}}).to_string();
            assert!(expand(&payload).is_empty(), "{tenant:?}");
        }
        // Not even a role's plain scopes are granted for an invalid tenant.
        let payload = serde_json::json!({"roles": {"*": "auditor"}}).to_string();
        assert!(expand(&payload).is_empty());
        // The other tenants of the same claim still grant.
        assert_eq!(
            expand(r#"{"roles":{"*":"admin","room_3":"member"}}"#),
            ["add:comments-in-room_3"]
        );
    }

    #[test]
    fn policies_refuse_other_parameters_and_bad_templates() {
        assert!(
            RolePolicy::new("roles")
                .role("admin", ["add:{room}"])
                .is_err()
        );
        assert!(RolePolicy::new("roles").role("admin", ["add:{}"]).is_err());
        let document = r#"{"claim":"roles","roles":{"admin":["add:{org}"]}}"#;
        assert!(serde_json::from_str::<RolePolicy>(document).is_err());
        assert!(
            RolePolicy::new("roles")
                .role("owner", ["own:rooms-{tenant}*"])
                .is_err()
        );
        assert!(
            RolePolicy::new("roles")
                .role("owner", ["own:rooms-{tenant}-*"])
                .is_err()
        );
        // A star elsewhere is no wildcard, and a trailing star without a tenant is a plain grant.
        assert!(
            RolePolicy::new("roles")
                .role("owner", ["own:*-{tenant}", "audit:*"])
                .is_ok()
        );
        let typo = r#"{"claim":"roles","role":{"admin":["add:{tenant}"]}}"#;
        assert!(serde_json::from_str::<RolePolicy>(typo).is_err());
    }
}
