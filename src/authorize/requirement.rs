//! What a route requires of a verified token, and how that is evaluated.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

use super::params::PathValues;
use crate::grant::{BindError, ParamValue, ScopeTemplate, TemplateError, Unbound};
use crate::principal::Authenticated;

/// A route's requirement: scope templates bound to its path parameters, claim checks, and
/// their combinations. Cheap to clone.
///
/// ```
/// use scopegate::{Requirement, scope};
///
/// // Checked at compile time:
/// let delete = scope!("delete:comments-in-{room}");
///
/// // Built at run time:
/// let invoices = Requirement::all_of([
///     Requirement::scope("read:invoices")?,
///     Requirement::claim_equals("org_id", "org"),
/// ]);
/// let moderate = Requirement::any_of([
///     Requirement::scope("delete:comments-in-{room}")?,
///     Requirement::scope("moderate:all")?,
/// ]);
/// let staff = Requirement::claim_contains("groups", "staff");
/// # Ok::<(), scopegate::TemplateError>(())
/// ```
///
/// Claim checks read top-level claims by their literal name. A claim of the wrong type, absent,
/// or repeated in the token never holds: the request is refused with 403, never 401 and never
/// let through.
#[derive(Clone)]
pub struct Requirement(Arc<Node>);

/// Maps a tenant to the issuer the API assigns it.
type IssuerOf = dyn Fn(&str) -> Option<String> + Send + Sync;

enum Node {
    Scope(ScopeTemplate),
    AllOf(Vec<Requirement>),
    AnyOf(Vec<Requirement>),
    /// The claim is a string equal to a path value.
    ClaimEqualsParam {
        claim: Box<str>,
        parameter: Box<str>,
    },
    /// The claim is a string equal to a fixed value.
    ClaimIs {
        claim: Box<str>,
        value: Box<str>,
    },
    /// The claim is an array holding this string.
    ClaimContains {
        claim: Box<str>,
        value: Box<str>,
    },
    /// The token's issuer is this one.
    IssuedBy(Box<str>),
    /// The token's issuer is the one the API assigns to the tenant in a path value.
    TenantIssuer {
        parameter: Box<str>,
        issuer_of: Arc<IssuerOf>,
    },
    /// A predicate of the API's own over the verified token.
    Predicate {
        name: Box<str>,
        test: Arc<dyn Fn(&Authenticated) -> bool + Send + Sync>,
    },
}

impl fmt::Debug for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Requirement({self})")
    }
}

/// Why a requirement was not met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Denial {
    /// 403, with the scopes that would satisfy the requirement when more scopes can (see
    /// [`Requirement`]'s `Display` and the README for how alternatives are named).
    Insufficient(Option<Vec<String>>),
    /// 500: a parameter the requirement names cannot be bound on this route.
    Unbound(Box<str>, Unbound),
}

impl Requirement {
    fn of(node: Node) -> Requirement {
        Requirement(Arc::new(node))
    }

    /// The token must grant the scope this template binds to: literal text with parameters
    /// `{name}` (or `:name`), see the README's template grammar.
    pub fn scope(template: &str) -> Result<Requirement, TemplateError> {
        ScopeTemplate::parse(template).map(|template| Requirement::of(Node::Scope(template)))
    }

    /// For [`scope!`](crate::scope!): the template was checked at compile time.
    #[doc(hidden)]
    pub fn from_checked_template(template: &'static str) -> Requirement {
        match Requirement::scope(template) {
            Ok(requirement) => requirement,
            // Unreachable for a template that passed `check_template`; fail closed regardless.
            Err(error) => {
                tracing::error!(target: "scopegate", %error, "scope template refused at run time");
                Requirement::any_of([])
            }
        }
    }

    /// Every one of `requirements` must hold. An empty list holds.
    pub fn all_of(requirements: impl IntoIterator<Item = Requirement>) -> Requirement {
        Requirement::of(Node::AllOf(requirements.into_iter().collect()))
    }

    /// At least one of `requirements` must hold. An empty list never holds.
    pub fn any_of(requirements: impl IntoIterator<Item = Requirement>) -> Requirement {
        Requirement::of(Node::AnyOf(requirements.into_iter().collect()))
    }

    /// The token's top-level `claim` must be a JSON string byte-equal to the (decoded) path
    /// `parameter`: the Auth0 Organizations check, `org_id` == `{org}`.
    pub fn claim_equals(claim: &str, parameter: &str) -> Requirement {
        Requirement::of(Node::ClaimEqualsParam {
            claim: claim.into(),
            parameter: parameter.into(),
        })
    }

