//! `scope!`: requirements whose template is checked at compile time, as values or as types.

use super::requirement::Requirement;

/// A requirement as a type, declared with [`scope!`](crate::scope!).
pub trait ScopeRequirement: Send + Sync + 'static {
    /// The requirement, built once.
    fn requirement() -> &'static Requirement;
}

/// Declares a scope requirement, checking the template at compile time.
///
/// - `scope!("delete:comments-in-{room}")` is a [`Requirement`].
/// - `scope!(DeleteComment = "delete:comments-in-{room}")` (optionally `pub`) declares a type
///   implementing [`ScopeRequirement`], for the `RequireScope<DeleteComment>` extractor (feature
///   `axum`).
///
/// A bad template does not compile:
///
/// ```compile_fail
/// let requirement = scopegate::scope!("delete:comments-in-{org}-{room}");
/// ```
#[macro_export]
macro_rules! scope {
    ($(#[$attribute:meta])* $vis:vis $name:ident = $template:expr $(,)?) => {
        $(#[$attribute])*
        #[derive(Debug, Clone, Copy, Default)]
        $vis struct $name;

        impl $crate::ScopeRequirement for $name {
            fn requirement() -> &'static $crate::Requirement {
                const TEMPLATE: &str = $template;
                const _: () = match $crate::check_template(TEMPLATE) {
                    Ok(()) => (),
                    Err(error) => error.panic(),
                };
                static REQUIREMENT: ::std::sync::OnceLock<$crate::Requirement> =
                    ::std::sync::OnceLock::new();
                REQUIREMENT.get_or_init(|| $crate::Requirement::from_checked_template(TEMPLATE))
            }
        }
    };
    ($template:expr $(,)?) => {{
        const TEMPLATE: &str = $template;
        const _: () = match $crate::check_template(TEMPLATE) {
            Ok(()) => (),
            Err(error) => error.panic(),
        };
        $crate::Requirement::from_checked_template(TEMPLATE)
    }};
}
