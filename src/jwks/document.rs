//! Getting an issuer's documents: the status and size rules every fetch obeys, and OIDC
//! discovery of the JWKS URL.

use http::{StatusCode, Uri};

use super::failure::{FetchError, FetchErrorKind};
use super::fetch::{JwksFetcher, MAX_DOCUMENT_BYTES, check_url};
use crate::json::{self, Members};

/// The longest discovered `issuer` quoted in an error; a longer one is only measured.
const MAX_QUOTED_ISSUER: usize = 256;

/// GET `url`: status 200 only, at most [`MAX_DOCUMENT_BYTES`].
pub(crate) async fn get_document(
    fetcher: &dyn JwksFetcher,
    url: &Uri,
) -> Result<http::Response<Vec<u8>>, FetchError> {
    let response = fetcher.get(url, MAX_DOCUMENT_BYTES).await?;
    if response.status() != StatusCode::OK {
        return Err(FetchError::with_kind(
            FetchErrorKind::Status,
            format!("GET {url}: status {}, expected 200", response.status()),
        ));
    }
    if response.body().len() > MAX_DOCUMENT_BYTES {
        return Err(FetchError::with_kind(
            FetchErrorKind::TooLarge,
            format!("GET {url}: body is larger than {MAX_DOCUMENT_BYTES} bytes"),
        ));
    }
    Ok(response)
}

/// OIDC Discovery §4: fetch the configuration, require the identical `issuer`, take `jwks_uri`.
pub(crate) async fn discover(
    fetcher: &dyn JwksFetcher,
    url: &Uri,
    issuer: &str,
) -> Result<Uri, FetchError> {
    let response = get_document(fetcher, url).await?;
    let invalid = |reason: String| FetchError::with_kind(FetchErrorKind::InvalidDocument, reason);
    let not_a_configuration = || {
        invalid(format!(
            "GET {url}: not an OpenID configuration with issuer and jwks_uri"
        ))
    };
    let configuration =
        Members::parse(json::without_bom(response.body())).map_err(|_| not_a_configuration())?;
    let (Some(named), Some(jwks_uri)) = (
        configuration.get("issuer").parse::<String>(),
        configuration.get("jwks_uri").parse::<String>(),
    ) else {
        return Err(not_a_configuration());
    };
    if named != issuer {
        // The issuer's own answer, not request content; still bounded in the log.
        let named = if named.len() <= MAX_QUOTED_ISSUER {
            format!("{named:?}")
        } else {
            format!("an issuer of {} bytes", named.len())
        };
        return Err(FetchError::with_kind(
            FetchErrorKind::IssuerMismatch,
            format!("GET {url}: the document names {named}, expected {issuer:?}"),
        ));
    }
    check_url(&jwks_uri).map_err(|reason| invalid(format!("GET {url}: jwks_uri {reason}")))
}