    /// The token's top-level `claim` must be a JSON string byte-equal to `value`
    /// (`"tier" == "enterprise"`).
    pub fn claim_is(claim: &str, value: &str) -> Requirement {
        Requirement::of(Node::ClaimIs {
            claim: claim.into(),
            value: value.into(),
        })
    }

    /// The token's top-level `claim` must be an array holding the string `value`
    /// (`"groups"` contains `"staff"`). Other elements may have any type.
    pub fn claim_contains(claim: &str, value: &str) -> Requirement {
        Requirement::of(Node::ClaimContains {
            claim: claim.into(),
            value: value.into(),
        })
    }

    /// A check of your own over the verified token, named for logs and `Display`. It must not
    /// panic; it decides on the verified token alone.
    ///
    /// ```
    /// use scopegate::Requirement;
    ///
    /// let verified_email = Requirement::claims("email_verified", |auth| {
    ///     auth.claim::<bool>("email_verified") == Some(true)
    /// });
    /// ```
    pub fn claims(
        name: &str,
        test: impl Fn(&Authenticated) -> bool + Send + Sync + 'static,
    ) -> Requirement {
        Requirement::of(Node::Predicate {
            name: name.into(),
            test: Arc::new(test),
        })
    }

    /// The token must come from `issuer` (its `iss`, byte-equal). With several
    /// [`Issuers`](crate::Issuers) behind one layer, a scope from any of them satisfies a
    /// scope requirement; tie the route to the issuer that may grant it.
    pub fn issued_by(issuer: &str) -> Requirement {
        Requirement::of(Node::IssuedBy(issuer.into()))
    }

    /// The token must come from the issuer the API assigns to the tenant named by the path
    /// `parameter`: with one identity-provider tenant per customer, a token of customer A's
    /// issuer never opens customer B's `/orgs/{org}/...`, whatever scopes it carries. An unknown
    /// tenant (`None`) never holds.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use scopegate::Requirement;
    ///
    /// let issuers: HashMap<String, String> = HashMap::from([
    ///     ("acme".into(), "https://acme.idp.example/".into()),
    ///     ("globex".into(), "https://globex.idp.example/".into()),
    /// ]);
    /// let own_issuer = Requirement::tenant_issuer("org", move |org| issuers.get(org).cloned());
    /// ```
    pub fn tenant_issuer(
        parameter: &str,
        issuer_of: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Requirement {
        Requirement::of(Node::TenantIssuer {
            parameter: parameter.into(),
            issuer_of: Arc::new(issuer_of),
        })
    }

    /// Every path parameter this requirement names.
    pub fn parameters(&self) -> Vec<&str> {
        let mut names = Vec::new();
        self.collect_parameters(&mut names);
        names
    }

    fn collect_parameters<'a>(&'a self, names: &mut Vec<&'a str>) {
        match &*self.0 {
            Node::Scope(template) => names.extend(template.parameters()),
            Node::AllOf(children) | Node::AnyOf(children) => {
                for child in children {
                    child.collect_parameters(names);
                }
            }
            Node::ClaimEqualsParam { parameter, .. } | Node::TenantIssuer { parameter, .. } => {
                names.push(parameter)
            }
            Node::ClaimIs { .. }
            | Node::ClaimContains { .. }
            | Node::IssuedBy(_)
            | Node::Predicate { .. } => {}
        }
    }

    /// Decides the requirement for a verified token and the matched route's path values;
    /// `granted` answers whether one concrete scope is granted.
    pub(crate) fn check(
        &self,
        auth: &Authenticated,
        granted: &dyn Fn(&str) -> bool,
        params: &PathValues,
    ) -> Result<(), Denial> {
        let mut unbound = None;
        let outcome = self.evaluate(auth, granted, params, &mut unbound);
        if let Some((parameter, why)) = unbound {
            return Err(Denial::Unbound(parameter, why));
        }
        if outcome.holds {
            return Ok(());
        }
        Err(Denial::Insufficient(
            outcome.satisfied_by.filter(|scopes| !scopes.is_empty()),
        ))
    }

