//! The grammar against serde_json, which reads every value a caller takes from it: both must
//! accept the same documents and find the same members in them.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};

use super::*;

/// What serde_json makes of `text` read as one object of skipped values: its member names.
fn serde_names(text: &str) -> Option<Vec<String>> {
    struct Names;
    impl<'de> Visitor<'de> for Names {
        type Value = Vec<String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Vec<String>, A::Error> {
            let mut names = Vec::new();
            while let Some((name, IgnoredAny)) = map.next_entry::<String, IgnoredAny>()? {
                names.push(name);
            }
            Ok(names)
        }
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let names = deserializer.deserialize_map(Names).ok()?;
    deserializer.end().ok()?;
    Some(names)
}

fn grammar_names(text: &str) -> Option<Vec<String>> {
    let mut names = Vec::new();
    let mut values_read = true;
    members(text, |name, raw| {
        names.push(name.into_owned());
        values_read &= serde_json::from_str::<IgnoredAny>(raw).is_ok();
    })
    .ok()?;
    assert!(
        values_read,
        "a value's raw text does not read alone: {text:?}"
    );
    Some(names)
}

/// Deeper than the grammar reads ([`MAX_NESTING`]), where serde_json, which skips any depth,
/// would accept: not compared.
fn too_deep(text: &str) -> bool {
    let mut depth = 0usize;
    let mut deepest = 0;
    for byte in text.bytes() {
        match byte {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
        deepest = deepest.max(depth);
    }
    deepest > MAX_NESTING as usize
}

/// Whether both accept `text` (`None` when it nests too deep to compare).
fn agree(text: &str) -> Option<bool> {
    if too_deep(text) {
        return None;
    }
    let names = grammar_names(text);
    assert_eq!(names, serde_names(text), "{text:?}");
    Some(names.is_some())
}

#[test]
fn agrees_with_serde_json_on_chosen_documents() {
    for text in [
        "{}",
        " {\n}\t",
        r#"{"a":1}"#,
        r#"{"a":1,}"#,
        r#"{"a" : [ 1 , 2 ] , "b":{"c":{}}}"#,
        r#"{"a":[1,]}"#,
        r#"{"a":[,1]}"#,
        r#"{"a":{"b"}}"#,
        r#"{"a":{"b":1,}}"#,
        r#"{"a":{,}}"#,
        r#"{"a":01}"#,
        r#"{"a":-0}"#,
        r#"{"a":-}"#,
        r#"{"a":1.}"#,
        r#"{"a":.5}"#,
        r#"{"a":1.5e}"#,
        r#"{"a":1.5e+}"#,
        r#"{"a":1.5E-7}"#,
        r#"{"a":+1}"#,
        r#"{"a":1e5.5}"#,
        r#"{"a":tru}"#,
        r#"{"a":truex}"#,
        r#"{"a":null,"b":false,"c":true}"#,
        r#"{"a":"\u00e9\ud800\"\\\/\b\f\n\r\t"}"#,
        r#"{"a":"\u00g0"}"#,
        r#"{"a":"\x"}"#,
        "{\"a\":\"\u{1}\"}",
        "{\"a\":\"\u{7f}é😀\"}",
        r#"{"\u0061b":1}"#,
        r#"{"\ud800":1}"#,
        r#"{"a":"unterminated}"#,
        r#"{"a":1}{}"#,
        r#"{"a":1} x"#,
        r#"["a"]"#,
        r#""a""#,
        "",
        "{",
        r#"{"a""#,
        r#"{"a":"#,
        r#"{"a":[[[[]]]]}"#,
        r#"{"a":[{"b":[{}]}],"c":"0123456789abcdef\"0123456789abcdef"}"#,
        r#"{1:2}"#,
    ] {
        agree(text);
    }
    assert_eq!(agree(r#"{"a":[{"b":"\ud800"}]}"#), Some(true));
}

#[test]
fn raw_values_are_the_values_alone() {
    let mut raw = Vec::new();
    members(" { \"a\" :\t\"x\" , \"b\":\n[ 1 ]\r}", |name, value| {
        raw.push((name.into_owned(), value))
    })
    .unwrap();
    assert_eq!(raw, [("a".to_owned(), "\"x\""), ("b".to_owned(), "[ 1 ]")]);
}

#[test]
fn nesting_is_bounded_without_recursion() {
    let nested = |levels: usize| format!("{{\"a\":{}1{}}}", "[".repeat(levels), "]".repeat(levels));
    assert!(members(&nested(MAX_NESTING as usize), |_, _| {}).is_ok());
    assert!(members(&nested(MAX_NESTING as usize + 1), |_, _| {}).is_err());
    assert!(members(&nested(100_000), |_, _| {}).is_err());
}

/// Pieces near the grammar's edges, for the generated documents.
const PIECES: &[&str] = &[
    "{", "}", "[", "]", "\"", "\\", ":", ",", " ", "\n", "0", "1", "-", ".", "e", "+", "true",
    "null", "fal", "\\u00", "\\ud83d", "a", "é", "\u{1f}", "\"x\"", "\"k\":",
];

/// A small deterministic generator, so a failure names a reproducible case.
struct Generator(u64);

impl Generator {
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }

    fn value(&mut self, depth: usize, out: &mut String) {
        let space = [" ", "", "\n", "\t"][self.below(4)];
        out.push_str(space);
        match self.below(if depth > 3 { 5 } else { 7 }) {
            0 => out.push_str(["true", "false", "null"][self.below(3)]),
            1 => out.push_str(["0", "-12", "3.25", "1e9", "-0.5E-3", "17"][self.below(6)]),
            2 => out.push_str(
                ["\"\"", "\"plain text here\"", "\"q\\\"\\u0041\"", "\"é\""][self.below(4)],
            ),
            3 | 4 => out.push_str("\"read:comments-in-room_7\""),
            5 => {
                out.push('[');
                for index in 0..self.below(4) {
                    if index > 0 {
                        out.push(',');
                    }
                    self.value(depth + 1, out);
                }
                out.push(']');
            }
            _ => self.object(depth + 1, out),
        }
        out.push_str(space);
    }

    fn object(&mut self, depth: usize, out: &mut String) {
        out.push('{');
        for index in 0..self.below(4) {
            if index > 0 {
                out.push(',');
            }
            out.push_str(["\"a\"", "\"scope\"", "\"\\u0062\"", "\"a\""][self.below(4)]);
            out.push(':');
            self.value(depth, out);
        }
        out.push('}');
    }
}

#[test]
fn agrees_with_serde_json_on_generated_documents() {
    let mut generator = Generator(0x9E37_79B9_7F4A_7C15);
    let mut accepted = 0;
    for _ in 0..20_000 {
        let mut text = String::new();
        generator.object(0, &mut text);
        // Most stay valid; the rest are cut, or have a piece put in or taken out.
        for _ in 0..generator.below(3) {
            let boundaries: Vec<usize> = (0..=text.len())
                .filter(|&at| text.is_char_boundary(at))
                .collect();
            let at = boundaries[generator.below(boundaries.len())];
            match generator.below(3) {
                0 => text.insert_str(at, PIECES[generator.below(PIECES.len())]),
                1 => {
                    let end = boundaries[(boundaries.binary_search(&at).unwrap_or(0) + 1)
                        .min(boundaries.len() - 1)];
                    text.replace_range(at..end, "");
                }
                _ => text.truncate(at),
            }
        }
        accepted += usize::from(agree(&text) == Some(true));
    }
    // Both sides of the edge are exercised.
    assert!((5_000..15_000).contains(&accepted), "{accepted} accepted");
}

#[test]
fn plain_runs_stop_at_the_first_byte_that_needs_attention() {
    let mut checked = BTreeMap::new();
    for length in 0..20 {
        for position in 0..=length {
            for special in [b'"', b'\\', 0x00, 0x1F] {
                let mut bytes = vec![b'a'; length];
                bytes.extend_from_slice("é\u{7f} ".as_bytes());
                if position < length {
                    bytes[position] = special;
                }
                let expected = if position < length {
                    position
                } else {
                    bytes.len()
                };
                assert_eq!(plain_run(&bytes), expected, "{bytes:?}");
                checked.insert((length, position), expected);
            }
        }
    }
    assert!(checked.len() > 200);
}
