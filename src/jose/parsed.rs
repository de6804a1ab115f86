//! Verification keys parsed once, when the key set is loaded (aws-lc-rs backend): a request then
//! verifies with the parsed key instead of parsing the key material again.

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};
use jsonwebtoken::Algorithm;

use super::jwk::Material;

/// `material` parsed for `algorithm`, its only algorithm. `None` when aws-lc-rs refuses it: the
/// key then verifies through jsonwebtoken, which refuses it in turn.
pub(crate) fn parse(material: &Material, algorithm: Algorithm) -> Option<ParsedPublicKey> {
    let parsed = match (material, algorithm) {
        (Material::Rsa { n, e }, _) => {
            let params = match algorithm {
                Algorithm::RS256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                Algorithm::RS384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                Algorithm::RS512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                Algorithm::PS256 => &signature::RSA_PSS_2048_8192_SHA256,
                Algorithm::PS384 => &signature::RSA_PSS_2048_8192_SHA384,
                Algorithm::PS512 => &signature::RSA_PSS_2048_8192_SHA512,
                _ => return None,
            };
            RsaPublicKeyComponents { n, e }.to_parsed_public_key(params)
        }
        (Material::Ec(point), Algorithm::ES256) => {
            ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
        }
        (Material::Ec(point), Algorithm::ES384) => {
            ParsedPublicKey::new(&signature::ECDSA_P384_SHA384_FIXED, point)
        }
        (Material::Ed25519(x), Algorithm::EdDSA) => ParsedPublicKey::new(&signature::ED25519, x),
        _ => return None,
    };
    parsed.ok()
}
