// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use serde_json::json;

use super::header::p256_from_jwk;
use super::*;
use crate::encoding::b64url_decode;

const BOTH: [Enc; 2] = [Enc::A128GCM, Enc::A256GCM];

fn vector(name: &str) -> Value {
    let path = format!("{}/../vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn secret_from_jwk(jwk: &Value) -> p256::SecretKey {
    let d = b64url_decode(jwk["d"].as_str().unwrap(), "d").unwrap();
    let secret = p256::SecretKey::from_slice(&d).unwrap();
    // The JWK's public half is the secret's.
    assert_eq!(
        p256_from_jwk(&public_only(jwk)).unwrap(),
        secret.public_key()
    );
    secret
}

fn public_only(jwk: &Value) -> Value {
    let mut jwk = jwk.as_object().unwrap().clone();
    jwk.remove("d");
    Value::Object(jwk)
}

fn bytes(value: &Value) -> Vec<u8> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|byte| u8::try_from(byte.as_u64().unwrap()).unwrap())
        .collect()
}

fn limits() -> JweLimits {
    JweLimits::default()
}

/// RFC 7518 Appendix C: both sides compute the same Z, and the Concat KDF with
/// AlgorithmID "A128GCM", PartyUInfo "Alice" and PartyVInfo "Bob" gives the printed
/// content encryption key.
#[test]
fn rfc7518_appendix_c_ecdh_es_key_agreement() {
    let v = vector("rfc7518-appendix-c.json");
    let alice = secret_from_jwk(&v["alice_ephemeral_jwk"]);
    let bob = secret_from_jwk(&v["bob_jwk"]);
    let z = bytes(&v["z"]);
    let at_bob =
        p256::ecdh::diffie_hellman(bob.to_nonzero_scalar(), alice.public_key().as_affine());
    let at_alice =
        p256::ecdh::diffie_hellman(alice.to_nonzero_scalar(), bob.public_key().as_affine());
    assert_eq!(&at_bob.raw_secret_bytes()[..], z.as_slice());
    assert_eq!(&at_alice.raw_secret_bytes()[..], z.as_slice());

    let header = &v["header"];
    let apu = b64url_decode(header["apu"].as_str().unwrap(), "apu").unwrap();
    let apv = b64url_decode(header["apv"].as_str().unwrap(), "apv").unwrap();
    assert_eq!(bytes(&v["party_u_info"])[4..], apu[..]);
    assert_eq!(bytes(&v["party_v_info"])[4..], apv[..]);
    assert_eq!(bytes(&v["algorithm_id"])[4..], *b"A128GCM");
    assert_eq!(bytes(&v["supp_pub_info"]), 128u32.to_be_bytes());
    let derived = kdf::concat_kdf(&z, "A128GCM", &apu, &apv, 16);
    assert_eq!(derived.as_slice(), bytes(&v["derived_key"]).as_slice());
    assert_eq!(
        b64url_encode(&derived),
        v["derived_key_b64"].as_str().unwrap()
    );

    // The whole JWE with Appendix C's header and ephemeral key: Bob opens it.
    let mut extra = Map::new();
    extra.insert("apu".into(), header["apu"].clone());
    extra.insert("apv".into(), header["apv"].clone());
    let jwe = seal(
        &bob.public_key(),
        extra,
        Enc::A128GCM,
        b"Appendix C",
        &alice,
        [7; 12],
    )
    .unwrap();
    let header_b64 = jwe.split('.').next().unwrap();
    let sent: Value =
        serde_json::from_slice(&b64url_decode(header_b64, "header").unwrap()).unwrap();
    assert_eq!(&sent, header);
    let opened = decrypt(&jwe, &bob, &[Enc::A128GCM], &limits()).unwrap();
    assert_eq!(opened.as_slice(), b"Appendix C");
    // The same JWE without apu/apv in the KDF would not open: the KDF used them.
    let cek = kdf::concat_kdf(&z, "A128GCM", &[], &[], 16);
    assert_ne!(cek.as_slice(), derived.as_slice());
}

