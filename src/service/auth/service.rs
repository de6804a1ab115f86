//! [`AuthService`]: validates each request's token, and renders every refusal behind it.

use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::AUTHORIZATION;
use http::{Request, Response};
use tower_service::Service;

use tower_layer::Layer;

use super::binding::{DpopRequest, bearer_allowed};
use super::future::ResponseFuture;
use super::layer::{AuthLayer, LayerState, admit, render};
use crate::boxed::BoxFuture;
use crate::error::{AuthError, ErrorKind, Scheme};
use crate::principal::Authenticated;
use crate::service::credentials::{
    Credentials, dpop_proof, named_refusal, presented, presented_scheme,
};
use crate::service::rejection::OnRejection;
use crate::validate::{Issuers, Outcome, PendingValidation};

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
    /// The layer that makes this service: [`AuthLayer::new`].
    pub fn layer(validator: impl Into<Issuers>) -> AuthLayer {
        AuthLayer::new(validator)
    }
}

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for AuthService<S, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    R: OnRejection<ResBody>,
    ResBody: 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody, ResBody, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let state = &*self.state;
        if let Some(metadata) = &state.served_metadata
            && let Some(response) = metadata.respond(request.method(), original_path(&request))
        {
            return ResponseFuture::rejected(response);
        }
        let refuse =
            |kind, scheme| ResponseFuture::rejected(render(state, AuthError::new(kind), scheme));
        let max_token_bytes = state.issuers.max_token_bytes();
        let presented = match presented(request.headers(), max_token_bytes) {
            Ok(presented) => presented,
            // A fault of the header itself errs on the challenge of the scheme it names.
            Err(kind) => return refuse(kind, presented_scheme(request.headers())),
        };
        // A bearer token seen before is found by its bytes, before they are scanned.
        let looked_up = match presented {
            Some(Credentials {
                scheme: Scheme::Bearer,
                token,
            }) => match state.issuers.cached(token) {
                Some(known) => return self.bearer_validated(request, known),
                None => true,
            },
            _ => false,
        };
        let found = presented
            .map(|presented| match presented.scheme {
                // Validated at once: a refusal names the comma (`named_refusal`).
                Scheme::Bearer => Ok(presented),
                _ => presented.checked(),
            })
            .transpose()
            .and_then(|found| match found {
                // Only without an `Authorization` header, whatever its scheme.
                None if state.sources.any() && !request.headers().contains_key(AUTHORIZATION) => {
                    state
                        .sources
                        .token(request.headers(), request.uri(), max_token_bytes)
                        .map(|token| {
                            token.map(|token| Credentials {
                                scheme: Scheme::Bearer,
                                token: token.as_bytes(),
                            })
                        })
                }
                found => Ok(found),
            });
        let credentials = match found {
            Ok(Some(credentials)) => credentials,
            Ok(None) if state.allow_anonymous => {
                admit(&mut request, state, None);
                let future = self.inner.call(request);
                return ResponseFuture::inner(future, self.state.clone(), Scheme::None);
            }
            Ok(None) => return refuse(ErrorKind::MissingCredentials, Scheme::None),
            // A fault of the header itself errs on the challenge of the scheme it names.
            Err(kind) => return refuse(kind, presented_scheme(request.headers())),
        };
        let scheme = credentials.scheme;
        let validation: BoxFuture<'static, _> = match (scheme, &state.dpop) {
            (Scheme::Dpop, None) => return refuse(ErrorKind::SchemeNotAccepted, scheme),
            (Scheme::Dpop, Some(dpop)) => {
                let proof = match dpop_proof(request.headers(), max_token_bytes) {
                    Ok(proof) => proof.to_owned(),
                    Err(kind) => return refuse(kind, scheme),
                };
                // `checked` found the token UTF-8.
                let Ok(token) = std::str::from_utf8(credentials.token) else {
                    return refuse(ErrorKind::MalformedToken, scheme);
                };
                let check = DpopRequest {
                    token: token.to_owned(),
                    proof,
                    method: request.method().as_str().to_owned(),
                    path: original_path(&request).to_owned(),
                    origin: dpop.origin_for(request.headers()),
                };
                Box::pin(check.validate(state.issuers.clone(), dpop.clone()))
            }
            _ => {
                // The header's token was looked up above; one from another source was not.
                let outcome = if looked_up {
                    state.issuers.validate_missed(credentials.token)
                } else {
                    state.issuers.validate_cached(credentials.token)
                };
                match outcome {
                    Outcome::Done(validated) => {
                        let token = credentials.token;
                        let validated = validated.map_err(|kind| named_refusal(token, kind));
                        return self.bearer_validated(request, validated);
                    }
                    Outcome::AwaitKeys(pending) => Self::awaiting_keys(pending, state),
                }
            }
        };
        // The ready service goes into the future; a clone stays for the next call.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        ResponseFuture::validating(validation, inner, request, self.state.clone(), scheme)
    }
}

impl<S, R> AuthService<S, R> {
    /// A bearer token's validation once its issuer's keys are fetched.
    fn awaiting_keys(
        pending: Box<PendingValidation>,
        state: &LayerState<R>,
    ) -> BoxFuture<'static, Result<Authenticated, ErrorKind>> {
        let rules = state.bearer_rules();
        Box::pin(async move {
            let auth = pending.finish().await?;
            bearer_allowed(&auth, rules)?;
            Ok(auth)
        })
    }

    /// Lets a request with a validated bearer token through, or refuses it.
    fn bearer_validated<ReqBody, ResBody>(
        &mut self,
        mut request: Request<ReqBody>,
        validated: Result<Authenticated, ErrorKind>,
    ) -> ResponseFuture<S, ReqBody, ResBody, R>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>>,
        R: OnRejection<ResBody>,
    {
        let state = &*self.state;
        let refuse =
            |kind| ResponseFuture::rejected(render(state, AuthError::new(kind), Scheme::Bearer));
        let auth = match validated {
            Ok(auth) => auth,
            Err(kind) => return refuse(kind),
        };
        if let Err(kind) = bearer_allowed(&auth, state.bearer_rules()) {
            return refuse(kind);
        }
        admit(&mut request, state, Some(auth));
        let future = self.inner.call(request);
        ResponseFuture::inner(future, self.state.clone(), Scheme::Bearer)
    }
}

/// The request's path as the client sent it: axum's `nest` strips its prefix from the URI
/// the inner services see, but keeps the original.
fn original_path<B>(request: &Request<B>) -> &str {
    #[cfg(feature = "axum")]
    if let Some(original) = request.extensions().get::<axum::extract::OriginalUri>() {
        return original.0.path();
    }
    request.uri().path()
}

impl<S, R> Layer<S> for AuthLayer<R> {
    type Service = AuthService<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService::from_state(inner, self.state.clone())
    }
}
