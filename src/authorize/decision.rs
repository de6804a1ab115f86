//! The one decision every way of declaring a requirement shares: the route layers, the
//! extractors, and checks inside a handler.

use std::sync::Arc;

use super::evaluate::Denial;
use super::params::PathValues;
use super::policy::AccessPolicy;
use super::requirement::Requirement;
use super::resolver::CachedResolver;
use super::step_up::Now;
use crate::error::{AuthError, ErrorKind, StepUp};
use crate::principal::Authenticated;

/// What the synchronous part of a requirement check decided.
pub(crate) enum Decision {
    Allowed,
    /// 403, 401 for a step-up, or 500 for a requirement the route cannot bind.
    Refused(AuthError),
    /// The token's own grants fall short; the grant resolver may supply the rest.
    Resolve(Box<PendingGrants>),
}

/// A requirement check waiting for the grant resolver.
pub(crate) struct PendingGrants {
    requirement: Requirement,
    auth: Authenticated,
    params: PathValues,
    /// The instant the requirement was first decided at: the answer after resolving rests on
    /// the same reading of the clock.
    now: Now,
    resolver: Arc<CachedResolver>,
    /// The refusal when the resolver adds nothing that helps.
    refusal: AuthError,
}

impl PendingGrants {
    pub(crate) async fn finish(self) -> Result<(), AuthError> {
        let asked = self.params.bindable_for(&self.requirement.parameters());
        let Ok(extra) = self.resolver.grants(&self.auth, &asked).await else {
            return Err(AuthError::new(ErrorKind::GrantsUnavailable));
        };
        let granted = self.auth.scopes().with_extra(&extra);
        let check = |scope: &str| granted.contains(scope);
        match self
            .requirement
            .check(&self.auth, &check, &self.params, self.now)
        {
            Ok(()) => Ok(()),
            // The scopes are there now; the authentication is what falls short.
            Err(Denial::StepUp { step_up, .. }) => Err(step_up_refusal(&step_up)),
            Err(_) => Err(self.refusal),
        }
    }
}

/// Decides `requirement` for a verified token on the matched route.
pub(crate) fn decide(
    requirement: &Requirement,
    auth: &Authenticated,
    params: &PathValues,
    policy: &AccessPolicy,
) -> Decision {
    // Only step-up requirements read the clock; the others are decided without it.
    let now = if requirement.reads_clock() {
        policy.now()
    } else {
        Now::NOT_READ
    };
    let denial = match requirement.check(auth, &|scope| auth.grants(scope), params, now) {
        Ok(()) => return Decision::Allowed,
        Err(denial) => denial,
    };
    let pending = |resolver: &Arc<CachedResolver>, refusal| {
        Decision::Resolve(Box::new(PendingGrants {
            requirement: requirement.clone(),
            auth: auth.clone(),
            params: params.clone(),
            now,
            resolver: resolver.clone(),
            refusal,
        }))
    };
    match denial {
        Denial::Insufficient(scopes) => {
            let error = AuthError::new(ErrorKind::InsufficientScope);
            let refusal = match &scopes {
                Some(scopes) => error.with_scope(scopes),
                None => error,
            };
            // Only a requirement that more scopes would satisfy is worth asking about.
            if let (Some(_), Some(resolver)) = (&scopes, &policy.resolver) {
                return pending(resolver, refusal);
            }
            Decision::Refused(refusal)
        }
        Denial::StepUp {
            step_up,
            resolvable,
        } => {
            let refusal = step_up_refusal(&step_up);
            // Another alternative that more scopes alone would satisfy: ask before sending
            // the user to authenticate again.
            if let (Some(_), Some(resolver)) = (&resolvable, &policy.resolver) {
                return pending(resolver, refusal);
            }
            Decision::Refused(refusal)
        }
        Denial::Unbound(parameter, why) => {
            tracing::error!(
                target: "scopegate",
                route = params.route().unwrap_or("<no matched route: is the requirement on Router::layer?>"),
                %parameter,
                %requirement,
                problem = why.description(),
                "the requirement cannot bind a path parameter; refusing with 500"
            );
            Decision::Refused(AuthError::new(ErrorKind::RequirementMisconfigured))
        }
    }
}

/// 401 `insufficient_user_authentication`, naming the authentication that would do.
fn step_up_refusal(step_up: &Arc<StepUp>) -> AuthError {
    AuthError::new(ErrorKind::InsufficientUserAuthentication).with_step_up(step_up)
}

/// The whole decision, waiting for the resolver when one is needed.
#[cfg(feature = "axum")]
pub(crate) async fn decide_fully(
    requirement: &Requirement,
    auth: &Authenticated,
    params: &PathValues,
    policy: &AccessPolicy,
) -> Result<(), AuthError> {
    match decide(requirement, auth, params, policy) {
        Decision::Allowed => Ok(()),
        Decision::Refused(error) => Err(error),
        Decision::Resolve(pending) => pending.finish().await,
    }
}
