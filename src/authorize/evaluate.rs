//! Deciding a [`Requirement`] for one request: each node's verdict, and the denial the whole
//! requirement leads to.

use std::sync::Arc;

use serde_json::Value;

use super::params::PathValues;
use super::requirement::{Node, Requirement};
use super::step_up::{self, Authentication, Now};
use crate::error::StepUp;
use crate::grant::{BindError, ParamValue, Unbound};
use crate::principal::Authenticated;

/// Why a requirement was not met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Denial {
    /// 403, with the scopes that would satisfy the requirement when more scopes can (see
    /// [`Requirement`]'s `Display` and the README for how alternatives are named).
    Insufficient(Option<Vec<String>>),
    /// 401 `insufficient_user_authentication`: authenticating again as `step_up` asks would
    /// satisfy the requirement. `resolvable`: scopes that, granted, would satisfy it without
    /// authenticating again (another `any_of` alternative), for the grant resolver to be asked
    /// about first.
    StepUp {
        step_up: Arc<StepUp>,
        resolvable: Option<Vec<String>>,
    },
    /// 500: a parameter the requirement names cannot be bound on this route.
    Unbound(Box<str>, Unbound),
}

impl Requirement {
    /// Decides the requirement for a verified token and the matched route's path values at
    /// `now`; `granted` answers whether one concrete scope is granted.
    pub(crate) fn check(
        &self,
        auth: &Authenticated,
        granted: &dyn Fn(&str) -> bool,
        params: &PathValues,
        now: Now,
    ) -> Result<(), Denial> {
        let mut context = Context {
            auth,
            granted,
            params,
            now,
            unbound: None,
        };
        // Most requests meet their requirement: decide that first without building a denial,
        // which would allocate the scopes it names.
        let holds = context.holds(self);
        if let Some((parameter, why)) = context.unbound {
            return Err(Denial::Unbound(parameter, why));
        }
        if holds {
            return Ok(());
        }
        let outcome = context.evaluate(self);
        match outcome.verdict {
            Verdict::Holds => Ok(()),
            Verdict::StepUp => Err(Denial::StepUp {
                step_up: step_up::challenge(&outcome.demands),
                resolvable: outcome
                    .without_step_up
                    .filter(|scopes| scopes.iter().any(|scope| !granted(scope))),
            }),
            Verdict::Scopes | Verdict::Refused => Err(Denial::Insufficient(
                outcome.satisfied_by.filter(|scopes| !scopes.is_empty()),
            )),
        }
    }
}

/// How far a node is from holding, nearest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Verdict {
    Holds,
    /// Only the authentication event falls short: authenticating again would make it hold.
    StepUp,
    /// Scopes fall short (and perhaps the authentication too).
    Scopes,
    /// Neither more scopes nor another authentication would make it hold.
    Refused,
}

/// One node's verdict.
struct Outcome<'r> {
    verdict: Verdict,
    /// Scopes that, granted, would make the node hold once the authentication meets `demands`;
    /// `None` when scopes cannot (a claim check failed, or a path value was refused).
    satisfied_by: Option<Vec<String>>,
    /// Scopes that, granted, would make the node hold with the token's own authentication.
    without_step_up: Option<Vec<String>>,
    /// The step-up requirements on the path that decides the node, met or not.
    demands: Vec<&'r Authentication>,
}

impl Outcome<'_> {
    /// For checks that neither scopes nor another authentication can change.
    fn fixed(holds: bool) -> Self {
        Outcome {
            verdict: if holds {
                Verdict::Holds
            } else {
                Verdict::Refused
            },
            satisfied_by: holds.then(Vec::new),
            without_step_up: holds.then(Vec::new),
            demands: Vec::new(),
        }
    }
}

/// What one evaluation reads, and the first parameter it could not bind.
struct Context<'a> {
    auth: &'a Authenticated,
    granted: &'a dyn Fn(&str) -> bool,
    params: &'a PathValues,
    now: Now,
    unbound: Option<(Box<str>, Unbound)>,
}

