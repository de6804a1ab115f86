//! Issuer templates for multi-tenant identity providers: Microsoft Entra ID's
//! `https://login.microsoftonline.com/{tenantid}/v2.0`, one key set for every tenant, where the
//! token's `iss` names its tenant and `tid` must agree.

use std::fmt;
use std::sync::Arc;

/// The placeholder an issuer template holds exactly once.
pub(crate) const PLACEHOLDER: &str = "{tenantid}";

/// Which tenants an issuer template accepts.
#[derive(Clone)]
pub(crate) enum TenantFilter {
    List(Arc<[Box<str>]>),
    Callback(Arc<dyn Fn(&str) -> bool + Send + Sync>),
}

/// `prefix {tenantid} suffix`, and the tenants it accepts.
#[derive(Clone)]
pub(crate) struct IssuerTemplate {
    prefix: Box<str>,
    suffix: Box<str>,
    tenants: TenantFilter,
}

impl fmt::Debug for IssuerTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{PLACEHOLDER}{}", self.prefix, self.suffix)
    }
}

impl IssuerTemplate {
    /// The template of a validator's `issuer`: `None` when it holds no placeholder. A template
    /// needs its tenants (never every tenant by default) and a key source other than discovery
    /// (a template names no one document); tenants need a template.
    pub(crate) fn configure(
        issuer: &str,
        tenants: Option<TenantFilter>,
        by_discovery: bool,
    ) -> Result<Option<Self>, String> {
        let Some((prefix, suffix)) = issuer.split_once(PLACEHOLDER) else {
            return match tenants {
                Some(_) => Err(format!(
                    "tenants() needs an issuer template holding {PLACEHOLDER}"
                )),
                None => Ok(None),
            };
        };
        if suffix.contains(PLACEHOLDER) {
            return Err(format!(
                "the issuer template {issuer:?} holds {PLACEHOLDER} twice"
            ));
        }
        let Some(tenants) = tenants else {
            return Err("an issuer template needs tenants() or tenant_filter(): accepting every tenant's tokens is never the default".into());
        };
        if by_discovery {
            return Err("an issuer template needs jwks_url() or jwks_document(): discovery cannot start from a template".into());
        }
        Ok(Some(IssuerTemplate {
            prefix: prefix.into(),
            suffix: suffix.into(),
            tenants,
        }))
    }

    /// Whether `iss` could be this template's (to choose a validator before any check).
    pub(crate) fn could_be(&self, iss: &str) -> bool {
        iss.len() > self.prefix.len() + self.suffix.len()
            && iss.starts_with(&*self.prefix)
            && iss.ends_with(&*self.suffix)
    }

    /// Whether `iss` is this template spelled with the token's own `tid`, a well-formed tenant
    /// id. Checked before any key is looked at; whether the tenant is accepted is asked only
    /// after the signature verifies, so an unsigned token can neither make the tenant filter
    /// run nor learn from the answer which tenants are customers.
    pub(crate) fn spells(&self, iss: &str, tid: Option<&str>) -> bool {
        tid.is_some_and(|tid| self.tenant_in(iss) == Some(tid))
    }

    /// The tenant id `iss` names in this template's place, when well formed.
    pub(crate) fn tenant_in<'a>(&self, iss: &'a str) -> Option<&'a str> {
        let tenant = iss
            .strip_prefix(&*self.prefix)?
            .strip_suffix(&*self.suffix)?;
        let well_formed = !tenant.is_empty()
            && tenant
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-');
        well_formed.then_some(tenant)
    }

    /// Whether the API accepts `tenant`'s tokens. Asked after the signature verifies, and again
    /// on every hit of the verified-token cache (a tenant removed stops at once).
    pub(crate) fn accepts_tenant(&self, tenant: &str) -> bool {
        match &self.tenants {
            TenantFilter::List(tenants) => tenants.iter().any(|ours| **ours == *tenant),
            TenantFilter::Callback(accepts) => accepts(tenant),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> IssuerTemplate {
        let tenants = TenantFilter::List(vec![Box::from("t-1"), Box::from("t-2")].into());
        IssuerTemplate::configure(
            "https://login.example/{tenantid}/v2.0",
            Some(tenants),
            false,
        )
        .unwrap()
        .unwrap()
    }

    #[test]
    fn the_tenant_in_iss_must_be_the_tokens_tid_and_accepted() {
        let template = template();
        let accepts = |iss: &str, tid: Option<&str>| {
            template.spells(iss, tid) && tid.is_some_and(|tid| template.accepts_tenant(tid))
        };
        assert!(accepts("https://login.example/t-1/v2.0", Some("t-1")));
        assert!(!accepts("https://login.example/t-1/v2.0", Some("t-2")));
        assert!(!accepts("https://login.example/t-3/v2.0", Some("t-3")));
        assert!(template.spells("https://login.example/t-3/v2.0", Some("t-3")));
        assert!(!accepts("https://login.example/t-1/v2.0", None));
        assert!(!accepts("https://login.example/t-1/x/v2.0", Some("t-1/x")));
        assert!(!accepts("https://login.example/t-1/v2.0/", Some("t-1")));
        assert!(template.could_be("https://login.example/anything/v2.0"));
        assert!(!template.could_be("https://login.example//v2.0"));
        let tenants = || Some(template.tenants.clone());
        let configure = IssuerTemplate::configure;
        assert!(configure("https://a/{tenantid}/{tenantid}", tenants(), false).is_err());
        assert!(configure("https://a/{tenantid}", tenants(), true).is_err());
        assert!(configure("https://a/{tenantid}", None, false).is_err());
        assert!(configure("https://a/b", tenants(), false).is_err());
        assert!(matches!(configure("https://a/b", None, false), Ok(None)));
    }
}