    /// Evaluates every branch (no short-circuit) so that a parameter the route cannot bind is
    /// found on every request, whatever the other branches say.
    fn evaluate(
        &self,
        auth: &Authenticated,
        granted: &dyn Fn(&str) -> bool,
        params: &PathValues,
        unbound: &mut Option<(Box<str>, Unbound)>,
    ) -> Outcome {
        let value_of = |name: &str| params.get(name);
        match &*self.0 {
            Node::Scope(template) => match template.bind(value_of) {
                Ok(scope) => Outcome {
                    holds: granted(&scope),
                    satisfied_by: Some(vec![scope]),
                },
                // The value is request content: no scope bound from it is ever named.
                Err(BindError::RefusedValue) => Outcome::fixed(false),
                Err(BindError::Unbound(name, why)) => {
                    unbound.get_or_insert((name, why));
                    Outcome::fixed(false)
                }
            },
            Node::AllOf(children) => {
                let mut holds = true;
                let mut satisfied_by = Some(Vec::new());
                for child in children {
                    let outcome = child.evaluate(auth, granted, params, unbound);
                    holds &= outcome.holds;
                    satisfied_by = match (satisfied_by, outcome.satisfied_by) {
                        (Some(mut all), Some(more)) => {
                            all.extend(more);
                            Some(all)
                        }
                        _ => None,
                    };
                }
                Outcome {
                    holds,
                    satisfied_by,
                }
            }
            Node::AnyOf(children) => {
                let mut holds = false;
                // The first alternative that more scopes alone would satisfy, in declaration
                // order: naming every alternative would read as "all of these" (RFC 6750 §3).
                let mut satisfied_by = None;
                for child in children {
                    let outcome = child.evaluate(auth, granted, params, unbound);
                    holds |= outcome.holds;
                    if satisfied_by.is_none() {
                        satisfied_by = outcome.satisfied_by;
                    }
                }
                Outcome {
                    holds,
                    satisfied_by,
                }
            }
            Node::ClaimEqualsParam { claim, parameter } => {
                Outcome::fixed(match bound_value(parameter, params, unbound) {
                    Some(value) => auth
                        .claim::<String>(claim)
                        .is_some_and(|held| held == value),
                    None => false,
                })
            }
            Node::ClaimIs { claim, value } => Outcome::fixed(
                auth.claim::<String>(claim)
                    .is_some_and(|held| *held == **value),
            ),
            Node::ClaimContains { claim, value } => Outcome::fixed(
                auth.claim::<Vec<Value>>(claim)
                    .is_some_and(|items| items.iter().any(|item| item.as_str() == Some(value))),
            ),
            Node::IssuedBy(issuer) => Outcome::fixed(auth.issuer() == &**issuer),
            Node::TenantIssuer {
                parameter,
                issuer_of,
            } => Outcome::fixed(match bound_value(parameter, params, unbound) {
                Some(tenant) => issuer_of(tenant).is_some_and(|issuer| issuer == auth.issuer()),
                None => false,
            }),
            Node::Predicate { test, .. } => Outcome::fixed(test(auth)),
        }
    }
}

/// A path value for a claim check; records why it cannot be bound.
fn bound_value<'v>(
    parameter: &str,
    params: &'v PathValues,
    unbound: &mut Option<(Box<str>, Unbound)>,
) -> Option<&'v str> {
    match params.get(parameter) {
        ParamValue::Value(value) => Some(value),
        ParamValue::Unusable => None,
        ParamValue::Missing => {
            unbound.get_or_insert((parameter.into(), Unbound::Missing));
            None
        }
        ParamValue::Ambiguous => {
            unbound.get_or_insert((parameter.into(), Unbound::Ambiguous));
            None
        }
    }
}

/// One node's verdict.
struct Outcome {
    holds: bool,
    /// Scopes that, granted, would make the node hold; `None` when scopes cannot (a claim
    /// check failed, or a path value was refused).
    satisfied_by: Option<Vec<String>>,
}

impl Outcome {
    /// For checks that scopes cannot change.
    fn fixed(holds: bool) -> Outcome {
        Outcome {
            holds,
            satisfied_by: holds.then(Vec::new),
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, name: &str, children: &[Requirement]| {
            write!(f, "{name}(")?;
            for (index, child) in children.iter().enumerate() {
                if index > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{child}")?;
            }
            f.write_str(")")
        };
        match &*self.0 {
            Node::Scope(template) => f.write_str(template.source()),
            Node::AllOf(children) => list(f, "all_of", children),
            Node::AnyOf(children) => list(f, "any_of", children),
            Node::ClaimEqualsParam { claim, parameter } => write!(f, "{claim} == {{{parameter}}}"),
            Node::ClaimIs { claim, value } => write!(f, "{claim} == {value:?}"),
            Node::ClaimContains { claim, value } => write!(f, "{claim} contains {value:?}"),
            Node::IssuedBy(issuer) => write!(f, "iss == {issuer:?}"),
            Node::TenantIssuer { parameter, .. } => write!(f, "iss == issuer of {{{parameter}}}"),
            Node::Predicate { name, .. } => write!(f, "claims({name})"),
        }
    }
}
