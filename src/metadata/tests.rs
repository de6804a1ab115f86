use serde_json::{Value, json};

use super::{DpopMetadata, ResourceMetadata};
use crate::syntax::is_quoted_safe;

fn parsed(document: &str) -> Value {
    serde_json::from_str(document).unwrap()
}

fn refusal<T: std::fmt::Debug>(result: Result<T, crate::ConfigError>) -> String {
    result.unwrap_err().to_string()
}

#[test]
fn well_known_path_inserts_the_suffix_between_host_and_path() {
    // RFC 9728 §3.1's example, then the bare host with and without its slash, and deeper paths.
    let cases = [
        (
            "https://resource.example.com/resource1",
            "/.well-known/oauth-protected-resource/resource1",
        ),
        (
            "https://rooms.example/api",
            "/.well-known/oauth-protected-resource/api",
        ),
        (
            "https://rooms.example",
            "/.well-known/oauth-protected-resource",
        ),
        (
            "https://rooms.example/",
            "/.well-known/oauth-protected-resource",
        ),
        (
            "https://rooms.example/api/v2/rooms",
            "/.well-known/oauth-protected-resource/api/v2/rooms",
        ),
        // Only the slash right after the host goes; a path keeps its own.
        (
            "https://rooms.example/api/",
            "/.well-known/oauth-protected-resource/api/",
        ),
        (
            "https://rooms.example:8443/a%20b",
            "/.well-known/oauth-protected-resource/a%20b",
        ),
        (
            "http://127.0.0.1:3000",
            "/.well-known/oauth-protected-resource",
        ),
        (
            "https://[::1]:8443/api",
            "/.well-known/oauth-protected-resource/api",
        ),
    ];
    for (resource, path) in cases {
        let metadata = ResourceMetadata::new(resource).unwrap();
        assert_eq!(metadata.well_known_path(), path, "{resource}");
        assert_eq!(metadata.resource(), resource);
    }
}

#[test]
fn metadata_url_is_the_public_origin_and_the_well_known_path() {
    let api = ResourceMetadata::new("https://rooms.example/api").unwrap();
    let root = ResourceMetadata::new("https://rooms.example/").unwrap();
    let cases = [
        (
            api.metadata_url("https://rooms.example"),
            "https://rooms.example/.well-known/oauth-protected-resource/api",
        ),
        (
            api.metadata_url("http://127.0.0.1:3000"),
            "http://127.0.0.1:3000/.well-known/oauth-protected-resource/api",
        ),
        (
            root.metadata_url("https://rooms.example"),
            "https://rooms.example/.well-known/oauth-protected-resource",
        ),
    ];
    for (url, expected) in cases {
        assert_eq!(url, expected);
        assert!(url.bytes().all(is_quoted_safe), "{url}");
    }
}

#[test]
fn new_refuses_what_is_not_an_https_identifier() {
    let cases = [
        ("", "absolute https://"),
        ("/api", "absolute https://"),
        ("rooms.example/api", "absolute https://"),
        ("urn:example:rooms", "absolute https://"),
        ("ftp://rooms.example/api", "absolute https://"),
        ("HTTPS://rooms.example/api", "absolute https://"),
        ("https://", "valid URL"),
        ("https:///api", "valid URL"),
        ("https://rooms.example:port/", "port"),
        ("https://rooms.example:/", "port"),
        ("https://rooms.example:99999/", "port"),
        ("https://rooms.example/api?version=2", "query"),
        ("https://rooms.example/api?", "query"),
        ("https://rooms.example/api#top", "fragment"),
        ("https://rooms.example/#", "fragment"),
        ("https://user:secret@rooms.example/api", "user information"),
        ("https://rooms.example/a\"b", "quotes"),
        ("https://rooms.example/a\\b", "quotes"),
        ("https://rooms.example/a b", "spaces"),
        ("https://rooms.example/a\tb", "printable ASCII"),
        ("https://rooms.example/caf\u{e9}", "printable ASCII"),
    ];
    for (resource, why) in cases {
        let message = refusal(ResourceMetadata::new(resource));
        assert!(message.contains(why), "{resource:?}: {message}");
        assert!(message.contains("resource identifier"), "{message}");
    }
}

