//! [`RouterExt::route_requiring`]: a route and its requirement declared together (feature
//! `axum`).

use axum::routing::MethodRouter;

use crate::authorize::Requirement;
use crate::extract::require;
use crate::grant::RESERVED_PREFIX;

/// Routes declared together with their requirement.
pub trait RouterExt<S> {
    /// `route(path, method_router)` with `requirement` on every handler of `method_router`.
    ///
    /// Every handler of `method_router` meets the requirement: each method's handler, its
    /// fallback and `any(...)`. A method without a handler answers 403 before 405 when the token
    /// falls short. axum merges a later `.route(path, ...)` (or a merged router's route) for the
    /// same path into this one, and that method router's handlers and fallback carry only what
    /// it was declared with: declare every method router of a protected path with
    /// `route_requiring`, or give it `.layer(require(...))`.
    ///
    /// A parameter the requirement names but `path` lacks is taken from an enclosing
    /// `Router::nest("/rooms/{room}", ...)` on each request; when the whole matched route has
    /// no such parameter, or has the name twice, the request is refused with 500 and the route
    /// and parameter are logged. It never lets a request through.
    ///
    /// # Panics
    ///
    /// When the requirement names a parameter axum reserves (`__private__axum_...`), or `path`
    /// has a parameter name twice, when the router is built (as axum does for invalid routes).
    fn route_requiring(
        self,
        path: &str,
        method_router: MethodRouter<S>,
        requirement: Requirement,
    ) -> Self;
}

impl<S: Clone + Send + Sync + 'static> RouterExt<S> for axum::Router<S> {
    #[track_caller]
    fn route_requiring(
        self,
        path: &str,
        method_router: MethodRouter<S>,
        requirement: Requirement,
    ) -> Self {
        let available = route_parameters(path);
        if let Some(reserved) = requirement
            .parameters()
            .into_iter()
            .find(|name| name.starts_with(RESERVED_PREFIX))
        {
            panic!(
                "scopegate: the requirement `{requirement}` of route {path:?} names the parameter `{reserved}`; axum never hands parameters starting with `{RESERVED_PREFIX}` to handlers"
            );
        }
        if let Some(repeated) = available
            .iter()
            .enumerate()
            .find(|(index, name)| available[..*index].contains(name))
            .map(|(_, name)| name)
        {
            panic!(
                "scopegate: route {path:?} has the parameter `{repeated}` twice; a requirement could not tell which value to bind"
            );
        }
        // A parameter missing from `path` may come from an enclosing `Router::nest`: it is
        // looked up in the whole matched route on each request, and a request is refused with
        // 500 (logged with the route and parameter) when it is not there.
        //
        // `layer`, not `route_layer`: only `layer` also wraps the method router's fallback
        // (`get(h).fallback(f)`, `any(h)`), so every handler reachable at `path` meets the
        // requirement. A method without a handler then gets 403 before 405.
        self.route(path, method_router.layer(require(requirement)))
    }
}

/// The parameter names in an axum route path: `{name}` and `{*name}`; `{{` and `}}` are
/// literal braces.
fn route_parameters(path: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        if let Some(escaped) = after.strip_prefix('{') {
            rest = escaped;
            continue;
        }
        let Some(close) = after.find('}') else { break };
        names.push(after[..close].trim_start_matches('*'));
        rest = &after[close + 1..];
    }
    names
}

#[cfg(test)]
mod tests {
    use super::route_parameters;

    #[test]
    fn route_parameter_names() {
        assert_eq!(
            route_parameters("/rooms/{room}/comments/{id}"),
            ["room", "id"]
        );
        assert_eq!(route_parameters("/files/{*path}"), ["path"]);
        assert_eq!(route_parameters("/literal/{{x}}/{y}"), ["y"]);
        assert!(route_parameters("/health").is_empty());
    }
}