/// OpenID4VP 1.0 §8.3: the printed encrypted response opens with the printed key.
#[test]
fn oid4vp_8_3_example_response_decrypts() {
    let v = vector("oid4vp-1.0-8.3-encrypted-response.json");
    let key = secret_from_jwk(&v["recipient_jwk"]);
    let opened =
        decrypt_with_header(v["response"].as_str().unwrap(), &key, &BOTH, &limits()).unwrap();
    assert_eq!(opened.enc(), Enc::A128GCM);
    assert_eq!(opened.kid(), Some("ac"));
    assert_eq!(
        opened.plaintext(),
        v["plaintext"].as_str().unwrap().as_bytes()
    );
    // Not accepted when the caller takes A256GCM only.
    assert_eq!(
        decrypt(
            v["response"].as_str().unwrap(),
            &key,
            &[Enc::A256GCM],
            &limits()
        )
        .err(),
        Some(JweError::EncNotAccepted("A128GCM".into()))
    );
}

#[test]
fn round_trip_for_both_enc_values_with_and_without_kid() {
    let key = p256::SecretKey::random(&mut OsRng);
    for enc in BOTH {
        for kid in [None, Some("enc-1")] {
            for plaintext in [&b""[..], b"{\"vp_token\":{}}", &[0xAB; 5000]] {
                let jwe = encrypt(&key.public_key(), kid, enc, plaintext).unwrap();
                let parts: Vec<&str> = jwe.split('.').collect();
                assert_eq!(parts.len(), 5);
                assert!(parts[1].is_empty(), "no encrypted key for direct agreement");
                let opened = decrypt_with_header(&jwe, &key, &[enc], &limits()).unwrap();
                assert_eq!(opened.plaintext(), plaintext);
                assert_eq!(opened.kid(), kid);
                assert_eq!(opened.enc(), enc);
                let header: Value =
                    serde_json::from_slice(&b64url_decode(parts[0], "h").unwrap()).unwrap();
                assert_eq!(header["alg"], "ECDH-ES");
                assert_eq!(header["enc"], enc.as_str());
                assert_eq!(header.get("kid").and_then(Value::as_str), kid);
                assert!(header["epk"].get("d").is_none());
            }
        }
    }
}

#[test]
fn every_encryption_uses_a_fresh_ephemeral_key_and_iv() {
    let key = p256::SecretKey::random(&mut OsRng);
    let a = encrypt(&key.public_key(), None, Enc::A256GCM, b"same").unwrap();
    let b = encrypt(&key.public_key(), None, Enc::A256GCM, b"same").unwrap();
    let (a, b): (Vec<&str>, Vec<&str>) = (a.split('.').collect(), b.split('.').collect());
    assert_ne!(a[0], b[0], "epk");
    assert_ne!(a[2], b[2], "IV");
    assert_ne!(a[3], b[3], "ciphertext");
}

/// Replaces one base64url character of part `index` by another that still decodes.
fn flip(jwe: &str, index: usize) -> String {
    let mut parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
    let part = &mut parts[index];
    // The first character carries six full bits: any change still decodes.
    let first = part.remove(0);
    part.insert(0, if first == 'A' { 'B' } else { 'A' });
    parts.join(".")
}

#[test]
fn altering_any_part_is_refused() {
    let key = p256::SecretKey::random(&mut OsRng);
    for enc in BOTH {
        let jwe = encrypt(&key.public_key(), Some("k"), enc, b"{\"state\":\"s\"}").unwrap();
        // Header: its bytes are the AAD, and a changed first character breaks the JSON.
        assert!(decrypt(&flip(&jwe, 0), &key, &BOTH, &limits()).is_err());
        // IV, ciphertext, tag: the tag does not verify.
        for index in [2, 3, 4] {
            assert_eq!(
                decrypt(&flip(&jwe, index), &key, &BOTH, &limits()).err(),
                Some(JweError::DecryptionFailed),
                "part {index}"
            );
        }
        // An encrypted key where none belongs.
        let parts: Vec<&str> = jwe.split('.').collect();
        let with_key = [parts[0], "AAAA", parts[2], parts[3], parts[4]].join(".");
        assert_eq!(
            decrypt(&with_key, &key, &BOTH, &limits()).err(),
            Some(JweError::EncryptedKeyPresent)
        );
        // The same header members, encoded differently: the AAD differs.
        let header: Value = serde_json::from_slice(&b64url_decode(parts[0], "h").unwrap()).unwrap();
        let respaced = b64url_encode(serde_json::to_string_pretty(&header).unwrap().as_bytes());
        let reencoded = [&respaced, "", parts[2], parts[3], parts[4]].join(".");
        assert_eq!(
            decrypt(&reencoded, &key, &BOTH, &limits()).err(),
            Some(JweError::DecryptionFailed)
        );
        // A truncated ciphertext or tag.
        let short_tag = [parts[0], "", parts[2], parts[3], &parts[4][..20]].join(".");
        assert!(matches!(
            decrypt(&short_tag, &key, &BOTH, &limits()),
            Err(JweError::Malformed(_))
        ));
        let short_iv = [parts[0], "", &parts[2][..8], parts[3], parts[4]].join(".");
        assert!(matches!(
            decrypt(&short_iv, &key, &BOTH, &limits()),
            Err(JweError::Malformed(_))
        ));
    }
}

