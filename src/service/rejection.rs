//! Rendering refusals: the [`OnRejection`] hook and the renderers scopegate ships. Requirements
//! deeper in the stack answer with a marked default response; the [`AuthService`] around them
//! renders it with the API's renderer and realm, so one renderer serves every refusal.
//!
//! [`AuthService`]: crate::AuthService

use http::{HeaderValue, Response, header};

use crate::error::AuthError;
use crate::observe;

/// Turns an [`AuthError`] into a response of the wrapped service's body type.
///
/// Implemented by [`DefaultRejection`], [`ProblemJson`], [`GrpcRejection`] and by any
/// `Fn(&AuthError) -> Response<B>`. Set it once with
/// [`AuthLayer::on_rejection`](crate::AuthLayer::on_rejection): it renders the layer's own
/// 400/401/503 and every 403 or 500 from a requirement behind it.
pub trait OnRejection<B>: Clone + Send + Sync + 'static {
    /// The response for a refused request.
    fn on_rejection(&self, error: &AuthError) -> Response<B>;
}

impl<B, F> OnRejection<B> for F
where
    F: Fn(&AuthError) -> Response<B> + Clone + Send + Sync + 'static,
{
    fn on_rejection(&self, error: &AuthError) -> Response<B> {
        self(error)
    }
}

/// Status, `WWW-Authenticate` and an empty body.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultRejection;

impl<B: Default> OnRejection<B> for DefaultRejection {
    fn on_rejection(&self, error: &AuthError) -> Response<B> {
        error.to_response(B::default())
    }
}

/// RFC 9457 problem details (`application/problem+json`), with the standard status and
/// `WWW-Authenticate` challenge.
///
/// ```json
/// {"type":"about:blank","title":"Forbidden","status":403,
///  "detail":"the token does not grant the scope this request requires",
///  "error":"insufficient_scope","scope":"delete:comments-in-room_2"}
/// ```
///
/// `detail` is the fixed description of the [`ErrorKind`](crate::ErrorKind); `error` the
/// RFC 6750 code when there is one; `scope` the scopes that would satisfy a requirement, as in
/// the challenge (bound only from path values that passed the binding rules); for a step-up
/// refusal, `acr_values` (a string) and `max_age` (a number of seconds), as in the challenge.
/// Nothing from the token, and no refused request content, is ever written.
///
/// ```
/// use scopegate::{AuthLayer, ProblemJson, Validator};
///
/// # fn layer(validator: Validator) {
/// let layer = AuthLayer::new(validator).on_rejection(ProblemJson);
/// # }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct ProblemJson;

impl ProblemJson {
    /// The problem document for `error`.
    pub fn body(error: &AuthError) -> String {
        let kind = error.kind();
        let mut problem = serde_json::json!({
            "type": "about:blank",
            "title": kind.title(),
            "status": error.status().as_u16(),
            "detail": kind.description(),
        });
        if let Some(code) = kind.error_code() {
            problem["error"] = code.into();
        }
        if let Some(scope) = error.required_scope() {
            problem["scope"] = scope.into();
        }
        if let Some(acr_values) = error.required_acr_values() {
            problem["acr_values"] = acr_values.into();
        }
        if let Some(max_age) = error.required_max_age() {
            problem["max_age"] = max_age.into();
        }
        problem.to_string()
    }
}

impl<B: From<String>> OnRejection<B> for ProblemJson {
    fn on_rejection(&self, error: &AuthError) -> Response<B> {
        let mut response = error.to_response(B::from(Self::body(error)));
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
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
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/grpc"),
        );
        headers.insert(
            "grpc-status",
            HeaderValue::from(u16::from(Self::code(error))),
        );
        // The descriptions are fixed printable ASCII without `%`: valid grpc-message as they are.
        headers.insert(
            "grpc-message",
            HeaderValue::from_static(error.kind().description()),
        );
        if let Some(challenge) = error.www_authenticate() {
            headers.insert(header::WWW_AUTHENTICATE, challenge);
        }
        response
    }
}

/// Marks a response as a refusal for the [`AuthService`](crate::AuthService) around it to
/// render with the API's renderer and realm.
#[derive(Clone, Debug)]
pub(crate) struct Refused(pub(crate) AuthError);

/// The default response for `error`, marked for the auth layer to render.
pub(crate) fn refusal_response<B: Default>(error: AuthError) -> Response<B> {
    let mut response = error.to_response(B::default());
    response.extensions_mut().insert(Refused(error));
    response
}

/// The one place refusals are logged (at `debug`, target `scopegate`) and counted (feature
/// `metrics`: `scopegate_requests_refused_total{kind, status}`). Configuration errors and
/// resolver failures are logged where they are found, at `error`, with what an operator needs
/// (the route, the parameter), never request content.
pub(crate) fn log_refusal(error: &AuthError) {
    let kind = error.kind();
    let status = kind.status().as_u16();
    tracing::debug!(
        target: "scopegate",
        kind = kind.name(),
        reason = kind.description(),
        status,
        "request refused"
    );
    observe::request_refused(kind.name(), status);
}
