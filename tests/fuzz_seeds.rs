//! The seed corpus of the cargo-fuzz targets (`fuzz/seeds/<target>/`), made from
//! valid artefacts by the real issuer and holder code, and the check that keeps it
//! from rotting: every committed seed must still get the verdict its name promises
//! under exactly the context the targets use (`fuzz/seeds/context.json`, read by
//! both through `fuzz/src/context.rs`).
//!
//! `AGENTID_WRITE_FUZZ_SEEDS=1 cargo test --test fuzz_seeds` writes the seeds and the
//! context anew (keys come from fixed bytes; salts, `jti` and proofs are random, so
//! the files change, not their verdicts); without the variable the test only checks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../fuzz/src/context.rs"]
mod context;

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use agentid_verifier::authorize::Action;
use agentid_verifier::delegation::Rights;
use agentid_verifier::predicate::Predicate;
use agentid_verifier::{
    b64url_encode, did_key, Algorithm, BatchItem, ClaimPath, Policy, PresentationRequest,
    PublicKey, StatusLists, TrustStore, Verifier, VerifyError,
};
use agentid_wallet::{
    cnf, did_key_url, present, present_delegated, present_with_predicates, CredentialRequest,
    DelegationSpec, Issuer, SigningKey, PERSON_VCT, TASK_VCT,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use context::Context;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use serde_json::{json, Map, Value};

/// 2027-01-15T08:00:00Z: the fuzz targets' `now`.
const NOW: u64 = 1_800_000_000;
const AUDIENCE: &str = "https://payments.bank.example";
const NONCE: &str = "n-0S6_WzA2Mj";
const PINNED_ISSUER: &str = "https://issuer.example";
/// The status list entry revoked in the seed token.
const REVOKED_INDEX: u64 = 7;

/// Fixed secret bytes of the test parties (never keys of anyone: fuzz fixtures).
const ISSUER_ED25519: [u8; 32] = [0x11; 32];
const ISSUER_P256: [u8; 32] = [0x12; 32];
const ISSUER_SECP256K1: [u8; 32] = [0x13; 32];
const ISSUER_PINNED_P256: [u8; 32] = [0x14; 32];
const HOLDER_ED25519: [u8; 32] = [0x21; 32];
const HOLDER_P256: [u8; 32] = [0x22; 32];
const HOLDER_SECP256K1: [u8; 32] = [0x23; 32];
const SUB_AGENT_ED25519: [u8; 32] = [0x31; 32];

fn seeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds")
}

