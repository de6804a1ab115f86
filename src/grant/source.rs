//! The claims that carry scopes, and the JSON shapes each may take (SECURITY-BAR §5).

use std::borrow::Cow;

use serde_json::Value;

use crate::syntax::is_scope_token;

/// The JSON shapes a scope claim may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// One string, split on U+0020 (`scope`, RFC 8693 §4.2).
    SpaceDelimited,
    /// An array of strings, each taken whole (`permissions`).
    Array,
    /// Either (`scp`, custom claims).
    StringOrArray,
}

/// A top-level claim that grants scopes, and the JSON shape it may take.
///
/// The defaults are [`SCOPE`](Self::SCOPE), [`SCP`](Self::SCP) and
/// [`PERMISSIONS`](Self::PERMISSIONS). A claim of the wrong shape grants nothing: it never
/// invalidates the token, so a requirement that needed it answers 403.
///
/// ```
/// use scopegate::{ScopeSource, Validator};
///
/// let builder = Validator::builder("https://issuer.example/")
///     .audience("api")
///     // Add a namespaced custom claim to the defaults (its name is literal, not a JSON pointer).
///     .scope_source(ScopeSource::claim("https://my-apis/customScopes"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeSource {
    name: Cow<'static, str>,
    shape: Shape,
}

impl ScopeSource {
    /// `scope`: a space-delimited string (RFC 6749 §3.3, RFC 9068 §2.2.3).
    pub const SCOPE: ScopeSource = ScopeSource::builtin("scope", Shape::SpaceDelimited);
    /// `scp`: a space-delimited string (Entra ID) or an array of strings (Okta).
    pub const SCP: ScopeSource = ScopeSource::builtin("scp", Shape::StringOrArray);
    /// `permissions`: an array of strings (Auth0 RBAC).
    pub const PERMISSIONS: ScopeSource = ScopeSource::builtin("permissions", Shape::Array);

    const fn builtin(name: &'static str, shape: Shape) -> ScopeSource {
        ScopeSource {
            name: Cow::Borrowed(name),
            shape,
        }
    }

    /// A claim by its literal name, holding a space-delimited string or an array of strings.
    pub fn claim(name: impl Into<String>) -> ScopeSource {
        ScopeSource {
            name: Cow::Owned(name.into()),
            shape: Shape::StringOrArray,
        }
    }

    /// The claim's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub(crate) fn defaults() -> Vec<ScopeSource> {
        vec![Self::SCOPE, Self::SCP, Self::PERMISSIONS]
    }

    /// Whether `value` grants `scope`: the same answer as collecting and looking up, without
    /// allocating.
    pub(crate) fn grants(&self, value: &Value, scope: &str) -> bool {
        if !is_scope_token(scope) {
            return false;
        }
        match (value, self.shape) {
            (Value::String(text), Shape::SpaceDelimited | Shape::StringOrArray) => {
                text.split(' ').any(|piece| piece == scope)
            }
            (Value::Array(items), Shape::Array | Shape::StringOrArray) => {
                items.iter().any(|item| item.as_str() == Some(scope))
            }
            _ => false,
        }
    }

    /// Adds the scope-tokens `value` grants to `out`.
    pub(crate) fn collect(&self, value: &Value, out: &mut Vec<Box<str>>) {
        match (value, self.shape) {
            (Value::String(text), Shape::SpaceDelimited | Shape::StringOrArray) => out.extend(
                text.split(' ')
                    .filter(|piece| is_scope_token(piece))
                    .map(Box::from),
            ),
            (Value::Array(items), Shape::Array | Shape::StringOrArray) => out.extend(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .filter(|item| is_scope_token(item))
                    .map(Box::from),
            ),
            _ => {
                tracing::debug!(claim = %self.name, "scopegate: scope claim of the wrong type grants nothing")
            }
        }
    }
}