#[test]
fn a_wrong_key_is_refused_opaquely() {
    let key = p256::SecretKey::random(&mut OsRng);
    let other = p256::SecretKey::random(&mut OsRng);
    let jwe = encrypt(&key.public_key(), None, Enc::A128GCM, b"secret").unwrap();
    assert_eq!(
        decrypt(&jwe, &other, &BOTH, &limits()).err(),
        Some(JweError::DecryptionFailed)
    );
}

/// A JWE whose protected header is `header` (the other parts from a real JWE:
/// checks on the header come first).
fn with_header(header: &Value) -> String {
    let key = p256::SecretKey::random(&mut OsRng);
    let jwe = encrypt(&key.public_key(), None, Enc::A128GCM, b"x").unwrap();
    let rest: Vec<&str> = jwe.split('.').skip(1).collect();
    format!(
        "{}.{}",
        b64url_encode(header.to_string().as_bytes()),
        rest.join(".")
    )
}

fn header_error(header: Value) -> JweError {
    let key = p256::SecretKey::random(&mut OsRng);
    decrypt(&with_header(&header), &key, &BOTH, &limits()).unwrap_err()
}

fn valid_epk() -> Value {
    public_jwk(&p256::SecretKey::random(&mut OsRng).public_key())
}

#[test]
fn headers_outside_the_profile_are_refused() {
    let epk = valid_epk();
    let base = json!({"alg": "ECDH-ES", "enc": "A128GCM", "epk": epk});
    let with = |name: &str, value: Value| {
        let mut header = base.clone();
        header[name] = value;
        header
    };
    for alg in ["ECDH-ES+A128KW", "RSA-OAEP-256", "dir", "none"] {
        assert_eq!(
            header_error(with("alg", json!(alg))),
            JweError::UnsupportedAlgorithm(alg.into())
        );
    }
    for enc in ["A128CBC-HS256", "A192GCM", "a128gcm"] {
        assert_eq!(
            header_error(with("enc", json!(enc))),
            JweError::EncNotAccepted(enc.into())
        );
    }
    assert_eq!(
        header_error(with("zip", json!("DEF"))),
        JweError::Compressed
    );
    assert_eq!(
        header_error(with("crit", json!(["exp"]))),
        JweError::CriticalHeader
    );
    assert!(matches!(
        header_error(with("kid", json!(7))),
        JweError::Malformed(_)
    ));
    assert!(matches!(
        header_error(with("apu", json!("not base64url!"))),
        JweError::Malformed(_)
    ));
    assert!(matches!(
        header_error(json!({"enc": "A128GCM", "epk": epk})),
        JweError::Malformed(_)
    ));
    assert!(matches!(
        header_error(json!(["ECDH-ES"])),
        JweError::Malformed(_)
    ));
}

