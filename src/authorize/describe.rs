//! Read access to a requirement's structure, for documentation generated from it: the scope
//! templates that satisfy it, the checks no scope expresses, and its step-up demands.

// Read by the OpenAPI integration only.
#![cfg_attr(not(feature = "utoipa"), allow(dead_code))]

use super::requirement::{Node, Requirement};
use super::step_up::Authentication;

/// At most this many scope alternatives are listed for one requirement; an `all_of` of many
/// `any_of`s multiplies them.
pub(crate) const MAX_SCOPE_ALTERNATIVES: usize = 64;

impl Requirement {
    /// The scope templates (as written) that satisfy the requirement's scope part: it holds
    /// when every template of one alternative is granted, and the other checks hold.
    ///
    /// A scope is one alternative of one template; `any_of` lists its children's alternatives,
    /// `all_of` joins one alternative of each child, in every combination; a check without a
    /// scope (claims, issuer, step-up) is one alternative without templates. An `any_of` without
    /// children has no alternative: nothing satisfies it. Templates are listed once per
    /// alternative, alternatives once, in declaration order. `None` when there would be more than
    /// [`MAX_SCOPE_ALTERNATIVES`].
    pub(crate) fn scope_alternatives(&self) -> Option<Vec<Vec<&str>>> {
        let alternatives = match self.node() {
            Node::Scope(template) => vec![vec![template.source()]],
            Node::AnyOf(children) => {
                let mut alternatives: Vec<Vec<&str>> = Vec::new();
                for child in children {
                    for alternative in child.scope_alternatives()? {
                        push_unique(&mut alternatives, alternative);
                    }
                }
                alternatives
            }
            Node::AllOf(children) => {
                let mut combined: Vec<Vec<&str>> = vec![Vec::new()];
                for child in children {
                    let choices = child.scope_alternatives()?;
                    if combined.len().saturating_mul(choices.len()) > MAX_SCOPE_ALTERNATIVES {
                        return None;
                    }
                    let mut next = Vec::with_capacity(combined.len() * choices.len());
                    for kept in &combined {
                        for choice in &choices {
                            let mut joined = kept.clone();
                            for template in choice {
                                push_unique(&mut joined, *template);
                            }
                            push_unique(&mut next, joined);
                        }
                    }
                    combined = next;
                }
                combined
            }
            Node::ClaimEqualsParam { .. }
            | Node::ClaimIs { .. }
            | Node::ClaimContains { .. }
            | Node::IssuedBy(_)
            | Node::TenantIssuer { .. }
            | Node::Predicate { .. }
            | Node::StepUp(_) => vec![Vec::new()],
        };
        (alternatives.len() <= MAX_SCOPE_ALTERNATIVES).then_some(alternatives)
    }

    /// Every check that is not a scope (claim checks, issuers, predicates, step-up), as its
    /// `Display` text, once each, in declaration order.
    pub(crate) fn other_checks(&self) -> Vec<String> {
        let mut checks = Vec::new();
        self.visit(&mut |requirement| {
            if !matches!(
                requirement.node(),
                Node::Scope(_) | Node::AllOf(_) | Node::AnyOf(_)
            ) {
                push_unique(&mut checks, requirement.to_string());
            }
        });
        checks
    }

    /// Every step-up requirement inside, in declaration order.
    pub(crate) fn step_ups(&self) -> Vec<&Authentication> {
        let mut found = Vec::new();
        self.visit(&mut |requirement| {
            if let Node::StepUp(authentication) = requirement.node() {
                found.push(authentication);
            }
        });
        found
    }

    /// Calls `each` on this requirement and every one inside it, depth first.
    fn visit<'r>(&'r self, each: &mut dyn FnMut(&'r Requirement)) {
        each(self);
        if let Node::AllOf(children) | Node::AnyOf(children) = self.node() {
            for child in children {
                child.visit(each);
            }
        }
    }
}

