//! Sender-constrained tokens: DPoP proofs (RFC 9449) and the replay store that makes each proof
//! usable once.

mod replay;

pub use replay::{ReplayStore, ReplayStoreError};
