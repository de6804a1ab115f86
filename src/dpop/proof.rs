//! Checking a DPoP proof (RFC 9449 §4.3) against the request and the token it accompanies.

use jsonwebtoken::Algorithm;
use serde_json::Value;

use super::config::Dpop;
use super::digest::sha256_base64url;
use super::htu::{Origin, htu_matches};
use crate::error::ErrorKind;
use crate::jose::{self, parse_algorithm};
use crate::json::{Member, Members};
use crate::validate::claims::{Rounding, numeric_date};
use crate::validate::verify_signature;

/// The longest `jti` accepted, in bytes: ids are random values, not documents.
const MAX_JTI_BYTES: usize = 256;

/// What a proof is checked against.
#[derive(Debug)]
pub(crate) struct ProofRequest<'a> {
    /// The request method, as `htm` must spell it.
    pub(crate) method: &'a str,
    /// The request target as received (the query is ignored).
    pub(crate) path: &'a str,
    /// The origin clients reach the API under.
    pub(crate) origin: &'a Origin,
    /// The access token sent with the proof, for `ath`.
    pub(crate) access_token: &'a str,
    /// The thumbprint the token is bound to (`cnf.jkt`).
    pub(crate) bound_to: &'a str,
    /// Seconds since the epoch.
    pub(crate) now: i64,
}

/// A proof that passed every check but the replay check: the key under which its use is
/// recorded, `base64url(SHA-256(jkt "." jti))`, so stores never hold request text.
#[derive(Debug)]
pub(crate) struct CheckedProof {
    pub(crate) replay_key: String,
    /// The proof's `iat`: it is acceptable until `iat + window`.
    pub(crate) issued_at: i64,
}

/// Checks `proof` per RFC 9449 §4.3, in order: JWS syntax, `typ`, `alg`, the embedded `jwk`,
/// the signature, the claims' presence and types, `htm`, `htu`, `iat`, `ath`, and the key
/// binding. The caller records the replay key last.
pub(crate) fn check_proof(
    proof: &str,
    dpop: &Dpop,
    request: &ProofRequest<'_>,
    max_proof_bytes: usize,
) -> Result<CheckedProof, ErrorKind> {
    let parts = jose::decode_parts(proof.as_bytes(), max_proof_bytes)
        .map_err(|_| ErrorKind::MalformedDpopProof)?;
    let header = Members::parse(&parts.header).map_err(|_| ErrorKind::MalformedDpopProof)?;
    if header.has_repeated_names() {
        return Err(ErrorKind::MalformedDpopProof);
    }
    if !header
        .get("typ")
        .text()
        .is_some_and(|typ| jose::typ_is(&typ, "dpop+jwt"))
    {
        return Err(ErrorKind::MalformedDpopProof);
    }
    // No extension is understood (RFC 7515 §4.1.11).
    if !matches!(header.get("crit"), Member::Absent) {
        return Err(ErrorKind::MalformedDpopProof);
    }
    let algorithm = header
        .get("alg")
        .text()
        .and_then(|name| parse_algorithm(&name))
        .filter(|algorithm| dpop.algorithms.contains(*algorithm))
        .ok_or(ErrorKind::DpopAlgorithmNotAllowed)?;
    let (key, thumbprint_input) = embedded_key(header.get("jwk"), algorithm)?;

    let signing_input = proof
        .as_bytes()
        .get(..parts.signing_input_len)
        .ok_or(ErrorKind::MalformedDpopProof)?;
    verify_signature(algorithm, &key, signing_input, &parts.signature).map_err(
        |kind| match kind {
            ErrorKind::InvalidSignature => ErrorKind::InvalidDpopSignature,
            _ => ErrorKind::InvalidDpopKey,
        },
    )?;

    let claims = ProofClaims::read(&parts.payload)?;
    if claims.htm != request.method {
        return Err(ErrorKind::DpopMethodMismatch);
    }
    if !htu_matches(&claims.htu, request.origin, request.path) {
        return Err(ErrorKind::DpopUriMismatch);
    }
    let window = i64::try_from(dpop.proof_window.as_secs()).unwrap_or(i64::MAX);
    if claims.iat.abs_diff(request.now) > window.unsigned_abs() {
        return Err(ErrorKind::DpopProofExpired);
    }
    if claims.ath != sha256_base64url(request.access_token.as_bytes()) {
        return Err(ErrorKind::DpopTokenHashMismatch);
    }
    let thumbprint = sha256_base64url(thumbprint_input.as_bytes());
    if thumbprint != request.bound_to {
        return Err(ErrorKind::DpopKeyMismatch);
    }
    let replay_key = sha256_base64url(format!("{thumbprint}.{}", claims.jti).as_bytes());
    Ok(CheckedProof {
        replay_key,
        issued_at: claims.iat,
    })
}

