//! did:key and Ed25519 JWS against published vectors.
//!
//! - The W3C CCG did:key test vectors (`$AGENTID_EXTERNAL_VECTORS/did-key/`, see
//!   `vectors/README.md`): seed → Ed25519 key → did:key, both through `ssi` (the
//!   wallet) and through the verifier's own offline codec; X25519 key-agreement
//!   DIDs are refused. Without the variable these tests print a note and pass.
//! - RFC 8037 Appendix A.1 / A.4 (`vectors/rfc8037-a4.json`, transcribed from the
//!   RFC): Ed25519 key derivation and the exact JWS signature.
//! - Fresh keys of every supported curve, and malformed did:keys.

// Test helpers outside #[test] functions fail loudly on bad vectors, as tests do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use agentid_verifier::{did_key, Algorithm, KeyError, PublicKey};
use agentid_wallet::{did_key_url, SigningKey};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;

/// multicodec `x25519-pub`: a key-agreement key, not a signing key.
const CODEC_X25519: u64 = 0xec;

/// `$AGENTID_EXTERNAL_VECTORS`, a relative path taken from the package root.
fn external_vectors() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("AGENTID_EXTERNAL_VECTORS")?);
    if dir.as_os_str().is_empty() {
        return None;
    }
    Some(if dir.is_absolute() {
        dir
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)
    })
}

fn read_json(path: &Path) -> Value {
    let bytes = std::fs::read(path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|error| panic!("{} is not JSON: {error}", path.display()))
}

fn hex_decode(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd-length hex {text:?}");
    (0..text.len())
        .step_by(2)
        .map(|at| {
            u8::from_str_radix(&text[at..at + 2], 16)
                .unwrap_or_else(|error| panic!("{text:?} is not hex: {error}"))
        })
        .collect()
}

fn b64url_decode(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(text)
        .unwrap_or_else(|error| panic!("{text:?} is not base64url: {error}"))
}

fn str_at<'v>(value: &'v Value, pointer: &str) -> &'v str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {pointer}"))
}

