//! [`Dpop`]: how an API accepts DPoP-bound tokens, as plain data.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::Algorithm;

use super::replay::ReplayStore;
use crate::error::ConfigError;
use crate::jose::{AlgorithmSet, algorithm_name};

/// DPoP (RFC 9449) for an [`AuthLayer`](crate::AuthLayer): `Authorization: DPoP <token>` with a
/// `DPoP` proof header, checked per §4.3, for tokens bound to the proof's key (`cnf.jkt`).
///
/// ```
/// use std::time::Duration;
/// use scopegate::dpop::Dpop;
/// use scopegate::{Algorithm, AuthLayer, Validator};
///
/// # fn run(validator: Validator) -> Result<(), scopegate::ConfigError> {
/// let layer = AuthLayer::new(validator)
///     .public_origin("https://rooms.example")?
///     .dpop(
///         Dpop::accepted()
///             .algorithms([Algorithm::ES256, Algorithm::EdDSA])?
///             .proof_window(Duration::from_secs(30))?,
///     )?;
/// # Ok(()) }
/// ```
///
/// Without it (the default) only bearer tokens are accepted. Whatever the mode, a token bound
/// with `cnf` and sent with the `Bearer` scheme is refused (see
/// [`AuthLayer::bound_tokens_as_bearer`](crate::AuthLayer::bound_tokens_as_bearer)).
#[derive(Clone)]
pub struct Dpop {
    pub(crate) required: bool,
    pub(crate) algorithms: AlgorithmSet,
    pub(crate) proof_window: Duration,
    /// `None`: an in-memory store the layer makes with its clock.
    pub(crate) replay_store: Option<Arc<dyn ReplayStore>>,
    pub(crate) replay_timeout: Duration,
    pub(crate) trust_forwarded_headers: bool,
}

/// The proof algorithms accepted unless [`Dpop::algorithms`] says otherwise.
const DEFAULT_ALGORITHMS: [Algorithm; 5] = [
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
    Algorithm::RS256,
    Algorithm::PS256,
];

impl Dpop {
    /// Both schemes: bearer tokens as before, and DPoP-bound tokens with a proof. 401
    /// responses challenge with `Bearer` and `DPoP algs="..."`.
    pub fn accepted() -> Self {
        Dpop {
            required: false,
            algorithms: AlgorithmSet::of(DEFAULT_ALGORITHMS),
            proof_window: Duration::from_secs(60),
            replay_store: None,
            replay_timeout: Duration::from_secs(1),
            trust_forwarded_headers: false,
        }
    }

    /// DPoP only: a request with the `Bearer` scheme is refused with a bare `DPoP` challenge,
    /// and the resource metadata says `dpop_bound_access_tokens_required`.
    pub fn required() -> Self {
        Dpop {
            required: true,
            ..Dpop::accepted()
        }
    }

    /// The proof algorithms accepted, asymmetric only. Default: ES256, ES384, EdDSA (also
    /// named `Ed25519`), RS256, PS256.
    pub fn algorithms(
        mut self,
        algorithms: impl IntoIterator<Item = Algorithm>,
    ) -> Result<Self, ConfigError> {
        let set = AlgorithmSet::of(algorithms);
        if set.is_empty() || set.intersect(AlgorithmSet::ASYMMETRIC) != set {
            return Err(ConfigError::new(
                "DPoP proof algorithms must be asymmetric, and at least one",
            ));
        }
        self.algorithms = set;
        Ok(self)
    }

    /// How far a proof's `iat` may lie from now, either way. Default 60 s; 1 s to 300 s.
    pub fn proof_window(mut self, window: Duration) -> Result<Self, ConfigError> {
        if !(Duration::from_secs(1)..=Duration::from_secs(300)).contains(&window) {
            return Err(ConfigError::new(
                "the DPoP proof window must be between 1 s and 300 s",
            ));
        }
        self.proof_window = window;
        Ok(self)
    }

    /// Where proof ids are remembered. Default: in memory, per process; with several replicas
    /// use a shared store such as [`RedisReplayStore`](crate::dpop) (feature `redis`).
    pub fn replay_store(mut self, store: impl ReplayStore) -> Self {
        self.replay_store = Some(Arc::new(store));
        self
    }

    /// How long the replay store may take to answer before the request is refused with 503.
    /// Default 1 s.
    pub fn replay_timeout(mut self, timeout: Duration) -> Self {
        self.replay_timeout = timeout;
        self
    }

    /// Compares `htu` with the origin named by `X-Forwarded-Proto` and `X-Forwarded-Host`
    /// (each present once) instead of the configured public origin. Only behind a proxy that
    /// sets both and strips them from client requests: otherwise a client chooses the origin.
    pub fn trust_forwarded_headers(mut self) -> Self {
        self.trust_forwarded_headers = true;
        self
    }

    /// Whether the `Bearer` scheme is refused.
    pub fn is_required(&self) -> bool {
        self.required
    }

    /// The accepted proof algorithms' names, as in the challenge's `algs` and the resource
    /// metadata's `dpop_signing_alg_values_supported`.
    pub fn algorithm_names(&self) -> Vec<&'static str> {
        NAMING_ORDER
            .into_iter()
            .filter(|algorithm| self.algorithms.contains(*algorithm))
            .flat_map(|algorithm| match algorithm {
                // RFC 9864's fully-specified name for the same algorithm.
                Algorithm::EdDSA => vec!["EdDSA", "Ed25519"],
                other => vec![algorithm_name(other)],
            })
            .collect()
    }
}

/// The order names are listed in: the defaults first, then the other asymmetric algorithms.
const NAMING_ORDER: [Algorithm; 9] = [
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS384,
    Algorithm::PS512,
];

impl std::fmt::Debug for Dpop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dpop")
            .field("required", &self.required)
            .field("algorithms", &self.algorithm_names())
            .field("proof_window", &self.proof_window)
            .field(
                "replay_store",
                &self.replay_store.as_ref().map(|_| "custom"),
            )
            .field("replay_timeout", &self.replay_timeout)
            .field("trust_forwarded_headers", &self.trust_forwarded_headers)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_refusals() {
        let dpop = Dpop::accepted();
        assert!(!dpop.is_required());
        assert_eq!(
            dpop.algorithm_names(),
            ["ES256", "ES384", "EdDSA", "Ed25519", "RS256", "PS256"]
        );
        assert!(Dpop::required().is_required());
        assert!(Dpop::accepted().algorithms([Algorithm::HS256]).is_err());
        assert!(Dpop::accepted().algorithms([]).is_err());
        assert!(
            Dpop::accepted()
                .algorithms([Algorithm::ES256, Algorithm::HS256])
                .is_err()
        );
        assert_eq!(
            Dpop::accepted()
                .algorithms([Algorithm::PS384])
                .unwrap()
                .algorithm_names(),
            ["PS384"]
        );
        assert!(Dpop::accepted().proof_window(Duration::ZERO).is_err());
        assert!(
            Dpop::accepted()
                .proof_window(Duration::from_secs(301))
                .is_err()
        );
        assert!(
            Dpop::accepted()
                .proof_window(Duration::from_secs(300))
                .is_ok()
        );
    }
}
