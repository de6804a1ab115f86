//! Protected-resource metadata (RFC 9728): the JSON document an API publishes so that clients
//! can find which authorization servers issue its tokens, and the well-known path it is served
//! at.
//!
//! ```
//! use scopegate::ResourceMetadata;
//!
//! let metadata = ResourceMetadata::new("https://rooms.example/api")?
//!     .authorization_servers(["https://issuer.example"])?
//!     .scopes_supported(["read:rooms", "write:rooms"])?
//!     .resource_name("Rooms API");
//!
//! // The document is served here, on the API's own origin.
//! println!("{}", metadata.well_known_path());
//! assert_eq!(metadata.well_known_path(), "/.well-known/oauth-protected-resource/api");
//! # Ok::<(), scopegate::ConfigError>(())
//! ```
//!
//! The identifier is checked once, in [`ResourceMetadata::new`]: the layer puts the metadata
//! URL inside a quoted `resource_metadata="..."` challenge parameter (RFC 9728 §5.1), so the
//! text must be safe there as written.

mod url;

#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

use self::url::{Query, check_url, path_after_host};
use crate::error::ConfigError;
use crate::syntax::is_scope_token;

/// The well-known URI suffix registered by RFC 9728 §3.
const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The protected-resource metadata of an API (RFC 9728): its resource identifier and what it
/// tells clients about the tokens it accepts.
///
/// Built with [`ResourceMetadata::new`] and the setters; each setter replaces what an earlier
/// call of the same setter set. Every value is checked when it is set, so a built value always
/// renders a valid document.
///
/// ```
/// use scopegate::ResourceMetadata;
///
/// let metadata = ResourceMetadata::new("https://rooms.example")?
///     .authorization_servers(["https://issuer.example"])?
///     .bearer_methods_supported(["header"])?;
/// let document: serde_json::Value = serde_json::from_str(&metadata.document_json())?;
/// assert_eq!(document["resource"], "https://rooms.example");
/// assert_eq!(document["authorization_servers"][0], "https://issuer.example");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceMetadata {
    /// The resource identifier, exactly as given.
    resource: String,
    /// Its path as it follows the well-known suffix (empty for the bare origin).
    path: String,
    authorization_servers: Vec<String>,
    scopes_supported: Vec<String>,
    bearer_methods_supported: Vec<String>,
    resource_name: Option<String>,
    resource_documentation: Option<String>,
    jwks_uri: Option<String>,
    resource_policy_uri: Option<String>,
    resource_tos_uri: Option<String>,
}

/// What the document says about DPoP (RFC 9449), when the layer accepts DPoP proofs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DpopMetadata<'a> {
    /// The JWS algorithms accepted for DPoP proofs, by their JOSE names (`ES256`, ...).
    /// `dpop_signing_alg_values_supported`; left out when empty.
    pub(crate) signing_algorithms: &'a [&'a str],
    /// Whether every access token must be DPoP-bound (Bearer tokens refused). Written as
    /// `dpop_bound_access_tokens_required: true` only when set: RFC 9728 §2 reads a missing
    /// member as `false`.
    pub(crate) required: bool,
}

impl ResourceMetadata {
    /// Metadata for the resource identifier `resource`: the URL clients name the API by, and
    /// the `resource` member of the document, written exactly as given.
    ///
    /// It must be an absolute `https://` URL (`http://` is accepted for local development)
    /// with a host and no user information, query or fragment (RFC 9728 §1.2), in printable
    /// ASCII without spaces, quotes or backslashes (percent-encode anything else). Bearer
    /// methods default to `["header"]`, the only way scopegate reads a token.
    pub fn new(resource: &str) -> Result<Self, ConfigError> {
        let uri = check_url("the resource identifier", resource, Query::Refused)?;
        Ok(ResourceMetadata {
            resource: resource.to_owned(),
            path: path_after_host(&uri).to_owned(),
            authorization_servers: Vec::new(),
            scopes_supported: Vec::new(),
            bearer_methods_supported: vec!["header".to_owned()],
            resource_name: None,
            resource_documentation: None,
            jwks_uri: None,
            resource_policy_uri: None,
            resource_tos_uri: None,
        })
    }

