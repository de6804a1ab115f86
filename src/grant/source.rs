//! The claims that carry scopes, and the JSON shapes each may take (SECURITY-BAR §5).

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

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

    /// Whether the claim (its raw JSON) grants `scope`: the same answer as collecting and
    /// looking up, without building the set.
    pub(crate) fn grants(&self, raw: &str, scope: &str) -> bool {
        is_scope_token(scope) && self.pieces(raw, |piece| piece == scope)
    }

    /// Adds the scope-tokens the claim (its raw JSON) grants to `out`.
    pub(crate) fn collect(&self, raw: &str, out: &mut Vec<Box<str>>) {
        self.pieces(raw, |piece| {
            if is_scope_token(piece) {
                out.push(piece.into());
            }
            false
        });
    }

    /// Calls `each` with every candidate scope of the claim until it answers `true`: the
    /// pieces of a string split on U+0020, or the string elements of an array, as this source's
    /// shape allows. A claim of another shape gives none. Returns whether `each` said `true`.
    fn pieces(&self, raw: &str, mut each: impl FnMut(&str) -> bool) -> bool {
        match (ScopeClaim::read(raw), self.shape) {
            (ScopeClaim::Text(text), Shape::SpaceDelimited | Shape::StringOrArray) => {
                text.split(' ').any(each)
            }
            (ScopeClaim::List(items), Shape::Array | Shape::StringOrArray) => {
                items.iter().flatten().any(|item| each(item))
            }
            _ => {
                tracing::debug!(claim = %self.name, "scopegate: scope claim of the wrong type grants nothing");
                false
            }
        }
    }
}

/// A scope claim read from its raw JSON, strings borrowed unless they hold escapes: reading
/// one costs at most one allocation (an array's list), not one per scope.
enum ScopeClaim<'a> {
    Text(Cow<'a, str>),
    /// The elements; `None` for those that are not strings.
    List(Vec<Option<Cow<'a, str>>>),
    Other,
}

impl<'a> ScopeClaim<'a> {
    fn read(raw: &'a str) -> ScopeClaim<'a> {
        let mut deserializer = serde_json::Deserializer::from_str(raw);
        ScopeClaimSeed
            .deserialize(&mut deserializer)
            .unwrap_or(ScopeClaim::Other)
    }
}

struct ScopeClaimSeed;

impl<'de> DeserializeSeed<'de> for ScopeClaimSeed {
    type Value = ScopeClaim<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ScopeClaimSeed {
    type Value = ScopeClaim<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a scope claim")
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
        Ok(ScopeClaim::Text(Cow::Borrowed(text)))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(ScopeClaim::Text(Cow::Owned(text.to_owned())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element::<Element<'de>>()? {
            items.push(item.0);
        }
        Ok(ScopeClaim::List(items))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(ScopeClaim::Other)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(ScopeClaim::Other)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(ScopeClaim::Other)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(ScopeClaim::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(ScopeClaim::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(ScopeClaim::Other)
    }
}

/// One array element: its text when it is a string.
struct Element<'a>(Option<Cow<'a, str>>);

impl<'de> Deserialize<'de> for Element<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match ScopeClaimSeed.deserialize(deserializer)? {
            ScopeClaim::Text(text) => Ok(Element(Some(text))),
            ScopeClaim::List(_) | ScopeClaim::Other => Ok(Element(None)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collected(source: &ScopeSource, raw: &str) -> Vec<String> {
        let mut out = Vec::new();
        source.collect(raw, &mut out);
        out.into_iter().map(String::from).collect()
    }

    #[test]
    fn raw_claims_are_read_as_their_decoded_json() {
        let scp = ScopeSource::SCP;
        // An escaped space is a space once decoded: two scopes, as with any JSON reader.
        assert_eq!(
            collected(&scp, r#""read:a\u0020read:b""#),
            ["read:a", "read:b"]
        );
        assert!(scp.grants(r#""read:a\u0020read:b""#, "read:b"));
        assert_eq!(
            collected(
                &scp,
                r#"["a\"b", "c", 1, null, ["d"], {"e": "f"}, "g\u0068"]"#
            ),
            ["c", "gh"]
        );
        assert!(!scp.grants(r#"["a\"b"]"#, "a\"b"));
        assert!(!scp.grants(r#"[["d"]]"#, "d"));
        // Nesting past the reader's limit grants nothing, and never panics.
        let deep = format!("{}\"x\"{}", "[".repeat(2000), "]".repeat(2000));
        assert!(collected(&scp, &deep).is_empty());
        assert!(!scp.grants(&deep, "x"));
        assert!(!ScopeSource::SCOPE.grants(r#"["a"]"#, "a"));
        assert!(!ScopeSource::PERMISSIONS.grants(r#""a""#, "a"));
        assert!(collected(&scp, "not json").is_empty());
    }
}
