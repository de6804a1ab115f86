//! One set of granted scopes from every claim that carries them (SECURITY-BAR §5).

use std::fmt;
use std::sync::Arc;

use super::source::ScopeSource;
use crate::syntax::is_scope_token;

/// The scopes a verified token grants: the union of its scope sources and what the API's role
/// policies grant for it, exact and
/// case-sensitive.
///
/// An axum extractor, for handlers that list the scopes or decide for themselves:
///
/// ```
/// use scopegate::GrantedScopes;
///
/// async fn handler(scopes: GrantedScopes) -> String {
///     if scopes.contains("admin:everything") { "all".into() } else { scopes.iter().collect::<Vec<_>>().join(" ") }
/// }
/// ```
#[derive(Clone, Default)]
pub struct GrantedScopes(Arc<Granted>);

#[derive(Default)]
struct Granted {
    /// The issuer whose token (and grant resolver answers about it) granted these.
    issuer: Arc<str>,
    /// Sorted and deduplicated, for binary search and stable listing.
    scopes: Vec<Box<str>>,
    /// With wildcard grants on: the prefixes of granted scopes ending in `*`.
    wildcard_prefixes: Vec<Box<str>>,
    wildcards_enabled: bool,
}

impl GrantedScopes {
    /// Builds the set from each present source claim's value, plus `scopes` granted otherwise
    /// (role expansion).
    pub(crate) fn from_claims<'a>(
        issuer: &str,
        mut scopes: Vec<Box<str>>,
        claims: impl IntoIterator<Item = (&'a ScopeSource, &'a str)>,
        wildcards: bool,
    ) -> Self {
        for (source, value) in claims {
            source.collect(value, &mut scopes);
        }
        scopes.sort_unstable();
        scopes.dedup();
        let wildcard_prefixes = if wildcards {
            scopes
                .iter()
                .filter_map(|scope| scope.strip_suffix('*'))
                .filter(|prefix| !prefix.is_empty())
                .map(Box::from)
                .collect()
        } else {
            Vec::new()
        };
        GrantedScopes(Arc::new(Granted {
            issuer: issuer.into(),
            scopes,
            wildcard_prefixes,
            wildcards_enabled: wildcards,
        }))
    }

    /// This set plus `extra` (from a grant resolver); strings that are not scope-tokens are
    /// dropped.
    pub(crate) fn with_extra(&self, extra: &[Box<str>]) -> GrantedScopes {
        let mut scopes = self.0.scopes.clone();
        scopes.extend(extra.iter().filter(|scope| is_scope_token(scope)).cloned());
        GrantedScopes::from_claims(&self.0.issuer, scopes, [], self.0.wildcards_enabled)
    }

    /// Whether `scope` is granted: one exact element of the set, or, with wildcard grants on,
    /// a longer scope under a granted `prefix*`. Never a substring or case-folded match.
    pub fn contains(&self, scope: &str) -> bool {
        self.0
            .scopes
            .binary_search_by(|granted| (**granted).cmp(scope))
            .is_ok()
            || self
                .0
                .wildcard_prefixes
                .iter()
                .any(|prefix| scope.len() > prefix.len() && scope.starts_with(&**prefix))
    }

    /// The issuer of the token these scopes were granted to. Scopes from different issuers
    /// are different grants: see [`Requirement::issued_by`](crate::Requirement::issued_by).
    pub fn issuer(&self) -> &str {
        &self.0.issuer
    }

    /// The granted scopes, sorted.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.scopes.iter().map(|scope| &**scope)
    }

    /// How many scopes are granted.
    pub fn len(&self) -> usize {
        self.0.scopes.len()
    }

    /// Whether no scope is granted.
    pub fn is_empty(&self) -> bool {
        self.0.scopes.is_empty()
    }
}