#[test]
fn an_ephemeral_key_off_the_curve_or_of_another_type_is_refused() {
    let epk = valid_epk();
    let mut off_curve = epk.clone();
    off_curve["y"] = json!(b64url_encode(&[1u8; 32]));
    let mut private = epk.clone();
    private["d"] = json!(b64url_encode(&[1u8; 32]));
    let mut short = epk.clone();
    short["x"] = json!(b64url_encode(&[1u8; 31]));
    let x25519 = json!({"kty": "OKP", "crv": "X25519", "x": b64url_encode(&[9u8; 32])});
    let p384 = json!({"kty": "EC", "crv": "P-384", "x": epk["x"], "y": epk["y"]});
    for bad in [off_curve, private, short, x25519, p384, json!("epk")] {
        let header = json!({"alg": "ECDH-ES", "enc": "A128GCM", "epk": bad});
        assert!(
            matches!(header_error(header), JweError::InvalidEphemeralKey(_)),
            "{bad}"
        );
    }
    let missing = json!({"alg": "ECDH-ES", "enc": "A128GCM"});
    assert!(matches!(
        header_error(missing),
        JweError::InvalidEphemeralKey(_)
    ));
}

#[test]
fn limits_are_enforced_at_the_edge() {
    let key = p256::SecretKey::random(&mut OsRng);
    let jwe = encrypt(&key.public_key(), None, Enc::A128GCM, &[0u8; 1000]).unwrap();
    let exact = limits().with_max_compact_bytes(jwe.len());
    assert!(decrypt(&jwe, &key, &BOTH, &exact).is_ok());
    let under = limits().with_max_compact_bytes(jwe.len() - 1);
    assert!(matches!(
        decrypt(&jwe, &key, &BOTH, &under),
        Err(JweError::LimitExceeded(_))
    ));

    let header_len = b64url_decode(jwe.split('.').next().unwrap(), "h")
        .unwrap()
        .len();
    assert!(decrypt(
        &jwe,
        &key,
        &BOTH,
        &limits().with_max_header_bytes(header_len)
    )
    .is_ok());
    assert!(matches!(
        decrypt(
            &jwe,
            &key,
            &BOTH,
            &limits().with_max_header_bytes(header_len - 1)
        ),
        Err(JweError::LimitExceeded(_))
    ));

    // The header nests two deep ({"epk": {…}}).
    assert!(decrypt(&jwe, &key, &BOTH, &limits().with_max_header_depth(2)).is_ok());
    assert!(matches!(
        decrypt(&jwe, &key, &BOTH, &limits().with_max_header_depth(1)),
        Err(JweError::LimitExceeded(_))
    ));
    let deep = json!({"alg": "ECDH-ES", "x": [[[[[[[[1]]]]]]]]});
    assert!(matches!(header_error(deep), JweError::LimitExceeded(_)));
}

#[test]
fn anything_but_five_parts_is_refused() {
    let key = p256::SecretKey::random(&mut OsRng);
    let jwe = encrypt(&key.public_key(), None, Enc::A128GCM, b"x").unwrap();
    for text in [
        String::new(),
        "a.b.c".into(),
        "a.b.c.d".into(),
        format!("{jwe}."),
        format!("{jwe}.x"),
        jwe.replacen('.', "", 1),
    ] {
        assert!(
            matches!(
                decrypt(&text, &key, &BOTH, &limits()),
                Err(JweError::Malformed(_))
            ),
            "{text}"
        );
    }
}

#[test]
fn debug_shows_no_plaintext() {
    let key = p256::SecretKey::random(&mut OsRng);
    let jwe = encrypt(&key.public_key(), None, Enc::A128GCM, b"very secret").unwrap();
    let opened = decrypt_with_header(&jwe, &key, &BOTH, &limits()).unwrap();
    let debug = format!("{opened:?}");
    assert!(!debug.contains("very secret") && debug.contains("plaintext_len: 11"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any one-character change of a JWE is refused.
    #[test]
    fn any_single_character_change_is_refused(position in 0usize..4096, replacement in 0u8..64) {
        let key = p256::SecretKey::random(&mut OsRng);
        let jwe = encrypt(&key.public_key(), Some("k"), Enc::A256GCM, b"{\"vp_token\":{}}").unwrap();
        let position = position % jwe.len();
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut mutated = jwe.clone().into_bytes();
        mutated[position] = alphabet[usize::from(replacement)];
        prop_assume!(mutated != jwe.as_bytes());
        let mutated = String::from_utf8(mutated).unwrap();
        prop_assert!(decrypt(&mutated, &key, &BOTH, &limits()).is_err());
    }
}
