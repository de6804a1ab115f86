//! Writing recorded route requirements into a utoipa [`OpenApi`] document: security schemes,
//! per-operation security requirements and `x-scopegate-*` extensions.

use http::Method;
use serde_json::{Value, json};
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, OpenIdConnect, SecurityRequirement,
    SecurityScheme,
};
use utoipa::openapi::{Components, OpenApi};

use crate::authorize::Requirement;
use crate::dpop::Dpop;

/// The operation extension holding the requirement's text, as its `Display` writes it:
/// `all_of(admin:rooms-in-{room}, step_up(acr_values="urn:rooms:mfa", max_age=300))`.
pub const REQUIREMENT_EXTENSION: &str = "x-scopegate-requirement";
/// The operation extension listing the path parameters the requirement binds (scope templates,
/// `claim_equals`, `tenant_issuer`), once each: `["room"]`.
pub const BOUND_PARAMETERS_EXTENSION: &str = "x-scopegate-bound-parameters";
/// The operation extension listing the checks that are not scopes (claim checks, issuers, your
/// own predicates, step-up), each as its `Display` text; absent when there are none.
pub const CHECKS_EXTENSION: &str = "x-scopegate-checks";
/// The operation extension listing the step-up requirements (RFC 9470), each an object with
/// `acr_values` (an array) and `max_age` (seconds) when given; absent when there are none.
pub const STEP_UP_EXTENSION: &str = "x-scopegate-step-up";

/// The default name of the access-token security scheme.
pub const DEFAULT_TOKEN_SCHEME: &str = "access_token";
/// The default name of the DPoP security scheme.
pub const DEFAULT_DPOP_SCHEME: &str = "dpop";

/// One operation (path and method) declared with a requirement.
#[derive(Debug, Clone)]
pub struct SecuredOperation {
    path: String,
    method: Method,
    requirement: Requirement,
}

impl SecuredOperation {
    pub(super) fn new(path: String, method: Method, requirement: Requirement) -> Self {
        SecuredOperation {
            path,
            method,
            requirement,
        }
    }

    /// The path as OpenAPI writes it: the whole route (nests included), `{*rest}` as `{rest}`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The HTTP method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The requirement the router enforces on it.
    pub fn requirement(&self) -> &Requirement {
        &self.requirement
    }

    pub(super) fn nested_under(mut self, prefix: &str) -> Self {
        self.path = nested_path(prefix, &self.path);
        self
    }
}

/// The requirements a [`Documented`](super::Documented) router enforces, per operation, ready
/// to be written into an OpenAPI document with [`apply`](Self::apply).
#[derive(Debug, Clone, Default)]
pub struct RouteSecurity {
    operations: Vec<SecuredOperation>,
}

impl RouteSecurity {
    pub(super) fn new(operations: Vec<SecuredOperation>) -> Self {
        RouteSecurity { operations }
    }

    /// Every operation declared with a requirement, in declaration order.
    pub fn operations(&self) -> &[SecuredOperation] {
        &self.operations
    }

    /// Writes the schemes into `openapi`'s components and, on each recorded operation, its
    /// security requirements and `x-scopegate-*` extensions. Returns the operations `openapi`
    /// did not have: each is added with nothing but its security, so the document lists every
    /// operation the router protects; assert that the list is empty to keep your own operation
    /// docs complete.
    ///
    /// The schemes replace components of the same names; an operation's `security` is replaced
    /// (the router is what enforces it), its other fields and extensions are kept.
    pub fn apply<'a>(
        &'a self,
        schemes: &SecuritySchemes,
        openapi: &mut OpenApi,
    ) -> Vec<&'a SecuredOperation> {
        schemes.add_to(openapi.components.get_or_insert_with(Components::default));
        let mut added = Vec::new();
        for operation in &self.operations {
            let item = openapi
                .paths
                .paths
                .entry(operation.path.clone())
                .or_default();
            let Some(slot) = operation_slot(item, &operation.method) else {
                continue;
            };
            if slot.is_none() {
                added.push(operation);
            }
            let documented = slot.get_or_insert_with(Operation::new);
            documented.security = Some(schemes.requirements(&operation.requirement));
            documented
                .extensions
                .get_or_insert_with(Extensions::default)
                .merge(extensions(&operation.requirement));
        }
        added
    }
}

