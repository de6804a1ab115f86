//! The API's authorization policy, set once on the layer: its grant policy, its grant resolver
//! with the resolver's cache, and the clock requirements on the authentication time read.

use std::fmt;
use std::sync::Arc;

use super::resolver::CachedResolver;
use super::step_up::Now;
use crate::clock::Clock;
use crate::grant::GrantPolicy;
use crate::principal::LayerPolicy;

/// What every requirement behind one layer is decided with.
#[derive(Clone)]
pub(crate) struct AccessPolicy {
    pub(crate) grants: Arc<GrantPolicy>,
    pub(crate) resolver: Option<Arc<CachedResolver>>,
    /// The validators' clock, for step-up requirements (`auth_time`).
    pub(crate) clock: Arc<dyn Clock>,
    /// Seconds an `auth_time` may lie in the future: the validator's leeway.
    pub(crate) leeway: i64,
}

impl LayerPolicy for AccessPolicy {
    fn grants(&self) -> &GrantPolicy {
        &self.grants
    }
}

impl AccessPolicy {
    /// A policy reading the time from `clock`, with `leeway` seconds for clock skew.
    pub(crate) fn new(clock: Arc<dyn Clock>, leeway: i64) -> Self {
        AccessPolicy {
            grants: Arc::default(),
            resolver: None,
            clock,
            leeway,
        }
    }

    /// The instant to decide requirements at.
    pub(crate) fn now(&self) -> Now {
        Now {
            seconds: i64::try_from(self.clock.now().as_secs()).unwrap_or(i64::MAX),
            leeway: self.leeway,
        }
    }
}

impl fmt::Debug for AccessPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessPolicy")
            .field("grants", &self.grants)
            .field("resolver", &self.resolver)
            .field("leeway", &self.leeway)
            .finish_non_exhaustive()
    }
}