fn push_unique<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        list.push(item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(template: &str) -> Requirement {
        Requirement::scope(template).unwrap()
    }

    fn alternatives(requirement: &Requirement) -> Option<Vec<Vec<&str>>> {
        requirement.scope_alternatives()
    }

    #[test]
    fn scopes_as_alternatives() {
        assert_eq!(
            alternatives(&scope("delete:comments-in-{room}")),
            Some(vec![vec!["delete:comments-in-{room}"]])
        );
        let both = Requirement::all_of([
            scope("read:invoices"),
            Requirement::claim_equals("org_id", "org"),
            scope("read:orgs-:org"),
            scope("read:invoices"),
        ]);
        assert_eq!(
            alternatives(&both),
            Some(vec![vec!["read:invoices", "read:orgs-:org"]])
        );
        let either = Requirement::any_of([scope("a"), scope("b"), scope("a")]);
        assert_eq!(alternatives(&either), Some(vec![vec!["a"], vec!["b"]]));
        let mixed = Requirement::all_of([
            scope("base"),
            Requirement::any_of([scope("a"), Requirement::all_of([scope("b"), scope("c")])]),
        ]);
        assert_eq!(
            alternatives(&mixed),
            Some(vec![vec!["base", "a"], vec!["base", "b", "c"]])
        );
        // A check without a scope is an alternative without templates.
        let claim_or_scope =
            Requirement::any_of([Requirement::claim_is("tier", "staff"), scope("a")]);
        assert_eq!(alternatives(&claim_or_scope), Some(vec![vec![], vec!["a"]]));
        assert_eq!(
            alternatives(&Requirement::all_of([])),
            Some(vec![Vec::<&str>::new()])
        );
        assert_eq!(alternatives(&Requirement::any_of([])), Some(vec![]));
        // An `all_of` with a child nothing satisfies has no alternative either.
        let never = Requirement::all_of([scope("a"), Requirement::any_of([])]);
        assert_eq!(alternatives(&never), Some(vec![]));
    }

    #[test]
    fn too_many_combinations_are_not_listed() {
        let pair =
            |n: usize| Requirement::any_of([scope(&format!("a{n}")), scope(&format!("b{n}"))]);
        let six = Requirement::all_of((0..6).map(pair));
        assert_eq!(alternatives(&six).map(|list| list.len()), Some(64));
        let seven = Requirement::all_of((0..7).map(pair));
        assert_eq!(alternatives(&seven), None);
        let wide = Requirement::any_of((0..65).map(|n| scope(&format!("s{n}"))));
        assert_eq!(alternatives(&wide), None);
    }

    #[test]
    fn checks_and_step_ups() {
        let mfa = Requirement::step_up()
            .acr_values(["urn:mfa", "urn:hwk"])
            .build()
            .unwrap();
        let recent = Requirement::step_up()
            .max_age(std::time::Duration::from_secs(300))
            .build()
            .unwrap();
        let requirement = Requirement::any_of([
            Requirement::all_of([
                scope("admin"),
                Requirement::claim_equals("org_id", "org"),
                mfa,
            ]),
            Requirement::all_of([Requirement::claim_contains("groups", "staff"), recent]),
            Requirement::claim_equals("org_id", "org"),
        ]);
        assert_eq!(
            requirement.other_checks(),
            [
                "org_id == {org}",
                r#"step_up(acr_values="urn:mfa urn:hwk")"#,
                r#"groups contains "staff""#,
                "step_up(max_age=300)",
            ]
        );
        let step_ups: Vec<_> = requirement
            .step_ups()
            .into_iter()
            .map(|demand| {
                let acr: Option<Vec<&str>> = demand
                    .acr_values()
                    .map(|values| values.iter().map(|value| &**value).collect());
                (acr, demand.max_age())
            })
            .collect();
        assert_eq!(
            step_ups,
            [(Some(vec!["urn:mfa", "urn:hwk"]), None), (None, Some(300))]
        );
        assert!(scope("a").other_checks().is_empty());
        assert!(scope("a").step_ups().is_empty());
    }
}
