//! JOSE parsing: algorithm names, the compact JWS, and JWK Set documents. Nothing here decides
//! whether a token is accepted; it refuses what is malformed and describes the rest.

mod algorithm;
pub(crate) mod base64url;
mod compact;
mod jwk;
mod material;

pub(crate) use algorithm::{AlgorithmSet, algorithm_name, parse_algorithm};
pub(crate) use compact::{
    CompactToken, TokenType, decode_parts, parse, typ_is, unverified_payload,
};
pub(crate) use jwk::{KeyRules, KeySet, Lookup, VerifyingKey, embedded_key};
