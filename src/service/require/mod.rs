//! Requirements as tower middleware: [`RequireLayer`], [`RequireService`], [`RequireFuture`].

mod future;
mod layer;
mod service;

pub use future::RequireFuture;
pub use layer::RequireLayer;
pub use service::RequireService;