#[test]
fn authorization_servers_are_issuer_urls() {
    let metadata = ResourceMetadata::new("https://rooms.example").unwrap();
    let set = metadata
        .clone()
        .authorization_servers(["https://issuer.example", "http://localhost:8080/realms/dev"])
        .unwrap();
    assert_eq!(
        set.authorization_servers,
        ["https://issuer.example", "http://localhost:8080/realms/dev"]
    );
    for (bad, why) in [
        ("issuer.example", "absolute https://"),
        ("https://issuer.example/?tenant=1", "query"),
        ("https://issuer.example/#x", "fragment"),
        ("https://admin:pw@issuer.example", "user information"),
    ] {
        let message = refusal(
            metadata
                .clone()
                .authorization_servers(["https://ok.example", bad]),
        );
        assert!(
            message.contains(why) && message.contains(bad),
            "{bad:?}: {message}"
        );
    }
    let twice =
        metadata.authorization_servers(["https://issuer.example", "https://issuer.example"]);
    assert!(refusal(twice).contains("listed twice"));
}

#[test]
fn scopes_supported_are_scope_tokens() {
    let metadata = ResourceMetadata::new("https://rooms.example").unwrap();
    let set = metadata
        .clone()
        .scopes_supported(["read:rooms", "write:rooms"])
        .unwrap();
    assert_eq!(set.scopes_supported, ["read:rooms", "write:rooms"]);
    for bad in ["", "read rooms", "read\"rooms", "read\\rooms", "caf\u{e9}"] {
        let message = refusal(metadata.clone().scopes_supported([bad]));
        assert!(message.contains("scope-token"), "{bad:?}: {message}");
    }
    assert!(refusal(metadata.scopes_supported(["a", "a"])).contains("listed twice"));
}

#[test]
fn bearer_methods_are_header_body_or_query() {
    let metadata = ResourceMetadata::new("https://rooms.example").unwrap();
    assert_eq!(metadata.bearer_methods_supported, ["header"]);
    let all = metadata
        .clone()
        .bearer_methods_supported(["header", "body", "query"])
        .unwrap();
    assert_eq!(all.bearer_methods_supported, ["header", "body", "query"]);
    let none = metadata
        .clone()
        .bearer_methods_supported(Vec::<String>::new())
        .unwrap();
    assert_eq!(
        parsed(&none.document_json())["bearer_methods_supported"],
        json!([])
    );
    for bad in ["Header", "cookie", "", "dpop"] {
        let message = refusal(metadata.clone().bearer_methods_supported([bad]));
        assert!(message.contains("must be \"header\""), "{bad:?}: {message}");
    }
    let twice = metadata.bearer_methods_supported(["header", "header"]);
    assert!(refusal(twice).contains("listed twice"));
}

#[test]
fn links_are_absolute_urls_and_may_have_a_query() {
    type Setter = fn(ResourceMetadata, &str) -> Result<ResourceMetadata, crate::ConfigError>;
    let setters: [(&str, Setter); 4] = [
        ("resource_documentation", |m, url| {
            m.resource_documentation(url)
        }),
        ("jwks_uri", |m, url| m.jwks_uri(url)),
        ("resource_policy_uri", |m, url| m.resource_policy_uri(url)),
        ("resource_tos_uri", |m, url| m.resource_tos_uri(url)),
    ];
    let metadata = ResourceMetadata::new("https://rooms.example").unwrap();
    for (member, set) in setters {
        let url = "https://docs.rooms.example/page?lang=en";
        let document = parsed(&set(metadata.clone(), url).unwrap().document_json());
        assert_eq!(document[member], url);
        for bad in [
            "docs.rooms.example",
            "https://docs.example/#auth",
            "https://a.example/\"",
        ] {
            let message = refusal(set(metadata.clone(), bad));
            assert!(message.contains(member), "{member} {bad:?}: {message}");
        }
    }
}

