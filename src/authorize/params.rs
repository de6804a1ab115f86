//! The matched route's path values, as the handler's `Path` extractor sees them.

use crate::grant::{ParamValue, is_bindable};
use crate::short_text::ShortText;

/// Percent-decoded path values of the matched route, in route order, and the route pattern
/// (for logs). A name may occur twice when routers are nested (`/orgs/{id}` around
/// `/invoices/{id}`); such a name never binds.
///
/// Read on every request that has a requirement: the names, values and route are copied into
/// one text, inline up to [`INLINE_TEXT`] bytes, and up to [`INLINE_PAIRS`] pairs are indexed
/// inline too: a usual route's values allocate nothing.
#[derive(Clone, Default)]
pub(crate) struct PathValues {
    /// The route, then each name and its value, back to back.
    text: ShortText<INLINE_TEXT>,
    route_len: Option<usize>,
    pairs: Pairs,
    /// A value was not UTF-8: nothing can bind, and the request is refused like any unsafe
    /// value.
    invalid_utf8: bool,
}

impl std::fmt::Debug for PathValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PathValues")
            .field("pairs", &self.iter().collect::<Vec<_>>())
            .field("invalid_utf8", &self.invalid_utf8)
            .field("route", &self.route())
            .finish()
    }
}

/// Routes rarely have more path parameters than this.
const INLINE_PAIRS: usize = 4;

/// A route pattern with two short values fits (`/rooms/{room}/comments/{id}`, 27 bytes).
const INLINE_TEXT: usize = 80;

/// A name at `text[start..split]` with its value at `text[split..end]`.
#[derive(Debug, Clone, Copy, Default)]
struct Pair {
    start: usize,
    split: usize,
    end: usize,
}

/// The pairs in order: the first [`INLINE_PAIRS`] inline, any more on the heap.
#[derive(Debug, Clone, Default)]
struct Pairs {
    inline: [Pair; INLINE_PAIRS],
    inline_len: usize,
    more: Vec<Pair>,
}

impl Pairs {
    fn push(&mut self, pair: Pair) {
        match self.inline.get_mut(self.inline_len) {
            Some(slot) => {
                *slot = pair;
                self.inline_len += 1;
            }
            None => self.more.push(pair),
        }
    }

    fn iter(&self) -> impl Iterator<Item = &Pair> + Clone {
        self.inline[..self.inline_len].iter().chain(&self.more)
    }
}

// Built only by the axum integration; without it, requirements bind no path values.
#[cfg_attr(not(feature = "axum"), allow(dead_code))]
impl PathValues {
    pub(crate) fn new<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        route: Option<&str>,
    ) -> Self {
        let mut values = PathValues::default();
        if let Some(route) = route {
            values.text.push_str(route);
            values.route_len = Some(route.len());
        }
        for (name, value) in pairs {
            values.push(name, value);
        }
        values
    }

    pub(crate) fn invalid_utf8(route: Option<&str>) -> Self {
        PathValues {
            invalid_utf8: true,
            ..PathValues::new([], route)
        }
    }

    fn push(&mut self, name: &str, value: &str) {
        let start = self.text.len();
        self.text.push_str(name);
        let split = self.text.len();
        self.text.push_str(value);
        let end = self.text.len();
        self.pairs.push(Pair { start, split, end });
    }

    /// Each name and its value, in route order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> + Clone {
        self.pairs.iter().map(|pair| {
            (
                self.text.get(pair.start..pair.split).unwrap_or_default(),
                self.text.get(pair.split..pair.end).unwrap_or_default(),
            )
        })
    }

    /// The value of `name`, refused when the route holds that name more than once: "the first"
    /// need not be the value the handler sees.
    pub(crate) fn get(&self, name: &str) -> ParamValue<'_> {
        if self.invalid_utf8 {
            return ParamValue::Unusable;
        }
        // Names compared as bytes; only the one value found is read as text.
        let text = self.text.as_bytes();
        let mut named = self
            .pairs
            .iter()
            .filter(|pair| text.get(pair.start..pair.split) == Some(name.as_bytes()));
        match (named.next(), named.next()) {
            (Some(pair), None) => match self.text.get(pair.split..pair.end) {
                Some(value) => ParamValue::Value(value),
                None => ParamValue::Unusable,
            },
            (Some(_), Some(_)) => ParamValue::Ambiguous,
            (None, _) => ParamValue::Missing,
        }
    }

    /// Sets `name` to `value`, replacing every value it had. The replaced text stays in the
    /// string, unindexed: only `Access::with_param` sets values, a few times per request.
    pub(crate) fn set(&mut self, name: &str, value: &str) {
        let mut kept = Pairs::default();
        for pair in self.pairs.iter() {
            if self.text.as_bytes().get(pair.start..pair.split) != Some(name.as_bytes()) {
                kept.push(*pair);
            }
        }
        self.pairs = kept;
        self.push(name, value);
    }

    /// Only the values a requirement can bind: the names it uses, with values that pass the
    /// binding rules. What a grant resolver sees and is cached by: other path values (a comment
    /// id beside the room) would split the cache, and refused ones are request content.
    pub(crate) fn bindable_for(&self, names: &[&str]) -> PathValues {
        let bindable = self
            .iter()
            .filter(|(name, value)| names.contains(name) && is_bindable(value));
        PathValues::new(bindable, self.route())
    }

    /// The matched route's pattern (`/rooms/{room}`), when known.
    pub(crate) fn route(&self) -> Option<&str> {
        self.text.get(0..self.route_len?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_never_bind() {
        let values = PathValues::new([("id", "org-7"), ("id", "99"), ("room", "r")], None);
        assert_eq!(values.get("id"), ParamValue::Ambiguous);
        assert_eq!(values.get("room"), ParamValue::Value("r"));
        assert_eq!(values.get("nope"), ParamValue::Missing);
        assert_eq!(
            PathValues::invalid_utf8(None).get("room"),
            ParamValue::Unusable
        );
        let mut values = values;
        values.set("id", "5");
        assert_eq!(values.get("id"), ParamValue::Value("5"));
        assert_eq!(values.get("room"), ParamValue::Value("r"));
    }

    #[test]
    fn more_pairs_than_fit_inline_keep_their_order() {
        let names = ["a", "b", "c", "d", "e", "f"];
        let values = PathValues::new(names.iter().map(|name| (*name, *name)), Some("/r"));
        assert_eq!(
            values.iter().map(|(name, _)| name).collect::<Vec<_>>(),
            names
        );
        assert_eq!(values.get("f"), ParamValue::Value("f"));
        assert_eq!(values.route(), Some("/r"));
        let bindable = values.bindable_for(&["b", "f"]);
        assert_eq!(
            bindable.iter().collect::<Vec<_>>(),
            [("b", "b"), ("f", "f")]
        );
        assert_eq!(bindable.route(), Some("/r"));
    }
}
