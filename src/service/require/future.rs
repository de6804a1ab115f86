//! The response future of [`RequireService`](crate::RequireService).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;
use pin_project_lite::pin_project;

use crate::boxed::BoxFuture;

pin_project! {
    /// The response future of [`RequireService`](crate::RequireService).
    pub struct RequireFuture<F, B, E> {
        #[pin]
        state: State<F, B, E>,
    }
}

pin_project! {
    #[project = StateProjection]
    enum State<F, B, E> {
        Inner { #[pin] future: F },
        Rejected { response: Option<Response<B>> },
        // Only when a grant resolver must be asked.
        Waiting { future: BoxFuture<'static, Result<Response<B>, E>> },
    }
}

impl<F, B, E> RequireFuture<F, B, E> {
    pub(crate) fn inner(future: F) -> Self {
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

    pub(crate) fn waiting(future: BoxFuture<'static, Result<Response<B>, E>>) -> Self {
        RequireFuture {
            state: State::Waiting { future },
        }
    }
}

impl<F, B, E> Future for RequireFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProjection::Inner { future } => future.poll(cx),
            StateProjection::Rejected { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => panic!("RequireFuture polled after completion"),
            },
            StateProjection::Waiting { future } => future.as_mut().poll(cx),
        }
    }
}

impl<F, B, E> std::fmt::Debug for RequireFuture<F, B, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequireFuture")
    }
}