#[test]
fn a_setter_replaces_its_earlier_value() {
    let metadata = ResourceMetadata::new("https://rooms.example")
        .unwrap()
        .scopes_supported(["a"])
        .unwrap()
        .scopes_supported(["b"])
        .unwrap()
        .resource_name("first")
        .resource_name("second");
    let document = parsed(&metadata.document_json());
    assert_eq!(document["scopes_supported"], json!(["b"]));
    assert_eq!(document["resource_name"], "second");
}

#[test]
fn minimal_document() {
    let metadata = ResourceMetadata::new("https://rooms.example/api").unwrap();
    assert_eq!(
        parsed(&metadata.document_json()),
        json!({
            "resource": "https://rooms.example/api",
            "bearer_methods_supported": ["header"],
        })
    );
    // Empty lists leave their members out.
    let empty = metadata
        .authorization_servers(Vec::<String>::new())
        .unwrap()
        .scopes_supported(Vec::<&str>::new())
        .unwrap();
    assert_eq!(parsed(&empty.document_json()).as_object().unwrap().len(), 2);
}

#[test]
fn document_in_the_shape_of_the_rfc_example() {
    // RFC 9728 §3.2's example response.
    let metadata = ResourceMetadata::new("https://resource.example.com")
        .unwrap()
        .authorization_servers(["https://as1.example.com", "https://as2.example.net"])
        .unwrap()
        .bearer_methods_supported(["header", "body"])
        .unwrap()
        .scopes_supported(["profile", "email", "phone"])
        .unwrap()
        .resource_documentation("https://resource.example.com/resource_documentation.html")
        .unwrap();
    assert_eq!(
        parsed(&metadata.document_json()),
        json!({
            "resource": "https://resource.example.com",
            "authorization_servers": ["https://as1.example.com", "https://as2.example.net"],
            "bearer_methods_supported": ["header", "body"],
            "scopes_supported": ["profile", "email", "phone"],
            "resource_documentation": "https://resource.example.com/resource_documentation.html",
        })
    );
    assert_eq!(metadata.clone(), metadata);
}

#[test]
fn resource_name_is_escaped() {
    let name = "The \"Rooms\" API \\ v2\n\u{e9}\u{1}";
    let metadata = ResourceMetadata::new("https://rooms.example")
        .unwrap()
        .resource_name(name);
    let text = metadata.document_json();
    assert!(text.contains(r#""The \"Rooms\" API \\ v2\n"#), "{text}");
    assert_eq!(parsed(&text)["resource_name"], name);
}

#[test]
fn dpop_members() {
    let metadata = ResourceMetadata::new("https://rooms.example").unwrap();
    let algorithms = ["ES256", "EdDSA"];
    let required = parsed(&metadata.document(Some(DpopMetadata {
        signing_algorithms: &algorithms,
        required: true,
    })));
    assert_eq!(
        required["dpop_signing_alg_values_supported"],
        json!(["ES256", "EdDSA"])
    );
    assert_eq!(required["dpop_bound_access_tokens_required"], json!(true));

    // Accepted but not required: the member is left out, which reads as false.
    let optional = parsed(&metadata.document(Some(DpopMetadata {
        signing_algorithms: &algorithms,
        required: false,
    })));
    assert_eq!(
        optional["dpop_signing_alg_values_supported"],
        json!(["ES256", "EdDSA"])
    );
    assert!(optional.get("dpop_bound_access_tokens_required").is_none());

    let no_algorithms = parsed(&metadata.document(Some(DpopMetadata {
        signing_algorithms: &[],
        required: true,
    })));
    assert!(
        no_algorithms
            .get("dpop_signing_alg_values_supported")
            .is_none()
    );

    for document in [metadata.document(None), metadata.document_json()] {
        let document = parsed(&document);
        assert!(document.get("dpop_signing_alg_values_supported").is_none());
        assert!(document.get("dpop_bound_access_tokens_required").is_none());
    }
}