/// base58btc (Bitcoin alphabet), only to build malformed did:keys below; checked
/// against the verifier's encoder on valid keys before any use.
fn base58_encode(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    // Little-endian base-58 digits of the big-endian number `bytes`.
    let mut digits: Vec<u8> = Vec::new();
    for &byte in bytes {
        let mut carry = u32::from(byte);
        for digit in &mut digits {
            carry += u32::from(*digit) << 8;
            *digit = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let zeros = bytes.iter().take_while(|&&byte| byte == 0).count();
    std::iter::repeat_n(b'1', zeros)
        .chain(
            digits
                .iter()
                .rev()
                .map(|&digit| ALPHABET[usize::from(digit)]),
        )
        .map(char::from)
        .collect()
}

/// `did:key:z` + base58btc(varint(codec) || key bytes).
fn did_from_parts(codec: u64, key: &[u8]) -> String {
    let mut bytes = Vec::new();
    let mut rest = codec;
    loop {
        let low = (rest & 0x7f) as u8;
        rest >>= 7;
        if rest == 0 {
            bytes.push(low);
            break;
        }
        bytes.push(low | 0x80);
    }
    bytes.extend_from_slice(key);
    format!("did:key:z{}", base58_encode(&bytes))
}

/// A key id of the vectors as an absolute DID URL: most entries write the fragment
/// alone (`#z6Mk…`), the last one the whole DID URL.
fn absolute_key_id(did: &str, id: &str) -> String {
    if id.starts_with('#') {
        format!("{did}{id}")
    } else {
        id.to_owned()
    }
}

#[test]
fn did_key_w3c_ccg_ed25519_vectors() {
    let Some(vectors) = external_vectors() else {
        eprintln!("skipped: AGENTID_EXTERNAL_VECTORS not set");
        return;
    };
    let file = read_json(&vectors.join("did-key/ed25519-x25519.json"));
    let entries = file.as_object().expect("an object keyed by DID");
    for (did, entry) in entries {
        let seed = hex_decode(str_at(entry, "/seed"));
        let key = SigningKey::from_secret_bytes(Algorithm::EdDSA, &seed).expect("32-byte seed");
        assert_eq!(&key.did().expect("ssi encodes Ed25519"), did, "ssi");
        assert_eq!(&did_key::encode(key.public_key()), did, "verifier encoder");
        assert_eq!(
            &did_key::decode(did).expect("a valid did:key"),
            key.public_key(),
            "{did}"
        );

        // The DID document names the key by the DID URL the wallet writes as `kid`.
        assert_eq!(str_at(entry, "/didDocument/id"), did);
        assert_eq!(str_at(entry, "/verificationKeyPair/controller"), did);
        let url = did_key_url(key.public_key()).expect("ssi encodes it");
        assert_eq!(
            absolute_key_id(did, str_at(entry, "/verificationKeyPair/id")),
            url
        );
        assert_eq!(str_at(entry, "/didDocument/verificationMethod/0/id"), url);
        assert_eq!(did_key::did_from_key_id(&url), Ok(did.as_str()));
        // (`publicKeyBase58` is not compared: no base58 decoder is a dependency here;
        // the DID strings above carry the same key bytes.)

        // The derived X25519 key-agreement key is a did:key too, but not a signing key.
        let x25519_id = absolute_key_id(did, str_at(entry, "/keyAgreementKeyPair/id"));
        let x25519_did = format!(
            "did:key:{}",
            x25519_id.split_once('#').expect("a DID URL").1
        );
        assert_eq!(
            did_key::decode(&x25519_did),
            Err(KeyError::UnsupportedCodec(CODEC_X25519)),
            "{x25519_did}"
        );
    }
    assert!(entries.len() >= 5, "only {} entries", entries.len());
    println!("{} Ed25519 did:key vectors checked", entries.len());
}

#[test]
fn did_key_w3c_ccg_x25519_vectors_are_refused() {
    let Some(vectors) = external_vectors() else {
        eprintln!("skipped: AGENTID_EXTERNAL_VECTORS not set");
        return;
    };
    let file = read_json(&vectors.join("did-key/x25519.json"));
    let documents = file
        .get("didDocument")
        .and_then(Value::as_object)
        .expect("didDocument: an object keyed by DID");
    for (did, document) in documents {
        assert_eq!(str_at(document, "/id"), did);
        assert!(did.starts_with("did:key:z6LS"), "{did}");
        assert_eq!(
            did_key::decode(did),
            Err(KeyError::UnsupportedCodec(CODEC_X25519)),
            "{did}"
        );
    }
    assert!(!documents.is_empty());
    println!("{} X25519 did:key vectors refused", documents.len());
}

#[test]
fn did_key_round_trips_and_malformed_did_keys_are_refused() {
    for (alg, prefix, codec) in [
        (Algorithm::EdDSA, "did:key:z6Mk", 0xed),
        (Algorithm::ES256K, "did:key:zQ3s", 0xe7),
        (Algorithm::ES256, "did:key:zDn", 0x1200),
    ] {
        for _ in 0..8 {
            let key = SigningKey::generate(alg);
            let did = did_key::encode(key.public_key());
            assert!(did.starts_with(prefix), "{alg}: {did}");
            assert_eq!(key.did().expect("ssi encodes it"), did, "ssi and verifier");
            assert_eq!(&did_key::decode(&did).expect("decodes"), key.public_key());
            let bytes = key.public_key().to_compressed_bytes();
            // The test's own encoder agrees with the verifier's before it is used.
            assert_eq!(did_from_parts(codec, &bytes), did);

            // Truncated key, and a key with one byte too many.
            for bad in [
                &bytes[..bytes.len() - 1],
                &[bytes.as_slice(), &[0]].concat(),
            ] {
                let bad_did = did_from_parts(codec, bad);
                assert!(
                    matches!(did_key::decode(&bad_did), Err(KeyError::InvalidKey(_))),
                    "{alg}: {} key bytes must be refused: {bad_did}",
                    bad.len()
                );
            }
            // The same key bytes under a codec for a type agentid does not support.
            for unknown in [CODEC_X25519, 0x1201, 0x1205, 0xeb] {
                assert_eq!(
                    did_key::decode(&did_from_parts(unknown, &bytes)),
                    Err(KeyError::UnsupportedCodec(unknown))
                );
            }
        }
    }

    let ed25519 = did_key::encode(SigningKey::generate(Algorithm::EdDSA).public_key());
    let multibase = &ed25519["did:key:".len()..];
    let invalid_did = |did: &str| matches!(did_key::decode(did), Err(KeyError::InvalidDid(_)));
    // Wrong method or prefix.
    for did in [
        format!("did:web:{multibase}"),
        format!("DID:key:{multibase}"),
        format!("did:key{multibase}"),
        multibase.to_owned(),
        String::new(),
    ] {
        assert!(invalid_did(&did), "{did:?}");
    }
    // Another multibase than z (base58btc): f is base16, u base64url, m base64.
    for base in ['f', 'u', 'm', 'Z'] {
        let did = format!("did:key:{base}{}", &multibase[1..]);
        assert!(invalid_did(&did), "{did}");
    }
    // Not base58: 0, O, I and l are outside the alphabet.
    for bad in ['0', 'O', 'I', 'l', '+', '/'] {
        let did = format!("{}{bad}{}", &ed25519[..12], &ed25519[13..]);
        assert!(invalid_did(&did), "{did}");
    }
    // No key bytes at all, a truncated multicodec varint, a non-minimal varint.
    assert!(invalid_did("did:key:z"));
    assert!(invalid_did(&format!("did:key:z{}", base58_encode(&[0x80]))));
    assert!(invalid_did(&format!(
        "did:key:z{}",
        base58_encode(&[0xed, 0x81, 0x00, 1, 2, 3])
    )));
    // Longer than any supported did:key.
    assert!(invalid_did(&format!("{ed25519}{}", "z".repeat(128))));

    // P-256 did:keys whose 33 key bytes are no point: x = 1 gives x³ - 3x + b, a
    // non-square modulo p (no y exists); x = 2²⁵⁶ - 1 is not below p; 0x01 is no
    // SEC1 point tag. And the uncompressed 65-byte form, which did:key
    // does not use.
    let mut x_one = [0u8; 33];
    x_one[0] = 0x02;
    x_one[32] = 1;
    let mut x_too_big = [0xffu8; 33];
    x_too_big[0] = 0x03;
    let mut bad_tag = SigningKey::generate(Algorithm::ES256)
        .public_key()
        .to_compressed_bytes();
    bad_tag[0] = 0x01;
    let PublicKey::P256(point) = SigningKey::generate(Algorithm::ES256).public_key().clone() else {
        panic!("ES256 keys are P-256");
    };
    let uncompressed = point.to_encoded_point(false).as_bytes().to_vec();
    for (what, bytes) in [
        ("x with no y", x_one.to_vec()),
        ("x not below p", x_too_big.to_vec()),
        ("tag 0x01", bad_tag),
        ("uncompressed point", uncompressed),
    ] {
        let did = did_from_parts(0x1200, &bytes);
        assert!(
            matches!(did_key::decode(&did), Err(KeyError::InvalidKey(_))),
            "P-256 {what} must be refused: {did}"
        );
    }
    // The same checks hold for secp256k1 (x = 2²⁵⁶ - 1 is not below its p either).
    assert!(matches!(
        did_key::decode(&did_from_parts(0xe7, &x_too_big)),
        Err(KeyError::InvalidKey(_))
    ));
    // An Ed25519 key of small order (the identity point) is refused too.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert!(matches!(
        did_key::decode(&did_from_parts(0xed, &identity)),
        Err(KeyError::InvalidKey(_))
    ));
}