/// The header's `jwk`: one strict object, a public key for `algorithm`.
fn embedded_key(
    member: Member<'_>,
    algorithm: Algorithm,
) -> Result<(jose::VerifyingKey, String), ErrorKind> {
    let Member::Present(raw) = member else {
        return Err(ErrorKind::InvalidDpopKey);
    };
    let members = Members::parse(raw.as_bytes()).map_err(|_| ErrorKind::InvalidDpopKey)?;
    if members.has_repeated_names() {
        return Err(ErrorKind::InvalidDpopKey);
    }
    let jwk: Value = serde_json::from_str(raw).map_err(|_| ErrorKind::InvalidDpopKey)?;
    jose::embedded_key(&jwk, algorithm).map_err(|_| ErrorKind::InvalidDpopKey)
}

/// The claims a proof must carry (RFC 9449 §4.2), each present once with its type.
pub(crate) struct ProofClaims {
    jti: String,
    htm: String,
    htu: String,
    iat: i64,
    ath: String,
}

impl ProofClaims {
    pub(crate) fn read(payload: &[u8]) -> Result<Self, ErrorKind> {
        let claims = Members::parse(payload).map_err(|_| ErrorKind::MalformedDpopProof)?;
        if claims.has_repeated_names() {
            return Err(ErrorKind::MalformedDpopProof);
        }
        let text = |name| {
            claims
                .get(name)
                .text()
                .map(|text| text.into_owned())
                .filter(|text| !text.is_empty())
                .ok_or(ErrorKind::MalformedDpopProof)
        };
        let jti = text("jti")?;
        if jti.len() > MAX_JTI_BYTES {
            return Err(ErrorKind::MalformedDpopProof);
        }
        // A NumericDate; a fraction counts as the second it lies in.
        let iat = numeric_date(&claims.get("iat").parse::<Value>(), Rounding::Down)
            .ok_or(ErrorKind::MalformedDpopProof)?;
        Ok(ProofClaims {
            jti,
            htm: text("htm")?,
            htu: text("htu")?,
            iat,
            ath: text("ath")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::Members;

    /// RFC 9449 §4.2's example proof (for a token request, so without `ath`) and §6.1's
    /// thumbprint of its key: the header's `jwk` hashes to that `jkt`. The signature segment
    /// here is a stand-in (the RFC's is not reproduced), so it must not verify.
    #[test]
    fn rfc_9449_example_proof_and_thumbprint() {
        let proof = concat!(
            "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6Ik",
            "VDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCR",
            "nMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JE",
            "QSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIj",
            "oiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwia",
            "WF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg",
            "4PtFLbdLXiOSsX0x7NQY-P5hdr3WpqI-ZV7y7bx6g"
        );
        let parts = jose::decode_parts(proof.as_bytes(), 8192).unwrap();
        let header = Members::parse(&parts.header).unwrap();
        let (key, input) = embedded_key(header.get("jwk"), Algorithm::ES256).unwrap();
        assert_eq!(
            sha256_base64url(input.as_bytes()),
            "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
        );
        let signing_input = &proof.as_bytes()[..parts.signing_input_len];
        assert_eq!(
            verify_signature(Algorithm::ES256, &key, signing_input, &parts.signature),
            Err(ErrorKind::InvalidSignature)
        );
        // A resource server needs `ath`: the example, made for the token endpoint, lacks it.
        assert!(matches!(
            ProofClaims::read(&parts.payload),
            Err(ErrorKind::MalformedDpopProof)
        ));
    }
}
