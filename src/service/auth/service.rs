//! [`AuthService`]: validates each request's token, and renders every refusal behind it.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use tower_layer::Layer;

use super::future::ResponseFuture;
use super::layer::{AuthLayer, LayerState, admit, render};
use crate::error::{AuthError, ErrorKind};
use crate::service::bearer::bearer_token;
use crate::service::rejection::OnRejection;
use crate::validate::Outcome;

/// The service made by [`AuthLayer`](crate::AuthLayer).
#[derive(Debug)]
pub struct AuthService<S, R = crate::service::rejection::DefaultRejection> {
    inner: S,
    state: Arc<LayerState<R>>,
}

impl<S: Clone, R> Clone for AuthService<S, R> {
    fn clone(&self) -> Self {
        AuthService {
            inner: self.inner.clone(),
            state: self.state.clone(),
        }
    }
}

impl<S, R> AuthService<S, R> {
    pub(crate) fn from_state(inner: S, state: Arc<LayerState<R>>) -> Self {
        AuthService { inner, state }
    }

    /// Wraps `inner` with the configuration of `layer`; the same as `layer.layer(inner)`.
    pub fn new(inner: S, layer: &AuthLayer<R>) -> Self {
        layer.layer(inner)
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

impl AuthService<()> {
    /// The layer that makes this service: [`AuthLayer::new`](crate::AuthLayer::new).
    pub fn layer(validator: impl Into<crate::Issuers>) -> crate::AuthLayer {
        crate::AuthLayer::new(validator)
    }
}

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for AuthService<S, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    R: OnRejection<ResBody>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody, ResBody, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let state = &*self.state;
        let token = match bearer_token(request.headers(), state.issuers.max_token_bytes()) {
            Ok(Some(token)) => token,
            Ok(None) if state.allow_anonymous => {
                admit(&mut request, state, None);
                return ResponseFuture::inner(self.inner.call(request), self.state.clone());
            }
            Ok(None) => {
                let refusal = render(state, AuthError::new(ErrorKind::MissingCredentials));
                return ResponseFuture::rejected(refusal);
            }
            Err(kind) => return ResponseFuture::rejected(render(state, AuthError::new(kind))),
        };
        match state.issuers.validate_cached(token) {
            Outcome::Done(Ok(auth)) => {
                admit(&mut request, state, Some(auth));
                ResponseFuture::inner(self.inner.call(request), self.state.clone())
            }
            Outcome::Done(Err(kind)) => {
                ResponseFuture::rejected(render(state, AuthError::new(kind)))
            }
            Outcome::AwaitKeys(pending) => {
                // The ready service goes into the future; a clone stays for the next call.
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                let validation = Box::pin(pending.finish());
                ResponseFuture::validating(validation, inner, request, self.state.clone())
            }
        }
    }
}

impl<S, R> Layer<S> for AuthLayer<R> {
    type Service = AuthService<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService::from_state(inner, self.state.clone())
    }
}