fn key(alg: Algorithm, secret: &[u8; 32]) -> SigningKey {
    SigningKey::from_secret_bytes(alg, secret).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn b64_decode(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

fn request() -> PresentationRequest {
    PresentationRequest::new(AUDIENCE, NONCE)
}

fn today() -> i64 {
    i64::try_from(NOW / 86_400).unwrap()
}

fn task_claims(max_delegation_depth: u64) -> Map<String, Value> {
    json!({
        "task": {"id": "T-1", "purpose": "refund order 1234"},
        "scope": ["refunds:write", "orders:read"],
        "resources": ["https://shop.example/orders/1234"],
        "audience": [AUDIENCE],
        "constraints": {"max_amount": 50, "currency": "EUR"},
        "max_delegation_depth": max_delegation_depth,
        "on_behalf_of": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    })
    .as_object()
    .cloned()
    .unwrap()
}

fn paths(texts: &[&str]) -> Vec<ClaimPath> {
    texts.iter().map(|text| text.parse().unwrap()).collect()
}

fn task_request(holder: &SigningKey, max_delegation_depth: u64) -> CredentialRequest {
    CredentialRequest {
        vct: TASK_VCT.into(),
        subject: holder.did().unwrap(),
        holder_key: holder.public_key().clone(),
        claims: task_claims(max_delegation_depth),
        // Rights claims (scope, resources, constraints, …) are never concealable.
        disclosable: paths(&["task.purpose", "on_behalf_of"]),
        lifetime_secs: 900,
        committed: Vec::new(),
    }
}

fn status_uri(issuer_did: &str) -> String {
    format!("urn:agentid:status-list:{issuer_did}")
}

fn zlib(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// The payload of a status list token as the wallet writes it (wallet/src/status_list.rs):
/// 2^20 one-bit entries, `REVOKED_INDEX` set. `lst` is left out when `with_lst` is false.
fn status_payload(issuer_did: &str, with_lst: bool) -> (Value, Vec<u8>) {
    let mut bits = vec![0u8; (1 << 20) / 8];
    bits[(REVOKED_INDEX / 8) as usize] |= 1 << (REVOKED_INDEX % 8);
    let compressed = zlib(&bits);
    let mut list = json!({"bits": 1});
    if with_lst {
        list["lst"] = json!(b64url_encode(&compressed));
    }
    let payload = json!({
        "iss": issuer_did, "sub": status_uri(issuer_did), "iat": NOW - 60,
        "exp": NOW + 3600, "ttl": 3600, "status_list": list
    });
    (payload, compressed)
}

/// Everything the write mode produces: the context and the files of each target.
struct Generated {
    context: Value,
    files: Vec<(String, Vec<u8>)>,
}

fn generate() -> Generated {
    let issuer_key = key(Algorithm::EdDSA, &ISSUER_ED25519);
    let issuer_did = issuer_key.did().unwrap();
    let issuer_kid = did_key_url(issuer_key.public_key()).unwrap();
    let issuer = Issuer::from_did_key(key(Algorithm::EdDSA, &ISSUER_ED25519)).unwrap();
    let issuer_p256 = Issuer::from_did_key(key(Algorithm::ES256, &ISSUER_P256)).unwrap();
    let issuer_k256 = Issuer::from_did_key(key(Algorithm::ES256K, &ISSUER_SECP256K1)).unwrap();
    let pinned_key = key(Algorithm::ES256, &ISSUER_PINNED_P256);
    let mut pinned_jwk = pinned_key.public_key().to_jwk();
    pinned_jwk["kid"] = json!("pinned-1");
    let issuer_pinned = Issuer::with_pinned_key(PINNED_ISSUER, pinned_key)
        .unwrap()
        .with_kid(Some("pinned-1".into()));
    let holder = key(Algorithm::EdDSA, &HOLDER_ED25519);
    let holder_p256 = key(Algorithm::ES256, &HOLDER_P256);
    let holder_k256 = key(Algorithm::ES256K, &HOLDER_SECP256K1);
    let sub_agent = key(Algorithm::EdDSA, &SUB_AGENT_ED25519);

    let trust = json!({"issuers": [
        {"id": issuer.id()},
        {"id": issuer_p256.id()},
        {"id": issuer_k256.id()},
        {"id": PINNED_ISSUER, "jwk": pinned_jwk},
    ]});
    let (status_payload_full, _) = status_payload(&issuer_did, true);
    let status_token = context::sign_compact(
        &json!({"alg": "EdDSA", "typ": "statuslist+jwt", "kid": issuer_kid}),
        &status_payload_full,
        &|message| issuer_key.sign(message),
    );

    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut add = |name: String, bytes: Vec<u8>| files.push((name, bytes));

    // presentation/: one per algorithm, a pinned-JWK issuer, status, predicates, a
    // delegation chain, and an issued credential without key binding.
    let shown = paths(&["task.purpose", "on_behalf_of"]);
    for (name, issuer, holder) in [
        ("eddsa", &issuer, &holder),
        ("es256", &issuer_p256, &holder_p256),
        ("es256k", &issuer_k256, &holder_k256),
        ("pinned-jwk", &issuer_pinned, &holder),
    ] {
        let credential = issuer.issue(&task_request(holder, 0), NOW).unwrap().sd_jwt;
        let presentation = present(&credential, holder, &shown, &request(), NOW).unwrap();
        add(
            format!("presentation/{name}.txt"),
            presentation.into_bytes(),
        );
        if name == "eddsa" {
            add(
                "presentation/credential.txt".into(),
                credential.into_bytes(),
            );
        }
    }
    let uri = status_uri(&issuer_did);
    for (name, index) in [("status-valid", 3), ("status-revoked", REVOKED_INDEX)] {
        let credential = issuer
            .issue_with_status(&task_request(&holder, 0), Some((index, &uri)), NOW)
            .unwrap()
            .sd_jwt;
        let presentation = present(&credential, &holder, &shown, &request(), NOW).unwrap();
        add(
            format!("presentation/{name}.txt"),
            presentation.into_bytes(),
        );
    }

    // A delegation chain: issuer → agent (holder) → sub-agent, then the sub-agent's
    // terminal hop for the request.
    let root = issuer.issue(&task_request(&holder, 1), NOW).unwrap().sd_jwt;
    let plain = Verifier::new(
        TrustStore::from_json(trust.to_string().as_bytes()).unwrap(),
        Policy::default(),
    );
    let root_verified = plain.verify_credential(&root, NOW).unwrap();
    let rights = Rights::from_root(&root_verified.claims, root_verified.expires_at).unwrap();
    let delegated = agentid_wallet::delegate(
        &root,
        &holder,
        &rights,
        &DelegationSpec {
            to: sub_agent.public_key().clone(),
            scope: Some(vec!["refunds:write".into()]),
            resources: Some(vec!["https://shop.example/orders/1234".into()]),
            constraints: json!({"max_amount": 40, "currency": "EUR"})
                .as_object()
                .cloned()
                .unwrap(),
            lifetime_secs: 600,
            max_depth: Some(0),
        },
        NOW,
    )
    .unwrap();
    let action = json!({"scope": "refunds:write",
        "resource": "https://shop.example/orders/1234", "amount": 40});
    let chain = present_delegated(&delegated, &sub_agent, &action, &request(), NOW).unwrap();
    add("presentation/chain.txt".into(), chain.into_bytes());

    // Predicates: one person credential with a committed birthdate, shown with no
    // disclosure, so every predicate presentation has the same `<issuer JWT>~`.
    let person = issuer
        .issue(
            &CredentialRequest {
                vct: PERSON_VCT.into(),
                subject: holder.did().unwrap(),
                holder_key: holder.public_key().clone(),
                claims:
                    json!({"given_name": "Sam", "family_name": "Lee", "birthdate": "1990-05-17"})
                        .as_object()
                        .cloned()
                        .unwrap(),
                disclosable: paths(&["given_name"]),
                lifetime_secs: 3600,
                committed: paths(&["birthdate"]),
            },
            NOW,
        )
        .unwrap();
    let statement = |text: &str| Predicate::parse(text, today()).unwrap();
    let mut predicate_base = None;
    let mut predicate_statements = Vec::new();
    for (name, predicates) in [
        ("one", vec![statement("age>=18")]),
        (
            "two",
            vec![statement("age>=18"), statement("birthdate>=1900-01-01")],
        ),
        (
            "between",
            vec![statement("1900-01-01<=birthdate<=2008-01-01")],
        ),
    ] {
        let presentation = present_with_predicates(
            &person.sd_jwt,
            &holder,
            &[],
            &predicates,
            &person.openings,
            &request(),
            NOW,
        )
        .unwrap();
        let cut = presentation.rfind('~').unwrap() + 1;
        let (base, kb_jwt) = presentation.split_at(cut);
        assert_eq!(*predicate_base.get_or_insert_with(|| base.to_owned()), base);
        let payload: Value =
            serde_json::from_slice(&b64_decode(kb_jwt.split('.').nth(1).unwrap())).unwrap();
        let mut input = payload["predicates"].to_string().into_bytes();
        input.push(b'\n');
        input.extend(b64_decode(payload["predicate_proof"].as_str().unwrap()));
        add(format!("predicate_proof/{name}.bin"), input);
        add(
            format!("presentation/predicate-{name}.txt"),
            presentation.clone().into_bytes(),
        );
        predicate_statements.push(
            predicates
                .iter()
                .map(Predicate::to_json)
                .collect::<Vec<_>>(),
        );
    }

    // status_token/: the token as it is, and the same list through the signing mode
    // (payload JSON, newline, raw ZLIB bytes), and a small 2-bit list.
    let mut raw = b"r".to_vec();
    raw.extend_from_slice(status_token.as_bytes());
    add("status_token/raw.txt".into(), raw);
    let (payload, compressed) = status_payload(&issuer_did, false);
    let mut signed = b"s".to_vec();
    signed.extend(payload.to_string().into_bytes());
    signed.push(b'\n');
    signed.extend(compressed);
    add("status_token/signed-1bit.bin".into(), signed);
    let mut two_bits = payload.clone();
    two_bits["status_list"]["bits"] = json!(2);
    two_bits["sub"] = json!("https://issuer.example/status/2");
    let mut signed = b"s".to_vec();
    signed.extend(two_bits.to_string().into_bytes());
    signed.push(b'\n');
    signed.extend(zlib(&[0xc9, 0x44, 0xf9]));
    add("status_token/signed-2bit.bin".into(), signed);

    // did_key/: every key above, the crate's own examples and some refusals.
    let mut dids: Vec<String> = [&issuer_key, &holder, &holder_p256, &holder_k256, &sub_agent]
        .iter()
        .map(|key| key.did().unwrap())
        .collect();
    dids.extend([issuer_p256.id().to_owned(), issuer_k256.id().to_owned()]);
    dids.extend(
        [
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
            "did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme",
            "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169",
        ]
        .map(str::to_owned),
    );
    for (index, did) in dids.iter().enumerate() {
        add(
            format!("did_key/valid-{index}.txt"),
            did.clone().into_bytes(),
        );
    }
    add("did_key/url-0.txt".into(), issuer_kid.clone().into_bytes());
    for (index, did) in [
        "did:key:z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW",
        "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooW",
        "did:key:m6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
        "did:web:example.com",
        "did:key:z",
    ]
    .iter()
    .enumerate()
    {
        add(
            format!("did_key/invalid-{index}.txt"),
            did.as_bytes().to_vec(),
        );
    }

    // signed_credential/: NumericDates at and past the end of RFC 3339 (year 10000),
    // 2^53 and u64::MAX, in the credential and in the KB-JWT.
    for (name, bytes) in signed_credential_seeds(&issuer_did, &holder) {
        add(format!("signed_credential/{name}.txt"), bytes);
    }

    // inputs/: `<kind letter><text>`, named `<kind>-ok-N` or `<kind>-bad-N`.
    let jwks: Vec<String> = [
        holder.public_key(),
        holder_p256.public_key(),
        holder_k256.public_key(),
    ]
    .iter()
    .map(|key| key.to_jwk().to_string())
    .collect();
    let mut inputs: Vec<(char, bool, String)> = vec![
        ('t', true, trust.to_string()),
        ('t', true, r#"{"issuers": []}"#.into()),
        ('t', false, format!(r#"{{"issuers": [{{"id": "{}", "jwk": {}}}]}}"#, issuer.id(), jwks[0])),
        ('t', false, r#"{"issuers": [{"id": "https://x"}]}"#.into()),
        ('p', true, "age>=18".into()),
        ('p', true, "birthdate<=2008-11-22".into()),
        ('p', true, "3<=level<=5".into()),
        ('p', true, " limit >= -7 ".into()),
        ('p', true, "a[07].b<=1".into()),
        ('p', false, "5<=level<=3".into()),
        ('p', false, "a>=1>=2".into()),
        ('c', true, "address.street_address".into()),
        ('c', true, "nationalities[0]".into()),
        ('c', true, "a[1][*].b".into()),
        ('c', false, "a..b".into()),
        ('c', false, "a[x]".into()),
        ('a', true, "refunds:write https://shop.example/orders/1234 40".into()),
        ('a', true, "orders:read https://shop.example/orders/".into()),
        ('a', false, "refunds:write https://shop.example/orders/1234 NaN".into()),
        ('a', false, "refunds:write".into()),
        ('j', true, action.to_string()),
        ('j', true, r#"{"scope": "orders:read", "resource": "https://shop.example/"}"#.into()),
        ('j', false, r#"{"scope": "x", "resource": "y", "amount": -1}"#.into()),
        ('k', false, r#"{"kty": "OKP", "crv": "X25519", "x": "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}"#.into()),
        ('r', true, "https://shop.example/orders/7\nhttps://shop.example/orders\nhttps://shop.example".into()),
        ('r', true, "urn:agentid:orders:7\nurn:agentid:orders".into()),
        ('r', false, "https://shop.example/orders/1234/.\t./.\t./admin\nhttps://shop.example/orders".into()),
        ('r', false, "https://user:pw@shop.example/orders/7\nhttps://shop.example/orders".into()),
    ];
    inputs.extend(jwks.iter().map(|jwk| ('k', true, jwk.clone())));
    let mut counters = std::collections::BTreeMap::new();
    for (kind, ok, text) in inputs {
        let counter = counters.entry((kind, ok)).or_insert(0);
        let verdict = if ok { "ok" } else { "bad" };
        add(
            format!("inputs/{kind}-{verdict}-{counter}.txt"),
            format!("{kind}{text}").into_bytes(),
        );
        *counter += 1;
    }

    let context = json!({
        "comment": "The fixed context of the fuzz targets; written by `AGENTID_WRITE_FUZZ_SEEDS=1 cargo test --test fuzz_seeds`. The seeds are throwaway test keys.",
        "now": NOW,
        "audience": AUDIENCE,
        "nonce": NONCE,
        "trust": trust,
        "status_tokens": [status_token],
        "status_max_age_secs": 86_400,
        "issuer_did": issuer_did,
        "issuer_kid": issuer_kid,
        "issuer_ed25519_seed": hex(&ISSUER_ED25519),
        "holder_ed25519_seed": hex(&HOLDER_ED25519),
        "predicate_base": predicate_base.unwrap(),
        "predicate_statements": predicate_statements,
    });
    Generated { context, files }
}

const TARGET_DIRS: [&str; 6] = [
    "presentation",
    "did_key",
    "status_token",
    "predicate_proof",
    "inputs",
    "signed_credential",
];

/// First second of year 10000: one past the last RFC 3339 time.
const YEAR_10000: u64 = 253_402_300_800;

/// The `signed_credential` seeds, `<ok|bad>-<what>` → `<credential payload>[\n<KB-JWT
/// payload>]`: deterministic JSON (no salts), so they are the same at every write.
fn signed_credential_seeds(issuer_did: &str, holder: &SigningKey) -> Vec<(String, Vec<u8>)> {
    let credential = json!({
        "iss": issuer_did, "iat": NOW - 60, "nbf": NOW - 60, "exp": NOW + 600,
        "vct": TASK_VCT, "cnf": cnf(holder.public_key()), "_sd_alg": "sha-256"
    });
    let kb = json!({"iat": NOW, "aud": AUDIENCE, "nonce": NONCE});
    let with = |base: &Value, name: &str, value: Value| {
        let mut out = base.clone();
        out[name] = value;
        out
    };
    let past_u64 = serde_json::Number::from_f64(18_446_744_073_709_551_616.0).unwrap();
    let cases: Vec<(&str, Value, Option<Value>)> = vec![
        ("ok-credential", credential.clone(), None),
        (
            "ok-exp-year-10000",
            with(&credential, "exp", json!(YEAR_10000)),
            None,
        ),
        (
            "ok-exp-2-pow-53",
            with(&credential, "exp", json!(1u64 << 53)),
            None,
        ),
        (
            "ok-exp-u64-max",
            with(&credential, "exp", json!(u64::MAX)),
            None,
        ),
        (
            "bad-exp-past-u64",
            with(&credential, "exp", Value::Number(past_u64)),
            None,
        ),
        (
            "bad-nbf-year-10000",
            with(&credential, "nbf", json!(YEAR_10000)),
            None,
        ),
        (
            "bad-iat-u64-max",
            with(&credential, "iat", json!(u64::MAX)),
            None,
        ),
        (
            "ok-kb-exp-year-10000",
            credential.clone(),
            Some(with(&kb, "exp", json!(YEAR_10000))),
        ),
        (
            "bad-kb-iat-u64-max",
            credential.clone(),
            Some(with(&kb, "iat", json!(u64::MAX))),
        ),
        (
            "bad-kb-nbf-u64-max",
            credential.clone(),
            Some(with(&kb, "nbf", json!(u64::MAX))),
        ),
    ];
    cases
        .into_iter()
        .map(|(name, credential, kb)| {
            let mut text = credential.to_string();
            if let Some(kb) = kb {
                text.push('\n');
                text.push_str(&kb.to_string());
            }
            (name.to_owned(), text.into_bytes())
        })
        .collect()
}

fn write_seeds() {
    let generated = generate();
    let dir = seeds_dir();
    for target in TARGET_DIRS {
        let path = dir.join(target);
        if path.exists() {
            fs::remove_dir_all(&path).unwrap();
        }
        fs::create_dir_all(&path).unwrap();
    }
    let mut context = serde_json::to_string_pretty(&generated.context).unwrap();
    context.push('\n');
    fs::write(dir.join("context.json"), context).unwrap();
    for (name, bytes) in generated.files {
        fs::write(dir.join(name), bytes).unwrap();
    }
}

/// The files of one target's seed directory, by name.
fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = fs::read_dir(seeds_dir().join(target))
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            (
                entry.file_name().into_string().unwrap(),
                fs::read(entry.path()).unwrap(),
            )
        })
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds for {target}");
    files
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

/// The batch path gives `presentation` the single path's verdict.
fn assert_batch_agrees(verifier: &Verifier, context: &Context, presentation: &str, name: &str) {
    let single = verifier.verify_presentation(presentation, &context.request, context.now);
    let item = BatchItem {
        presentation,
        request: &context.request,
    };
    let batch = verifier.verify_batch(&[item], context.now);
    assert_eq!(batch.len(), 1);
    match (&single, &batch[0]) {
        (Ok(one), Ok(other)) => assert_eq!(
            serde_json::to_value(one).unwrap(),
            serde_json::to_value(other).unwrap(),
            "{name}"
        ),
        (Err(one), Err(other)) => assert_eq!(one, other, "{name}"),
        _ => panic!("{name}: single {single:?} but batch {:?}", batch[0]),
    }
}

fn check_presentations(context: &Context, verifier: &Verifier) {
    for (name, bytes) in seeds("presentation") {
        let presentation = text(&bytes);
        let verdict = verifier.verify_presentation(presentation, &context.request, context.now);
        match name.as_str() {
            "credential.txt" => {
                assert_eq!(verdict.unwrap_err(), VerifyError::MissingKeyBinding);
                verifier
                    .verify_credential(presentation, context.now)
                    .unwrap();
            }
            "status-revoked.txt" => {
                assert!(
                    matches!(verdict, Err(VerifyError::Revoked(_))),
                    "{verdict:?}"
                );
            }
            "chain.txt" => assert!(verdict.unwrap().chain.is_some()),
            "status-valid.txt" => assert!(verdict.unwrap().status.is_some()),
            name if name.starts_with("predicate-") => {
                assert!(context.proves_a_seed_statement(&verdict.unwrap()), "{name}");
            }
            "eddsa.txt" | "es256.txt" | "es256k.txt" | "pinned-jwk.txt" => {
                verdict.unwrap_or_else(|error| panic!("{name}: {error}"));
            }
            other => panic!("presentation seed {other} has no expected verdict here"),
        }
        assert_batch_agrees(verifier, context, presentation, &name);
    }
}

fn check_status_tokens(context: &Context, issuer: &SigningKey) {
    let trust = context.trust().unwrap();
    for (name, bytes) in seeds("status_token") {
        let token = context
            .status_token(&bytes, &|message| issuer.sign(message))
            .unwrap_or_else(|| panic!("{name} is not a status_token input"));
        let mut lists = StatusLists::new();
        lists
            .add_token(&token, &trust, context.now, context.status_max_age_secs)
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        assert_eq!(lists.len(), 1, "{name}");
    }
}

fn check_predicate_proofs(context: &Context, verifier: &Verifier, holder: &SigningKey) {
    let mut proven = 0;
    for (name, bytes) in seeds("predicate_proof") {
        let presentation = context
            .predicate_presentation(&bytes, &|message| holder.sign(message))
            .unwrap_or_else(|| panic!("{name} is not a predicate_proof input"));
        let verified = verifier
            .verify_presentation(&presentation, &context.request, context.now)
            .unwrap_or_else(|error| panic!("{name}: {error}"));
        assert!(context.proves_a_seed_statement(&verified), "{name}");
        proven += 1;
    }
    assert_eq!(proven, context.predicate_statements.len());
}

fn check_signed_credentials(
    context: &Context,
    verifier: &Verifier,
    issuer: &SigningKey,
    holder: &SigningKey,
) {
    let expected = signed_credential_seeds(&context.issuer_did, holder);
    let found = seeds("signed_credential");
    let names = |files: &[(String, Vec<u8>)]| -> Vec<String> {
        files
            .iter()
            .map(|(name, _)| name.trim_end_matches(".txt").to_owned())
            .collect()
    };
    let mut wanted = names(&expected);
    wanted.sort();
    assert_eq!(
        names(&found),
        wanted,
        "signed_credential seeds are missing or extra"
    );
    for (name, bytes) in found {
        let presentation = context
            .signed_presentation(&bytes, &|message| issuer.sign(message), &|message| {
                holder.sign(message)
            })
            .unwrap_or_else(|| panic!("{name} is not a signed_credential input"));
        let verdict = if bytes.contains(&b'\n') {
            assert_batch_agrees(verifier, context, &presentation, &name);
            verifier.verify_presentation(&presentation, &context.request, context.now)
        } else {
            verifier.verify_credential(&presentation, context.now)
        };
        assert_eq!(
            verdict.is_ok(),
            name.starts_with("ok-"),
            "{name}: {verdict:?}"
        );
    }
}

fn check_did_keys() {
    for (name, bytes) in seeds("did_key") {
        let did = text(&bytes);
        if name.starts_with("valid-") {
            let key = did_key::decode(did).unwrap_or_else(|error| panic!("{name}: {error}"));
            assert_eq!(did_key::encode(&key), did, "{name}");
        } else if name.starts_with("url-") {
            let bare = did_key::did_from_key_id(did).unwrap();
            did_key::decode(bare).unwrap();
        } else if name.starts_with("invalid-") {
            assert!(did_key::decode(did).is_err(), "{name}");
        } else {
            panic!("did_key seed {name} has no expected verdict here");
        }
    }
}

fn check_inputs(context: &Context) {
    for (name, bytes) in seeds("inputs") {
        let expected_ok = name.contains("-ok-");
        assert!(expected_ok || name.contains("-bad-"), "{name}");
        let body = text(&bytes[1..]);
        let ok = match bytes[0] {
            b't' => TrustStore::from_json(body.as_bytes()).is_ok(),
            b'p' => Predicate::parse(body, i64::try_from(context.now / 86_400).unwrap()).is_ok(),
            b'c' => body.parse::<ClaimPath>().is_ok(),
            b'a' => Action::parse(body).is_ok(),
            b'r' => {
                let mut parts = body.splitn(3, '\n');
                let (wanted, granted) = (parts.next().unwrap(), parts.next().unwrap_or_default());
                agentid_verifier::resource::resource_within(wanted, granted)
            }
            b'j' => serde_json::from_str(body)
                .ok()
                .is_some_and(|value| Action::from_json(&value).is_ok()),
            b'k' => serde_json::from_str(body)
                .ok()
                .is_some_and(|value| PublicKey::from_jwk(&value).is_ok()),
            other => panic!("{name}: unknown kind {:?}", char::from(other)),
        };
        assert_eq!(ok, expected_ok, "{name}");
        assert_eq!(
            name.as_bytes()[0],
            bytes[0],
            "{name}: the name starts with the kind"
        );
    }
}

#[test]
fn fuzz_seeds_get_their_verdicts_under_the_fuzz_context() {
    if std::env::var("AGENTID_WRITE_FUZZ_SEEDS").as_deref() == Ok("1") {
        write_seeds();
    }
    let context_text = fs::read_to_string(seeds_dir().join("context.json")).unwrap();
    let context = Context::from_json(&context_text).expect("fuzz/seeds/context.json");
    assert_eq!(context.now, NOW);
    let issuer = key(Algorithm::EdDSA, &context.issuer_seed);
    let holder = key(Algorithm::EdDSA, &context.holder_seed);
    assert_eq!(issuer.did().unwrap(), context.issuer_did);
    assert_eq!(
        did_key_url(issuer.public_key()).unwrap(),
        context.issuer_kid
    );
    let verifier = context
        .verifier()
        .expect("the context's trust file and status tokens");

    check_presentations(&context, &verifier);
    check_status_tokens(&context, &issuer);
    check_predicate_proofs(&context, &verifier, &holder);
    check_signed_credentials(&context, &verifier, &issuer, &holder);
    check_did_keys();
    check_inputs(&context);
}