impl<'a> Context<'a> {
    /// Evaluates every branch (no short-circuit) so that a parameter the route cannot bind is
    /// found on every request, whatever the other branches say.
    fn evaluate<'r>(&mut self, requirement: &'r Requirement) -> Outcome<'r> {
        let (auth, params) = (self.auth, self.params);
        match requirement.node() {
            Node::Scope(template) => match template.bind(|name| params.get(name)) {
                Ok(scope) => Outcome {
                    verdict: if (self.granted)(&scope) {
                        Verdict::Holds
                    } else {
                        Verdict::Scopes
                    },
                    satisfied_by: Some(vec![scope.clone()]),
                    without_step_up: Some(vec![scope]),
                    demands: Vec::new(),
                },
                // The value is request content: no scope bound from it is ever named.
                Err(BindError::RefusedValue) => Outcome::fixed(false),
                Err(BindError::Unbound(name, why)) => {
                    self.unbound.get_or_insert((name, why));
                    Outcome::fixed(false)
                }
            },
            Node::AllOf(children) => {
                let mut all = Outcome::fixed(true);
                for child in children {
                    let outcome = self.evaluate(child);
                    all.verdict = all.verdict.max(outcome.verdict);
                    all.satisfied_by = joined(all.satisfied_by, outcome.satisfied_by);
                    all.without_step_up = joined(all.without_step_up, outcome.without_step_up);
                    all.demands.extend(outcome.demands);
                }
                all
            }
            Node::AnyOf(children) => {
                // The scopes named are the first alternative's, in declaration order, that
                // scopes would satisfy: naming every alternative would read as "all of these"
                // (RFC 6750 §3). The step-up named is the first nearest alternative's.
                let mut any = Outcome::fixed(false);
                for child in children {
                    let outcome = self.evaluate(child);
                    any.satisfied_by = any.satisfied_by.or(outcome.satisfied_by);
                    any.without_step_up = any.without_step_up.or(outcome.without_step_up);
                    if outcome.verdict < any.verdict {
                        any.verdict = outcome.verdict;
                        any.demands = outcome.demands;
                    }
                }
                any
            }
            Node::StepUp(authentication) => {
                let holds = authentication.holds(auth, self.now);
                Outcome {
                    verdict: if holds {
                        Verdict::Holds
                    } else {
                        Verdict::StepUp
                    },
                    satisfied_by: Some(Vec::new()),
                    without_step_up: holds.then(Vec::new),
                    demands: vec![authentication],
                }
            }
            leaf => Outcome::fixed(self.leaf_holds(leaf)),
        }
    }

    /// Whether `requirement` holds, as `evaluate`'s verdict would say, without allocating.
    /// Every branch is visited too, so a parameter the route cannot bind is always found.
    fn holds(&mut self, requirement: &Requirement) -> bool {
        match requirement.node() {
            Node::Scope(template) => {
                let (params, granted) = (self.params, self.granted);
                match template.with_bound(|name| params.get(name), granted) {
                    Ok(holds) => holds,
                    Err(BindError::RefusedValue) => false,
                    Err(BindError::Unbound(name, why)) => {
                        self.unbound.get_or_insert((name, why));
                        false
                    }
                }
            }
            // `&` and `|`, not `&&` and `||`: no branch is skipped.
            Node::AllOf(children) => children
                .iter()
                .fold(true, |all, child| self.holds(child) & all),
            Node::AnyOf(children) => children
                .iter()
                .fold(false, |any, child| self.holds(child) | any),
            Node::StepUp(authentication) => authentication.holds(self.auth, self.now),
            leaf => self.leaf_holds(leaf),
        }
    }

    /// The verdict of a check that neither scopes nor another authentication can change.
    fn leaf_holds(&mut self, node: &Node) -> bool {
        let auth = self.auth;
        match node {
            Node::ClaimEqualsParam { claim, parameter } => match self.bound_value(parameter) {
                Some(value) => auth
                    .claim::<String>(claim)
                    .is_some_and(|held| held == value),
                None => false,
            },
            Node::ClaimIs { claim, value } => auth
                .claim::<String>(claim)
                .is_some_and(|held| *held == **value),
            Node::ClaimContains { claim, value } => auth
                .claim::<Vec<Value>>(claim)
                .is_some_and(|items| items.iter().any(|item| item.as_str() == Some(value))),
            Node::IssuedBy(issuer) => auth.issuer() == &**issuer,
            Node::TenantIssuer {
                parameter,
                issuer_of,
            } => match self.bound_value(parameter) {
                Some(tenant) => issuer_of(tenant).is_some_and(|issuer| issuer == auth.issuer()),
                None => false,
            },
            Node::Predicate { test, .. } => test(auth),
            // Decided by the callers, never here; refused should that change.
            Node::Scope(_) | Node::AllOf(_) | Node::AnyOf(_) | Node::StepUp(_) => false,
        }
    }

    /// A path value for a claim check; records why it cannot be bound.
    fn bound_value(&mut self, parameter: &str) -> Option<&'a str> {
        let params = self.params;
        match params.get(parameter) {
            ParamValue::Value(value) => Some(value),
            ParamValue::Unusable => None,
            ParamValue::Missing => {
                self.unbound
                    .get_or_insert((parameter.into(), Unbound::Missing));
                None
            }
            ParamValue::Ambiguous => {
                self.unbound
                    .get_or_insert((parameter.into(), Unbound::Ambiguous));
                None
            }
        }
    }
}

