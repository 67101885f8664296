//! did:key decoding.
//!
//! Asserts: `did_key::decode` never panics; a DID it accepts is canonical —
//! `did_key::encode` of the key gives back the same string (base58btc and the
//! minimal multicodec varint are bijective, and only compressed points are read),
//! so no key has two DIDs — and the key survives a JWK round trip;
//! `did_from_key_id` never panics and returns a prefix of its input.
#![no_main]

use agentid_verifier::{did_key, PublicKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(key) = did_key::decode(text) {
        let encoded = did_key::encode(&key);
        assert_eq!(
            encoded, text,
            "a did:key that is not canonical was accepted"
        );
        assert_eq!(did_key::decode(&encoded).as_ref(), Ok(&key));
        assert_eq!(PublicKey::from_jwk(&key.to_jwk()).as_ref(), Ok(&key));
    }
    if let Ok(did) = did_key::did_from_key_id(text) {
        assert!(text.starts_with(did));
    }
});
