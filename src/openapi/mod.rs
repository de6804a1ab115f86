//! OpenAPI documentation of route requirements, generated from the declarations the router
//! enforces (feature `utoipa`).
//!
//! Declare each protected route once on a [`Documented`] router. It builds the axum `Router`
//! with [`RouterExt::route_requiring`] (the same enforcement, nothing re-implemented) and
//! records each operation's requirement; [`RouteSecurity::apply`] writes the records into a
//! utoipa [`OpenApi`](utoipa::openapi::OpenApi) document:
//!
//! ```
//! use axum::{Router, body::Body, http::Request};
//! use scopegate::openapi::routing::{delete, get};
//! use scopegate::openapi::{Documented, SecuritySchemes};
//! use scopegate::testing::TestIssuer;
//! use scopegate::{AuthLayer, Requirement, scope};
//! use tower::ServiceExt;
//! use utoipa::openapi::{Info, OpenApi, Paths};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let issuer = TestIssuer::start().await?;
//!
//! // One declaration per route: the path, its handlers by method, its requirement.
//! let (router, security) = Documented::new(Router::new())
//!     .route_requiring(
//!         "/rooms/{room}/comments",
//!         get(|| async { "[]" }),
//!         scope!("read:comments-in-{room}"),
//!     )
//!     .route_requiring(
//!         "/rooms/{room}/comments/{id}",
//!         delete(|| async { "deleted" }),
//!         Requirement::any_of([scope!("delete:comments-in-{room}"), scope!("moderate:all")]),
//!     )
//!     .into_parts();
//!
//! // The router enforces the requirements...
//! let app = router.layer(AuthLayer::new(issuer.validator().build()?));
//! let token = issuer.token().scope("read:comments-in-r1").sign();
//! let request = Request::get("/rooms/r2/comments")
//!     .header("authorization", format!("Bearer {token}"))
//!     .body(Body::empty())?;
//! assert_eq!(app.oneshot(request).await?.status(), 403);
//!
//! // ...and the document names them (here, a document with no operations of its own).
//! let mut openapi = OpenApi::new(Info::new("rooms", "1.0.0"), Paths::new());
//! let schemes = SecuritySchemes::openid_connect(issuer.issuer());
//! let added = security.apply(&schemes, &mut openapi);
//! assert_eq!(added.len(), 2);
//!
//! let json = serde_json::to_value(&openapi)?;
//! let delete = &json["paths"]["/rooms/{room}/comments/{id}"]["delete"];
//! assert_eq!(
//!     delete["security"],
//!     serde_json::json!([
//!         { "access_token": ["delete:comments-in-{room}"] },
//!         { "access_token": ["moderate:all"] },
//!     ]),
//! );
//! assert_eq!(delete["x-scopegate-bound-parameters"], serde_json::json!(["room"]));
//! assert_eq!(
//!     json["components"]["securitySchemes"]["access_token"]["type"],
//!     "openIdConnect",
//! );
//! # Ok(()) }
//! ```
//!
//! # What the document gets
//!
//! | requirement | security requirements of the operation |
//! |---|---|
//! | `scope!("delete:comments-in-{room}")` | `{"access_token": ["delete:comments-in-{room}"]}`: the template as written |
//! | `all_of([a, b])` | one requirement naming the scopes of both |
//! | `any_of([a, b])` | one requirement per alternative (OpenAPI's "or") |
//! | claim checks, `issued_by`, `tenant_issuer`, `claims`, `step_up` | no scope: described in the extensions below |
//!
//! An `all_of` of `any_of`s lists every combination, up to 64; beyond that, or for an `any_of`
//! nothing satisfies, the operation gets one requirement without scopes, and its
//! `x-scopegate-requirement` tells the rest. An alternative made of checks alone has no scopes:
//! `{"access_token": []}`. With [`SecuritySchemes::dpop`], each requirement also comes in a
//! DPoP form, the same scopes plus `{"dpop": []}` (only that form when DPoP is required).
//!
//! Each such operation also gets these extensions:
//!
//! | extension | value |
//! |---|---|
//! | [`x-scopegate-requirement`](REQUIREMENT_EXTENSION) | the requirement's `Display` text |
//! | [`x-scopegate-bound-parameters`](BOUND_PARAMETERS_EXTENSION) | the path parameters it binds, `["room"]` |
//! | [`x-scopegate-checks`](CHECKS_EXTENSION) | the checks that are not scopes, when there are any |
//! | [`x-scopegate-step-up`](STEP_UP_EXTENSION) | `[{"acr_values": [...], "max_age": 300}]`, when there is a step-up |
//!
//! # Operations the document lacks
//!
//! [`RouteSecurity::apply`] adds a recorded operation the document does not have, with its
//! security and extensions only, and returns it: the document never leaves out an operation the
//! router protects, and a test can assert that the list is empty to keep every operation
//! described by hand (a path spelled differently, `{id}` against `{comment}`, shows up there).
//! Routes without a requirement are left as the document has them.
//!
//! # Why a wrapper
//!
//! axum's `MethodRouter` does not say which methods it has handlers for, and the document needs
//! the method of each operation. So the handlers come in through [`routing`]'s [`get`](routing::get),
//! [`post`](routing::post), ..., which build the axum method router and remember the methods:
//! nothing is declared twice, so nothing can drift. The price: `any(...)` and method-router
//! fallbacks, which answer every method, have no form here (declare them with
//! [`RouterExt::route_requiring`] through [`Documented::map_router`]; they are then enforced
//! but not documented), and routes declared outside the wrapper are not documented.