/// Both lists of scopes, or `None` when either is.
fn joined(all: Option<Vec<String>>, more: Option<Vec<String>>) -> Option<Vec<String>> {
    let (mut all, more) = (all?, more?);
    all.extend(more);
    Some(all)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::principal::VerifiedToken;

    const NOW: Now = Now {
        seconds: 1_000_000,
        leeway: 60,
    };

    fn mfa() -> Requirement {
        Requirement::step_up().acr_values(["mfa"]).build().unwrap()
    }

    fn recent(seconds: u64) -> Requirement {
        Requirement::step_up()
            .max_age(Duration::from_secs(seconds))
            .build()
            .unwrap()
    }

    fn scope(name: &str) -> Requirement {
        Requirement::scope(name).unwrap()
    }

    /// Decides `requirement` for a token with `claims`, granted exactly `granted`.
    fn check(requirement: &Requirement, claims: &str, granted: &[&str]) -> Result<(), Denial> {
        let auth = Authenticated::new(VerifiedToken::for_tests(claims));
        let granted = |scope: &str| granted.contains(&scope);
        requirement.check(&auth, &granted, &PathValues::default(), NOW)
    }

    fn step_up(acr_values: Option<&str>, max_age: Option<u64>, resolvable: &[&str]) -> Denial {
        Denial::StepUp {
            step_up: Arc::new(StepUp {
                acr_values: acr_values.map(Into::into),
                max_age,
            }),
            resolvable: (!resolvable.is_empty())
                .then(|| resolvable.iter().map(|scope| scope.to_string()).collect()),
        }
    }

    fn insufficient(scopes: &[&str]) -> Denial {
        Denial::Insufficient(
            (!scopes.is_empty()).then(|| scopes.iter().map(|scope| scope.to_string()).collect()),
        )
    }

    #[test]
    fn a_parameter_the_route_lacks_is_found_even_where_another_branch_holds() {
        let either = Requirement::any_of([scope("read:all"), scope("read:{room}")]);
        let all = Requirement::all_of([scope("read:{room}"), scope("read:all")]);
        for requirement in [either, all] {
            assert_eq!(
                check(&requirement, "{}", &["read:all"]),
                Err(Denial::Unbound("room".into(), Unbound::Missing))
            );
        }
    }

    #[test]
    fn the_quick_verdict_agrees_with_the_full_one() {
        let mixed = Requirement::any_of([
            Requirement::all_of([scope("a"), mfa()]),
            scope("b"),
            Requirement::all_of([scope("c"), recent(60)]),
        ]);
        let claims = [r#"{}"#, r#"{"acr":"mfa"}"#, r#"{"auth_time":999990}"#];
        let grants: [&[&str]; 5] = [&[], &["a"], &["b"], &["c"], &["a", "c"]];
        for claims in claims {
            for granted in grants {
                let auth = Authenticated::new(VerifiedToken::for_tests(claims));
                let is_granted = |scope: &str| granted.contains(&scope);
                let mut context = Context {
                    auth: &auth,
                    granted: &is_granted,
                    params: &PathValues::default(),
                    now: NOW,
                    unbound: None,
                };
                let quick = context.holds(&mixed);
                let full = context.evaluate(&mixed).verdict == Verdict::Holds;
                assert_eq!(quick, full, "claims {claims}, granted {granted:?}");
            }
        }
    }

    #[test]
    fn scopes_short_is_403_authentication_short_is_401() {
        let admin_mfa = Requirement::all_of([scope("admin"), mfa()]);
        let with_mfa = r#"{"acr":"mfa"}"#;
        assert_eq!(check(&admin_mfa, with_mfa, &["admin"]), Ok(()));
        assert_eq!(
            check(&admin_mfa, "{}", &["admin"]),
            Err(step_up(Some("mfa"), None, &[]))
        );
        assert_eq!(check(&admin_mfa, "{}", &[]), Err(insufficient(&["admin"])));
        assert_eq!(
            check(&admin_mfa, with_mfa, &[]),
            Err(insufficient(&["admin"]))
        );
        // A claim check no scope or authentication can change: 403, nothing named.
        let staff_mfa = Requirement::all_of([Requirement::claim_is("tier", "staff"), mfa()]);
        assert_eq!(check(&staff_mfa, "{}", &[]), Err(insufficient(&[])));
    }

    #[test]
    fn any_of_prefers_authenticating_again_and_asks_the_resolver_first() {
        let requirement = Requirement::any_of([
            scope("moderate"),
            Requirement::all_of([scope("admin"), mfa()]),
        ]);
        assert_eq!(
            check(&requirement, "{}", &["admin"]),
            Err(step_up(Some("mfa"), None, &["moderate"]))
        );
        assert_eq!(check(&requirement, "{}", &["moderate"]), Ok(()));
        assert_eq!(
            check(&requirement, "{}", &[]),
            Err(insufficient(&["moderate"]))
        );
        // An alternative that fails for good does not hide one a step-up would satisfy.
        let claim_or_mfa = Requirement::any_of([Requirement::claim_is("tier", "staff"), mfa()]);
        assert_eq!(
            check(&claim_or_mfa, "{}", &[]),
            Err(step_up(Some("mfa"), None, &[]))
        );
        // The first alternative nearest to holding names the step-up.
        let either = Requirement::any_of([recent(60), mfa()]);
        assert_eq!(check(&either, "{}", &[]), Err(step_up(None, Some(60), &[])));
    }

    #[test]
    fn several_step_ups_are_named_together() {
        let both = Requirement::all_of([mfa(), recent(300), recent(600)]);
        let fresh = format!(r#"{{"auth_time":{}}}"#, NOW.seconds);
        assert_eq!(
            check(&both, &fresh, &[]),
            Err(step_up(Some("mfa"), Some(300), &[]))
        );
        assert_eq!(
            check(&both, r#"{"acr":"mfa"}"#, &[]),
            Err(step_up(Some("mfa"), Some(300), &[]))
        );
    }

    #[test]
    fn only_step_ups_read_the_clock_and_one_decided_without_it_is_refused() {
        assert!(!scope("read:{room}").reads_clock());
        assert!(
            !Requirement::all_of([scope("a"), Requirement::claim_is("org", "o")]).reads_clock()
        );
        let nested =
            Requirement::any_of([scope("b"), Requirement::all_of([scope("a"), recent(60)])]);
        assert!(nested.reads_clock());
        assert!(mfa().reads_clock());
        // Were a step-up ever decided at `NOT_READ`, its `max_age` would refuse, not pass.
        let auth = Authenticated::new(VerifiedToken::for_tests(r#"{"auth_time":1000000}"#));
        let granted = |_: &str| true;
        let decided = |now| recent(300).check(&auth, &granted, &PathValues::default(), now);
        assert_eq!(decided(NOW), Ok(()));
        assert!(decided(Now::NOT_READ).is_err());
    }

    #[test]
    fn auth_time_rules() {
        let requirement = recent(300);
        let at = |auth_time: &str| {
            check(
                &requirement,
                &format!(r#"{{"auth_time":{auth_time}}}"#),
                &[],
            )
        };
        let now = NOW.seconds;
        assert_eq!(at(&now.to_string()), Ok(()));
        assert_eq!(at(&(now - 300).to_string()), Ok(()));
        assert!(at(&(now - 301).to_string()).is_err());
        assert!(at(&format!("{}.5", now - 301)).is_err());
        assert_eq!(at(&format!("{}.5", now - 300)), Ok(()));
        assert_eq!(at(&(now + 60).to_string()), Ok(()));
        assert!(at(&(now + 61).to_string()).is_err());
        assert!(at(&format!("\"{now}\"")).is_err());
        assert!(at("null").is_err());
        let repeated = format!(r#"{{"auth_time":{now},"auth_time":{now}}}"#);
        assert!(check(&requirement, &repeated, &[]).is_err());
    }

    #[test]
    fn acr_rules() {
        let requirement = mfa();
        for claims in [
            r#"{}"#,
            r#"{"acr":"MFA"}"#,
            r#"{"acr":["mfa"]}"#,
            r#"{"acr":1}"#,
            r#"{"acr":"mfa","acr":"mfa"}"#,
        ] {
            assert!(check(&requirement, claims, &[]).is_err(), "{claims}");
        }
        assert_eq!(check(&requirement, r#"{"acr":"mfa"}"#, &[]), Ok(()));
        assert_eq!(check(&requirement, r#"{"acr":"m\u0066a"}"#, &[]), Ok(()));
    }
}
