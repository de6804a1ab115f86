//! The API's authorization policy, set once on the layer: its grant policy and its grant
//! resolver with the resolver's cache.

use std::sync::Arc;

use super::resolver::CachedResolver;
use crate::grant::GrantPolicy;

/// What every requirement behind one layer is decided with.
#[derive(Debug, Clone, Default)]
pub(crate) struct AccessPolicy {
    pub(crate) grants: Arc<GrantPolicy>,
    pub(crate) resolver: Option<Arc<CachedResolver>>,
}
