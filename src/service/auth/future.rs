//! The response future of [`AuthService`](crate::AuthService).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::Response;
use pin_project_lite::pin_project;

use super::layer::LayerState;
use super::service::finish;
use crate::boxed::BoxFuture;
use crate::service::rejection::OnRejection;

pin_project! {
    /// The response future of [`AuthService`](crate::AuthService).
    pub struct ResponseFuture<F, B, E, R> {
        #[pin]
        state: State<F, B, E, R>,
    }
}

pin_project! {
    #[project = StateProjection]
    enum State<F, B, E, R> {
        Inner { #[pin] future: F, layer: Arc<LayerState<R>> },
        Rejected { response: Option<Response<B>> },
        // Only when the key is not cached: the validation waits for a fetch.
        Waiting { future: BoxFuture<'static, Result<Response<B>, E>> },
    }
}

impl<F, B, E, R> ResponseFuture<F, B, E, R> {
    pub(crate) fn inner(future: F, layer: Arc<LayerState<R>>) -> Self {
        ResponseFuture {
            state: State::Inner { future, layer },
        }
    }

    pub(crate) fn rejected(response: Response<B>) -> Self {
        ResponseFuture {
            state: State::Rejected {
                response: Some(response),
            },
        }
    }

    pub(crate) fn waiting(future: BoxFuture<'static, Result<Response<B>, E>>) -> Self {
        ResponseFuture {
            state: State::Waiting { future },
        }
    }
}

impl<F, B, E, R> Future for ResponseFuture<F, B, E, R>
where
    F: Future<Output = Result<Response<B>, E>>,
    R: OnRejection<B>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProjection::Inner { future, layer } => {
                let response = ready!(future.poll(cx))?;
                Poll::Ready(Ok(finish(layer, response)))
            }
            StateProjection::Rejected { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => panic!("ResponseFuture polled after completion"),
            },
            StateProjection::Waiting { future } => future.as_mut().poll(cx),
        }
    }
}

impl<F, B, E, R> std::fmt::Debug for ResponseFuture<F, B, E, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResponseFuture")
    }
}
