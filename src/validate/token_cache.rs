//! The verified-token cache: clients resend the same access token for its whole lifetime, so a
//! token seen before skips signature verification.
//!
//! Keyed by the exact token (the hash, of the token's last bytes, only indexes; a hit compares
//! every byte), holding the
//! verified principal and the validator that verified it. Every hit re-checks what time changes
//! (`exp`, `nbf`, `iat`, the maximum age) and that the key that verified it is still the one the
//! current key set holds for its `kid`, so a withdrawn key stops its tokens at the next key
//! refresh, as without the cache. Only verified tokens are inserted: a refused token is never
//! cached.
//!
//! Built on `quick_cache` rather than by hand: its sharded table takes no global lock on a hit,
//! and its CLOCK-Pro admission keeps entries that are hit repeatedly when a flood of tokens seen
//! once passes through, which a hand-written LRU would let the flood evict.

use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;

use quick_cache::sync::Cache;
use quick_cache::{Equivalent, Lifecycle, Weighter};

use super::validator::{Recheck, Validator};
use crate::error::ErrorKind;
use crate::jwks::KeySeenIn;
use crate::observe;
use crate::principal::Authenticated;

/// The default bound on the cache, in bytes of tokens and claims.
pub const DEFAULT_TOKEN_CACHE_BYTES: usize = 16 * 1024 * 1024;

/// What an entry costs beyond its token and claims: the principal's fields, the map's slot.
const ENTRY_OVERHEAD: u64 = 512;

/// A verified token and who verified it.
pub(crate) struct Verified {
    pub(crate) auth: Authenticated,
    pub(crate) validator: Validator,
    /// The key set its key was last found in.
    key_seen_in: KeySeenIn,
    weight: u64,
}

/// How many bytes of a token's end are hashed: its signature's last bytes, which no one can
/// choose for a token that verifies. The hash only finds the slot; a hit compares every byte.
const HASHED_TAIL: usize = 32;

fn hash_tail<H: Hasher>(bytes: &[u8], state: &mut H) {
    state.write(&bytes[bytes.len().saturating_sub(HASHED_TAIL)..]);
}

/// Hashes tokens' tails with a per-cache random seed. Only verified tokens are inserted, and
/// their tails are signature bytes no one can choose, so the table needs mixing, not the
/// defence against chosen keys that SipHash buys at ten times the cost; a lookup of chosen
/// bytes only probes.
#[derive(Clone)]
struct TailHashing {
    seed: u64,
}

impl TailHashing {
    fn new() -> Self {
        // std's per-process random keys, drawn once per cache.
        TailHashing {
            seed: std::hash::RandomState::new().build_hasher().finish(),
        }
    }
}

impl BuildHasher for TailHashing {
    type Hasher = TailHasher;

    fn build_hasher(&self) -> TailHasher {
        TailHasher(self.seed)
    }
}

/// Multiplies in eight bytes at a time and finishes with a full avalanche, so that the high
/// bits (the shard) and the low bits (the slot) both depend on every byte.
struct TailHasher(u64);

impl Hasher for TailHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0 ^ u64::from_le_bytes(word))
                .wrapping_mul(0x9e37_79b9_7f4a_7c15)
                .rotate_left(31);
        }
    }

    fn finish(&self) -> u64 {
        // The finalizer of MurmurHash3's 64-bit hash.
        let mut hash = self.0;
        hash ^= hash >> 33;
        hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
        hash ^= hash >> 33;
        hash = hash.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        hash ^ (hash >> 33)
    }
}

/// A cached token: equal only to the same bytes, hashed by its tail (hashing a whole token of
/// a kilobyte or more would cost more than the rest of a hit).
#[derive(PartialEq, Eq)]
struct Token(Box<[u8]>);

impl Hash for Token {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_tail(&self.0, state);
    }
}

/// A token looked up by its bytes, hashed as [`Token`] is.
struct Lookup<'a>(&'a [u8]);

impl Hash for Lookup<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        hash_tail(self.0, state);
    }
}

impl Equivalent<Token> for Lookup<'_> {
    fn equivalent(&self, key: &Token) -> bool {
        *key.0 == *self.0
    }
}

#[derive(Clone)]
struct ByBytes;

impl Weighter<Token, Arc<Verified>> for ByBytes {
    fn weight(&self, _token: &Token, verified: &Arc<Verified>) -> u64 {
        verified.weight
    }
}

/// Counts evictions (`scopegate_token_cache_evictions_total`). Like quick_cache's default, it
/// keeps up to two evicted entries to drop them once the shard's lock is released; the count is
/// reported then too.
#[derive(Clone)]
struct CountEvictions;

