//! Replays the committed fuzzing inputs on the stable toolchain: every file of
//! `fuzz/corpus/<target>/` (the seeds) and `fuzz/regressions/<target>/` (minimized crashes and
//! timeouts, once fixed) goes through the same `scopegate::fuzzing` function as the cargo-fuzz
//! target of that name. A panic fails the test, and so does a target without any seed.
#![cfg(feature = "fuzzing")]

use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The longest one input may take here (debug build): a regression that was a libFuzzer
/// timeout must stay well under it.
const SLOW_INPUT: Duration = Duration::from_secs(10);

/// The files of `dir`, sorted; none when it does not exist.
fn inputs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("a readable directory entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

fn replay(target: &str, run: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let seeds = inputs(&root.join("corpus").join(target));
    assert!(
        !seeds.is_empty(),
        "fuzz/corpus/{target}/ is missing or empty: nothing would be replayed"
    );
    let regressions = inputs(&root.join("regressions").join(target));
    let mut failed = Vec::new();
    for path in seeds.iter().chain(&regressions) {
        let data = fs::read(path).expect("a readable input");
        let started = Instant::now();
        if panic::catch_unwind(AssertUnwindSafe(|| run(&data))).is_err() {
            failed.push(format!("{} panicked", path.display()));
        }
        let took = started.elapsed();
        if took > SLOW_INPUT {
            failed.push(format!("{} took {took:?}", path.display()));
        }
    }
    assert!(failed.is_empty(), "{target}: {failed:#?}");
}

#[test]
fn authorization_header() {
    replay(
        "authorization_header",
        scopegate::fuzzing::authorization_header,
    );
}

#[test]
fn compact_token() {
    replay("compact_token", scopegate::fuzzing::compact_token);
}

#[test]
fn jwks_document() {
    replay("jwks_document", scopegate::fuzzing::jwks_document);
}

#[test]
fn scope_template() {
    replay("scope_template", scopegate::fuzzing::scope_template);
}

#[test]
fn role_policy() {
    replay("role_policy", scopegate::fuzzing::role_policy);
}

#[test]
fn dpop_proof() {
    replay("dpop_proof", scopegate::fuzzing::dpop_proof);
}

#[test]
fn claims() {
    replay("claims", scopegate::fuzzing::claims);
}

/// Every cargo-fuzz target, and every directory in `fuzz/corpus/` and `fuzz/regressions/`, has
/// a test above.
#[test]
fn every_target_is_replayed() {
    let known = [
        "authorization_header",
        "compact_token",
        "jwks_document",
        "scope_template",
        "role_policy",
        "dpop_proof",
        "claims",
    ];
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for path in inputs(&root.join("fuzz_targets")) {
        let name = path
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned());
        assert!(
            name.as_deref().is_some_and(|name| known.contains(&name)),
            "the fuzz target {} has no replay test in tests/suite/fuzz_corpora.rs",
            path.display()
        );
    }
    for kind in ["corpus", "regressions"] {
        let Ok(entries) = fs::read_dir(root.join(kind)) else {
            continue;
        };
        for entry in entries {
            let entry = entry.expect("a readable directory entry");
            let name = entry.file_name();
            let name = name.to_string_lossy();
            assert!(
                known.contains(&&*name),
                "fuzz/{kind}/{name} has no replay test in tests/suite/fuzz_corpora.rs"
            );
        }
    }
}
