//! What a route requires of a verified token, and how that is decided.

use std::fmt;
use std::sync::Arc;

use super::template::{BindError, ScopeTemplate, TemplateError};
use crate::claims::Authenticated;

/// A route's requirement: scope templates bound to its path parameters, claim checks, and
/// their combinations. Cheap to clone.
///
/// ```
/// use scopegate::{Requirement, scope};
///
/// // Checked at compile time:
/// let delete = scope!("delete:comments-in-:room");
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
/// # Ok::<(), scopegate::TemplateError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Requirement(Arc<Node>);

#[derive(Debug)]
enum Node {
    Scope(ScopeTemplate),
    AllOf(Vec<Requirement>),
    AnyOf(Vec<Requirement>),
    ClaimEquals {
        claim: Box<str>,
        parameter: Box<str>,
    },
}

/// Why a requirement was not met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Denial {
    /// 403: the concrete scopes that would have satisfied it, unless a path value was refused
    /// (then none are named: the value is request content).
    Insufficient(Option<Vec<String>>),
    /// 500: a parameter the requirement names cannot be bound on this route.
    Unbound(Box<str>, Unbound),
}

/// Why a named parameter cannot be bound: a configuration error, never a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unbound {
    /// The matched route has no parameter of that name.
    Missing,
    /// The matched route has that name more than once (nested routers).
    Ambiguous,
}

impl Unbound {
    pub(crate) fn description(self) -> &'static str {
        match self {
            Unbound::Missing => "the matched route has no parameter of this name",
            Unbound::Ambiguous => {
                "the matched route has this parameter name more than once (rename one of them)"
            }
        }
    }
}

/// A path parameter's value as the matched route offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParamValue<'v> {
    Value(&'v str),
    Missing,
    Ambiguous,
    /// Present but unusable (not UTF-8): refused like any unsafe value.
    Unusable,
}

impl Requirement {
    /// The token must grant the scope this template binds to (see the template grammar in
    /// [`TemplateError`]'s module docs or the README).
    pub fn scope(template: &str) -> Result<Requirement, TemplateError> {
        ScopeTemplate::parse(template).map(|template| Requirement(Arc::new(Node::Scope(template))))
    }

    /// For [`scope!`](crate::scope!): the template was checked at compile time.
    #[doc(hidden)]
    pub fn from_checked_template(template: &'static str) -> Requirement {
        match Requirement::scope(template) {
            Ok(requirement) => requirement,
            // Unreachable for a template that passed `check_template`; fail closed regardless.
            Err(error) => {
                tracing::error!(%error, "scopegate: scope template refused at run time");
                Requirement::any_of([])
            }
        }
    }

    /// Every one of `requirements` must hold. An empty list holds.
    pub fn all_of(requirements: impl IntoIterator<Item = Requirement>) -> Requirement {
        Requirement(Arc::new(Node::AllOf(requirements.into_iter().collect())))
    }

    /// At least one of `requirements` must hold. An empty list never holds.
    pub fn any_of(requirements: impl IntoIterator<Item = Requirement>) -> Requirement {
        Requirement(Arc::new(Node::AnyOf(requirements.into_iter().collect())))
    }

    /// The token's top-level `claim` must be a JSON string byte-equal to the (decoded) path
    /// `parameter`: the Auth0 Organizations check, `org_id` == `{org}`. Numbers, arrays, `null`,
    /// absence and a repeated claim never match.
    pub fn claim_equals(claim: &str, parameter: &str) -> Requirement {
        Requirement(Arc::new(Node::ClaimEquals {
            claim: claim.into(),
            parameter: parameter.into(),
        }))
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
            Node::ClaimEquals { parameter, .. } => names.push(parameter),
        }
    }

    /// Decides the requirement for a verified token and the matched route's path values;
    /// `granted` answers whether one concrete scope is granted.
    pub(crate) fn check<'v>(
        &self,
        auth: &Authenticated,
        granted: &dyn Fn(&str) -> bool,
        value_of: &dyn Fn(&str) -> ParamValue<'v>,
    ) -> Result<(), Denial> {
        let mut trace = Trace::default();
        if self.holds(auth, granted, value_of, &mut trace) && trace.unbound.is_none() {
            return Ok(());
        }
        if let Some((parameter, why)) = trace.unbound {
            return Err(Denial::Unbound(parameter, why));
        }
        Err(Denial::Insufficient(
            (!trace.refused_value).then_some(trace.scopes),
        ))
    }

    /// Evaluates every branch (no short-circuit) so the refusal can name all the scopes that
    /// would have satisfied it, and so a missing parameter is found on every request.
    fn holds<'v>(
        &self,
        auth: &Authenticated,
        granted: &dyn Fn(&str) -> bool,
        value_of: &dyn Fn(&str) -> ParamValue<'v>,
        trace: &mut Trace,
    ) -> bool {
        match &*self.0 {
            Node::Scope(template) => match template.bind(value_of) {
                Ok(scope) => {
                    let held = granted(&scope);
                    trace.scopes.push(scope);
                    held
                }
                Err(BindError::RefusedValue) => {
                    trace.refused_value = true;
                    false
                }
                Err(BindError::Unbound(name, why)) => {
                    trace.unbound.get_or_insert((name, why));
                    false
                }
            },
            // Every child is evaluated, even after the outcome is known (see above).
            Node::AllOf(children) => {
                let mut all = true;
                for child in children {
                    all &= child.holds(auth, granted, value_of, trace);
                }
                all
            }
            Node::AnyOf(children) => {
                let mut any = false;
                for child in children {
                    any |= child.holds(auth, granted, value_of, trace);
                }
                any
            }
            Node::ClaimEquals { claim, parameter } => match value_of(parameter) {
                ParamValue::Missing => {
                    trace
                        .unbound
                        .get_or_insert((parameter.clone(), Unbound::Missing));
                    false
                }
                ParamValue::Ambiguous => {
                    trace
                        .unbound
                        .get_or_insert((parameter.clone(), Unbound::Ambiguous));
                    false
                }
                ParamValue::Unusable => false,
                // Read straight as a string: numbers, arrays, null, absence and a repeated
                // claim all give `None`.
                ParamValue::Value(value) => auth
                    .claim::<String>(claim)
                    .is_some_and(|held| held == value),
            },
        }
    }
}

#[derive(Default)]
struct Trace {
    scopes: Vec<String>,
    refused_value: bool,
    unbound: Option<(Box<str>, Unbound)>,
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
            Node::ClaimEquals { claim, parameter } => write!(f, "{claim} == {{{parameter}}}"),
        }
    }
}

/// `name`'s value among owned path values, with the same ambiguity rule as requests.
pub(crate) fn param_value<'v>(params: &'v [(String, String)], name: &str) -> ParamValue<'v> {
    let mut found = params.iter().filter(|(key, _)| key == name);
    match (found.next(), found.next()) {
        (Some((_, value)), None) => ParamValue::Value(value),
        (Some(_), Some(_)) => ParamValue::Ambiguous,
        (None, _) => ParamValue::Missing,
    }
}
