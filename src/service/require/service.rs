//! [`RequireService`]: refuses requests whose token does not meet a requirement.

use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::future::RequireFuture;
use super::layer::RequireLayer;
use crate::authorize::{Decision, Requirement, decide};
use crate::service::context::AuthContext;
use crate::service::rejection::refusal_response;

/// The service made by [`RequireLayer`].
#[derive(Clone, Debug)]
pub struct RequireService<S> {
    inner: S,
    layer: RequireLayer,
}

impl<S> RequireService<S> {
    pub(crate) fn from_layer(inner: S, layer: RequireLayer) -> Self {
        RequireService { inner, layer }
    }

    /// Wraps `inner` with `layer`'s requirement; the same as `layer.layer(inner)`.
    pub fn new(inner: S, layer: &RequireLayer) -> Self {
        layer.layer(inner)
    }

    /// The layer that makes this service: [`RequireLayer::new`].
    pub fn layer(requirement: Requirement) -> RequireLayer {
        RequireLayer::new(requirement)
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The wrapped service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequireService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = RequireFuture<S, ReqBody, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let (mut parts, body) = request.into_parts();
        let (auth, access) = match AuthContext::verified(&parts.extensions) {
            Ok(verified) => verified,
            Err(error) => return RequireFuture::rejected(refusal_response(error)),
        };
        let params = self.layer.read_path_values()(&mut parts);
        match decide(self.layer.requirement(), &auth, &params, &access) {
            Decision::Allowed => {
                RequireFuture::inner(self.inner.call(Request::from_parts(parts, body)))
            }
            Decision::Refused(error) => RequireFuture::rejected(refusal_response(error)),
            Decision::Resolve(pending) => {
                // The ready service goes into the future; a clone stays for the next call.
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                let request = Request::from_parts(parts, body);
                RequireFuture::resolving(Box::pin(pending.finish()), inner, request)
            }
        }
    }
}

impl<S> Layer<S> for RequireLayer {
    type Service = RequireService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireService::from_layer(inner, self.clone())
    }
}
