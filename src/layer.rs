//! The tower middleware: [`AuthLayer`], [`AuthService`] and their [`ResponseFuture`].

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::{Request, Response};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::bearer::bearer_token;
use crate::claims::AuthContext;
use crate::error::{AuthError, ErrorKind};
use crate::issuers::Issuers;
use crate::validate::Outcome;

/// Validates the bearer token of every request and hands the claims to the inner service.
///
/// A request with a valid token reaches the inner service with an
/// [`Authenticated`](crate::Authenticated) in its extensions. Any other request is answered
/// per RFC 6750 without reaching it:
///
/// | request | response |
/// |---|---|
/// | no `Authorization: Bearer` | 401, `WWW-Authenticate: Bearer realm="..."` |
/// | two `Authorization` headers, comma-joined credentials, `Bearer` with no token | 400 `invalid_request` |
/// | any fault in the token | 401 `invalid_token` with a fixed `error_description` |
/// | no verification keys can be had (issuer down, nothing cached) | 503, never let through |
///
/// Generic over request and response bodies, so it wraps axum routers and tonic services alike.
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use scopegate::{AuthLayer, Authenticated, Validator};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let validator = Validator::builder("https://issuer.example.com/")
///     .audience("https://api.example.com")
///     .build()?;
///
/// let app: Router = Router::new()
///     .route("/me", get(|auth: Authenticated| async move {
///         auth.subject().unwrap_or_default().to_owned()
///     }))
///     .layer(AuthLayer::new(validator));
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct AuthLayer<R = DefaultRejection> {
    validator: Issuers,
    allow_anonymous: bool,
    on_rejection: R,
}

impl AuthLayer {
    /// Requires a valid bearer token on every request: from one [`Validator`](crate::Validator)'s
    /// issuer, or from any of [`Issuers`].
    pub fn new(validator: impl Into<Issuers>) -> Self {
        AuthLayer {
            validator: validator.into(),
            allow_anonymous: false,
            on_rejection: DefaultRejection,
        }
    }
}

impl<R> AuthLayer<R> {
    /// Lets requests without any credentials through, without claims. A request with a bad
    /// token is still refused. Handlers take `Option<Authenticated>`; an `Authenticated`
    /// extractor answers 401 for anonymous requests.
    pub fn allow_anonymous(mut self) -> Self {
        self.allow_anonymous = true;
        self
    }

    /// Renders refusals with your own function, for a JSON body or a gRPC status.
    ///
    /// ```
    /// use scopegate::{AuthError, AuthLayer, Validator};
    ///
    /// # fn layer(validator: Validator) -> AuthLayer<impl scopegate::OnRejection<axum::body::Body>> {
    /// AuthLayer::new(validator).on_rejection(|error: &AuthError| {
    ///     let body = format!(r#"{{"error":"{}"}}"#, error.kind().error_code().unwrap_or("unavailable"));
    ///     let mut response = error.to_response(axum::body::Body::from(body));
    ///     response.headers_mut().insert(
    ///         http::header::CONTENT_TYPE,
    ///         http::HeaderValue::from_static("application/json"),
    ///     );
    ///     response
    /// })
    /// # }
    /// ```
    pub fn on_rejection<R2>(self, on_rejection: R2) -> AuthLayer<R2> {
        AuthLayer {
            validator: self.validator,
            allow_anonymous: self.allow_anonymous,
            on_rejection,
        }
    }
}

impl<S, R: Clone> Layer<S> for AuthLayer<R> {
    type Service = AuthService<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthService {
            inner,
            validator: self.validator.clone(),
            allow_anonymous: self.allow_anonymous,
            on_rejection: self.on_rejection.clone(),
        }
    }
}

/// Turns an [`AuthError`] into a response of the wrapped service's body type.
///
/// Implemented by [`DefaultRejection`] and by any `Fn(&AuthError) -> Response<B>`.
pub trait OnRejection<B>: Clone + Send + Sync + 'static {
    /// The response for a refused request.
    fn on_rejection(&self, error: &AuthError) -> Response<B>;
}

/// Status, `WWW-Authenticate` and an empty body.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultRejection;

impl<B: Default> OnRejection<B> for DefaultRejection {
    fn on_rejection(&self, error: &AuthError) -> Response<B> {
        error.to_response(B::default())
    }
}

impl<B, F> OnRejection<B> for F
where
    F: Fn(&AuthError) -> Response<B> + Clone + Send + Sync + 'static,
{
    fn on_rejection(&self, error: &AuthError) -> Response<B> {
        self(error)
    }
}

/// Refusals as gRPC clients expect them: HTTP 200 with `content-type: application/grpc`,
/// `grpc-status` and `grpc-message`, plus the RFC 6750 `WWW-Authenticate` challenge.
///
/// | refusal | gRPC status |
/// |---|---|
/// | 400, 401 | `UNAUTHENTICATED` (16) |
/// | 403 | `PERMISSION_DENIED` (7) |
/// | 503 | `UNAVAILABLE` (14) |
/// | 500 | `INTERNAL` (13) |
///
/// ```
/// use scopegate::{AuthLayer, GrpcRejection, Validator};
///
/// # fn layer(validator: Validator) {
/// // tonic::transport::Server::builder().layer(layer).add_service(...)
/// let layer = AuthLayer::new(validator).on_rejection(GrpcRejection);
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcRejection;

