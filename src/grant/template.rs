//! Scope templates: `delete:comments-in-:room` or `delete:comments-in-{room}`.
//!
//! The grammar, checked by a `const fn` so that [`scope!`](crate::scope!) refuses a bad template
//! at compile time:
//!
//! ```text
//! template = 1*( literal / parameter / escape )
//! parameter = "{" name "}"
//!           / ":" name          ; only at the start, or after a character that is not a name character
//! escape    = "{{" / "}}"       ; a literal "{" or "}"
//!           / "::"              ; a literal ":" where a ":" would start a parameter
//! name      = 1*( ALPHA / DIGIT / "_" )
//! literal   = any scope-token character (RFC 6749 §3.3) except "{" and "}"
//! ```
//!
//! So `delete:comments-in-:room` is the literal `delete:comments-in-` and the parameter `room`
//! (the first `:` follows `e`, a name character, so it is literal), and `a-::b` is the literal
//! `a-:b`. Two parameters must be separated by a literal that contains at least one letter,
//! digit or `_`: with only punctuation between them (`:org-:room`, `{a}{b}`), values such as UUIDs
//! could be split in more than one way. When binding, that literal must occur exactly once in
//! `left value + literal + right value`.

use std::fmt;

use crate::short_text::ShortText;
use crate::syntax::is_scope_char;

/// Why a scope template was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TemplateError {
    /// The template is empty.
    Empty,
    /// A `:` or `{` starts a parameter but no name follows (`a-:`, `{}`). Write `::` or `{{` for
    /// the literal character.
    EmptyName,
    /// A `{` has no matching `}`, or the name inside contains a character other than a letter,
    /// digit or `_`.
    UnclosedBrace,
    /// A `}` without a `{`. Write `}}` for a literal `}`.
    UnmatchedBrace,
    /// A character that cannot appear in a scope (space, `"`, `\`, control or non-ASCII).
    NotAScopeCharacter,
    /// Two parameters with no letter, digit or `_` between them (`:org-:room`): ambiguous.
    AdjacentParameters,
    /// A parameter name starting with `__private__axum_`: axum never hands such parameters to
    /// handlers, so the template could never bind.
    ReservedName,
}

impl TemplateError {
    /// What is wrong and how to fix it.
    pub const fn message(self) -> &'static str {
        match self {
            TemplateError::Empty => "scope template is empty",
            TemplateError::EmptyName => {
                "scope template: a parameter has no name (write `::` for a literal `:` or `{{` for a literal `{`)"
            }
            TemplateError::UnclosedBrace => {
                "scope template: `{` must be followed by a name of letters, digits or `_` and a `}` (write `{{` for a literal `{`)"
            }
            TemplateError::UnmatchedBrace => {
                "scope template: `}` without `{` (write `}}` for a literal `}`)"
            }
            TemplateError::NotAScopeCharacter => {
                "scope template: contains a character not allowed in a scope (space, quote, backslash, control or non-ASCII)"
            }
            TemplateError::AdjacentParameters => {
                "scope template: two parameters need a letter, digit or `_` between them, or values could be split ambiguously"
            }
            TemplateError::ReservedName => {
                "scope template: parameter names starting with `__private__axum_` are reserved by axum and never bound"
            }
        }
    }

    /// Panics with [`message`](Self::message); in a `const` context this is a compile error.
    #[doc(hidden)]
    pub const fn panic(self) -> ! {
        panic!("{}", self.message())
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for TemplateError {}

const fn is_name_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// One lexical piece of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    /// Literal bytes `start..end` of the template.
    Literal(usize, usize),
    /// One escaped literal character.
    Escaped(u8),
    /// A parameter whose name is bytes `start..end`.
    Parameter(usize, usize),
}

