//! Whether a verified token may be used with the scheme it came with: a bearer token with
//! `Bearer`, a token bound to a key (`cnf.jkt`) with `DPoP` and a valid proof of that key
//! (RFC 9449 §7, SECURITY-BAR §4).

use std::sync::Arc;

use crate::dpop::{DpopPolicy, Origin, ProofRequest, check_proof};
use crate::error::ErrorKind;
use crate::principal::{Authenticated, Confirmation};
use crate::validate::{Issuers, Outcome};

/// What the API accepts of a valid token sent with the `Bearer` scheme.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BearerRules {
    /// DPoP is required: no bearer token gets in.
    pub(crate) refused: bool,
    /// Opt-out: tokens bound with `cnf` get in unchecked; never a `cnf.jkt` token while the
    /// API accepts DPoP, whose proof it can check.
    pub(crate) bound_as_bearer: bool,
    /// DPoP is on: a `cnf.jkt` token must bring its proof.
    pub(crate) dpop: bool,
}

/// A valid token with the `Bearer` scheme: refused when bound to a key unless the API opted
/// out (`invalid_token` in every mode, so a client learns the token needs its proof), and
/// refused with a bare challenge when DPoP is required.
pub(crate) fn bearer_allowed(auth: &Authenticated, rules: BearerRules) -> Result<(), ErrorKind> {
    match auth.confirmation() {
        Confirmation::Jkt(_) if rules.dpop || !rules.bound_as_bearer => {
            Err(ErrorKind::BoundTokenAsBearer)
        }
        Confirmation::Unsupported if !rules.bound_as_bearer => {
            Err(ErrorKind::UnsupportedConfirmation)
        }
        _ if rules.refused => Err(ErrorKind::SchemeNotAccepted),
        _ => Ok(()),
    }
}

/// What a `DPoP` request brought, owned: it is checked after the key fetch, if one is needed.
#[derive(Debug)]
pub(crate) struct DpopRequest {
    pub(crate) token: String,
    pub(crate) proof: String,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) origin: Origin,
}

impl DpopRequest {
    /// The token validated, then the proof checked against it and the request, then its id
    /// recorded: a replayed or unrecordable proof never gets through.
    pub(crate) async fn validate(
        self,
        issuers: Issuers,
        dpop: Arc<DpopPolicy>,
    ) -> Result<Authenticated, ErrorKind> {
        let auth = match issuers.validate_cached(self.token.as_bytes()) {
            Outcome::Done(result) => result?,
            Outcome::AwaitKeys(pending) => pending.finish().await?,
        };
        let bound_to = match auth.confirmation() {
            Confirmation::Jkt(jkt) => jkt,
            Confirmation::None => return Err(ErrorKind::UnboundToken),
            Confirmation::Unsupported => return Err(ErrorKind::UnsupportedConfirmation),
        };
        let now = i64::try_from(issuers.clock().now().as_secs()).unwrap_or(i64::MAX);
        let request = ProofRequest {
            method: &self.method,
            path: &self.path,
            origin: &self.origin,
            access_token: &self.token,
            bound_to,
            now,
        };
        let checked = check_proof(
            &self.proof,
            &dpop.config,
            &request,
            issuers.max_token_bytes(),
        )?;
        dpop.first_use(&checked, now).await?;
        Ok(auth)
    }
}