/// What one insert evicted.
#[derive(Default)]
struct Evicted {
    dropped_later: [Option<(Token, Arc<Verified>)>; 2],
    count: u64,
}

impl Drop for Evicted {
    fn drop(&mut self) {
        if self.count > 0 {
            observe::token_cache_evicted(self.count);
        }
    }
}

impl Lifecycle<Token, Arc<Verified>> for CountEvictions {
    type RequestState = Evicted;

    fn begin_request(&self) -> Evicted {
        Evicted::default()
    }

    fn on_evict(&self, state: &mut Evicted, token: Token, verified: Arc<Verified>) {
        state.count += 1;
        if let Some(slot) = state.dropped_later.iter_mut().find(|slot| slot.is_none()) {
            *slot = Some((token, verified));
        }
    }
}

/// A bounded cache of verified tokens.
pub(crate) struct TokenCache {
    entries: Cache<Token, Arc<Verified>, ByBytes, TailHashing, CountEvictions>,
    max_bytes: usize,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("max_bytes", &self.max_bytes)
            .field("entries", &self.entries.len())
            .finish()
    }
}

impl TokenCache {
    /// A cache of at most `max_bytes`; `None` for 0 (no cache).
    pub(crate) fn new(max_bytes: usize) -> Option<Self> {
        if max_bytes == 0 {
            return None;
        }
        // An estimate for the table's initial size: a typical entry (an RS256 token and its
        // claims) weighs about 2 KiB.
        let estimated_entries = (max_bytes / 2048).max(16);
        Some(TokenCache {
            entries: Cache::with(
                estimated_entries,
                max_bytes as u64,
                ByBytes,
                TailHashing::new(),
                CountEvictions,
            ),
            max_bytes,
        })
    }

    /// The principal for `token` if it was verified before and still holds, or the refusal
    /// that time brought (`Expired`, say). `None`: not cached, or its key has changed; the
    /// caller validates it in full, and counts the miss then (a header refused before that is
    /// no lookup of a token).
    pub(crate) fn get(&self, token: &[u8]) -> Option<Result<Authenticated, ErrorKind>> {
        let verified = self.entries.get(&Lookup(token))?;
        match verified
            .validator
            .recheck(&verified.auth, &verified.key_seen_in)
        {
            Recheck::Valid => {
                observe::token_cache_hit();
                Some(Ok(verified.auth.clone().reused()))
            }
            Recheck::Refused(kind) => {
                observe::token_cache_hit();
                self.entries.remove(&Lookup(token));
                Some(Err(kind))
            }
            Recheck::KeyChanged => {
                self.entries.remove(&Lookup(token));
                None
            }
        }
    }

    /// Remembers a token `validator` has just verified.
    pub(crate) fn insert(&self, token: &[u8], auth: &Authenticated, validator: &Validator) {
        let weight = (token.len() as u64)
            .saturating_add(2 * auth.claims_json().len() as u64)
            .saturating_add(ENTRY_OVERHEAD);
        self.entries.insert(
            Token(token.into()),
            Arc::new(Verified {
                auth: auth.clone(),
                validator: validator.clone(),
                key_seen_in: KeySeenIn::default(),
                weight,
            }),
        );
    }

    /// How many tokens are cached.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The bytes the entries weigh.
    #[cfg(test)]
    pub(crate) fn weight(&self) -> u64 {
        self.entries.weight()
    }
}

