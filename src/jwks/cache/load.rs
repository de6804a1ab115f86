//! One fetch of the key set: discovery when needed, the JWKS, the new snapshot, and what is
//! recorded of the attempt (the last error, the log, the metrics).

use std::sync::Arc;

use http::Uri;

use super::{KeyCache, Remote, Snapshot};
use crate::jose::KeySet;
use crate::jwks::document::{discover, get_document};
use crate::jwks::failure::{FetchError, FetchErrorKind};
use crate::jwks::fetch::JwksFetcher;
use crate::observe;

impl KeyCache {
    /// Fetches and stores a new key set, within the fetch timeout.
    pub(super) async fn fetch_once(&self) -> Result<(), FetchError> {
        let Some((remote, fetcher)) = &self.remote else {
            return Ok(());
        };
        let fetch = async {
            let jwks_url = match remote {
                Remote::Jwks(url) => url.clone(),
                Remote::Discovery { url, issuer } => {
                    let cached = self.state().discovered_jwks.clone();
                    match cached {
                        Some(url) => url,
                        None => {
                            let jwks = discover(fetcher.as_ref(), url, issuer).await?;
                            self.state().discovered_jwks = Some(jwks.clone());
                            jwks
                        }
                    }
                }
            };
            let result = self.fetch_jwks(fetcher.as_ref(), &jwks_url).await;
            if result.is_err() {
                // The issuer may have moved its JWKS: discover again next time.
                self.state().discovered_jwks = None;
            }
            result
        };
        match tokio::time::timeout(self.policy.fetch_timeout, fetch).await {
            Ok(result) => result,
            Err(_) => Err(FetchError::with_kind(
                FetchErrorKind::Timeout,
                format!("no answer within {:?}", self.policy.fetch_timeout),
            )),
        }
    }

    async fn fetch_jwks(&self, fetcher: &dyn JwksFetcher, url: &Uri) -> Result<(), FetchError> {
        let response = get_document(fetcher, url).await?;
        let mut keys = KeySet::from_jwks_json(response.body(), self.rules).map_err(|reason| {
            FetchError::with_kind(
                FetchErrorKind::InvalidDocument,
                format!("GET {url}: {reason}"),
            )
        })?;
        if let Some(previous) = self.snapshot.load().as_ref() {
            keys.keep_unchanged_from(&previous.keys);
        }
        if keys.len() == 0 {
            return Err(FetchError::with_kind(
                FetchErrorKind::NoUsableKey,
                format!("GET {url}: the key set has no usable key"),
            ));
        }
        let now = self.clock.now();
        let lifetime = self.policy.lifetime(response.headers());
        let snapshot = Snapshot {
            generation: super::next_generation(),
            refresh_at: self.policy.refresh_at(now, lifetime),
            stale_until: now
                .saturating_add(lifetime)
                .saturating_add(self.policy.stale_window),
            fetched_at: Some(now),
            keys,
        };
        tracing::debug!(
            target: "scopegate",
            issuer = %self.issuer,
            keys = snapshot.keys.len(),
            ?lifetime,
            "key set refreshed"
        );
        observe::jwks_loaded(&self.issuer, snapshot.keys.len(), now);
        self.snapshot.store(Some(Arc::new(snapshot)));
        Ok(())
    }

    /// Remembers how an attempt ended, logs a failure and counts the attempt.
    pub(super) fn record(&self, result: Result<(), FetchError>) {
        match result {
            Ok(()) => {
                observe::jwks_fetched(&self.issuer, observe::FETCH_OK);
                self.state().last_error = None;
            }
            Err(error) => {
                let kind = error.kind().name();
                tracing::warn!(
                    target: "scopegate",
                    issuer = %self.issuer,
                    kind,
                    %error,
                    "fetching the JWKS failed; keeping the last good key set"
                );
                observe::jwks_fetched(&self.issuer, kind);
                self.state().last_error = Some(error);
            }
        }
    }
}
