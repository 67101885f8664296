//! RFC 9068 access tokens and JWK sets (`agentid_verifier::access_token`).
//!
//! Asserts: `JwkSet::from_json` and `AccessTokenValidator::validate` never panic;
//! a JWK set read has between 1 and `MAX_JWKS_KEYS` keys with distinct `kid`s; a
//! token accepted is from the configured issuer, for the configured audience, and
//! names a `kid` of the set. The input is split at the first NUL: a JWK set, then a
//! token (without a NUL, both readers get the whole input).
#![no_main]

use agentid_verifier::access_token::{AccessTokenValidator, JwkSet, MAX_JWKS_KEYS};
use libfuzzer_sys::fuzz_target;

const ISSUER: &str = "https://as.example";
const RESOURCE: &str = "https://tools.example/mcp";

fuzz_target!(|data: &[u8]| {
    let (jwks, token) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, data),
    };
    let Ok(set) = JwkSet::from_json(jwks) else {
        return;
    };
    assert!(!set.is_empty() && set.len() <= MAX_JWKS_KEYS);
    let mut kids: Vec<&str> = set.kids().collect();
    kids.sort_unstable();
    kids.dedup();
    assert_eq!(kids.len(), set.len(), "two keys with one kid");
    let Ok(token) = std::str::from_utf8(token) else {
        return;
    };
    let validator = AccessTokenValidator::new(ISSUER, RESOURCE);
    for now in [0, 1_800_000_000, u64::MAX] {
        if let Ok(accepted) = validator.validate(token, &set, now) {
            assert_eq!(accepted.issuer, ISSUER);
            assert!(accepted.audience.iter().any(|aud| aud == RESOURCE));
            assert!(set.get(&accepted.kid).is_some());
        }
    }
});
