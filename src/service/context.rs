//! What the auth layer leaves in every request it lets through, so that requirements further in
//! decide with the API's policy and can tell "no token" from "no layer".

use std::sync::Arc;

use http::Extensions;

use crate::authorize::AccessPolicy;
use crate::error::{AuthError, ErrorKind};
use crate::principal::Authenticated;

/// The API's authorization policy, in the request extensions.
#[derive(Clone, Debug)]
pub(crate) struct AuthContext {
    pub(crate) access: Arc<AccessPolicy>,
}

impl AuthContext {
    /// The verified token and the API's policy, or the refusal: 500 without the layer, 401 for
    /// an anonymous request.
    pub(crate) fn verified(
        extensions: &Extensions,
    ) -> Result<(Authenticated, Arc<AccessPolicy>), AuthError> {
        let access = AuthContext::of(extensions)?.access.clone();
        let auth = extensions
            .get::<Authenticated>()
            .cloned()
            .ok_or_else(|| AuthError::new(ErrorKind::MissingCredentials))?;
        Ok((auth, access))
    }

    /// The context, or a 500 when no [`AuthLayer`](crate::AuthLayer) wraps this route.
    pub(crate) fn of(extensions: &Extensions) -> Result<&AuthContext, AuthError> {
        extensions.get::<AuthContext>().ok_or_else(|| {
            tracing::error!(
                target: "scopegate",
                "a requirement or extractor ran on a route the AuthLayer does not wrap; refusing with 500"
            );
            AuthError::new(ErrorKind::LayerMissing)
        })
    }
}
