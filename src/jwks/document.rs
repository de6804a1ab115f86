//! Getting an issuer's documents: the status and size rules every fetch obeys, and OIDC
//! discovery of the JWKS URL.

use http::{StatusCode, Uri};

use super::fetch::{JwksFetcher, MAX_DOCUMENT_BYTES, check_url};
use crate::json::{self, Members};

/// GET `url`: status 200 only, at most [`MAX_DOCUMENT_BYTES`].
pub(crate) async fn get_document(
    fetcher: &dyn JwksFetcher,
    url: &Uri,
) -> Result<http::Response<Vec<u8>>, String> {
    let response = fetcher
        .get(url, MAX_DOCUMENT_BYTES)
        .await
        .map_err(|error| error.to_string())?;
    if response.status() != StatusCode::OK {
        return Err(format!(
            "GET {url}: status {}, expected 200",
            response.status()
        ));
    }
    if response.body().len() > MAX_DOCUMENT_BYTES {
        return Err(format!(
            "GET {url}: body is larger than {MAX_DOCUMENT_BYTES} bytes"
        ));
    }
    Ok(response)
}

/// OIDC Discovery §4: fetch the configuration, require the identical `issuer`, take `jwks_uri`.
pub(crate) async fn discover(
    fetcher: &dyn JwksFetcher,
    url: &Uri,
    issuer: &str,
) -> Result<Uri, String> {
    let response = get_document(fetcher, url).await?;
    let not_a_configuration =
        || format!("GET {url}: not an OpenID configuration with issuer and jwks_uri");
    let configuration =
        Members::parse(json::without_bom(response.body())).map_err(|_| not_a_configuration())?;
    let (Some(named), Some(jwks_uri)) = (
        configuration.get("issuer").parse::<String>(),
        configuration.get("jwks_uri").parse::<String>(),
    ) else {
        return Err(not_a_configuration());
    };
    if named != issuer {
        return Err(format!(
            "GET {url}: the document names issuer {named:?}, expected {issuer:?}"
        ));
    }
    check_url(&jwks_uri).map_err(|reason| format!("GET {url}: jwks_uri {reason}"))
}
