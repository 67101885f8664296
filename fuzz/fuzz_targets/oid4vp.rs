//! The OpenID4VP 1.0 parsers, on untrusted bytes: compact JWE decryption, request
//! objects, invocation URLs (and requests by value), `direct_post` and
//! `direct_post.jwt` bodies, client identifiers and transaction data.
//!
//! Asserts: none of them panics; an accepted client identifier prints back as the
//! input; an accepted `direct_post` body re-encodes to one that parses the same;
//! accepted transaction data hashes to the SHA-256 of the input string.
#![no_main]

use agentid_verifier::oid4vp::jwe::{self, Enc, JweLimits};
use agentid_verifier::oid4vp::request::{
    parse_request_uri, verify_request_object, RequestReference,
};
use agentid_verifier::oid4vp::response::{
    parse_direct_post, parse_direct_post_jwt, ResponseLimits,
};
use agentid_verifier::oid4vp::{ClientId, RequestOptions, TransactionData};
use agentid_verifier::sha256_b64;
use libfuzzer_sys::fuzz_target;

const NOW: u64 = 1_800_000_000;
const BOTH: [Enc; 2] = [Enc::A128GCM, Enc::A256GCM];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // A fixed recipient key (any valid scalar): the decryption paths past the header.
    let Ok(key) = p256::SecretKey::from_slice(&[7u8; 32]) else {
        return;
    };
    let _ = jwe::decrypt(text, &key, &BOTH, &JweLimits::default());
    let options = RequestOptions::default();
    let _ = verify_request_object(text, None, &[], NOW, &options);
    if let Ok(RequestReference::ByValue(by_value)) = parse_request_uri(text) {
        let _ = by_value.verify(&options);
    }
    let limits = ResponseLimits::default();
    if let Ok(response) = parse_direct_post(text, &limits) {
        let again = parse_direct_post(&response.to_direct_post_form(), &limits);
        assert_eq!(again.as_ref(), Ok(&response));
    }
    let _ = parse_direct_post_jwt(text, &key, None, &BOTH, &limits);
    if let Ok(client_id) = ClientId::parse(text) {
        assert_eq!(client_id.as_str(), text);
    }
    if let Ok(entry) = TransactionData::parse(text) {
        assert_eq!(entry.hash(), sha256_b64(text));
    }
});