#[cfg(all(test, feature = "test-util"))]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use super::*;
    use crate::testing::{ManualClock, TestIssuer};
    use crate::validate::Issuers;

    fn verifications(validator: &Validator) -> usize {
        validator.settings().verifications.load(Ordering::Relaxed)
    }

    #[tokio::test]
    async fn a_repeated_token_is_verified_once_and_its_grants_built_once() {
        let issuer = TestIssuer::start().await.unwrap();
        let validator = issuer.validator().build().unwrap();
        let issuers = Issuers::from(validator.clone());
        let token = issuer.token().scope("read:a read:b").sign();
        let first = issuers.validate(&token).await.unwrap();
        let scopes = first.scopes();
        for _ in 0..5 {
            let again = issuers.validate(&token).await.unwrap();
            assert!(again.scopes().contains("read:b"));
            assert!(std::ptr::eq(again.verified(), first.verified()));
        }
        assert_eq!(verifications(&validator), 1);
        assert_eq!(scopes.len(), 2);
        // Another token is verified on its own.
        issuers
            .validate(&issuer.token().scope("other").sign())
            .await
            .unwrap();
        assert_eq!(verifications(&validator), 2);
    }

    #[tokio::test]
    async fn a_refused_token_is_never_cached() {
        let issuer = TestIssuer::start().await.unwrap();
        let validator = issuer.validator().build().unwrap();
        let issuers = Issuers::from(validator.clone());
        let good = issuer.token().sign();
        let forged = format!("{}AAAA", &good[..good.len() - 4]);
        for _ in 0..3 {
            assert!(issuers.validate(&forged).await.is_err());
        }
        assert_eq!(verifications(&validator), 3);
    }

    #[tokio::test]
    async fn a_cached_token_expires_on_the_clock_and_is_dropped() {
        let clock = ManualClock::starting_now();
        let issuer = TestIssuer::start_with_clock(clock.clone()).await.unwrap();
        let validator = issuer.validator().clock(clock.clone()).build().unwrap();
        let issuers = Issuers::from(validator.clone());
        let token = issuer.token().expires_in(120).sign();
        issuers.validate(&token).await.unwrap();
        clock.advance(Duration::from_secs(120 + 60));
        let refused = issuers.validate(&token).await.unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::Expired);
        assert_eq!(
            verifications(&validator),
            1,
            "refused on the hit, not verified again"
        );
        let refused = issuers.validate(&token).await.unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::Expired);
        assert_eq!(
            verifications(&validator),
            2,
            "the expired entry was dropped"
        );
    }

    #[tokio::test]
    async fn the_cache_stays_within_its_bytes_under_a_flood_and_can_be_turned_off() {
        let issuer = TestIssuer::start().await.unwrap();
        let validator = issuer.validator().build().unwrap();
        let max_bytes = 64 * 1024;
        let issuers = Issuers::from(validator.clone()).with_token_cache(max_bytes);
        let hot = issuer.token().subject("hot").sign();
        issuers.validate(&hot).await.unwrap();
        for n in 0..300 {
            issuers.validate(&hot).await.unwrap();
            let cold = issuer.token().subject(&format!("cold-{n}")).sign();
            issuers.validate(&cold).await.unwrap();
        }
        let cache = issuers.token_cache().unwrap();
        assert!(cache.weight() <= max_bytes as u64, "{}", cache.weight());
        assert!(cache.len() < 300);
        // The token used on every request survived the flood of tokens seen once.
        let before = verifications(&validator);
        issuers.validate(&hot).await.unwrap();
        assert_eq!(verifications(&validator), before);

        let off = Issuers::from(validator.clone()).with_token_cache(0);
        assert!(off.token_cache().is_none());
        let before = verifications(&validator);
        off.validate(&hot).await.unwrap();
        off.validate(&hot).await.unwrap();
        assert_eq!(verifications(&validator), before + 2);
    }

    /// An issuer on a manual clock, a validator behind the token cache, and a token it holds.
    async fn cached_token() -> (ManualClock, TestIssuer, Validator, Issuers, String) {
        let clock = ManualClock::starting_now();
        let issuer = TestIssuer::start_with_clock(clock.clone()).await.unwrap();
        let validator = issuer.validator().clock(clock.clone()).build().unwrap();
        let issuers = Issuers::from(validator.clone());
        let token = issuer.token().expires_in(3 * 3600).sign();
        issuers.validate(&token).await.unwrap();
        assert_eq!(issuer.jwks_fetches(), 1);
        (clock, issuer, validator, issuers, token)
    }

    /// Past the key set's lifetime: the next hit starts a background refresh (and is served
    /// from the set it has); waits until the refreshed set is in place.
    async fn refresh_keys(
        clock: &ManualClock,
        issuer: &TestIssuer,
        issuers: &Issuers,
        token: &str,
    ) {
        clock.advance(Duration::from_secs(11 * 60));
        issuers.validate(token).await.unwrap();
        for _ in 0..200 {
            if issuer.jwks_fetches() == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(issuer.jwks_fetches(), 2);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    /// Hits skip the key lookup while the key set is the one their key was found in; a refresh
    /// that withdraws the key must still stop a token hit many times before it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_key_withdrawn_at_a_refresh_stops_a_token_hit_before() {
        let (clock, issuer, validator, issuers, token) = cached_token().await;
        for _ in 0..3 {
            issuers.validate(&token).await.unwrap();
        }
        assert_eq!(verifications(&validator), 1, "hits after the first");
        issuer.rotate_keys().unwrap();
        refresh_keys(&clock, &issuer, &issuers, &token).await;
        let refused = issuers.validate(&token).await.unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::UnknownKey);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_key_set_refresh_that_changes_nothing_keeps_cached_tokens() {
        let (clock, issuer, validator, issuers, token) = cached_token().await;
        refresh_keys(&clock, &issuer, &issuers, &token).await;
        issuers.validate(&token).await.unwrap();
        assert_eq!(
            verifications(&validator),
            1,
            "still a cache hit after the refresh"
        );
    }
}
