//! Why the key cache has no key for a token. The validator maps these to refusal kinds, in one
//! place.

/// The key cache's answer when it has no key to give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyError {
    /// The token has no `kid` and the key set holds several keys.
    Ambiguous,
    /// No key with the token's `kid`, even after a refetch (or within the refetch cooldown).
    Unknown,
    /// No usable key set: the issuer has not answered and nothing fresh enough is cached.
    Unavailable,
}
