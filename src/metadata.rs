//! Protected-resource metadata (RFC 9728).
