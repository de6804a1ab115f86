//! What a route requires of a verified token, and how that is evaluated.

use std::fmt;
use std::sync::Arc;

use super::step_up::{Authentication, StepUpRequirement};
use crate::error::ConfigError;
use crate::grant::{ScopeTemplate, TemplateError};
use crate::principal::Authenticated;

/// A route's requirement: scope templates bound to its path parameters, claim checks, step-up
/// authentication, and their combinations. Cheap to clone.
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
///
/// A [step-up requirement](Requirement::step_up) is the one exception: the user can meet it by
/// authenticating again, so it is refused with 401 `insufficient_user_authentication` (RFC 9470)
/// when it is all that falls short; when scopes fall short too, the answer is 403.
#[derive(Clone)]
pub struct Requirement(Arc<Node>);

/// Maps a tenant to the issuer the API assigns it.
pub(super) type IssuerOf = dyn Fn(&str) -> Option<String> + Send + Sync;

pub(super) enum Node {
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
    /// The token's authentication event (`acr`, `auth_time`) meets this (RFC 9470).
    StepUp(Authentication),
}

impl fmt::Debug for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Requirement({self})")
    }
}

impl Requirement {
    pub(super) fn of(node: Node) -> Requirement {
        Requirement(Arc::new(node))
    }

    pub(super) fn node(&self) -> &Node {
        &self.0
    }

    /// Whether deciding this reads the clock: only a step-up's `max_age` does.
    pub(super) fn reads_clock(&self) -> bool {
        match self.node() {
            Node::StepUp(_) => true,
            Node::AllOf(all) | Node::AnyOf(all) => all.iter().any(Requirement::reads_clock),
            // Listed one by one: a new kind of requirement must say whether it reads the clock.
            Node::Scope(_)
            | Node::ClaimEqualsParam { .. }
            | Node::ClaimIs { .. }
            | Node::ClaimContains { .. }
            | Node::IssuedBy(_)
            | Node::TenantIssuer { .. }
            | Node::Predicate { .. } => false,
        }
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
    /// panic; it decides on the verified token alone, and may be called more than once for one
    /// request (a requirement that does not hold is evaluated again to name what is missing).
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
    /// tenant (`None`) never holds. `issuer_of` may be called more than once for one request.
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

    /// Step-up authentication (RFC 9470): the token's authentication event must meet what the
    /// returned builder names, its `acr` (how the user authenticated), its `auth_time` (how
    /// long ago), or both.
    ///
    /// ```
    /// use std::time::Duration;
    /// use scopegate::Requirement;
    ///
    /// let fresh_mfa = Requirement::step_up()
    ///     .acr_values(["urn:rooms:mfa"])
    ///     .max_age(Duration::from_secs(300))
    ///     .build()?;
    /// # Ok::<(), scopegate::ConfigError>(())
    /// ```
    ///
    /// When it is all that falls short, the request is refused with 401
    /// `error="insufficient_user_authentication"`, `acr_values` and `max_age` in the challenge,
    /// so that the client sends the user back to the authorization server with them. Combined
    /// with scopes:
    ///
    /// - `all_of`: when scopes fall short, 403 `insufficient_scope` (authenticating again would
    ///   not add them; the grant resolver is asked first, as always); when only the
    ///   authentication does, 401. Several step-up requirements in one `all_of` are named
    ///   together: the `acr` values all of them accept, and the smallest `max_age`.
    /// - `any_of`: an alternative that authenticating again would satisfy wins over
    ///   alternatives that lack scopes (401, naming the first such alternative); the grant
    ///   resolver is asked first when another alternative needs only more scopes. With no such
    ///   alternative, the 403 names scopes as usual.
    ///
    /// The time is read from the validator's clock
    /// ([`ValidatorBuilder::clock`](crate::ValidatorBuilder::clock)); see [`StepUpRequirement`]
    /// for the claim rules.
    pub fn step_up() -> StepUpRequirement {
        StepUpRequirement::default()
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
            | Node::Predicate { .. }
            | Node::StepUp(_) => {}
        }
    }
}

impl StepUpRequirement {
    /// The requirement, or why the configuration is refused: neither `acr_values` nor `max_age`
    /// given, no or unsafe `acr` values, or a `max_age` of fractional seconds.
    pub fn build(self) -> Result<Requirement, ConfigError> {
        self.checked()
            .map(|authentication| Requirement::of(Node::StepUp(authentication)))
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
            Node::StepUp(authentication) => write!(f, "{authentication}"),
        }
    }
}