/// The piece starting at `at` and where the next one starts.
const fn next_piece(template: &[u8], at: usize) -> Result<(Piece, usize), TemplateError> {
    let byte = template[at];
    let following = if at + 1 < template.len() {
        template[at + 1]
    } else {
        0
    };
    if byte == b'{' {
        if following == b'{' {
            return Ok((Piece::Escaped(b'{'), at + 2));
        }
        let mut end = at + 1;
        while end < template.len() && is_name_char(template[end]) {
            end += 1;
        }
        if end >= template.len() || template[end] != b'}' {
            return Err(TemplateError::UnclosedBrace);
        }
        if end == at + 1 {
            return Err(TemplateError::EmptyName);
        }
        return Ok((Piece::Parameter(at + 1, end), end + 1));
    }
    if byte == b'}' {
        if following == b'}' {
            return Ok((Piece::Escaped(b'}'), at + 2));
        }
        return Err(TemplateError::UnmatchedBrace);
    }
    if starts_parameter(template, at) {
        if following == b':' {
            return Ok((Piece::Escaped(b':'), at + 2));
        }
        let mut end = at + 1;
        while end < template.len() && is_name_char(template[end]) {
            end += 1;
        }
        if end == at + 1 {
            return Err(TemplateError::EmptyName);
        }
        return Ok((Piece::Parameter(at + 1, end), end));
    }
    let mut end = at;
    while end < template.len() {
        let byte = template[end];
        if byte == b'{' || byte == b'}' || starts_parameter(template, end) {
            break;
        }
        if !is_scope_char(byte) {
            return Err(TemplateError::NotAScopeCharacter);
        }
        end += 1;
    }
    Ok((Piece::Literal(at, end), end))
}

/// axum drops path parameters whose names start with this (its nest and fallback captures)
/// before handlers see them.
pub(crate) const RESERVED_PREFIX: &str = "__private__axum_";

/// Whether `bytes[start..end]` starts with `prefix`. `const`, for compile-time checks.
const fn has_prefix(bytes: &[u8], start: usize, end: usize, prefix: &[u8]) -> bool {
    if end - start < prefix.len() {
        return false;
    }
    let mut index = 0;
    while index < prefix.len() {
        if bytes[start + index] != prefix[index] {
            return false;
        }
        index += 1;
    }
    true
}

/// A `:` at the start, or after a character that cannot be part of a name.
const fn starts_parameter(template: &[u8], at: usize) -> bool {
    template[at] == b':' && (at == 0 || !is_name_char(template[at - 1]))
}

/// Checks a template against the grammar. `const`, for compile-time checks.
pub const fn check_template(template: &str) -> Result<(), TemplateError> {
    let bytes = template.as_bytes();
    if bytes.is_empty() {
        return Err(TemplateError::Empty);
    }
    let mut at = 0;
    let mut after_parameter = false;
    // Whether the literal since the last parameter has a name character in it.
    let mut separated = false;
    while at < bytes.len() {
        let (piece, next) = match next_piece(bytes, at) {
            Ok(found) => found,
            Err(error) => return Err(error),
        };
        match piece {
            Piece::Parameter(start, end) => {
                if after_parameter && !separated {
                    return Err(TemplateError::AdjacentParameters);
                }
                if has_prefix(bytes, start, end, RESERVED_PREFIX.as_bytes()) {
                    return Err(TemplateError::ReservedName);
                }
                after_parameter = true;
                separated = false;
            }
            Piece::Literal(start, end) => {
                let mut index = start;
                while index < end {
                    if is_name_char(bytes[index]) {
                        separated = true;
                    }
                    index += 1;
                }
            }
            Piece::Escaped(_) => {}
        }
        at = next;
    }
    Ok(())
}

/// A parsed template, ready to bind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScopeTemplate {
    source: Box<str>,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Parameter(Box<str>),
}

/// A path parameter's value as the matched route offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamValue<'v> {
    Value(&'v str),
    /// The matched route has no parameter of that name.
    Missing,
    /// The matched route has the name more than once (nested routers): no value is "the" one.
    Ambiguous,
    /// Present but unusable (not UTF-8): refused like any unsafe value.
    Unusable,
}

/// Why a named parameter cannot be bound: a configuration error, never a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unbound {
    /// The matched route has no parameter of that name.
    Missing,
    /// The matched route has that name more than once.
    Ambiguous,
}

impl Unbound {
    pub(crate) fn description(self) -> &'static str {
        match self {
            Unbound::Missing => "the matched route has no parameter of this name",
            Unbound::Ambiguous => {
                "the matched route has this parameter name more than once (rename one of them)"
            }
        }
    }
}

/// Why a template could not be bound to a request's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BindError {
    /// The route has no such parameter, or has it twice: a configuration error.
    Unbound(Box<str>, Unbound),
    /// A value broke the binding rules; it is request content, so it is never echoed.
    RefusedValue,
}

