//! A JWK's public key material: compared across key set refreshes, and (aws-lc-rs backend)
//! parsed once when the key set is loaded, so a request verifies with the parsed key instead of
//! parsing the material again.

#[cfg(feature = "aws-lc-rs")]
use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};
#[cfg(feature = "aws-lc-rs")]
use jsonwebtoken::Algorithm;

/// A JWK's public key material, as the member gave it.
pub(crate) enum Material {
    /// Modulus and exponent, big-endian, without leading zeros.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// The uncompressed point `04 || x || y`.
    Ec(Vec<u8>),
    /// The 32 bytes of an Ed25519 public key.
    Ed25519(Vec<u8>),
}

impl Material {
    /// The material as one byte string, its kind first, so different kinds never compare equal.
    pub(crate) fn bytes(&self) -> Box<[u8]> {
        match self {
            Material::Rsa { n, e } => [&[b'R'][..], &(n.len() as u32).to_be_bytes(), n, e]
                .concat()
                .into(),
            Material::Ec(point) => [&[b'E'][..], point].concat().into(),
            Material::Ed25519(x) => [&[b'O'][..], x].concat().into(),
        }
    }
}

#[cfg(feature = "aws-lc-rs")]
impl Material {
    /// The material parsed for `algorithm`, its only algorithm. `None` when aws-lc-rs refuses
    /// it: the key then verifies through jsonwebtoken, which refuses it in turn.
    pub(crate) fn parse(&self, algorithm: Algorithm) -> Option<ParsedPublicKey> {
        parse(self, algorithm)
    }
}

#[cfg(feature = "aws-lc-rs")]
fn parse(material: &Material, algorithm: Algorithm) -> Option<ParsedPublicKey> {
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