/// How clients present tokens: the security schemes written into the document's components.
///
/// ```
/// use scopegate::dpop::Dpop;
/// use scopegate::openapi::SecuritySchemes;
///
/// // `openIdConnect`, discovered at https://issuer.example.com/.well-known/openid-configuration,
/// // and the DPoP proof header, as the layer is configured:
/// let dpop = Dpop::accepted();
/// let schemes = SecuritySchemes::openid_connect("https://issuer.example.com/").dpop(&dpop);
///
/// // Without an issuer to name: `http` bearer, `bearerFormat: JWT`.
/// let schemes = SecuritySchemes::bearer_jwt();
/// ```
#[derive(Debug, Clone)]
pub struct SecuritySchemes {
    token: TokenScheme,
    token_name: String,
    dpop: Option<DpopScheme>,
    dpop_name: String,
}

#[derive(Debug, Clone)]
enum TokenScheme {
    /// The discovery document's URL.
    OpenIdConnect(String),
    BearerJwt,
}

#[derive(Debug, Clone)]
struct DpopScheme {
    required: bool,
    algorithms: Vec<&'static str>,
}

impl SecuritySchemes {
    /// An `openIdConnect` scheme whose URL is `{issuer}/.well-known/openid-configuration`,
    /// where the validator discovers the issuer's keys (a trailing `/` of `issuer` dropped).
    pub fn openid_connect(issuer: &str) -> Self {
        let base = issuer.strip_suffix('/').unwrap_or(issuer);
        SecuritySchemes::with(TokenScheme::OpenIdConnect(format!(
            "{base}/.well-known/openid-configuration"
        )))
    }

    /// An `http` scheme `bearer` with `bearerFormat: JWT`, for an issuer without discovery.
    pub fn bearer_jwt() -> Self {
        SecuritySchemes::with(TokenScheme::BearerJwt)
    }

    fn with(token: TokenScheme) -> Self {
        SecuritySchemes {
            token,
            token_name: DEFAULT_TOKEN_SCHEME.to_owned(),
            dpop: None,
            dpop_name: DEFAULT_DPOP_SCHEME.to_owned(),
        }
    }

    /// Documents DPoP as `dpop` configures it (pass the value given to
    /// [`AuthLayer::dpop`](crate::AuthLayer::dpop)): an `apiKey` scheme for the `DPoP` proof
    /// header, and each operation's security requirements gain the DPoP form (token and proof).
    /// With [`Dpop::required`] the bearer form is left out.
    ///
    /// OpenAPI's `http` scheme would name `DPoP` as the `Authorization` scheme, but utoipa's
    /// model knows only the registered schemes it lists, so the proof header is the scheme and
    /// its description (and the extension `x-scopegate-authorization-scheme: "DPoP"`) says that
    /// the token then goes in `Authorization: DPoP <token>`.
    pub fn dpop(mut self, dpop: &Dpop) -> Self {
        self.dpop = Some(DpopScheme {
            required: dpop.is_required(),
            algorithms: dpop.algorithm_names(),
        });
        self
    }

    /// Names the access-token scheme (default [`DEFAULT_TOKEN_SCHEME`]).
    pub fn token_scheme_name(mut self, name: &str) -> Self {
        name.clone_into(&mut self.token_name);
        self
    }

    /// Names the DPoP scheme (default [`DEFAULT_DPOP_SCHEME`]).
    pub fn dpop_scheme_name(mut self, name: &str) -> Self {
        name.clone_into(&mut self.dpop_name);
        self
    }

