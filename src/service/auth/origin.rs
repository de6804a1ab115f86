//! What depends on the origin clients reach the API under: DPoP proofs (RFC 9449), whose
//! `htu` names it, and the protected-resource metadata (RFC 9728), served on it.

use std::sync::Arc;

use super::binding::BearerRules;
use super::layer::{AuthLayer, LayerState};
use super::metadata::ServedMetadata;
use crate::dpop::{Dpop, DpopPolicy, Origin};
use crate::error::ConfigError;
use crate::metadata::ResourceMetadata;
use crate::syntax::is_quoted_safe;

impl<R: Clone> AuthLayer<R> {
    /// The origin clients reach the API under (`https://rooms.example`): DPoP proofs name
    /// their request URI on it, and the resource metadata URL is formed on it. The `Host`
    /// header is never trusted for either.
    pub fn public_origin(self, origin: &str) -> Result<Self, ConfigError> {
        let origin = Origin::parse(origin)?;
        Ok(self.edit(|state| {
            state.public_origin = Some(origin.clone());
            if let Some(dpop) = &state.dpop {
                let config = dpop.config.clone();
                state.dpop = Some(Arc::new(DpopPolicy::new(
                    config,
                    origin,
                    state.issuers.clock(),
                )));
            }
            state.refresh_metadata();
        }))
    }

    /// Accepts DPoP-bound tokens (RFC 9449) as [`Dpop`] configures: both schemes, or DPoP
    /// only. Needs [`public_origin`](Self::public_origin) first: a proof's `htu` is checked
    /// against it.
    ///
    /// | request | response |
    /// |---|---|
    /// | `DPoP` token bound to the proof's key, valid proof | let through |
    /// | two `DPoP` headers | 400 `invalid_request` |
    /// | no proof, or any fault in it (including a replay) | 401 `DPoP error="invalid_dpop_proof"` |
    /// | `DPoP` token without `cnf.jkt` | 401 `invalid_token` |
    /// | `Bearer` when DPoP is required | 401, bare `DPoP` challenge |
    /// | replay store unavailable | 503, never let through |
    pub fn dpop(self, dpop: Dpop) -> Result<Self, ConfigError> {
        let Some(origin) = self.state.public_origin.clone() else {
            return Err(ConfigError::new(
                "DPoP needs the API's public origin: call AuthLayer::public_origin first",
            ));
        };
        Ok(self.edit(|state| {
            let challenges = Arc::make_mut(&mut state.challenges);
            challenges.bearer = !dpop.is_required();
            challenges.dpop_algs = Some(dpop.algorithm_names().join(" ").into());
            state.dpop = Some(Arc::new(DpopPolicy::new(
                dpop,
                origin,
                state.issuers.clock(),
            )));
            state.refresh_metadata();
        }))
    }

    /// Publishes protected-resource metadata (RFC 9728) and names it in every challenge
    /// (`resource_metadata="<public origin>/.well-known/oauth-protected-resource..."`, §5.1).
    /// Needs [`public_origin`](Self::public_origin) first.
    ///
    /// The layer answers `GET` and `HEAD` of the well-known path (see
    /// [`ResourceMetadata::well_known_path`]) itself, before any authentication, when the
    /// wrapped service's body is axum's `Body` or a `String`; with DPoP on, the document names
    /// its algorithms and whether DPoP is required. Other services (tonic) serve
    /// [`resource_metadata_document`](Self::resource_metadata_document) themselves.
    ///
    /// ```
    /// use scopegate::{AuthLayer, ResourceMetadata, Validator};
    ///
    /// # fn run(validator: Validator) -> Result<(), scopegate::ConfigError> {
    /// let metadata = ResourceMetadata::new("https://rooms.example/api")?
    ///     .authorization_servers(["https://issuer.example.com"])?
    ///     .scopes_supported(["read:rooms"])?;
    /// let layer = AuthLayer::new(validator)
    ///     .public_origin("https://rooms.example")?
    ///     .resource_metadata(metadata)?;
    /// // Served at https://rooms.example/.well-known/oauth-protected-resource/api
    /// # Ok(()) }
    /// ```
    pub fn resource_metadata(self, metadata: ResourceMetadata) -> Result<Self, ConfigError> {
        let Some(origin) = &self.state.public_origin else {
            return Err(ConfigError::new(
                "resource metadata needs the API's public origin: call AuthLayer::public_origin first",
            ));
        };
        if !metadata
            .metadata_url(origin.as_str())
            .bytes()
            .all(is_quoted_safe)
        {
            return Err(ConfigError::new(
                "the resource metadata URL must be printable ASCII without quotes or backslashes",
            ));
        }
        Ok(self.edit(|state| {
            state.metadata = Some(metadata);
            state.refresh_metadata();
        }))
    }

    /// The metadata document as the layer serves it, for services that serve it themselves.
    pub fn resource_metadata_document(&self) -> Option<&str> {
        self.state
            .served_metadata
            .as_deref()
            .map(ServedMetadata::document)
    }

    /// Lets tokens bound to a key (`cnf`, RFC 7800) through with the `Bearer` scheme, without
    /// checking the binding. Off by default: such a token is refused (401 `invalid_token`),
    /// since whoever holds it could use it. Turn it on only where something else checks the
    /// binding, such as a proxy that verifies the mTLS client certificate (RFC 8705). While
    /// [`dpop`](Self::dpop) is on, a DPoP-bound token (`cnf.jkt`) still needs its proof.
    pub fn bound_tokens_as_bearer(self, accept: bool) -> Self {
        self.edit(|state| state.bound_as_bearer = accept)
    }
}

impl<R> LayerState<R> {
    /// What a valid token sent with the `Bearer` scheme meets.
    pub(crate) fn bearer_rules(&self) -> BearerRules {
        BearerRules {
            refused: self
                .dpop
                .as_ref()
                .is_some_and(|dpop| dpop.config.is_required()),
            bound_as_bearer: self.bound_as_bearer,
            dpop: self.dpop.is_some(),
        }
    }

    /// The served document and the challenges' URL follow the metadata, origin and DPoP mode.
    fn refresh_metadata(&mut self) {
        let (Some(metadata), Some(origin)) = (&self.metadata, &self.public_origin) else {
            return;
        };
        self.served_metadata = Some(Arc::new(ServedMetadata::new(
            metadata,
            self.dpop.as_deref(),
        )));
        Arc::make_mut(&mut self.challenges).resource_metadata =
            Some(metadata.metadata_url(origin.as_str()).into());
    }
}