impl GrpcRejection {
    /// The gRPC status code for a refusal.
    pub fn code(error: &AuthError) -> u8 {
        match error.status().as_u16() {
            400 | 401 => 16,
            403 => 7,
            503 => 14,
            _ => 13,
        }
    }
}

impl<B: Default> OnRejection<B> for GrpcRejection {
    fn on_rejection(&self, error: &AuthError) -> Response<B> {
        let mut response = Response::new(B::default());
        let headers = response.headers_mut();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/grpc"),
        );
        headers.insert(
            "grpc-status",
            http::HeaderValue::from(u16::from(Self::code(error))),
        );
        // The descriptions are fixed printable ASCII without `%`: valid grpc-message as they are.
        headers.insert(
            "grpc-message",
            http::HeaderValue::from_static(error.kind().description()),
        );
        if let Some(challenge) = error.www_authenticate() {
            headers.insert(http::header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

/// The service made by [`AuthLayer`].
#[derive(Clone, Debug)]
pub struct AuthService<S, R = DefaultRejection> {
    inner: S,
    validator: Issuers,
    allow_anonymous: bool,
    on_rejection: R,
}

impl<S, R> AuthService<S, R> {
    fn reject<B>(&self, kind: ErrorKind) -> Response<B>
    where
        R: OnRejection<B>,
    {
        log_rejection(kind);
        self.on_rejection.on_rejection(&self.validator.error(kind))
    }
}

fn log_rejection(kind: ErrorKind) {
    tracing::debug!(
        reason = kind.description(),
        status = kind.status().as_u16(),
        "scopegate: request refused"
    );
}

impl<S, R, ReqBody, ResBody> Service<Request<ReqBody>> for AuthService<S, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
    R: OnRejection<ResBody>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<ReqBody>) -> Self::Future {
        let context = AuthContext {
            realm: self.validator.realm().cloned(),
        };
        let outcome = match bearer_token(request.headers(), self.validator.max_token_bytes()) {
            Err(kind) => return ResponseFuture::rejected(self.reject(kind)),
            Ok(None) if self.allow_anonymous => {
                request.extensions_mut().insert(context);
                return ResponseFuture::inner(self.inner.call(request));
            }
            Ok(None) => {
                return ResponseFuture::rejected(self.reject(ErrorKind::MissingCredentials));
            }
            Ok(Some(token)) => self.validator.validate_cached(token),
        };
        match outcome {
            Outcome::Done(Ok(auth)) => {
                let extensions = request.extensions_mut();
                extensions.insert(auth);
                extensions.insert(context);
                ResponseFuture::inner(self.inner.call(request))
            }
            Outcome::Done(Err(kind)) => ResponseFuture::rejected(self.reject(kind)),
            Outcome::AwaitKeys(pending) => {
                // The ready service goes into the future; a clone stays for the next call.
                let clone = self.inner.clone();
                let mut inner = std::mem::replace(&mut self.inner, clone);
                let validator = self.validator.clone();
                let on_rejection = self.on_rejection.clone();
                ResponseFuture::waiting(Box::pin(async move {
                    match pending.finish().await {
                        Ok(auth) => {
                            let extensions = request.extensions_mut();
                            extensions.insert(auth);
                            extensions.insert(context);
                            inner.call(request).await
                        }
                        Err(kind) => {
                            log_rejection(kind);
                            Ok(on_rejection.on_rejection(&validator.error(kind)))
                        }
                    }
                }))
            }
        }
    }
}

type WaitingFuture<B, E> = Pin<Box<dyn Future<Output = Result<Response<B>, E>> + Send>>;

pin_project! {
    /// The response future of [`AuthService`].
    pub struct ResponseFuture<F, B, E> {
        #[pin]
        state: State<F, B, E>,
    }
}

pin_project! {
    #[project = StateProjection]
    enum State<F, B, E> {
        Inner { #[pin] future: F },
        Rejected { response: Option<Response<B>> },
        // Only when the key is not cached: the validation waits for a fetch.
        Waiting { future: WaitingFuture<B, E> },
    }
}

impl<F, B, E> ResponseFuture<F, B, E> {
    pub(crate) fn inner(future: F) -> Self {
        ResponseFuture {
            state: State::Inner { future },
        }
    }

    pub(crate) fn rejected(response: Response<B>) -> Self {
        ResponseFuture {
            state: State::Rejected {
                response: Some(response),
            },
        }
    }

    pub(crate) fn waiting(future: WaitingFuture<B, E>) -> Self {
        ResponseFuture {
            state: State::Waiting { future },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F, B, E>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProjection::Inner { future } => future.poll(cx),
            StateProjection::Rejected { response } => match response.take() {
                Some(response) => Poll::Ready(Ok(response)),
                None => panic!("ResponseFuture polled after completion"),
            },
            StateProjection::Waiting { future } => future.as_mut().poll(cx),
        }
    }
}