#[test]
fn rfc8037_appendix_a4_ed25519_jws() {
    let vector = read_json(&Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors/rfc8037-a4.json"));
    assert_eq!(str_at(&vector, "/source"), "RFC 8037, Appendix A.1 and A.4");
    let d = b64url_decode(str_at(&vector, "/private_key_jwk/d"));
    let x = str_at(&vector, "/private_key_jwk/x");
    let signing_input = str_at(&vector, "/signing_input");
    let signature = b64url_decode(str_at(&vector, "/signature"));

    // A.4: the signing input is BASE64URL(header) "." BASE64URL(payload).
    assert_eq!(
        signing_input,
        format!(
            "{}.{}",
            agentid_verifier::b64url_encode(str_at(&vector, "/protected_header").as_bytes()),
            agentid_verifier::b64url_encode(str_at(&vector, "/payload").as_bytes())
        )
    );

    // A.1: d is the seed of the key whose public half is x.
    let key = SigningKey::from_secret_bytes(Algorithm::EdDSA, &d).expect("32-byte seed");
    assert_eq!(key.public_key().to_compressed_bytes(), b64url_decode(x));
    let public_jwk = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": x});
    assert_eq!(
        &PublicKey::from_jwk(&public_jwk).expect("the RFC's public JWK"),
        key.public_key()
    );

    // A.4: Ed25519 is deterministic, so the signature is exactly the RFC's.
    assert_eq!(key.sign(signing_input.as_bytes()), signature);

    // A.5: it verifies, and stops verifying when any single bit changes.
    let public = key.public_key();
    assert_eq!(
        public.verify(Algorithm::EdDSA, signing_input.as_bytes(), &signature),
        Ok(())
    );
    for bit in [0, 7, 255, 256, 511] {
        let mut flipped = signature.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        assert!(
            public
                .verify(Algorithm::EdDSA, signing_input.as_bytes(), &flipped)
                .is_err(),
            "signature bit {bit} flipped"
        );
    }
    let mut message = signing_input.as_bytes().to_vec();
    message[0] ^= 1;
    assert!(public
        .verify(Algorithm::EdDSA, &message, &signature)
        .is_err());
    // The algorithm is part of the check: the same bytes under ES256 are refused.
    assert!(public
        .verify(Algorithm::ES256, signing_input.as_bytes(), &signature)
        .is_err());
}

/// did:key encodes ECDSA keys as SEC1 *compressed* points (tag 0x02 or 0x03). The
/// `sec1` crate also parses tag 0x05, a "compact" point (x only); accepting it would
/// give one key two DIDs (`encode(decode(did)) != did`), so the verifier refuses it.
#[test]
fn did_key_refuses_sec1_compact_points() {
    for (alg, codec) in [(Algorithm::ES256, 0x1200), (Algorithm::ES256K, 0xe7)] {
        let key = SigningKey::generate(alg);
        let mut compact = key.public_key().to_compressed_bytes();
        compact[0] = 0x05;
        let did = did_from_parts(codec, &compact);
        let decoded = did_key::decode(&did);
        assert!(
            matches!(decoded, Err(KeyError::InvalidKey(_))),
            "{alg}: tag 0x05 must be refused: {did} decodes to {decoded:?}, \
             canonically {}",
            did_key::encode(key.public_key())
        );
    }
}