    fn add_to(&self, components: &mut Components) {
        let sent_as = match &self.dpop {
            None => "sent as `Authorization: Bearer <token>`.",
            Some(DpopScheme {
                required: false, ..
            }) => {
                "sent as `Authorization: Bearer <token>`, or bound to a key with DPoP \
                 (RFC 9449, see the DPoP scheme)."
            }
            Some(DpopScheme { required: true, .. }) => {
                "bound to a key with DPoP (RFC 9449, see the DPoP scheme); the Bearer scheme \
                 is refused."
            }
        };
        let scheme = match &self.token {
            TokenScheme::OpenIdConnect(url) => {
                SecurityScheme::OpenIdConnect(OpenIdConnect::with_description(
                    url.clone(),
                    format!("An access token (a JWT) from this OpenID provider, {sent_as}"),
                ))
            }
            TokenScheme::BearerJwt => SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(format!("An access token (a JWT), {sent_as}")))
                    .build(),
            ),
        };
        components.add_security_scheme(self.token_name.clone(), scheme);
        if let Some(dpop) = &self.dpop {
            let mut proof = ApiKeyValue::with_description(
                "DPoP".to_owned(),
                format!(
                    "A DPoP proof (RFC 9449) signed with {}, sent with the access token as \
                     `Authorization: DPoP <token>`.",
                    dpop.algorithms.join(", ")
                ),
            );
            proof.extensions = Some(Extensions::from_iter([
                ("x-scopegate-authorization-scheme", json!("DPoP")),
                ("x-scopegate-dpop-algorithms", json!(dpop.algorithms)),
            ]));
            components.add_security_scheme(
                self.dpop_name.clone(),
                SecurityScheme::ApiKey(ApiKey::Header(proof)),
            );
        }
    }

    /// One security requirement per scope alternative (and per token form with DPoP).
    fn requirements(&self, requirement: &Requirement) -> Vec<SecurityRequirement> {
        let alternatives = requirement
            .scope_alternatives()
            .filter(|alternatives| !alternatives.is_empty())
            .unwrap_or_else(|| vec![Vec::new()]);
        let mut requirements = Vec::new();
        for scopes in alternatives {
            let token = SecurityRequirement::new(self.token_name.clone(), scopes);
            match &self.dpop {
                None => requirements.push(token),
                Some(dpop) => {
                    if !dpop.required {
                        requirements.push(token.clone());
                    }
                    requirements.push(token.add(self.dpop_name.clone(), Vec::<String>::new()));
                }
            }
        }
        requirements
    }
}

/// The `x-scopegate-*` extensions of an operation with `requirement`.
fn extensions(requirement: &Requirement) -> Extensions {
    let mut parameters: Vec<&str> = Vec::new();
    for name in requirement.parameters() {
        if !parameters.contains(&name) {
            parameters.push(name);
        }
    }
    let mut extensions = vec![
        (REQUIREMENT_EXTENSION, json!(requirement.to_string())),
        (BOUND_PARAMETERS_EXTENSION, json!(parameters)),
    ];
    let checks = requirement.other_checks();
    if !checks.is_empty() {
        extensions.push((CHECKS_EXTENSION, json!(checks)));
    }
    let step_ups: Vec<Value> = requirement
        .step_ups()
        .into_iter()
        .map(|demand| {
            let mut object = serde_json::Map::new();
            if let Some(values) = demand.acr_values() {
                object.insert("acr_values".into(), json!(values));
            }
            if let Some(seconds) = demand.max_age() {
                object.insert("max_age".into(), json!(seconds));
            }
            Value::Object(object)
        })
        .collect();
    if !step_ups.is_empty() {
        extensions.push((STEP_UP_EXTENSION, Value::Array(step_ups)));
    }
    Extensions::from_iter(extensions)
}

/// The operation of `item` for `method`; `None` for a method OpenAPI has no field for.
fn operation_slot<'i>(
    item: &'i mut PathItem,
    method: &Method,
) -> Option<&'i mut Option<Operation>> {
    Some(match *method {
        Method::GET => &mut item.get,
        Method::POST => &mut item.post,
        Method::PUT => &mut item.put,
        Method::PATCH => &mut item.patch,
        Method::DELETE => &mut item.delete,
        Method::HEAD => &mut item.head,
        Method::OPTIONS => &mut item.options,
        Method::TRACE => &mut item.trace,
        _ => return None,
    })
}

/// An axum route path as OpenAPI writes it: `{*rest}` becomes `{rest}`.
pub(super) fn openapi_path(path: &str) -> String {
    path.replace("{*", "{")
}

/// The path of a route `path` nested under `prefix`, as axum forms it.
fn nested_path(prefix: &str, path: &str) -> String {
    if prefix.ends_with('/') {
        format!("{prefix}{}", path.trim_start_matches('/'))
    } else if path == "/" {
        prefix.to_owned()
    } else {
        format!("{prefix}{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(openapi_path("/files/{*path}"), "/files/{path}");
        assert_eq!(openapi_path("/rooms/{room}"), "/rooms/{room}");
        assert_eq!(nested_path("/rooms/{room}", "/"), "/rooms/{room}");
        assert_eq!(
            nested_path("/rooms/{room}", "/comments"),
            "/rooms/{room}/comments"
        );
        assert_eq!(nested_path("/rooms/", "/x"), "/rooms/x");
    }
}