impl fmt::Debug for GrantedScopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn granted(pairs: &[(ScopeSource, Value)], wildcards: bool) -> GrantedScopes {
        let raw: Vec<(ScopeSource, String)> = pairs
            .iter()
            .map(|(source, value)| (source.clone(), value.to_string()))
            .collect();
        GrantedScopes::from_claims(
            "iss",
            Vec::new(),
            raw.iter().map(|(s, v)| (s, v.as_str())),
            wildcards,
        )
    }

    #[test]
    fn each_source_and_together() {
        let scope = ScopeSource::SCOPE;
        let scp = ScopeSource::SCP;
        let permissions = ScopeSource::PERMISSIONS;
        let custom = ScopeSource::claim("https://my-apis/customScopes");
        let set = granted(
            &[
                (scope.clone(), json!("read:a  write:a ")),
                (scp.clone(), json!(["scp:array"])),
                (permissions.clone(), json!(["perm:x", "perm:x"])),
                (custom.clone(), json!("add:comments-in-room_1")),
            ],
            false,
        );
        let all: Vec<&str> = set.iter().collect();
        assert_eq!(
            all,
            [
                "add:comments-in-room_1",
                "perm:x",
                "read:a",
                "scp:array",
                "write:a"
            ]
        );
        assert!(granted(&[(scp.clone(), json!("a b"))], false).contains("b"));
    }

    #[test]
    fn wrong_shapes_grant_nothing() {
        let scope = ScopeSource::SCOPE;
        let permissions = ScopeSource::PERMISSIONS;
        for (source, value) in [
            (scope.clone(), json!(["read:a"])),
            (scope.clone(), json!(5)),
            (scope.clone(), json!(null)),
            (scope.clone(), json!({"read:a": true})),
            (permissions.clone(), json!("read:a")),
            (permissions.clone(), json!([1, null, ["read:a"]])),
        ] {
            assert!(
                granted(&[(source, value.clone())], false).is_empty(),
                "{value}"
            );
        }
    }

    #[test]
    fn splitting_is_on_space_only_and_exact() {
        let scope = ScopeSource::SCOPE;
        let set = granted(&[(scope, json!("a\tb Read:X c\u{a0}d e\"f"))], false);
        // A tab, a no-break space or a quote makes the whole piece invalid: dropped, not split.
        assert_eq!(set.iter().collect::<Vec<_>>(), ["Read:X"]);
        assert!(!set.contains("read:X"));
        assert!(!set.contains("Read:"));
    }

    #[test]
    fn array_elements_are_taken_whole() {
        let permissions = ScopeSource::PERMISSIONS;
        let set = granted(&[(permissions, json!(["a b", "c"]))], false);
        assert_eq!(set.iter().collect::<Vec<_>>(), ["c"]);
    }

    #[test]
    fn the_allocation_free_check_agrees_with_the_set() {
        let sources = [
            ScopeSource::SCOPE,
            ScopeSource::SCP,
            ScopeSource::PERMISSIONS,
        ];
        let values = [
            json!("a  b\tc Read:X d\"e "),
            json!(["f", "g h", 1, "Read:X"]),
            json!("i"),
            json!(["j"]),
            json!(null),
        ];
        let probes = [
            "a", "b", "c", "b\tc", "Read:X", "read:x", "", " ", "f", "g h", "g", "i", "j", "d\"e",
        ];
        for source in &sources {
            for value in &values {
                let set = granted(&[(source.clone(), value.clone())], false);
                for probe in probes {
                    assert_eq!(
                        source.grants(&value.to_string(), probe),
                        set.contains(probe),
                        "{source:?} {value} {probe:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn wildcards_only_when_enabled_and_only_longer() {
        let scope = ScopeSource::SCOPE;
        let value = json!("delete:comments-in-*");
        assert!(
            !granted(&[(scope.clone(), value.clone())], false).contains("delete:comments-in-r1")
        );
        let set = granted(&[(scope.clone(), value)], true);
        assert!(set.contains("delete:comments-in-r1"));
        assert!(!set.contains("delete:comments-in-"));
        assert!(!set.contains("delete:comments-i"));
        // A lone "*" grants nothing on its own.
        assert!(!granted(&[(scope, json!("*"))], true).contains("anything"));
    }
}
