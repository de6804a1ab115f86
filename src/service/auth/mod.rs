//! Authentication at the edge: [`AuthLayer`], [`AuthService`], [`ResponseFuture`].

mod binding;
mod future;
mod layer;
mod metadata;
mod origin;
mod service;

pub use future::ResponseFuture;
pub use layer::AuthLayer;
pub use service::AuthService;
