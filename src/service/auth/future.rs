//! The response future of [`AuthService`](crate::AuthService).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::layer::{LayerState, admit, finish, render};
use crate::boxed::BoxFuture;
use crate::error::{AuthError, ErrorKind, Scheme};
use crate::principal::Authenticated;
use crate::service::rejection::OnRejection;

pin_project! {
    /// The response future of [`AuthService`](crate::AuthService).
    pub struct ResponseFuture<S, ReqBody, B, R>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        state: State<S, ReqBody, B, R>,
    }
}

pin_project! {
    #[project = StateProjection]
    enum State<S, ReqBody, B, R>
    where
        S: Service<Request<ReqBody>>,
    {
        // The scheme the request used: a refusal from further in challenges for it.
        Inner { #[pin] future: S::Future, layer: Arc<LayerState<R>>, scheme: Scheme },
        Rejected { response: Option<Response<B>> },
        // Only when the key is not cached: validation waits for a fetch, then the inner service
        // is called. Only this state is boxed, and it holds the service and request as they
        // are, so neither needs to be `Send` or `'static`.
        Validating {
            validation: BoxFuture<'static, Result<Authenticated, ErrorKind>>,
            next: Option<(S, Request<ReqBody>)>,
            layer: Arc<LayerState<R>>,
            scheme: Scheme,
        },
    }
}

impl<S, ReqBody, B, R> ResponseFuture<S, ReqBody, B, R>
where
    S: Service<Request<ReqBody>>,
{
    pub(crate) fn inner(future: S::Future, layer: Arc<LayerState<R>>, scheme: Scheme) -> Self {
        ResponseFuture {
            state: State::Inner {
                future,
                layer,
                scheme,
            },
        }
    }

    pub(crate) fn rejected(response: Response<B>) -> Self {
        ResponseFuture {
            state: State::Rejected {
                response: Some(response),
            },
        }
    }

    pub(crate) fn validating(
        validation: BoxFuture<'static, Result<Authenticated, ErrorKind>>,
        inner: S,
        request: Request<ReqBody>,
        layer: Arc<LayerState<R>>,
        scheme: Scheme,
    ) -> Self {
        ResponseFuture {
            state: State::Validating {
                validation,
                next: Some((inner, request)),
                layer,
                scheme,
            },
        }
    }
}

impl<S, ReqBody, B, R> Future for ResponseFuture<S, ReqBody, B, R>
where
    S: Service<Request<ReqBody>, Response = Response<B>>,
    R: OnRejection<B>,
{
    type Output = Result<Response<B>, S::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let mut this = self.as_mut().project();
            match this.state.as_mut().project() {
                StateProjection::Inner {
                    future,
                    layer,
                    scheme,
                } => {
                    let response = ready!(future.poll(cx))?;
                    return Poll::Ready(Ok(finish(layer, response, *scheme)));
                }
                StateProjection::Rejected { response } => {
                    return match response.take() {
                        Some(response) => Poll::Ready(Ok(response)),
                        None => panic!("ResponseFuture polled after completion"),
                    };
                }
                StateProjection::Validating {
                    validation,
                    next,
                    layer,
                    scheme,
                } => {
                    let validated = ready!(validation.as_mut().poll(cx));
                    let (layer, scheme) = (layer.clone(), *scheme);
                    let auth = match validated {
                        Ok(auth) => auth,
                        Err(kind) => {
                            return Poll::Ready(Ok(render(&layer, AuthError::new(kind), scheme)));
                        }
                    };
                    let Some((mut inner, mut request)) = next.take() else {
                        panic!("ResponseFuture polled after completion");
                    };
                    admit(&mut request, &layer, Some(auth));
                    let future = inner.call(request);
                    this.state.set(State::Inner {
                        future,
                        layer,
                        scheme,
                    });
                }
            }
        }
    }
}

impl<S, ReqBody, B, R> std::fmt::Debug for ResponseFuture<S, ReqBody, B, R>
where
    S: Service<Request<ReqBody>>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResponseFuture")
    }
}
