//! Text built from a few `&str` pieces on every request (a bound scope, the matched route's
//! path values), kept inline when short: a heap allocation per request showed in the profiles.

use std::ops::Range;

/// Up to `N` bytes inline, without allocating; longer text moves to the heap whole.
#[derive(Clone)]
pub(crate) struct ShortText<const N: usize> {
    inline: [u8; N],
    len: usize,
    /// The whole text, once it has outgrown the inline bytes: only whole `&str` pieces are
    /// written, and text is read back through `from_utf8`.
    spilled: Option<Vec<u8>>,
}

impl<const N: usize> Default for ShortText<N> {
    fn default() -> Self {
        ShortText {
            inline: [0; N],
            len: 0,
            spilled: None,
        }
    }
}

impl<const N: usize> ShortText<N> {
    pub(crate) fn push_str(&mut self, text: &str) {
        if let Some(whole) = &mut self.spilled {
            whole.extend_from_slice(text.as_bytes());
            return;
        }
        let end = self.len + text.len();
        if let Some(free) = self.inline.get_mut(self.len..end) {
            free.copy_from_slice(text.as_bytes());
            self.len = end;
            return;
        }
        // The inline bytes are moved over whole: nothing written can be lost in the spill.
        let mut whole = Vec::with_capacity(end.max(2 * N));
        whole.extend_from_slice(&self.inline[..self.len]);
        whole.extend_from_slice(text.as_bytes());
        self.spilled = Some(whole);
    }

    /// The bytes written so far.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        match &self.spilled {
            Some(whole) => whole,
            None => self.inline.get(..self.len).unwrap_or_default(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// The text at `range`; `None` when the range is out of bounds or splits a character,
    /// which ranges between whole `&str` pieces cannot.
    pub(crate) fn get(&self, range: Range<usize>) -> Option<&str> {
        std::str::from_utf8(self.as_bytes().get(range)?).ok()
    }

    /// The whole text (as [`get`](Self::get) over all of it).
    pub(crate) fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self.as_bytes()).ok()
    }

    #[cfg(test)]
    fn spilled(&self) -> bool {
        self.spilled.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_stays_inline_and_long_text_spills_whole() {
        let mut short = ShortText::<32>::default();
        short.push_str("read:comments-in-");
        short.push_str("room_1");
        assert_eq!(short.as_str(), Some("read:comments-in-room_1"));
        assert_eq!(short.get(5..13), Some("comments"));
        assert_eq!(short.len(), 23);
        assert!(!short.spilled());

        let long_value = "é".repeat(20);
        let mut long = ShortText::<32>::default();
        long.push_str("read:");
        long.push_str(&long_value);
        long.push_str(":x");
        assert_eq!(long.as_str(), Some(format!("read:{long_value}:x").as_str()));
        assert!(long.spilled());
        assert_eq!(long.get(0..5), Some("read:"));
        // Inside a two-byte character: refused, not split.
        assert_eq!(long.get(0..6), None);
        assert_eq!(long.get(0..100), None);

        let mut exact = ShortText::<32>::default();
        exact.push_str(&"a".repeat(32));
        assert_eq!(exact.as_str().map(str::len), Some(32));
        assert!(!exact.spilled());
        exact.push_str("b");
        assert!(exact.spilled());
        assert_eq!(
            exact.as_str(),
            Some(format!("{}b", "a".repeat(32)).as_str())
        );
    }
}
