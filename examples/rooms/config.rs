//! The rooms API's configuration from the environment: the validator (a real issuer, or the
//! built-in dev issuer) and the layer's policy.

use scopegate::dpop::Dpop;
use scopegate::openapi::{RouteSecurity, SecuritySchemes};
use scopegate::testing::{TEST_AUDIENCE, TestIssuer};
use scopegate::{
    AuthLayer, ProblemJson, ResourceMetadata, ScopeSource, Validator, ValidatorBuilder,
};

use crate::{CUSTOM_SCOPES, Error};

/// The issuer the API trusts, its audience, and the dev issuer when none is configured.
pub(crate) struct Trust {
    pub(crate) validator: Validator,
    pub(crate) issuer: String,
    pub(crate) audience: String,
    pub(crate) dev: Option<TestIssuer>,
}

pub(crate) async fn trust() -> Result<Trust, Error> {
    let Ok(issuer) = std::env::var("SCOPEGATE_ISSUER") else {
        let dev = TestIssuer::start().await?;
        let builder = dev
            .validator()
            .scope_source(ScopeSource::claim(CUSTOM_SCOPES));
        return Ok(Trust {
            validator: with_token_limit(builder)?.build()?,
            issuer: dev.issuer().to_owned(),
            audience: TEST_AUDIENCE.to_owned(),
            dev: Some(dev),
        });
    };
    let audience = std::env::var("SCOPEGATE_AUDIENCE")
        .map_err(|_| "SCOPEGATE_AUDIENCE is required when SCOPEGATE_ISSUER is set")?;
    let mut builder = Validator::builder(issuer.clone())
        .audience(audience.clone())
        .scope_source(ScopeSource::claim(CUSTOM_SCOPES));
    if let Ok(jwks_url) = std::env::var("SCOPEGATE_JWKS_URL") {
        builder = builder.jwks_url(jwks_url);
    }
    Ok(Trust {
        validator: with_token_limit(builder)?.build()?,
        issuer,
        audience,
        dev: None,
    })
}

/// `SCOPEGATE_MAX_TOKEN_BYTES` raises the 8 KiB cap, for issuers whose tokens carry many
/// groups (Entra ID tokens with 200 groups run to about 12 KB).
fn with_token_limit(builder: ValidatorBuilder) -> Result<ValidatorBuilder, Error> {
    Ok(match std::env::var("SCOPEGATE_MAX_TOKEN_BYTES") {
        Ok(bytes) => builder.max_token_bytes(bytes.parse()?),
        Err(_) => builder,
    })
}

/// DPoP as `SCOPEGATE_DPOP` asks: unset (bearer tokens only), `on` (both) or `required`.
pub(crate) fn dpop_mode() -> Result<Option<Dpop>, Error> {
    match std::env::var("SCOPEGATE_DPOP").as_deref() {
        Err(_) | Ok("") => Ok(None),
        Ok("on") => Ok(Some(Dpop::accepted())),
        Ok("required") => Ok(Some(Dpop::required())),
        Ok(_) => Err("SCOPEGATE_DPOP must be `on` or `required`".into()),
    }
}

/// Every refusal, the layer's and the requirements', as RFC 9457 problem details; the public
/// origin for DPoP proofs and the RFC 9728 metadata; `SCOPEGATE_TOKEN_CACHE_BYTES` sizes the
/// verified-token cache (0: off, for the load script's every-token-new case).
pub(crate) fn auth_layer(trust: &Trust, public_url: &str) -> Result<AuthLayer<ProblemJson>, Error> {
    let mut layer = AuthLayer::new(trust.validator.clone())
        .on_rejection(ProblemJson)
        .public_origin(public_url)?;
    if let Some(dpop) = dpop_mode()? {
        layer = layer.dpop(dpop)?;
    }
    // The resource is the audience; an audience that is not a URL (`api://...`) cannot name
    // metadata, so the API then runs without it.
    match ResourceMetadata::new(&trust.audience) {
        Ok(metadata) => {
            let metadata = metadata
                .authorization_servers([trust.issuer.as_str()])?
                // The one scope not bound to a path value.
                .scopes_supported(["read:invoices"])?
                .bearer_methods_supported(["header"])?
                .resource_name("rooms");
            layer = layer.resource_metadata(metadata)?;
        }
        Err(error) => tracing::warn!(%error, "no protected-resource metadata"),
    }
    Ok(match std::env::var("SCOPEGATE_TOKEN_CACHE_BYTES") {
        Ok(bytes) => layer.verified_token_cache(bytes.parse()?),
        Err(_) => layer,
    })
}

/// The OpenAPI document: the security of every route as declared, with the DPoP scheme when
/// `SCOPEGATE_DPOP` turns it on.
pub(crate) fn openapi(trust: &Trust, security: &RouteSecurity) -> Result<serde_json::Value, Error> {
    use utoipa::openapi::{Info, OpenApi, Paths};
    let mut schemes = SecuritySchemes::openid_connect(&trust.issuer);
    if let Some(dpop) = dpop_mode()? {
        schemes = schemes.dpop(&dpop);
    }
    let mut openapi = OpenApi::new(Info::new("rooms", env!("CARGO_PKG_VERSION")), Paths::new());
    security.apply(&schemes, &mut openapi);
    Ok(serde_json::to_value(&openapi)?)
}