    /// The resource identifier, exactly as given to [`ResourceMetadata::new`].
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// `authorization_servers`: the issuer identifiers of the authorization servers whose
    /// tokens the API accepts. Each must be an absolute `https://` (or `http://`) URL without
    /// query or fragment (an issuer identifier, RFC 8414 §2); none may repeat. An empty list
    /// leaves the member out.
    pub fn authorization_servers(
        mut self,
        servers: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<Self, ConfigError> {
        self.authorization_servers = collect("authorization server", servers, |server| {
            check_url("authorization server", server, Query::Refused).map(drop)
        })?;
        Ok(self)
    }

    /// `scopes_supported`: the scopes clients may request to call the API. Each must be a
    /// scope-token (RFC 6749 §3.3: printable ASCII without spaces, `"` or `\`); none may
    /// repeat. An empty list leaves the member out.
    pub fn scopes_supported(
        mut self,
        scopes: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<Self, ConfigError> {
        self.scopes_supported = collect("scope", scopes, |scope| {
            if is_scope_token(scope) {
                Ok(())
            } else {
                Err(ConfigError::new(format!(
                    "scope {scope:?} is not a scope-token (printable ASCII without spaces, \
                     quotes or backslashes)"
                )))
            }
        })?;
        Ok(self)
    }

    /// `bearer_methods_supported`: how clients may send a bearer token: `header`, `body` or
    /// `query` (RFC 6750 §2.1 to §2.3); none may repeat. The default is `["header"]`:
    /// scopegate reads the `Authorization` header only, so name `body` or `query` only if the
    /// API accepts tokens there by other means. An empty list is written as `[]`: no bearer
    /// method (DPoP-bound tokens only).
    pub fn bearer_methods_supported(
        mut self,
        methods: impl IntoIterator<Item = impl Into<String>>,
    ) -> Result<Self, ConfigError> {
        self.bearer_methods_supported = collect("bearer method", methods, |method| match method {
            "header" | "body" | "query" => Ok(()),
            other => Err(ConfigError::new(format!(
                "bearer method {other:?}: must be \"header\", \"body\" or \"query\""
            ))),
        })?;
        Ok(self)
    }

    /// `resource_name`: a name for people, such as "Rooms API". Any text: the document
    /// escapes it.
    #[must_use]
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// `resource_documentation`: a page for developers on using the API; an absolute
    /// `https://` (or `http://`) URL without fragment.
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Result<Self, ConfigError> {
        self.resource_documentation = Some(checked_link("resource_documentation", url)?);
        Ok(self)
    }

    /// `jwks_uri`: the API's own public keys (for signed responses, not the issuer's keys); an
    /// absolute `https://` (or `http://`) URL without fragment.
    pub fn jwks_uri(mut self, url: impl Into<String>) -> Result<Self, ConfigError> {
        self.jwks_uri = Some(checked_link("jwks_uri", url)?);
        Ok(self)
    }

    /// `resource_policy_uri`: how the API uses data clients send; an absolute `https://` (or
    /// `http://`) URL without fragment.
    pub fn resource_policy_uri(mut self, url: impl Into<String>) -> Result<Self, ConfigError> {
        self.resource_policy_uri = Some(checked_link("resource_policy_uri", url)?);
        Ok(self)
    }

    /// `resource_tos_uri`: the API's terms of service; an absolute `https://` (or `http://`)
    /// URL without fragment.
    pub fn resource_tos_uri(mut self, url: impl Into<String>) -> Result<Self, ConfigError> {
        self.resource_tos_uri = Some(checked_link("resource_tos_uri", url)?);
        Ok(self)
    }

    /// The path the document is served at, on the resource's origin (RFC 9728 §3.1): the
    /// well-known suffix between the host and the identifier's path.
    /// `https://rooms.example/api` gives `/.well-known/oauth-protected-resource/api`;
    /// `https://rooms.example` and `https://rooms.example/` give
    /// `/.well-known/oauth-protected-resource`.
    pub fn well_known_path(&self) -> String {
        format!("{WELL_KNOWN}{}", self.path)
    }

    /// The document as JSON, without DPoP members: for serving it yourself at
    /// [`well_known_path`](Self::well_known_path) as `application/json`.
    pub fn document_json(&self) -> String {
        self.document(None)
    }

    /// The full URL of the document on `public_origin` (`https://rooms.example`,
    /// `http://127.0.0.1:3000`: scheme and authority, no trailing slash, checked by the caller
    /// to be quoted-safe). The result is safe inside a quoted challenge parameter. Clients
    /// compare the document's `resource` with the URL they called (RFC 9728 §3.3), so outside
    /// local development the origin should be the identifier's own.
    pub(crate) fn metadata_url(&self, public_origin: &str) -> String {
        format!("{public_origin}{}", self.well_known_path())
    }

    /// The document as JSON: `resource`, every member set, and with `dpop` the DPoP members.
    pub(crate) fn document(&self, dpop: Option<DpopMetadata<'_>>) -> String {
        let mut members = Map::new();
        members.insert("resource".into(), self.resource.clone().into());
        let mut list = |name: &str, values: &[String]| {
            if !values.is_empty() {
                members.insert(name.into(), values.into());
            }
        };
        list("authorization_servers", &self.authorization_servers);
        list("scopes_supported", &self.scopes_supported);
        members.insert(
            "bearer_methods_supported".into(),
            self.bearer_methods_supported.as_slice().into(),
        );
        let texts = [
            ("resource_name", &self.resource_name),
            ("resource_documentation", &self.resource_documentation),
            ("jwks_uri", &self.jwks_uri),
            ("resource_policy_uri", &self.resource_policy_uri),
            ("resource_tos_uri", &self.resource_tos_uri),
        ];
        for (name, value) in texts {
            if let Some(value) = value {
                members.insert(name.into(), value.clone().into());
            }
        }
        if let Some(dpop) = dpop {
            if !dpop.signing_algorithms.is_empty() {
                members.insert(
                    "dpop_signing_alg_values_supported".into(),
                    dpop.signing_algorithms.into(),
                );
            }
            if dpop.required {
                members.insert("dpop_bound_access_tokens_required".into(), true.into());
            }
        }
        Value::Object(members).to_string()
    }
}

/// A link member: an absolute URL, a query allowed, no fragment.
fn checked_link(what: &str, url: impl Into<String>) -> Result<String, ConfigError> {
    let url = url.into();
    check_url(what, &url, Query::Allowed)?;
    Ok(url)
}

/// Collects `items`, each passing `check`, none repeated.
fn collect(
    what: &str,
    items: impl IntoIterator<Item = impl Into<String>>,
    check: impl Fn(&str) -> Result<(), ConfigError>,
) -> Result<Vec<String>, ConfigError> {
    let mut collected: Vec<String> = Vec::new();
    for item in items {
        let item = item.into();
        check(&item)?;
        if collected.contains(&item) {
            return Err(ConfigError::new(format!("{what} {item:?} is listed twice")));
        }
        collected.push(item);
    }
    Ok(collected)
}