impl ScopeTemplate {
    pub(crate) fn parse(template: &str) -> Result<Self, TemplateError> {
        check_template(template)?;
        let bytes = template.as_bytes();
        let mut segments: Vec<Segment> = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let (piece, next) = next_piece(bytes, at)?;
            match piece {
                Piece::Parameter(start, end) => {
                    segments.push(Segment::Parameter(template[start..end].into()))
                }
                Piece::Literal(start, end) => push_literal(&mut segments, &template[start..end]),
                Piece::Escaped(byte) => push_literal(&mut segments, &(byte as char).to_string()),
            }
            at = next;
        }
        Ok(ScopeTemplate {
            source: template.into(),
            segments,
        })
    }

    /// The template as written.
    pub(crate) fn source(&self) -> &str {
        &self.source
    }

    /// Whether this template and `other` (each binding any values) could spell the same scope.
    /// Conservative: a shared scope needs the literal text before the first parameter of one to
    /// be a prefix of the other's, and likewise the text after the last parameter as a suffix;
    /// when both hold, the pair is treated as overlapping.
    pub(crate) fn may_overlap(&self, other: &ScopeTemplate) -> bool {
        match (self.outer_literals(), other.outer_literals()) {
            // Plain scopes name no tenant: two kinds granting one is no collision of tenants.
            (None, None) => false,
            (Some((prefix, suffix)), None) => {
                let fixed = other.literal_text();
                fixed.starts_with(prefix) && fixed.ends_with(suffix)
            }
            (None, Some(_)) => other.may_overlap(self),
            (Some((prefix_a, suffix_a)), Some((prefix_b, suffix_b))) => {
                (prefix_a.starts_with(prefix_b) || prefix_b.starts_with(prefix_a))
                    && (suffix_a.ends_with(suffix_b) || suffix_b.ends_with(suffix_a))
            }
        }
    }

    /// The literal text of the template, parameters left out.
    fn literal_text(&self) -> String {
        self.segments
            .iter()
            .filter_map(|segment| match segment {
                Segment::Literal(text) => Some(text.as_str()),
                Segment::Parameter(_) => None,
            })
            .collect()
    }

    /// The literal before the first parameter and after the last one; `None` without
    /// parameters.
    fn outer_literals(&self) -> Option<(&str, &str)> {
        let first = self
            .segments
            .iter()
            .position(|segment| matches!(segment, Segment::Parameter(_)))?;
        let last = self
            .segments
            .iter()
            .rposition(|segment| matches!(segment, Segment::Parameter(_)))?;
        let literal = |index: Option<usize>| match index.and_then(|i| self.segments.get(i)) {
            Some(Segment::Literal(text)) => text.as_str(),
            _ => "",
        };
        Some((literal(first.checked_sub(1)), literal(Some(last + 1))))
    }

    /// The parameter names, in order.
    pub(crate) fn parameters(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|segment| match segment {
            Segment::Parameter(name) => Some(&**name),
            Segment::Literal(_) => None,
        })
    }

    /// Whether the template ends in `*` after a parameter: with wildcard grants on, such a
    /// bound scope turns its value into a prefix. `room_1*` covers `room_10`, and `a-*` covers
    /// room `a-b` (a value may hold any literal that follows it).
    pub(crate) fn has_parameter_before_trailing_star(&self) -> bool {
        let has_parameter = self
            .segments
            .iter()
            .any(|segment| matches!(segment, Segment::Parameter(_)));
        let ends_in_star =
            matches!(self.segments.last(), Some(Segment::Literal(text)) if text.ends_with('*'));
        has_parameter && ends_in_star
    }

    /// The concrete scope for these path values (SECURITY-BAR §6).
    ///
    /// Between two parameters, the separating literal must occur exactly once in
    /// `left value + separator + right value`; otherwise another pair of values could bind the
    /// same scope (`a-room` + `-room-` + `b` and `a` + `-room-` + `room-b`).
    pub(crate) fn bind<'v>(
        &self,
        value_of: impl Fn(&str) -> ParamValue<'v>,
    ) -> Result<String, BindError> {
        let mut scope = String::with_capacity(self.source.len() + 32);
        self.bind_into(value_of, |piece| scope.push_str(piece))?;
        Ok(scope)
    }

    /// Binds the template as [`bind`](Self::bind) does and hands the scope to `use_scope`,
    /// built on the stack when it is short: deciding a requirement that holds allocates nothing.
    pub(crate) fn with_bound<'v, R>(
        &self,
        value_of: impl Fn(&str) -> ParamValue<'v>,
        use_scope: impl FnOnce(&str) -> R,
    ) -> Result<R, BindError> {
        // Most bound scopes are a verb, a noun and an id.
        let mut scope = ShortText::<128>::default();
        self.bind_into(value_of, |piece| scope.push_str(piece))?;
        // Only pieces of `&str` were written; a failure here would be a bug, refused closed.
        let scope = scope.as_str().ok_or(BindError::RefusedValue)?;
        Ok(use_scope(scope))
    }

    fn bind_into<'v>(
        &self,
        value_of: impl Fn(&str) -> ParamValue<'v>,
        mut push: impl FnMut(&str),
    ) -> Result<(), BindError> {
        // The previous parameter's value, and the literal since it.
        let mut previous: Option<&str> = None;
        let mut separator: Option<&str> = None;
        for segment in &self.segments {
            match segment {
                Segment::Literal(text) => {
                    push(text);
                    separator = Some(text);
                }
                Segment::Parameter(name) => {
                    let value = match value_of(name) {
                        ParamValue::Value(value) => value,
                        ParamValue::Unusable => return Err(BindError::RefusedValue),
                        ParamValue::Missing => {
                            return Err(BindError::Unbound(name.clone(), Unbound::Missing));
                        }
                        ParamValue::Ambiguous => {
                            return Err(BindError::Unbound(name.clone(), Unbound::Ambiguous));
                        }
                    };
                    if !is_bindable(value) {
                        return Err(BindError::RefusedValue);
                    }
                    if let (Some(left), Some(separator)) = (previous, separator)
                        && occurrences(&format!("{left}{separator}{value}"), separator) != 1
                    {
                        return Err(BindError::RefusedValue);
                    }
                    push(value);
                    previous = Some(value);
                    separator = None;
                }
            }
        }
        Ok(())
    }
}

