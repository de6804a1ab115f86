//! What the auth layer leaves in every request it lets through (a principal carrying the API's
//! policy, or for an anonymous request a mark that the layer was there), so that requirements
//! further in decide with the API's policy and can tell "no token" from "no layer".

use std::any::Any;
use std::sync::Arc;

use http::Extensions;

use crate::authorize::AccessPolicy;
use crate::error::{AuthError, ErrorKind};
use crate::principal::Authenticated;

/// In the extensions of an anonymous request the layer let through, which no requirement
/// admits: it tells "no token" (401) from "no layer" (500). A verified request's principal
/// carries the API's policy instead ([`Authenticated::layer_policy`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct AuthContext;

impl AuthContext {
    /// The verified token and the API's policy, or the refusal: 500 without the layer, 401 for
    /// an anonymous request.
    pub(crate) fn verified(
        extensions: &Extensions,
    ) -> Result<(Authenticated, Arc<AccessPolicy>), AuthError> {
        let Some(auth) = extensions.get::<Authenticated>() else {
            AuthContext::of(extensions)?;
            return Err(AuthError::new(ErrorKind::MissingCredentials));
        };
        let policy = auth.layer_policy().cloned();
        match policy.and_then(|policy| (policy as Arc<dyn Any + Send + Sync>).downcast().ok()) {
            Some(access) => Ok((auth.clone(), access)),
            // A principal some other code put there, without the layer.
            None => Err(layer_missing()),
        }
    }

    /// Whether an [`AuthLayer`](crate::AuthLayer) let this request in; a 500 when none wraps
    /// this route.
    pub(crate) fn of(extensions: &Extensions) -> Result<(), AuthError> {
        let verified = extensions
            .get::<Authenticated>()
            .is_some_and(|auth| auth.layer_policy().is_some());
        if verified || extensions.get::<AuthContext>().is_some() {
            Ok(())
        } else {
            Err(layer_missing())
        }
    }
}

fn layer_missing() -> AuthError {
    tracing::error!(
        target: "scopegate",
        "a requirement or extractor ran on a route the AuthLayer does not wrap; refusing with 500"
    );
    AuthError::new(ErrorKind::LayerMissing)
}
