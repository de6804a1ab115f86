//! Character rules shared by every layer: scope-tokens (RFC 6749 §3.3), quoted-string values
//! in challenges (RFC 6750 §3), and key ids (SECURITY-BAR §3).

/// `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )` (RFC 6749 §3.3).
pub(crate) const fn is_scope_char(byte: u8) -> bool {
    matches!(byte, 0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

/// A non-empty string of scope-token characters.
pub(crate) fn is_scope_token(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(is_scope_char)
}

/// `%x20-21 / %x23-5B / %x5D-7E`: printable ASCII without `"` and `\`, what RFC 6750 allows in
/// its quoted attribute values.
pub(crate) fn is_quoted_safe(byte: u8) -> bool {
    matches!(byte, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)
}

/// The longest `kid` scopegate looks up, in bytes.
pub(crate) const MAX_KID_LEN: usize = 256;

/// `kid` rules: 1 to 256 bytes of printable ASCII.
pub(crate) fn is_valid_kid(kid: &str) -> bool {
    !kid.is_empty() && kid.len() <= MAX_KID_LEN && kid.bytes().all(|b| (0x20..=0x7E).contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_tokens() {
        assert!(is_scope_token("read:comments-in-room_1"));
        for bad in ["", "a b", "a\"b", "a\\b", "caf\u{e9}", "a\tb"] {
            assert!(!is_scope_token(bad), "{bad:?}");
        }
    }

    #[test]
    fn key_ids() {
        assert!(is_valid_kid("rs256-1"));
        assert!(is_valid_kid(&"k".repeat(MAX_KID_LEN)));
        assert!(!is_valid_kid(&"k".repeat(MAX_KID_LEN + 1)));
        assert!(!is_valid_kid(""));
        assert!(!is_valid_kid("a\u{0}b"));
    }
}
