//! Grants held by the API's own services, looked up only when a requirement needs them.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::params::PathValues;
use crate::boxed::BoxFuture;
use crate::clock::Clock;
use crate::grant::ParamValue;
use crate::principal::Authenticated;

/// Supplies extra granted scopes from outside the token, for example from the service that
/// knows each room's settings ("members can read comments, admins can add comments").
///
/// Called only when the token's own grants do not meet a route's requirement, with the verified
/// claims and the matched route's path values. Results are cached per issuer, subject (or
/// `client_id`) and path values, for a bounded time and number of entries, so the other service
/// sees at most one call per user and route values per TTL.
///
/// A failing resolver never lets a request through: the request is answered 503 (the grants
/// are unavailable, not refused) and the error is logged. Failures are remembered for a few
/// seconds so an outage is not hammered.
///
/// ```
/// use scopegate::jwks::BoxFuture;
/// use scopegate::{GrantResolver, ResolveError, ResolveRequest};
///
/// struct RoomSettings;
///
/// impl GrantResolver for RoomSettings {
///     fn resolve<'a>(
///         &'a self,
///         request: ResolveRequest<'a>,
///     ) -> BoxFuture<'a, Result<Vec<String>, ResolveError>> {
///         Box::pin(async move {
///             let (Some(user), Some(room)) = (request.claims().subject(), request.param("room")) else {
///                 return Ok(Vec::new());
///             };
///             // Ask the rooms service what `user` may do in `room`...
///             Ok(vec![format!("read:comments-in-{room}")])
///         })
///     }
/// }
/// ```
pub trait GrantResolver: Send + Sync + 'static {
    /// The extra scopes `request`'s user holds for this route. Strings that are not scope-tokens
    /// are ignored.
    fn resolve<'a>(
        &'a self,
        request: ResolveRequest<'a>,
    ) -> BoxFuture<'a, Result<Vec<String>, ResolveError>>;
}

/// What a [`GrantResolver`] is asked about.
#[derive(Clone, Copy, Debug)]
pub struct ResolveRequest<'a> {
    auth: &'a Authenticated,
    params: &'a PathValues,
}

impl<'a> ResolveRequest<'a> {
    /// The verified token.
    pub fn claims(&self) -> &'a Authenticated {
        self.auth
    }

    /// A path value of the matched route, percent-decoded. `None` when the route has no
    /// parameter of that name, or has it more than once (nested routers): the value a
    /// requirement would bind is then unknown, and so it is to the resolver.
    pub fn param(&self, name: &str) -> Option<&'a str> {
        match self.params.get(name) {
            ParamValue::Value(value) => Some(value),
            _ => None,
        }
    }

    /// Every path value of the matched route.
    pub fn params(&self) -> impl Iterator<Item = (&'a str, &'a str)> {
        self.params.iter()
    }
}

/// A resolver failure; its text goes to the log only.
#[derive(Debug)]
pub struct ResolveError(String);

impl ResolveError {
    /// A failure with this description.
    pub fn new(message: impl Into<String>) -> Self {
        ResolveError(message.into())
    }
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ResolveError {}

/// How long a failure is remembered.
const FAILURE_TTL: Duration = Duration::from_secs(5);

/// Issuer, `sub` or `client_id` and its value, then path names and values: a list, so no value can forge another key.
type CacheKey = Vec<Box<str>>;

struct Entry {
    expires_at: Duration,
    grants: Option<Arc<[Box<str>]>>,
}

/// A resolver with its bounded cache.
pub(crate) struct CachedResolver {
    resolver: Arc<dyn GrantResolver>,
    ttl: Duration,
    max_entries: usize,
    entries: Mutex<HashMap<CacheKey, Entry>>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for CachedResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedResolver")
            .field("ttl", &self.ttl)
            .field("max_entries", &self.max_entries)
            .finish_non_exhaustive()
    }
}

impl CachedResolver {
    pub(crate) fn new(
        resolver: Arc<dyn GrantResolver>,
        ttl: Duration,
        max_entries: usize,
        clock: Arc<dyn Clock>,
    ) -> Self {
        CachedResolver {
            resolver,
            ttl,
            max_entries: max_entries.max(1),
            entries: Mutex::default(),
            clock,
        }
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<CacheKey, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The extra grants for this token and route: cached, or resolved now.
    pub(crate) async fn grants(
        &self,
        auth: &Authenticated,
        params: &PathValues,
    ) -> Result<Arc<[Box<str>]>, ()> {
        let key = cache_key(auth, params);
        let now = self.clock.now();
        if let Some(key) = &key
            && let Some(entry) = self.entries().get(key)
            && now < entry.expires_at
        {
            return entry.grants.clone().ok_or(());
        }
        let resolved = self.resolver.resolve(ResolveRequest { auth, params }).await;
        let grants: Option<Arc<[Box<str>]>> = match resolved {
            Ok(grants) => Some(grants.into_iter().map(Box::from).collect()),
            Err(error) => {
                tracing::error!(%error, "scopegate: the grant resolver failed; refusing with 503");
                None
            }
        };
        if let Some(key) = key {
            let ttl = if grants.is_some() {
                self.ttl
            } else {
                FAILURE_TTL.min(self.ttl)
            };
            self.insert(
                key,
                Entry {
                    expires_at: self.clock.now().saturating_add(ttl),
                    grants: grants.clone(),
                },
            );
        }
        grants.ok_or(())
    }

    fn insert(&self, key: CacheKey, entry: Entry) {
        let now = self.clock.now();
        let mut entries = self.entries();
        if entries.len() >= self.max_entries && !entries.contains_key(&key) {
            entries.retain(|_, entry| now < entry.expires_at);
            // Still full: drop the entry closest to expiry.
            if entries.len() >= self.max_entries
                && let Some(oldest) = entries
                    .iter()
                    .min_by_key(|(_, entry)| entry.expires_at)
                    .map(|(key, _)| key.clone())
            {
                entries.remove(&oldest);
            }
        }
        entries.insert(key, entry);
    }
}

/// `None` when the token names no subject or client: such requests are resolved every time.
fn cache_key(auth: &Authenticated, params: &PathValues) -> Option<CacheKey> {
    let (kind, who) = match (auth.subject(), auth.client_id()) {
        (Some(subject), _) => ("sub", subject),
        (None, Some(client)) => ("client_id", client),
        (None, None) => return None,
    };
    let mut key: CacheKey = Vec::with_capacity(8);
    key.push(auth.issuer().into());
    key.push(kind.into());
    key.push(who.into());
    for (name, value) in params.iter() {
        key.push(name.into());
        key.push(value.into());
    }
    Some(key)
}
