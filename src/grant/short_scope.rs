//! A scope bound from a template, written on the stack when it is short: a requirement is
//! decided on every request, and a heap allocation per bound scope showed in its profile.

/// Where a template's pieces are written as it is bound.
pub(super) trait ScopeWriter {
    fn push(&mut self, text: &str);
}

impl ScopeWriter for String {
    fn push(&mut self, text: &str) {
        self.push_str(text);
    }
}

/// Bound scopes longer than this go to the heap. Most are a verb, a noun and an id.
const ON_STACK: usize = 128;

/// A bound scope of up to [`ON_STACK`] bytes without allocating, longer ones on the heap.
pub(super) struct ShortScope {
    bytes: [u8; ON_STACK],
    len: usize,
    /// The whole scope, once it has outgrown the stack.
    spilled: Option<String>,
}

impl ShortScope {
    pub(super) fn new() -> Self {
        ShortScope {
            bytes: [0; ON_STACK],
            len: 0,
            spilled: None,
        }
    }

    /// The scope written so far; `None` only if the bytes were not UTF-8, which whole `&str`
    /// pieces cannot make.
    pub(super) fn as_str(&self) -> Option<&str> {
        match &self.spilled {
            Some(scope) => Some(scope),
            None => std::str::from_utf8(self.bytes.get(..self.len)?).ok(),
        }
    }
}

impl ScopeWriter for ShortScope {
    fn push(&mut self, text: &str) {
        if let Some(scope) = &mut self.spilled {
            scope.push_str(text);
            return;
        }
        let end = self.len + text.len();
        if let Some(free) = self.bytes.get_mut(self.len..end) {
            free.copy_from_slice(text.as_bytes());
            self.len = end;
            return;
        }
        let mut scope = String::with_capacity(end);
        scope.push_str(self.as_str().unwrap_or_default());
        scope.push_str(text);
        self.spilled = Some(scope);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_scopes_stay_on_the_stack_and_long_ones_spill_whole() {
        let mut short = ShortScope::new();
        short.push("read:comments-in-");
        short.push("room_1");
        assert_eq!(short.as_str(), Some("read:comments-in-room_1"));
        assert!(short.spilled.is_none());

        let long_value = "é".repeat(ON_STACK / 2 + 3);
        let mut long = ShortScope::new();
        long.push("read:");
        long.push(&long_value);
        long.push(":x");
        assert_eq!(long.as_str(), Some(format!("read:{long_value}:x").as_str()));
        assert!(long.spilled.is_some());

        let mut exact = ShortScope::new();
        exact.push(&"a".repeat(ON_STACK));
        assert_eq!(exact.as_str().map(str::len), Some(ON_STACK));
        assert!(exact.spilled.is_none());
    }
}