mod document;
pub mod routing;

use axum::Router;
use axum::routing::MethodRouter;

use crate::authorize::Requirement;
use crate::router::RouterExt;

use document::openapi_path;
pub use document::{
    BOUND_PARAMETERS_EXTENSION, CHECKS_EXTENSION, DEFAULT_DPOP_SCHEME, DEFAULT_TOKEN_SCHEME,
    REQUIREMENT_EXTENSION, RouteSecurity, STEP_UP_EXTENSION, SecuredOperation, SecuritySchemes,
};
use routing::Methods;

/// An axum [`Router`] being built, and the requirement of every operation declared on it with
/// [`route_requiring`](Self::route_requiring). See the [module docs](self).
#[derive(Clone)]
#[must_use]
pub struct Documented<S = ()> {
    router: Router<S>,
    operations: Vec<SecuredOperation>,
}

impl<S> std::fmt::Debug for Documented<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Documented")
            .field("router", &self.router)
            .field("operations", &self.operations)
            .finish()
    }
}

impl<S: Clone + Send + Sync + 'static> Documented<S> {
    /// Starts from `router`; its own routes are served as they are, and not documented.
    pub fn new(router: Router<S>) -> Self {
        Documented {
            router,
            operations: Vec::new(),
        }
    }

    /// [`RouterExt::route_requiring`] with the handlers of `methods`, each of whose methods is
    /// recorded as an operation with `requirement`. Enforcement is exactly `route_requiring`'s,
    /// fallback and panics included; call it again on the same path for another method with
    /// another requirement.
    #[track_caller]
    pub fn route_requiring(
        mut self,
        path: &str,
        methods: Methods<S>,
        requirement: Requirement,
    ) -> Self {
        let (method_router, methods) = methods.into_parts();
        self.router = self
            .router
            .route_requiring(path, method_router, requirement.clone());
        let documented = openapi_path(path);
        self.operations.extend(
            methods.into_iter().map(|method| {
                SecuredOperation::new(documented.clone(), method, requirement.clone())
            }),
        );
        self
    }

    /// `Router::route`: a route without a requirement, served and not documented.
    #[track_caller]
    pub fn route(mut self, path: &str, method_router: MethodRouter<S>) -> Self {
        self.router = self.router.route(path, method_router);
        self
    }

    /// `Router::nest`: `inner`'s routes under `prefix`, with their records. Their templates
    /// may name parameters of `prefix`, as with `route_requiring` inside a nest.
    #[track_caller]
    pub fn nest(mut self, prefix: &str, inner: Documented<S>) -> Self {
        self.router = self.router.nest(prefix, inner.router);
        let prefix = openapi_path(prefix);
        self.operations.extend(
            inner
                .operations
                .into_iter()
                .map(|operation| operation.nested_under(&prefix)),
        );
        self
    }

    /// `Router::merge`: `other`'s routes, with their records.
    #[track_caller]
    pub fn merge(mut self, other: Documented<S>) -> Self {
        self.router = self.router.merge(other.router);
        self.operations.extend(other.operations);
        self
    }

    /// Anything else on the router (a layer, a fallback, `nest_service`): what `f` adds is
    /// served, and not documented.
    pub fn map_router(mut self, f: impl FnOnce(Router<S>) -> Router<S>) -> Self {
        self.router = f(self.router);
        self
    }

    /// The router, and the requirements recorded, for [`RouteSecurity::apply`].
    pub fn into_parts(self) -> (Router<S>, RouteSecurity) {
        (self.router, RouteSecurity::new(self.operations))
    }
}
