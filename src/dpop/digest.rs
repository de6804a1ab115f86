//! SHA-256 in base64url, for `ath` (RFC 9449 §4.2) and JWK thumbprints (RFC 7638), with the
//! crate's signature backend.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// `base64url(SHA-256(data))`, without padding: 43 characters.
pub(crate) fn sha256_base64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(sha256(data))
}

#[cfg(feature = "aws-lc-rs")]
fn sha256(data: &[u8]) -> impl AsRef<[u8]> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data)
}

#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
fn sha256(data: &[u8]) -> impl AsRef<[u8]> {
    use sha2::Digest as _;
    sha2::Sha256::digest(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7638 §3.1: the thumbprint of the RFC's example RSA key.
    #[test]
    fn rfc_7638_example_thumbprint() {
        let input = concat!(
            r#"{"e":"AQAB","kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAt"#,
            r#"VT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_R"#,
            r#"N5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbI"#,
            r#"SD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJz"#,
            r#"KnqDKgw"}"#
        );
        assert_eq!(
            sha256_base64url(input.as_bytes()),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    /// RFC 9449 §7.1: `ath` of the RFC's example access token.
    #[test]
    fn rfc_9449_example_access_token_hash() {
        assert_eq!(
            sha256_base64url(b"Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }
}
