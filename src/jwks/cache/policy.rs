//! The key cache's timing: how long a key set lives, when it is refreshed, how long it may be
//! kept past its lifetime.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use http::HeaderMap;

/// Timing of the key cache. See [`ValidatorBuilder`](crate::ValidatorBuilder) for each knob.
#[derive(Debug, Clone)]
pub(crate) struct CachePolicy {
    pub(crate) default_lifetime: Duration,
    pub(crate) min_lifetime: Duration,
    pub(crate) max_lifetime: Duration,
    pub(crate) refresh_ahead: Duration,
    pub(crate) cooldown: Duration,
    pub(crate) stale_window: Duration,
    pub(crate) fetch_timeout: Duration,
}

impl Default for CachePolicy {
    fn default() -> Self {
        CachePolicy {
            default_lifetime: Duration::from_secs(10 * 60),
            min_lifetime: Duration::from_secs(5 * 60),
            max_lifetime: Duration::from_secs(24 * 60 * 60),
            refresh_ahead: Duration::from_secs(30),
            cooldown: Duration::from_secs(30),
            stale_window: Duration::from_secs(60 * 60),
            // Discovery plus JWKS, each bounded by the fetcher's own 5 s.
            fetch_timeout: Duration::from_secs(10),
        }
    }
}

impl CachePolicy {
    /// `Cache-Control: max-age`, clamped; `no-store`/`no-cache` count as the minimum.
    pub(super) fn lifetime(&self, headers: &HeaderMap) -> Duration {
        let mut lifetime = self.default_lifetime;
        for value in headers.get_all(http::header::CACHE_CONTROL) {
            let Ok(value) = value.to_str() else { continue };
            for directive in value.split(',').map(str::trim) {
                let (name, argument) = directive.split_once('=').unwrap_or((directive, ""));
                let name = name.trim();
                if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
                    return self.min_lifetime;
                }
                if name.eq_ignore_ascii_case("max-age")
                    && let Ok(seconds) = argument.trim().trim_matches('"').parse::<u64>()
                {
                    lifetime = Duration::from_secs(seconds);
                }
            }
        }
        lifetime.clamp(self.min_lifetime, self.max_lifetime.max(self.min_lifetime))
    }

    /// When a key set fetched `now` with `lifetime` is refreshed: `refresh_ahead` before it
    /// expires, plus a jitter of up to a tenth of the lifetime, never before `now`.
    pub(super) fn refresh_at(&self, now: Duration, lifetime: Duration) -> Duration {
        let ahead = self.refresh_ahead.saturating_add(jitter(lifetime / 10));
        now.saturating_add(lifetime).saturating_sub(ahead).max(now)
    }
}

/// A random duration below `bound`, so that replicas do not refresh in lockstep.
fn jitter(bound: Duration) -> Duration {
    let millis = bound.as_millis() as u64;
    if millis == 0 {
        return Duration::ZERO;
    }
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    Duration::from_millis(random % millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(http::header::CACHE_CONTROL, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn cache_control_is_honoured_and_clamped() {
        let policy = CachePolicy::default();
        let secs = |values: &[&str]| policy.lifetime(&headers(values)).as_secs();
        assert_eq!(secs(&[]), 600);
        assert_eq!(secs(&["public, max-age=3600"]), 3600);
        assert_eq!(secs(&["max-age=10"]), 300);
        assert_eq!(secs(&["max-age=999999999"]), 86400);
        assert_eq!(secs(&["no-store"]), 300);
        assert_eq!(secs(&["public", "MAX-AGE=1200"]), 1200);
        assert_eq!(secs(&["max-age=abc"]), 600);
    }

    #[test]
    fn jitter_stays_below_its_bound() {
        for _ in 0..100 {
            assert!(jitter(Duration::from_secs(60)) < Duration::from_secs(60));
        }
        assert_eq!(jitter(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn a_refresh_is_due_ahead_of_expiry_and_never_in_the_past() {
        let policy = CachePolicy::default();
        let now = Duration::from_secs(1000);
        let at = policy.refresh_at(now, Duration::from_secs(600));
        assert!(at <= now + Duration::from_secs(570) && at > now + Duration::from_secs(500));
        assert_eq!(policy.refresh_at(now, Duration::ZERO), now);
    }
}
