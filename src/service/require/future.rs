//! The response future of [`RequireService`](crate::RequireService).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::boxed::BoxFuture;
use crate::error::AuthError;
use crate::service::rejection::refusal_response;

pin_project! {
    /// The response future of [`RequireService`](crate::RequireService).
    pub struct RequireFuture<S, ReqBody, B>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        state: State<S, ReqBody, B>,
    }
}

pin_project! {
    #[project = StateProjection]
    enum State<S, ReqBody, B>
    where
        S: Service<Request<ReqBody>>,
    {
        Inner { #[pin] future: S::Future },
        Rejected { response: Option<Response<B>> },
        // Only when a grant resolver must be asked; then the inner service is called.
        Resolving {
            resolution: BoxFuture<'static, Result<(), AuthError>>,
            next: Option<(S, Request<ReqBody>)>,
        },
    }
}

impl<S, ReqBody, B> RequireFuture<S, ReqBody, B>
where
    S: Service<Request<ReqBody>>,
{
    pub(crate) fn inner(future: S::Future) -> Self {
        RequireFuture {
            state: State::Inner { future },
        }
    }

    pub(crate) fn rejected(response: Response<B>) -> Self {
        RequireFuture {
            state: State::Rejected {
                response: Some(response),
            },
        }
    }

    pub(crate) fn resolving(
        resolution: BoxFuture<'static, Result<(), AuthError>>,
        inner: S,
        request: Request<ReqBody>,
    ) -> Self {
        RequireFuture {
            state: State::Resolving {
                resolution,
                next: Some((inner, request)),
            },
        }
    }
}

impl<S, ReqBody, B> Future for RequireFuture<S, ReqBody, B>
where
    S: Service<Request<ReqBody>, Response = Response<B>>,
    B: Default,
{
    type Output = Result<Response<B>, S::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let mut this = self.as_mut().project();
            match this.state.as_mut().project() {
                StateProjection::Inner { future } => return future.poll(cx),
                StateProjection::Rejected { response } => {
                    return match response.take() {
                        Some(response) => Poll::Ready(Ok(response)),
                        None => panic!("RequireFuture polled after completion"),
                    };
                }
                StateProjection::Resolving { resolution, next } => {
                    if let Err(error) = ready!(resolution.as_mut().poll(cx)) {
                        return Poll::Ready(Ok(refusal_response(error)));
                    }
                    let Some((mut inner, request)) = next.take() else {
                        panic!("RequireFuture polled after completion");
                    };
                    let future = inner.call(request);
                    this.state.set(State::Inner { future });
                }
            }
        }
    }
}

impl<S, ReqBody, B> std::fmt::Debug for RequireFuture<S, ReqBody, B>
where
    S: Service<Request<ReqBody>>,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequireFuture")
    }
}
