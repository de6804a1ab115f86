//! JOSE algorithm names (RFC 7518 §3.1) and sets of them.

use jsonwebtoken::Algorithm;

/// Every algorithm scopegate can verify, in a fixed order for the bit set.
pub(crate) const ALL_ALGORITHMS: [Algorithm; 12] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
    Algorithm::HS256,
    Algorithm::HS384,
    Algorithm::HS512,
];

/// A set of algorithms as a bit mask: the per-request check is one AND.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct AlgorithmSet(u16);

impl AlgorithmSet {
    pub(crate) const ASYMMETRIC: AlgorithmSet = AlgorithmSet(0b0001_1111_1111);
    pub(crate) const RSA: AlgorithmSet = AlgorithmSet(0b0000_0011_1111);
    pub(crate) const P256: AlgorithmSet = AlgorithmSet(0b0000_0100_0000);
    pub(crate) const P384: AlgorithmSet = AlgorithmSet(0b0000_1000_0000);
    pub(crate) const ED25519: AlgorithmSet = AlgorithmSet(0b0001_0000_0000);
    const HMAC: AlgorithmSet = AlgorithmSet(0b1110_0000_0000);

    /// The key families: a key of one family never verifies another's algorithms.
    const FAMILIES: [AlgorithmSet; 5] =
        [Self::RSA, Self::P256, Self::P384, Self::ED25519, Self::HMAC];

    /// Whether both sets need keys of one family (RSA, P-256, P-384, Ed25519, HMAC).
    pub(crate) fn same_family(self, other: AlgorithmSet) -> bool {
        Self::FAMILIES.iter().any(|family| {
            !self.intersect(*family).is_empty() && !other.intersect(*family).is_empty()
        })
    }

    fn bit(algorithm: Algorithm) -> u16 {
        let index = ALL_ALGORITHMS
            .iter()
            .position(|known| *known == algorithm)
            .unwrap_or(15);
        1 << index
    }

    pub(crate) fn of(algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        AlgorithmSet(
            algorithms
                .into_iter()
                .fold(0, |set, alg| set | Self::bit(alg)),
        )
    }

    pub(crate) fn contains(self, algorithm: Algorithm) -> bool {
        self.0 & Self::bit(algorithm) != 0
    }

    pub(crate) fn intersect(self, other: AlgorithmSet) -> AlgorithmSet {
        AlgorithmSet(self.0 & other.0)
    }

    pub(crate) fn union(self, other: AlgorithmSet) -> AlgorithmSet {
        AlgorithmSet(self.0 | other.0)
    }

    /// The first algorithm of the set, in `ALL_ALGORITHMS` order, alone.
    pub(crate) fn first(self) -> AlgorithmSet {
        AlgorithmSet(self.0 & self.0.wrapping_neg())
    }

    /// The algorithm, when the set holds exactly one.
    pub(crate) fn single(self) -> Option<Algorithm> {
        if self.0.count_ones() != 1 {
            return None;
        }
        ALL_ALGORITHMS
            .iter()
            .copied()
            .find(|algorithm| self.contains(*algorithm))
    }

    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// Parses a JOSE `alg` name. `none`, in any case, is not an algorithm scopegate knows.
///
/// `Ed25519` (RFC 9864, fully specified) names EdDSA with an Ed25519 key, the only EdDSA curve
/// scopegate verifies, so it is the same algorithm and key family as `EdDSA`. `Ed448` is not
/// supported.
pub(crate) fn parse_algorithm(name: &str) -> Option<Algorithm> {
    if name == "Ed25519" {
        return Some(Algorithm::EdDSA);
    }
    ALL_ALGORITHMS
        .iter()
        .copied()
        .find(|alg| algorithm_name(*alg) == name)
}

pub(crate) fn algorithm_name(algorithm: Algorithm) -> &'static str {
    match algorithm {
        Algorithm::HS256 => "HS256",
        Algorithm::HS384 => "HS384",
        Algorithm::HS512 => "HS512",
        Algorithm::ES256 => "ES256",
        Algorithm::ES384 => "ES384",
        Algorithm::RS256 => "RS256",
        Algorithm::RS384 => "RS384",
        Algorithm::RS512 => "RS512",
        Algorithm::PS256 => "PS256",
        Algorithm::PS384 => "PS384",
        Algorithm::PS512 => "PS512",
        Algorithm::EdDSA => "EdDSA",
        // jsonwebtoken's enum is non-exhaustive; a new variant is unknown to scopegate.
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithm_names_round_trip_and_none_is_unknown() {
        for alg in ALL_ALGORITHMS {
            assert_eq!(parse_algorithm(algorithm_name(alg)), Some(alg));
        }
        for name in [
            "none", "None", "NONE", "nOnE", "", "rs256", "ES512", "Ed448", "ed25519",
        ] {
            assert_eq!(parse_algorithm(name), None, "{name}");
        }
    }

    #[test]
    fn algorithm_set_membership() {
        let set = AlgorithmSet::of([Algorithm::RS256, Algorithm::EdDSA]);
        assert!(set.contains(Algorithm::RS256));
        assert!(set.contains(Algorithm::EdDSA));
        assert!(!set.contains(Algorithm::PS256));
        assert!(!AlgorithmSet::ASYMMETRIC.contains(Algorithm::HS256));
        assert!(AlgorithmSet::ASYMMETRIC.contains(Algorithm::PS512));
    }

    #[test]
    fn a_set_of_one_names_its_algorithm() {
        assert_eq!(
            AlgorithmSet::of([Algorithm::PS384]).single(),
            Some(Algorithm::PS384)
        );
        assert_eq!(AlgorithmSet::RSA.single(), None);
        assert_eq!(AlgorithmSet::default().single(), None);
        assert_eq!(AlgorithmSet::RSA.first().single(), Some(Algorithm::RS256));
    }

    #[test]
    fn ed25519_is_eddsa_with_an_ed25519_key() {
        assert_eq!(parse_algorithm("Ed25519"), Some(Algorithm::EdDSA));
        assert!(AlgorithmSet::ED25519.contains(Algorithm::EdDSA));
        assert!(AlgorithmSet::ED25519.same_family(AlgorithmSet::of([Algorithm::EdDSA])));
        assert!(!AlgorithmSet::RSA.same_family(AlgorithmSet::P256));
    }
}
