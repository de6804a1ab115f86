//! [`RequireLayer`]: a requirement as a tower layer, for routes and for any service behind
//! [`AuthLayer`](crate::AuthLayer).
//!
//! With the `axum` feature, [`require`](crate::require) builds one that binds the matched route's
//! path values; without it (a tonic service, say), requirements bind no path values, so only
//! templates without parameters and claim checks on fixed values can hold.

use http::request::Parts;

use crate::authorize::{PathValues, Requirement};

/// Reads the matched route's path values from a request.
pub(crate) type PathValueReader = fn(&mut Parts) -> PathValues;

fn no_path_values(_: &mut Parts) -> PathValues {
    PathValues::default()
}

/// A layer that refuses requests whose token does not meet a [`Requirement`]: 403, or 401
/// without credentials, rendered by the [`AuthLayer`](crate::AuthLayer) around it.
#[derive(Clone, Debug)]
pub struct RequireLayer {
    requirement: Requirement,
    read_path_values: PathValueReader,
}

impl RequireLayer {
    /// A layer for `requirement`, binding no path values (see the module docs; with the `axum`
    /// feature use [`require`](crate::require)).
    pub fn new(requirement: Requirement) -> Self {
        RequireLayer {
            requirement,
            read_path_values: no_path_values,
        }
    }

    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn with_path_values(requirement: Requirement, read: PathValueReader) -> Self {
        RequireLayer {
            requirement,
            read_path_values: read,
        }
    }

    /// The requirement.
    pub fn requirement(&self) -> &Requirement {
        &self.requirement
    }

    pub(crate) fn read_path_values(&self) -> PathValueReader {
        self.read_path_values
    }
}