/// How many times `needle` occurs in `haystack`, overlapping occurrences included.
fn occurrences(haystack: &str, needle: &str) -> usize {
    (0..haystack.len())
        .filter(|&start| haystack[start..].starts_with(needle))
        .count()
}

fn push_literal(segments: &mut Vec<Segment>, text: &str) {
    match segments.last_mut() {
        Some(Segment::Literal(literal)) => literal.push_str(text),
        _ => segments.push(Segment::Literal(text.to_owned())),
    }
}

/// Non-empty scope-token characters, and none of `*` (wildcard), `/` or `%` (decoded path
/// structure and encodings).
pub(crate) fn is_bindable(value: &str) -> bool {
    !value.is_empty()
        && value
            .bytes()
            .all(|byte| is_scope_char(byte) && !matches!(byte, b'*' | b'/' | b'%'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bind(template: &str, params: &[(&str, &str)]) -> Result<String, BindError> {
        ScopeTemplate::parse(template).unwrap().bind(|name| {
            match params.iter().find(|(n, _)| *n == name) {
                Some((_, value)) => ParamValue::Value(value),
                None => ParamValue::Missing,
            }
        })
    }

    #[test]
    fn templates_that_could_spell_the_same_scope_overlap() {
        let overlap = |a: &str, b: &str| {
            let (a, b) = (
                ScopeTemplate::parse(a).unwrap(),
                ScopeTemplate::parse(b).unwrap(),
            );
            a.may_overlap(&b) && b.may_overlap(&a)
        };
        assert!(overlap("manage:{t}", "manage:room-{t}"));
        assert!(overlap("add::t", "add:{t}"));
        assert!(overlap("x-{t}-end", "x-{t}-end"));
        assert!(overlap("manage:org-{t}", "manage:org-all"));
        assert!(overlap("{t}.read", "room-{t}.read"));
        assert!(!overlap("manage:org-{t}", "manage:room-{t}"));
        assert!(!overlap("read:{t}", "write:{t}"));
        assert!(!overlap("x-{t}-a", "x-{t}-b"));
        assert!(!overlap("manage:org-{t}", "read:all"));
        // Two plain scopes grant nothing tenant-bound: no overlap of kinds.
        assert!(!overlap("read:audit", "read:audit"));
    }

    #[test]
    fn both_syntaxes_bind_the_same_scope() {
        let params = [("room", "r1")];
        assert_eq!(
            bind("delete:comments-in-:room", &params).unwrap(),
            "delete:comments-in-r1"
        );
        assert_eq!(
            bind("delete:comments-in-{room}", &params).unwrap(),
            "delete:comments-in-r1"
        );
        assert_eq!(bind(":room", &params).unwrap(), "r1");
        assert_eq!(bind("read:all", &params).unwrap(), "read:all");
    }

    #[test]
    fn colons_after_name_characters_are_literal() {
        let template = ScopeTemplate::parse("delete:comments").unwrap();
        assert_eq!(template.parameters().count(), 0);
        let template = ScopeTemplate::parse("api:v1:read").unwrap();
        assert_eq!(template.parameters().count(), 0);
        let template = ScopeTemplate::parse(":org:room").unwrap();
        assert_eq!(template.parameters().collect::<Vec<_>>(), ["org"]);
    }

    #[test]
    fn escapes() {
        assert_eq!(bind("a-::b", &[]).unwrap(), "a-:b");
        assert_eq!(bind("{{x}}", &[]).unwrap(), "{x}");
        assert_eq!(
            bind("read:{{:room}}", &[("room", "r")]).unwrap(),
            "read:{r}"
        );
        assert_eq!(bind("::", &[]).unwrap(), ":");
    }

    #[test]
    fn bad_templates_are_refused_with_their_reason() {
        let cases = [
            ("", TemplateError::Empty),
            ("a-:", TemplateError::EmptyName),
            (":", TemplateError::EmptyName),
            ("read:{}", TemplateError::EmptyName),
            ("read:{room", TemplateError::UnclosedBrace),
            ("read:{ro-om}", TemplateError::UnclosedBrace),
            ("read:room}", TemplateError::UnmatchedBrace),
            ("read comments", TemplateError::NotAScopeCharacter),
            ("read:\"x\"", TemplateError::NotAScopeCharacter),
            ("read:caf\u{e9}", TemplateError::NotAScopeCharacter),
            (":org-:room", TemplateError::AdjacentParameters),
            (
                "read:{__private__axum_fallback}",
                TemplateError::ReservedName,
            ),
            ("read::__private__axum_x", TemplateError::ReservedName),
            ("{org}{room}", TemplateError::AdjacentParameters),
            ("{org}.:room", TemplateError::AdjacentParameters),
        ];
        for (template, expected) in cases {
            assert_eq!(check_template(template), Err(expected), "{template:?}");
            assert_eq!(ScopeTemplate::parse(template), Err(expected));
        }
        assert!(check_template("read:org-:org-room-:room").is_ok());
    }

    #[test]
    fn unsafe_values_are_refused() {
        for value in [
            "",
            "a b",
            "a/b",
            "a%2Fb",
            "*",
            "a*",
            "caf\u{e9}",
            "a\"b",
            "a\\b",
        ] {
            assert_eq!(
                bind("delete:comments-in-:room", &[("room", value)]),
                Err(BindError::RefusedValue),
                "{value:?}"
            );
        }
        let uuid = "550e8400-e29b-41d4-a716-446655440000";
        assert_eq!(
            bind("add:comments-in-:room", &[("room", uuid)]).unwrap(),
            format!("add:comments-in-{uuid}")
        );
    }

    #[test]
    fn values_may_not_contain_their_separators() {
        let template = "read:org-:org-room-:room";
        assert_eq!(
            bind(template, &[("org", "a-room-b"), ("room", "c")]),
            Err(BindError::RefusedValue)
        );
        assert_eq!(
            bind(template, &[("org", "a"), ("room", "b-room-c")]),
            Err(BindError::RefusedValue)
        );
        assert_eq!(
            bind(template, &[("org", "a-b"), ("room", "c-d")]).unwrap(),
            "read:org-a-b-room-c-d"
        );
    }

    #[test]
    fn values_may_not_overlap_their_separators() {
        let template = "read:org-:org-room-:room";
        // Org "a" + room "room-b" and org "a-room" + room "b" both spell
        // "read:org-a-room-room-b": neither pair may bind it.
        assert_eq!(
            bind(template, &[("org", "a"), ("room", "room-b")]),
            Err(BindError::RefusedValue)
        );
        assert_eq!(
            bind(template, &[("org", "a-room"), ("room", "b")]),
            Err(BindError::RefusedValue)
        );
        // A trailing "-" that does not complete another separator is unambiguous.
        assert_eq!(
            bind(template, &[("org", "a-"), ("room", "b")]).unwrap(),
            "read:org-a--room-b"
        );
        assert_eq!(occurrences("a---b", "--"), 2);
        assert_eq!(occurrences("a-room-b", "-room-"), 1);
    }

    #[test]
    fn a_missing_parameter_is_named() {
        assert_eq!(
            bind("read:{room}", &[("id", "1")]),
            Err(BindError::Unbound("room".into(), Unbound::Missing))
        );
    }
}
