//! The dev guide the rooms example prints: its tokens, then a curl command per case with the
//! status it answers (`.ci/check-rooms-example` runs every one).

use std::time::{SystemTime, UNIX_EPOCH};

use scopegate::Algorithm;
use scopegate::dpop::Dpop;
use scopegate::testing::{DpopKey, TestIssuer};
use serde_json::json;

use crate::{CUSTOM_SCOPES, Error, MFA, SETTINGS_MAX_AGE};

/// For `bench/http.sh`: 2000 distinct tokens that may read room_1's comments, one per line.
pub(crate) fn write_load_tokens(dev: &TestIssuer, path: &str) -> Result<(), Error> {
    let tokens: Vec<String> = (0..2000)
        .map(|n| {
            dev.token()
                .subject(&format!("load-{n}"))
                .claim(CUSTOM_SCOPES, json!(["read:comments-in-room_1"]))
                .expires_in(60 * 60)
                .sign()
        })
        .collect();
    std::fs::write(path, tokens.join("\n") + "\n")?;
    Ok(())
}

/// Prints each token once as a shell `export` line, then one curl command per route with the
/// status it answers: `  # METHOD -> STATUS ...` over `  curl -i ...` (CI runs every one).
/// `base` is the public URL DPoP proofs name.
pub(crate) fn print(dev: &TestIssuer, base: &str, dpop: Option<&Dpop>) {
    let hour = 60 * 60;
    // Alice may read and add in room_1 (in the custom claim, as seed 002's Action does), and
    // delete there through `scope`. She is Admin of org-a only (seed 000's Organizations).
    let alice = dev
        .token()
        .subject("alice")
        .scope("delete:comments-in-room_1 read:invoices")
        .claim(
            CUSTOM_SCOPES,
            json!(["read:comments-in-room_1", "add:comments-in-room_1"]),
        )
        .claim("org_id", "org-a")
        .expires_in(hour)
        .sign();
    let expired = dev.token().subject("alice").expires_in(-hour).sign();
    // Bob administers room_1. He signed in with a second factor just now ($BOB_MFA), without
    // one (no `acr`, $BOB_NO_MFA), or with one an hour ago ($BOB_STALE).
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    let bob = |acr: Option<&str>, authenticated_at: u64| {
        let token = dev
            .token()
            .subject("bob")
            .scope("admin:rooms-in-room_1")
            .claim("auth_time", authenticated_at)
            .expires_in(hour);
        match acr {
            Some(acr) => token.claim("acr", acr),
            None => token,
        }
        .sign()
    };
    let bob_mfa = bob(Some(MFA), now);
    let bob_no_mfa = bob(None, now);
    let bob_stale = bob(Some(MFA), now.saturating_sub(hour as u64));

    println!();
    println!(
        "Built-in dev issuer: {} (tokens valid for one hour)",
        dev.issuer()
    );
    println!(
        "$ALICE grants read/add/delete comments in room_1 and read:invoices for org-a; $EXPIRED expired an hour ago."
    );
    println!(
        "$BOB_MFA administers room_1 and used MFA just now (fresh for {} s); $BOB_NO_MFA signed in without it; $BOB_STALE used MFA an hour ago.",
        SETTINGS_MAX_AGE.as_secs()
    );
    println!("Refusals are application/problem+json. Paste the export lines into a shell first:");
    println!();
    println!("  export ALICE={alice}");
    println!("  export EXPIRED={expired}");
    println!("  export BOB_MFA={bob_mfa}");
    println!("  export BOB_NO_MFA={bob_no_mfa}");
    println!("  export BOB_STALE={bob_stale}");
    // Carol's token is bound to her DPoP key (`cnf.jkt`): without a proof of that key it is
    // refused, even as a bearer token. One proof, for one request to GET /me.
    let carol_key = DpopKey::generate(Algorithm::ES256);
    if let Ok(key) = &carol_key {
        let carol = dev
            .token()
            .subject("carol")
            .scope("read:comments-in-room_1")
            .bound_to(key)
            .expires_in(hour)
            .sign();
        println!("  export CAROL={carol}");
        if dpop.is_some() {
            let proof = key
                .proof("GET", &format!("{base}/me"))
                .access_token(&carol)
                .sign();
            println!("  export CAROL_PROOF={proof}");
        }
    }
    println!();

    let bearer = |variable: &str| format!("-H \"authorization: Bearer ${variable}\" ");
    let metadata = format!("{base}/.well-known/oauth-protected-resource");
    let mut examples = vec![
        ("GET", "/health", String::new(), "200".to_owned()),
        (
            "GET",
            "/.well-known/oauth-protected-resource",
            String::new(),
            "200 protected-resource metadata (RFC 9728)".to_owned(),
        ),
        (
            "GET",
            "/me",
            String::new(),
            format!(r#"401 no credentials resource_metadata="{metadata}""#),
        ),
        ("GET", "/me", bearer("ALICE"), "200 sub and scopes".to_owned()),
        ("GET", "/rooms/room_1/comments", bearer("ALICE"), "200".to_owned()),
        ("POST", "/rooms/room_1/comments", bearer("ALICE"), "201".to_owned()),
        ("DELETE", "/rooms/room_1/comments/7", bearer("ALICE"), "204".to_owned()),
        (
            "POST",
            "/rooms/room_2/comments",
            bearer("ALICE"),
            "403 scope=add:comments-in-room_2".to_owned(),
        ),
        ("GET", "/orgs/org-a/invoices", bearer("ALICE"), "200".to_owned()),
        (
            "GET",
            "/orgs/org-b/invoices",
            bearer("ALICE"),
            "403 org_id is org-a (no scope= named)".to_owned(),
        ),
        ("PUT", "/rooms/room_1/settings", bearer("BOB_MFA"), "204".to_owned()),
        (
            "PUT",
            "/rooms/room_1/settings",
            bearer("BOB_NO_MFA"),
            r#"401 error="insufficient_user_authentication" acr_values="urn:rooms:mfa" max_age="300" (no MFA)"#.to_owned(),
        ),
        (
            "PUT",
            "/rooms/room_1/settings",
            bearer("BOB_STALE"),
            r#"401 error="insufficient_user_authentication" acr_values="urn:rooms:mfa" max_age="300" (MFA too long ago)"#.to_owned(),
        ),
        (
            "PUT",
            "/rooms/room_2/settings",
            bearer("BOB_MFA"),
            r#"403 scope="admin:rooms-in-room_2" (not his room: scopes first)"#.to_owned(),
        ),
        (
            "GET",
            "/me",
            bearer("EXPIRED"),
            "401 invalid_token (expired)".to_owned(),
        ),
        (
            "GET",
            "/me",
            "-H \"authorization: Bearer a, Bearer b\" ".into(),
            "400 invalid_request".to_owned(),
        ),
    ];
    let required = dpop.is_some_and(Dpop::is_required);
    if required {
        // Only DPoP gets in: the bearer cases above do not apply.
        examples.truncate(2);
        examples.push((
            "GET",
            "/me",
            bearer("ALICE"),
            "401 bare DPoP challenge (DPoP is required)".to_owned(),
        ));
    }
    if carol_key.is_ok() {
        examples.push((
            "GET",
            "/me",
            bearer("CAROL"),
            r#"401 error="invalid_token" (bound to a DPoP key: a bearer token it is not)"#
                .to_owned(),
        ));
    }
    if dpop.is_some() && carol_key.is_ok() {
        let with_proof = "-H \"authorization: DPoP $CAROL\" -H \"dpop: $CAROL_PROOF\" ".to_owned();
        examples.push((
            "GET",
            "/me",
            with_proof.clone(),
            "200 with its proof".to_owned(),
        ));
        examples.push((
            "GET",
            "/me",
            with_proof,
            r#"401 error="invalid_dpop_proof" (that proof was used already)"#.to_owned(),
        ));
    }
    // By now a request has loaded the keys.
    examples.push((
        "GET",
        "/ready",
        String::new(),
        "200 every issuer's keys are loaded".to_owned(),
    ));
    examples.push((
        "GET",
        "/openapi.json",
        String::new(),
        "200 each route's requirement, from its declaration".to_owned(),
    ));
    examples.push((
        "GET",
        "/metrics",
        String::new(),
        "200 scopegate_requests_refused_total and friends".to_owned(),
    ));
    for (method, path, auth, expect) in examples {
        println!("  # {method} -> {expect}");
        let method = if method == "GET" {
            String::new()
        } else {
            format!("-X {method} ")
        };
        println!("  curl -i {method}{auth}{base}{path}");
    }
    println!();
}
