//! scopegate's integration tests, as one test binary.
//!
//! One binary instead of one per file: every test binary links all of the crate's dependencies,
//! so thirty of them took most of a build's disk and link time. Each module here is one topic;
//! run one with `cargo test --test suite <module>::`.

mod common;
#[cfg(feature = "redis")]
mod redis_server;

mod attribute;
mod claim_checks;
mod cognito;
mod dpop;
mod fetch_failures;
mod fuzz_corpora;
mod interop;
mod issuers;
mod key_lifecycle;
mod key_selection;
mod key_status;
mod metrics;
mod no_panic;
mod openapi;
mod policies;
mod providers;
mod rendering;
mod replay_store;
mod resolver_cache;
mod resource_metadata;
mod router_shapes;
mod scopes;
mod security;
mod smoke;
mod step_up;
mod strict_json;
mod tenant_issuers;
mod tenants;
mod testing_helpers;
mod token_sources;
mod tower_service;
