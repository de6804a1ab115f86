//! The matched route's path values, as the handler's `Path` extractor sees them.

use crate::grant::{ParamValue, is_bindable};

/// Percent-decoded path values of the matched route, in route order, and the route pattern
/// (for logs). A name may occur twice when routers are nested (`/orgs/{id}` around
/// `/invoices/{id}`); such a name never binds.
#[derive(Debug, Clone, Default)]
pub(crate) struct PathValues {
    pairs: Vec<(Box<str>, Box<str>)>,
    /// A value was not UTF-8: nothing can bind, and the request is refused like any unsafe
    /// value.
    invalid_utf8: bool,
    route: Option<Box<str>>,
}

// Built only by the axum integration; without it, requirements bind no path values.
#[cfg_attr(not(feature = "axum"), allow(dead_code))]
impl PathValues {
    pub(crate) fn new<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        route: Option<&str>,
    ) -> Self {
        PathValues {
            pairs: pairs
                .into_iter()
                .map(|(name, value)| (name.into(), value.into()))
                .collect(),
            invalid_utf8: false,
            route: route.map(Box::from),
        }
    }

    pub(crate) fn invalid_utf8(route: Option<&str>) -> Self {
        PathValues {
            invalid_utf8: true,
            route: route.map(Box::from),
            ..PathValues::default()
        }
    }

    /// The value of `name`, refused when the route holds that name more than once: "the first"
    /// need not be the value the handler sees.
    pub(crate) fn get(&self, name: &str) -> ParamValue<'_> {
        if self.invalid_utf8 {
            return ParamValue::Unusable;
        }
        let mut found = self.pairs.iter().filter(|(key, _)| &**key == name);
        match (found.next(), found.next()) {
            (Some((_, value)), None) => ParamValue::Value(value),
            (Some(_), Some(_)) => ParamValue::Ambiguous,
            (None, _) => ParamValue::Missing,
        }
    }

    /// Sets `name` to `value`, replacing every value it had.
    pub(crate) fn set(&mut self, name: &str, value: &str) {
        self.pairs.retain(|(key, _)| &**key != name);
        self.pairs.push((name.into(), value.into()));
    }

    /// Only the values a requirement can bind: the names it uses, with values that pass the
    /// binding rules. What a grant resolver sees and is cached by: other path values (a comment
    /// id beside the room) would split the cache, and refused ones are request content.
    pub(crate) fn bindable_for(&self, names: &[&str]) -> PathValues {
        PathValues {
            pairs: self
                .pairs
                .iter()
                .filter(|(name, value)| names.contains(&&**name) && is_bindable(value))
                .cloned()
                .collect(),
            invalid_utf8: false,
            route: self.route.clone(),
        }
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(name, value)| (&**name, &**value))
    }

    /// The matched route's pattern (`/rooms/{room}`), when known.
    pub(crate) fn route(&self) -> Option<&str> {
        self.route.as_deref()
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
    }
}
