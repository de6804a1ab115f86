//! The one strict reader of JSON objects: the JOSE header, the claims, and objects inside claims
//! (role maps).
//!
//! A document is accepted only as valid UTF-8 as a whole (RFC 8259 §8.1), holding exactly one
//! object whose grammar `grammar` checks in one pass. Members are returned
//! unparsed, as their raw JSON text, so a caller parses only what it reads, into the type it
//! expects; a name that occurs twice is reported as [`Member::Repeated`], never resolved
//! first-wins or last-wins.

mod grammar;

use std::borrow::Cow;

use serde::Deserialize;

/// The document is not one well-formed JSON object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NotAnObject;

/// A member looked up by name.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Member<'a> {
    Absent,
    /// The member's raw JSON text.
    Present(&'a str),
    /// The name occurs more than once: there is no "the" value.
    Repeated,
}

impl<'a> Member<'a> {
    /// The value as a string, borrowed unless it holds escapes; `None` when absent, repeated,
    /// or not a string.
    pub(crate) fn text(self) -> Option<Cow<'a, str>> {
        match self {
            Member::Present(raw) => match plain_string(raw) {
                Some(text) => Some(Cow::Borrowed(text)),
                None => self.parse::<String>().map(Cow::Owned),
            },
            Member::Absent | Member::Repeated => None,
        }
    }

    /// The value as `T`; `None` when absent, repeated, or not a `T`.
    pub(crate) fn parse<T: Deserialize<'a>>(self) -> Option<T> {
        match self {
            Member::Present(raw) => serde_json::from_str(raw).ok(),
            Member::Absent | Member::Repeated => None,
        }
    }
}

/// Every top-level member of one object, in document order.
#[derive(Debug)]
pub(crate) struct Members<'a> {
    entries: Vec<(Cow<'a, str>, &'a str)>,
}

impl<'a> Members<'a> {
    /// Reads `json` as one object.
    pub(crate) fn parse(json: &'a [u8]) -> Result<Self, NotAnObject> {
        let mut entries = Vec::new();
        scan(json, |name, value| entries.push((name, value)))?;
        Ok(Members { entries })
    }

    /// The member called `name`.
    pub(crate) fn get(&self, name: &str) -> Member<'a> {
        let mut found = self.entries.iter().filter(|(key, _)| key == name);
        match (found.next(), found.next()) {
            (None, _) => Member::Absent,
            (Some((_, value)), None) => Member::Present(value),
            (Some(_), Some(_)) => Member::Repeated,
        }
    }

    /// Whether any name occurs more than once.
    pub(crate) fn has_repeated_names(&self) -> bool {
        self.entries
            .iter()
            .enumerate()
            .any(|(index, (name, _))| self.entries[..index].iter().any(|(seen, _)| seen == name))
    }

    /// Each member, in document order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &'a str)> {
        self.entries.iter().map(|(name, value)| (&**name, *value))
    }
}

/// The text of `raw`, a value [`scan`] returned, when it is a string without escapes: the
/// bytes between its quotes, which the grammar has checked. Read without serde_json, whose
/// dispatch cost more than the rest of a header's checks.
pub(crate) fn plain_string(raw: &str) -> Option<&str> {
    raw.strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .filter(|text| !text.contains('\\'))
}

/// `document` without a leading UTF-8 byte order mark. For documents an issuer serves
/// (discovery, JWKS): RFC 8259 §8.1 lets a parser ignore one, and some servers add it. Never for
/// a token's segments, where nothing but the JSON may stand.
pub(crate) fn without_bom(document: &[u8]) -> &[u8] {
    document.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(document)
}

/// The member `name` of the object `json`, without collecting the others.
pub(crate) fn find<'a>(json: &'a [u8], name: &str) -> Result<Member<'a>, NotAnObject> {
    let mut member = Member::Absent;
    scan(json, |key, value| {
        if key == name {
            member = match member {
                Member::Absent => Member::Present(value),
                Member::Present(_) | Member::Repeated => Member::Repeated,
            };
        }
    })?;
    Ok(member)
}

/// Calls `each` for every top-level member of the object `json`, with the value's raw JSON
/// text, in document order: one pass, nothing collected, for readers on the hot path.
pub(crate) fn scan<'a>(
    json: &'a [u8],
    each: impl FnMut(Cow<'a, str>, &'a str),
) -> Result<(), NotAnObject> {
    let text = std::str::from_utf8(json).map_err(|_| NotAnObject)?;
    grammar::members(text, each)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_by_name() {
        let json = br#"{"a":1,"b":"x","c":[1,2],"b":"y","d\u005f":true}"#;
        let members = Members::parse(json).unwrap();
        assert_eq!(members.get("a").parse::<u8>(), Some(1));
        assert!(matches!(members.get("b"), Member::Repeated));
        assert_eq!(members.get("b").parse::<String>(), None);
        assert_eq!(members.get("c").parse::<Vec<u8>>(), Some(vec![1, 2]));
        assert_eq!(members.get("d_").parse::<bool>(), Some(true));
        assert!(matches!(members.get("e"), Member::Absent));
        assert!(members.has_repeated_names());
        assert!(!Members::parse(br#"{"a":1}"#).unwrap().has_repeated_names());
    }

    #[test]
    fn text_is_borrowed_unless_escaped() {
        let members = Members::parse(br#"{"a":"plain","b":"q\"uote","c":1}"#).unwrap();
        assert!(matches!(
            members.get("a").text(),
            Some(Cow::Borrowed("plain"))
        ));
        assert_eq!(members.get("b").text().as_deref(), Some("q\"uote"));
        assert_eq!(members.get("c").text(), None);
    }

    #[test]
    fn a_byte_order_mark_is_dropped_only_where_asked() {
        let with_bom = b"\xEF\xBB\xBF{\"a\":1}";
        assert!(Members::parse(with_bom).is_err());
        assert!(Members::parse(without_bom(with_bom)).is_ok());
        assert_eq!(without_bom(b"{}"), b"{}");
    }

    #[test]
    fn find_reports_repeats_and_types() {
        let json = br#"{"org":"a","n":5,"org":"b"}"#;
        assert!(matches!(find(json, "org"), Ok(Member::Repeated)));
        assert_eq!(find(json, "n").unwrap().parse::<u32>(), Some(5));
        assert_eq!(find(json, "n").unwrap().parse::<String>(), None);
    }

    #[test]
    fn only_one_strict_object() {
        for bad in [
            &b"[1]"[..],
            b"{} {}",
            b"{\"a\":}",
            b"{\"a\":1,}",
            b"",
            b"null",
            b"{\"a\":\"\xff\"}",
            b"{\"\xff\":1}",
        ] {
            assert!(Members::parse(bad).is_err(), "{bad:?}");
        }
        // Invalid UTF-8 in a member nobody reads still refuses the whole document.
        assert!(find(b"{\"a\":1,\"z\":\"\xc3\x28\"}", "a").is_err());
        assert!(Members::parse(b" \n{\"a\":{\"b\":[]}}\t").is_ok());
        assert!(Members::parse(&[b'['; 5000]).is_err());
    }
}
