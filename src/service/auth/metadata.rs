//! Serving the protected-resource metadata (RFC 9728 §3) at its well-known path, before any
//! authentication: clients read it to learn how to get a token.

use http::{HeaderValue, Method, Response, StatusCode, header};

use crate::dpop::DpopPolicy;
use crate::metadata::{DpopMetadata, ResourceMetadata};

/// The document and where it is served, computed once per configuration.
#[derive(Debug, Clone)]
pub(crate) struct ServedMetadata {
    path: String,
    document: String,
}

impl ServedMetadata {
    pub(crate) fn new(metadata: &ResourceMetadata, dpop: Option<&DpopPolicy>) -> Self {
        let algorithms = dpop.map(|dpop| dpop.config.algorithm_names());
        let dpop = dpop
            .zip(algorithms.as_deref())
            .map(|(dpop, names)| DpopMetadata {
                signing_algorithms: names,
                required: dpop.config.is_required(),
            });
        ServedMetadata {
            path: metadata.well_known_path(),
            document: metadata.document(dpop),
        }
    }

    /// The document, for an API that serves it itself.
    pub(crate) fn document(&self) -> &str {
        &self.document
    }

    /// The response to a `GET` or `HEAD` of the well-known path; `None` for any other request,
    /// or when the body type cannot hold the document (the request then goes through the
    /// layer's checks as any other).
    pub(crate) fn respond<B: 'static>(&self, method: &Method, path: &str) -> Option<Response<B>> {
        let read = matches!(*method, Method::GET | Method::HEAD);
        if !read || path != self.path {
            return None;
        }
        let body = body_of::<B>(if *method == Method::HEAD {
            String::new()
        } else {
            self.document.clone()
        })?;
        let mut response = Response::new(body);
        *response.status_mut() = StatusCode::OK;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        );
        Some(response)
    }
}

/// The document as the wrapped service's body type, when it is one scopegate can build: axum's
/// body or a `String`. The layer is generic over bodies and never requires one it can build
/// from text, so the type is checked here rather than in its bounds.
fn body_of<B: 'static>(document: String) -> Option<B> {
    use std::any::{Any, TypeId};
    #[cfg(feature = "axum")]
    if TypeId::of::<B>() == TypeId::of::<axum::body::Body>() {
        let body: Box<dyn Any> = Box::new(axum::body::Body::from(document));
        return body.downcast::<B>().ok().map(|body| *body);
    }
    if TypeId::of::<B>() != TypeId::of::<String>() {
        return None;
    }
    let body: Box<dyn Any> = Box::new(document);
    body.downcast::<B>().ok().map(|body| *body)
}
