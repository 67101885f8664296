//! Mutation sweeps as ordinary tests. From valid inputs of every kind — plain
//! presentations (EdDSA, ES256, ES256K issuers), presentations with one and with two
//! aggregated predicates, a chain of two delegations ending in a terminal action hop,
//! and an issued credential checked without key binding — named operators make
//! thousands of mutants, and every one must be rejected. A few operators are marked
//! as allowed to verify, and then only to the result they may give: harmless ones
//! (`Expect::Same`: exactly the seed's result), withholding (`Expect::Withheld`: the
//! seed's result with claims or predicates left out) and a delegate's own new action
//! (`Expect::Action`). Every mutant also goes through `Verifier::verify_batch`, whose
//! verdict must equal the single path's.
//!
//! Counts per kind and operator: `cargo test --test mutations -- --nocapture`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Instant;

use agentid_verifier::delegation::{scope_within, Rights};
use agentid_verifier::predicate::{birthdate_cutoff, Predicate, MAX_VALUE};
use agentid_verifier::{
    b64url_encode, sha256_b64, Algorithm, BatchItem, Policy, PresentationRequest, TrustStore,
    Verified, Verifier, VerifyError,
};
use agentid_wallet::{
    cnf, delegate, present, present_delegated, present_with_predicates, CredentialRequest,
    DelegationSpec, IssuedCredential, Issuer, SchemaRegistry, SigningKey, TASK_VCT,
};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use common::{task_claims, AUDIENCE, NONCE, NOW};
use serde_json::{json, Map, Value};

// ---------------------------------------------------------------------------------
// The oracle
// ---------------------------------------------------------------------------------

/// What a mutant may verify to. Rejection is always allowed.
#[derive(Debug, Clone)]
enum Expect {
    /// Must be rejected.
    Reject,
    /// Harmless: may verify, but only to exactly the seed's result.
    Same,
    /// The holder left out what it may leave out (a disclosure of an issued credential
    /// checked without key binding; all of its predicates): may verify, but only to the
    /// seed's result with claims or predicates missing and everything else equal.
    Withheld,
    /// The presenting delegate signed another action of its own: may verify, but only
    /// to the seed's result with exactly this action reported. The verifier reports
    /// the action and the effective rights; authorization (`authorize`) decides on it,
    /// and each such action is outside the effective rights (asserted when made).
    Action(Value),
}

struct Mutant {
    op: String,
    detail: String,
    bytes: Vec<u8>,
    expect: Expect,
}

#[derive(Default)]
struct Mutants(Vec<Mutant>);

impl Mutants {
    fn add(
        &mut self,
        op: &str,
        detail: impl Into<String>,
        text: impl Into<Vec<u8>>,
        expect: Expect,
    ) {
        self.0.push(Mutant {
            op: op.to_owned(),
            detail: detail.into(),
            bytes: text.into(),
            expect,
        });
    }

    fn reject(&mut self, op: &str, detail: impl Into<String>, text: impl Into<Vec<u8>>) {
        self.add(op, detail, text, Expect::Reject);
    }
}

fn allowed(expect: &Expect, seed: &Value, got: &Value) -> bool {
    match expect {
        Expect::Reject => false,
        Expect::Same => got == seed,
        Expect::Withheld => withheld(seed, got),
        Expect::Action(action) => {
            let mut want = seed.clone();
            want["chain"]["action"] = action.clone();
            *got == want
        }
    }
}

/// True when `got` is `seed` with claims or predicates left out, all else equal.
fn withheld(seed: &Value, got: &Value) -> bool {
    let split = |value: &Value| {
        let mut rest = value.clone();
        let object = rest.as_object_mut().unwrap();
        let claims = object.remove("claims").unwrap_or(Value::Null);
        let predicates = object.remove("predicates").unwrap_or(Value::Null);
        (rest, claims, predicates)
    };
    let (seed_rest, seed_claims, seed_predicates) = split(seed);
    let (got_rest, got_claims, got_predicates) = split(got);
    seed_rest == got_rest
        && within(&got_claims, &seed_claims)
        && within(&got_predicates, &seed_predicates)
}

/// True when `part` is `whole` with object members or array elements left out.
fn within(part: &Value, whole: &Value) -> bool {
    match (part, whole) {
        (Value::Object(part), Value::Object(whole)) => part
            .iter()
            .all(|(name, value)| whole.get(name).is_some_and(|other| within(value, other))),
        (Value::Array(part), Value::Array(whole)) => {
            let mut rest = whole.iter();
            part.iter()
                .all(|item| rest.any(|candidate| within(item, candidate)))
        }
        _ => part == whole,
    }
}

// ---------------------------------------------------------------------------------
// Inputs taken apart
// ---------------------------------------------------------------------------------

/// One SD-JWT segment `JWT~D1~…~Dn~` (a credential, or a delegation hop).
#[derive(Debug, Clone, PartialEq)]
struct Segment {
    jwt: String,
    disclosures: Vec<String>,
}

impl Segment {
    /// `text` ends with '~'.
    fn parse(text: &str) -> Self {
        let body = text.strip_suffix('~').expect("a segment ends with '~'");
        let mut parts = body.split('~');
        Segment {
            jwt: parts.next().unwrap().to_owned(),
            disclosures: parts.map(str::to_owned).collect(),
        }
    }

    /// As presented, with the trailing '~' (what `sd_hash` covers).
    fn text(&self) -> String {
        let mut text = self.jwt.clone();
        text.push('~');
        for disclosure in &self.disclosures {
            text.push_str(disclosure);
            text.push('~');
        }
        text
    }
}

/// An input: one segment (a credential) or several (a delegation chain), and a
/// KB-JWT for a plain presentation. Tokens are numbered: the segments' JWTs, then the
/// KB-JWT; token `t > 0` is bound to segment `t - 1`.
#[derive(Debug, Clone, PartialEq)]
struct Shape {
    segments: Vec<Segment>,
    kb: Option<String>,
}

impl Shape {
    fn parse(text: &str) -> Self {
        if text.contains("~~") {
            let parts: Vec<&str> = text.split("~~").collect();
            let last = parts.len() - 1;
            let segments = parts
                .iter()
                .enumerate()
                .map(|(index, part)| {
                    if index < last {
                        Segment::parse(&format!("{part}~"))
                    } else {
                        Segment::parse(part)
                    }
                })
                .collect();
            Shape { segments, kb: None }
        } else {
            let (body, kb) = text.rsplit_once('~').unwrap();
            Shape {
                segments: vec![Segment::parse(&format!("{body}~"))],
                kb: (!kb.is_empty()).then(|| kb.to_owned()),
            }
        }
    }

    fn join(&self) -> String {
        let last = self.segments.len() - 1;
        let mut text = self
            .segments
            .iter()
            .enumerate()
            .map(|(index, segment)| {
                let text = segment.text();
                if index < last {
                    text[..text.len() - 1].to_owned()
                } else {
                    text
                }
            })
            .collect::<Vec<_>>()
            .join("~~");
        if let Some(kb) = &self.kb {
            text.push_str(kb);
        }
        text
    }

    fn tokens(&self) -> usize {
        self.segments.len() + usize::from(self.kb.is_some())
    }

    fn token(&self, t: usize) -> &str {
        match self.segments.get(t) {
            Some(segment) => &segment.jwt,
            None => self.kb.as_deref().unwrap(),
        }
    }

    fn set_token(&mut self, t: usize, jwt: String) {
        match self.segments.get_mut(t) {
            Some(segment) => segment.jwt = jwt,
            None => self.kb = Some(jwt),
        }
    }
}

/// A compact JWS taken apart, header and payload decoded.
struct Token {
    header: Map<String, Value>,
    payload: Map<String, Value>,
    parts: Vec<String>,
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).unwrap()
}

fn open(jwt: &str) -> Token {
    let parts: Vec<String> = jwt.split('.').map(str::to_owned).collect();
    assert_eq!(parts.len(), 3, "{jwt}");
    let object = |part: &str| match serde_json::from_slice(&unb64(part)).unwrap() {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    };
    Token {
        header: object(&parts[0]),
        payload: object(&parts[1]),
        parts,
    }
}

/// Signs the header and payload JSON texts exactly as given.
fn seal(key: &SigningKey, header: &str, payload: &str) -> String {
    let input = format!(
        "{}.{}",
        b64url_encode(header.as_bytes()),
        b64url_encode(payload.as_bytes())
    );
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", b64url_encode(&signature))
}

/// The texts under the token's original signature, which no longer covers them.
fn unsigned(token: &Token, header: &str, payload: &str) -> String {
    format!(
        "{}.{}.{}",
        b64url_encode(header.as_bytes()),
        b64url_encode(payload.as_bytes()),
        token.parts[2]
    )
}

/// A JSON value written verbatim by [`render`]: what `serde_json` cannot hold
/// (`1e400`, `1.8e9` kept as written, …).
fn raw(json_text: &str) -> Value {
    let hex: String = json_text.bytes().map(|b| format!("{b:02x}")).collect();
    Value::String(format!("@@raw@@{hex}@@"))
}

fn render(value: &Value) -> String {
    let text = value.to_string();
    let (open_marker, close_marker) = ("\"@@raw@@", "@@\"");
    let mut out = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(start) = rest.find(open_marker) {
        out.push_str(&rest[..start]);
        let after = &rest[start + open_marker.len()..];
        let end = after.find(close_marker).unwrap();
        let bytes: Vec<u8> = (0..end)
            .step_by(2)
            .map(|i| u8::from_str_radix(&after[i..i + 2], 16).unwrap())
            .collect();
        out.push_str(std::str::from_utf8(&bytes).unwrap());
        rest = &after[end + close_marker.len()..];
    }
    out.push_str(rest);
    out
}

fn render_map(map: &Map<String, Value>) -> String {
    render(&Value::Object(map.clone()))
}

/// The map with `name` set to `value` (or removed), rendered.
fn with_member(map: &Map<String, Value>, name: &str, value: Option<Value>) -> String {
    let mut map = map.clone();
    match value {
        Some(value) => {
            map.insert(name.to_owned(), value);
        }
        None => {
            map.remove(name);
        }
    }
    render_map(&map)
}

/// Ways to write a NumericDate that are not a whole number of seconds as a JSON
/// integer: never acceptable (agentid reads whole, non-negative seconds only).
fn malformed_numbers(value: u64) -> Vec<(String, String)> {
    [
        ("float", format!("{value}.0")),
        ("exponent", format!("{:e}", value as f64)),
        ("fraction", format!("{value}.5")),
        ("huge 1e400", "1e400".to_owned()),
        ("huge -1e400", "-1e400".to_owned()),
        ("2^64", "18446744073709551616".to_owned()),
        ("1e19", "1e19".to_owned()),
        ("negative", format!("-{value}")),
        ("minus one", "-1".to_owned()),
        ("negative zero", "-0".to_owned()),
        ("string", format!("\"{value}\"")),
        ("null", "null".to_owned()),
        ("bool", "true".to_owned()),
        ("array", format!("[{value}]")),
        ("object", format!("{{\"value\":{value}}}")),
    ]
    .into_iter()
    .map(|(label, text)| (label.to_owned(), text))
    .collect()
}

/// The same JSON object written differently (same members, same values).
fn equivalent_texts(map: &Map<String, Value>) -> Vec<(&'static str, String)> {
    let value = Value::Object(map.clone());
    let compact = value.to_string();
    let (first_key, first_value) = map.iter().next().unwrap();
    let mut texts = vec![
        ("pretty", serde_json::to_string_pretty(&value).unwrap()),
        (
            "members reversed",
            format!(
                "{{{}}}",
                map.iter()
                    .rev()
                    .map(|(name, value)| format!("{}:{value}", Value::String(name.clone())))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        ),
        ("surrounding whitespace", format!(" \t{compact}\n")),
        (
            "escaped letter",
            format!("{{\"\\u{:04x}{}", first_key.as_bytes()[0], &compact[3..]),
        ),
        (
            "member repeated",
            format!(
                "{},{}:{first_value}}}",
                &compact[..compact.len() - 1],
                Value::String(first_key.clone())
            ),
        ),
    ];
    texts.retain(|(_, text)| *text != compact);
    texts
}

const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The same bytes in other base64 forms, all refused by a strict base64url reader.
fn base64_variants(segment: &str) -> Vec<(&'static str, String)> {
    let bytes = unb64(segment);
    let middle = segment.len() / 2;
    let mut variants = vec![
        ("padded", URL_SAFE.encode(&bytes)),
        ("standard alphabet, padded", STANDARD.encode(&bytes)),
        ("standard alphabet", STANDARD_NO_PAD.encode(&bytes)),
        ("extra '='", format!("{segment}=")),
        ("extra '=='", format!("{segment}==")),
        (
            "space inside",
            format!("{} {}", &segment[..middle], &segment[middle..]),
        ),
        (
            "line break inside",
            format!("{}\r\n{}", &segment[..middle], &segment[middle..]),
        ),
    ];
    // The unused low bits of the last character set: the same bytes when decoded
    // leniently.
    if !segment.len().is_multiple_of(4) {
        let last = *segment.as_bytes().last().unwrap();
        let index = B64URL.iter().position(|&c| c == last).unwrap();
        let mut loose = segment[..segment.len() - 1].to_owned();
        loose.push(char::from(B64URL[index ^ 1]));
        variants.push(("non-canonical trailing bits", loose));
    }
    variants.retain(|(_, text)| text != segment);
    variants
}

fn from_hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// ℓ, the order of the Ed25519 base point, little-endian.
const ED25519_ORDER: &str = "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010";
/// The group orders of P-256 and secp256k1, big-endian.
const P256_ORDER: &str = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
const SECP256K1_ORDER: &str = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";

/// S + ℓ for an Ed25519 signature `R ‖ S` (S little-endian): the same value mod ℓ, not
/// canonical.
fn ed25519_s_plus_order(signature: &[u8]) -> Vec<u8> {
    let order = from_hex(ED25519_ORDER);
    let mut out = signature.to_vec();
    let mut carry = 0u16;
    for (byte, add) in out[32..].iter_mut().zip(&order) {
        let sum = u16::from(*byte) + u16::from(*add) + carry;
        *byte = (sum & 0xff) as u8;
        carry = sum >> 8;
    }
    out
}

/// `r ‖ (n − s)` for an ECDSA signature `r ‖ s`: the other valid signature.
fn ecdsa_negated_s(signature: &[u8], order_hex: &str) -> Vec<u8> {
    let order = from_hex(order_hex);
    let mut out = signature.to_vec();
    let mut borrow = 0i16;
    for index in (0..32).rev() {
        let mut diff = i16::from(order[index]) - i16::from(signature[32 + index]) - borrow;
        borrow = i16::from(diff < 0);
        if diff < 0 {
            diff += 256;
        }
        out[32 + index] = diff as u8;
    }
    out
}

/// SplitMix64: a fixed-seed generator, so every run makes the same mutants.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        usize::try_from(self.next() % bound as u64).unwrap()
    }
}

// ---------------------------------------------------------------------------------
// Seeds
// ---------------------------------------------------------------------------------

struct Seed {
    kind: &'static str,
    text: String,
    verifier: Verifier,
    /// `None`: an issued credential, checked with `verify_credential`.
    request: Option<PresentationRequest>,
}

impl Seed {
    fn verify(&self, text: &str) -> Result<Verified, VerifyError> {
        match &self.request {
            Some(request) => self.verifier.verify_presentation(text, request, NOW),
            None => self.verifier.verify_credential(text, NOW),
        }
    }
}

struct Budget {
    flips: usize,
    truncations: usize,
}

struct Kind {
    seed: Seed,
    shape: Shape,
    /// Who signs each token: `None` for the issuer (no mutant can sign for it), else
    /// the holder or delegate — a malicious one re-signs its own token.
    keys: Vec<Option<SigningKey>>,
    /// A key nobody delegated to, of the presenter's algorithm.
    stranger: SigningKey,
    /// Valid inputs of the same kind: another credential of the same issuer, the same
    /// credential for another nonce, other chains. Sources of foreign parts.
    others: Vec<Shape>,
    budget: Budget,
}

impl Kind {
    fn new(
        seed: Seed,
        keys: Vec<Option<SigningKey>>,
        stranger: SigningKey,
        others: &[String],
        budget: Budget,
    ) -> Self {
        let shape = Shape::parse(&seed.text);
        assert_eq!(shape.join(), seed.text, "the seed parses and joins back");
        assert_eq!(shape.tokens(), keys.len());
        Kind {
            shape,
            seed,
            keys,
            stranger,
            others: others.iter().map(|text| Shape::parse(text)).collect(),
            budget,
        }
    }

    fn key_refs(&self) -> Vec<Option<&SigningKey>> {
        self.keys.iter().map(Option::as_ref).collect()
    }
}

fn request() -> PresentationRequest {
    common::request()
}

fn other_request() -> PresentationRequest {
    PresentationRequest::new(AUDIENCE, "another-nonce")
}

const RICH_VCT: &str = "urn:agentid:vct:mutants:1";

/// Disclosable: nested objects (recursively), array elements (and the array itself).
/// The rights claims (scope, resources, constraints) stay issuer-signed in the clear.
const RICH_DISCLOSABLE: [&str; 8] = [
    "task",
    "task.purpose",
    "on_behalf_of",
    "nationalities",
    "nationalities[0]",
    "nationalities[1]",
    "address",
    "address.street",
];

fn rich_issuer(alg: Algorithm) -> Issuer {
    let mut registry = SchemaRegistry::builtin().unwrap();
    registry
        .add("mutants", &json!({"x-vct": RICH_VCT, "type": "object"}))
        .unwrap();
    Issuer::from_did_key(SigningKey::generate(alg))
        .unwrap()
        .with_schemas(registry)
}

fn rich_credential(issuer: &Issuer, agent: &SigningKey) -> String {
    let mut claims = task_claims();
    claims.insert("nationalities".into(), json!(["DE", "FR"]));
    claims.insert(
        "address".into(),
        json!({"street": "Main St 1", "locality": "Berlin"}),
    );
    issuer
        .issue(
            &CredentialRequest {
                vct: RICH_VCT.into(),
                subject: agent.did().unwrap(),
                holder_key: agent.public_key().clone(),
                claims,
                disclosable: RICH_DISCLOSABLE
                    .iter()
                    .map(|path| path.parse().unwrap())
                    .collect(),
                lifetime_secs: 900,
                committed: Vec::new(),
            },
            NOW,
        )
        .unwrap()
        .sd_jwt
}

/// A presentation disclosing every disclosable claim.
fn present_all(credential: &str, agent: &SigningKey, request: &PresentationRequest) -> String {
    let paths: Vec<_> = ["task", "on_behalf_of", "nationalities", "address"]
        .iter()
        .map(|p| p.parse().unwrap())
        .collect();
    present(credential, agent, &paths, request, NOW).unwrap()
}

fn verifier_for(issuer: &Issuer) -> Verifier {
    let mut trust = TrustStore::new();
    trust.add_did(issuer.id()).unwrap();
    Verifier::new(trust, Policy::default())
}

fn plain_kind(alg: Algorithm, kind: &'static str) -> Kind {
    let issuer = rich_issuer(alg);
    let agent = SigningKey::generate(alg);
    let credential = rich_credential(&issuer, &agent);
    let text = present_all(&credential, &agent, &request());
    let other = present_all(&rich_credential(&issuer, &agent), &agent, &request());
    let renonced = present_all(&credential, &agent, &other_request());
    let seed = Seed {
        kind,
        text,
        verifier: verifier_for(&issuer),
        request: Some(request()),
    };
    let budget = Budget {
        flips: 3000,
        truncations: 2000,
    };
    Kind::new(
        seed,
        vec![None, Some(agent)],
        SigningKey::generate(alg),
        &[other, renonced],
        budget,
    )
}

fn credential_kind() -> Kind {
    let issuer = rich_issuer(Algorithm::ES256);
    let agent = SigningKey::generate(Algorithm::ES256);
    let credential = rich_credential(&issuer, &agent);
    let other = rich_credential(&issuer, &agent);
    // The same credential presented: the source of a KB-JWT to append.
    let presented = present_all(&credential, &agent, &request());
    let seed = Seed {
        kind: "credential (no key binding)",
        text: credential,
        verifier: verifier_for(&issuer),
        request: None,
    };
    let budget = Budget {
        flips: 2500,
        truncations: 1500,
    };
    Kind::new(
        seed,
        vec![None],
        SigningKey::generate(Algorithm::ES256),
        &[other, presented],
        budget,
    )
}

const ZK_VCT: &str = "urn:agentid:vct:zk-mutants:1";

fn zk_credential(issuer: &Issuer, holder: &SigningKey, birthdate: &str) -> IssuedCredential {
    let claims =
        json!({"given_name": "Sam", "birthdate": birthdate, "level": 4, "limit": 800, "score": 61});
    issuer
        .issue(
            &CredentialRequest {
                vct: ZK_VCT.into(),
                subject: holder.did().unwrap(),
                holder_key: holder.public_key().clone(),
                claims: claims.as_object().cloned().unwrap(),
                disclosable: vec!["given_name".parse().unwrap()],
                lifetime_secs: 3600,
                committed: ["birthdate", "level", "limit", "score"]
                    .iter()
                    .map(|p| p.parse().unwrap())
                    .collect(),
            },
            NOW,
        )
        .unwrap()
}

fn adult() -> Predicate {
    let today = i64::try_from(NOW / 86_400).unwrap();
    Predicate::at_most("birthdate", birthdate_cutoff(18, today).unwrap())
}

fn predicate_kind(
    kind: &'static str,
    predicates: &[Predicate],
    issuer_alg: Algorithm,
    holder_alg: Algorithm,
) -> Kind {
    let mut registry = SchemaRegistry::builtin().unwrap();
    registry
        .add("zk-mutants", &json!({"x-vct": ZK_VCT, "type": "object"}))
        .unwrap();
    let issuer = Issuer::from_did_key(SigningKey::generate(issuer_alg))
        .unwrap()
        .with_schemas(registry);
    let holder = SigningKey::generate(holder_alg);
    let present = |credential: &IssuedCredential, request: &PresentationRequest| {
        present_with_predicates(
            &credential.sd_jwt,
            &holder,
            &["given_name".parse().unwrap()],
            predicates,
            &credential.openings,
            request,
            NOW,
        )
        .unwrap()
    };
    let credential = zk_credential(&issuer, &holder, "2000-05-17");
    let text = present(&credential, &request());
    let other = present(&zk_credential(&issuer, &holder, "1990-01-01"), &request());
    let renonced = present(&credential, &other_request());
    let mut trust = TrustStore::new();
    trust.add_did(issuer.id()).unwrap();
    let seed = Seed {
        kind,
        text,
        verifier: Verifier::new(trust, Policy::default()),
        request: Some(request()),
    };
    // A proof costs 1–3 ms to check, but only mutants with valid signatures get that
    // far; the byte-level sweeps are still capped to keep the file fast.
    let budget = Budget {
        flips: 1500,
        truncations: 800,
    };
    Kind::new(
        seed,
        vec![None, Some(holder)],
        SigningKey::generate(holder_alg),
        &[other, renonced],
        budget,
    )
}

fn action() -> Value {
    json!({"scope": "refunds:write", "resource": "https://shop.example/orders/1234", "amount": 40})
}

/// root (ES256 issuer) ~~ agent (EdDSA) delegates to sub-agent 1 (ES256K) ~~ which
/// delegates to sub-agent 2 (EdDSA) ~~ sub-agent 2's terminal action hop.
fn chain_kind() -> Kind {
    let issuer = Issuer::from_did_key(SigningKey::generate(Algorithm::ES256)).unwrap();
    let agent = SigningKey::generate(Algorithm::EdDSA);
    let sub1 = SigningKey::generate(Algorithm::ES256K);
    let sub2 = SigningKey::generate(Algorithm::EdDSA);
    let claims = json!({
        "task": {"id": "T-9", "purpose": "handle refunds for order 1234"},
        "scope": ["refunds:*", "orders:read"],
        "resources": ["https://shop.example/orders/"],
        "audience": [AUDIENCE, "https://bank-b.example"],
        "constraints": {"max_amount": 100, "currency": "EUR"},
        "max_delegation_depth": 2,
        "on_behalf_of": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    });
    let root = || {
        issuer
            .issue(
                &CredentialRequest {
                    vct: TASK_VCT.into(),
                    subject: agent.did().unwrap(),
                    holder_key: agent.public_key().clone(),
                    claims: claims.as_object().cloned().unwrap(),
                    disclosable: vec![
                        "task.purpose".parse().unwrap(),
                        "on_behalf_of".parse().unwrap(),
                    ],
                    lifetime_secs: 3600,
                    committed: vec![],
                },
                NOW,
            )
            .unwrap()
            .sd_jwt
    };
    let mut trust = TrustStore::new();
    trust.add_did(issuer.id()).unwrap();
    let verifier = Verifier::new(trust, Policy::default());
    let build = |root: &str| {
        let verified = verifier.verify_credential(root, NOW).unwrap();
        let rights = Rights::from_root(&verified.claims, verified.expires_at).unwrap();
        let spec = DelegationSpec {
            to: sub1.public_key().clone(),
            scope: Some(vec!["refunds:write".into(), "orders:read".into()]),
            resources: Some(vec!["https://shop.example/orders/".into()]),
            constraints: json!({"max_amount": 80}).as_object().cloned().unwrap(),
            lifetime_secs: 1800,
            max_depth: None,
        };
        let first = delegate(root, &agent, &rights, &spec, NOW).unwrap();
        let rights = verifier
            .verify_credential(&first, NOW)
            .unwrap()
            .chain
            .unwrap()
            .effective_rights;
        let spec = DelegationSpec {
            to: sub2.public_key().clone(),
            scope: Some(vec!["refunds:write".into()]),
            resources: Some(vec!["https://shop.example/orders/1234".into()]),
            constraints: json!({"max_amount": 50}).as_object().cloned().unwrap(),
            lifetime_secs: 600,
            max_depth: None,
        };
        let second = delegate(&first, &sub1, &rights, &spec, NOW).unwrap();
        present_delegated(&second, &sub2, &action(), &request(), NOW).unwrap()
    };
    let ours = root();
    let text = build(&ours);
    // The same root delegated again (fresh salts and nonces), and another root.
    let again = build(&ours);
    let elsewhere = build(&root());
    let seed = Seed {
        kind: "delegation chain",
        text,
        verifier,
        request: Some(request()),
    };
    let budget = Budget {
        flips: 3000,
        truncations: 2000,
    };
    Kind::new(
        seed,
        vec![None, Some(agent), Some(sub1), Some(sub2)],
        SigningKey::generate(Algorithm::EdDSA),
        &[again, elsewhere],
        budget,
    )
}

// ---------------------------------------------------------------------------------
// Operators
// ---------------------------------------------------------------------------------

/// Single bytes changed: every position (or every `stride`-th one for long seeds), then
/// a seeded random sample up to the budget. Half flip one bit (which may leave UTF-8),
/// half substitute a character that base64url, JSON or the separators use.
fn byte_flips(kind: &Kind, rng: &mut Rng, out: &mut Mutants) {
    const CHARS: &[u8] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_~.=+/ \"{}[]:,\\";
    let bytes = kind.seed.text.as_bytes();
    let budget = kind.budget.flips;
    let stride = bytes.len().div_ceil(budget / 2).max(1);
    let mutate = |at: usize, rng: &mut Rng, out: &mut Mutants| {
        let mut mutant = bytes.to_vec();
        let (op, detail) = if rng.below(2) == 0 {
            let bit = rng.below(8);
            mutant[at] ^= 1 << bit;
            ("byte: bit flipped", format!("byte {at} bit {bit}"))
        } else {
            loop {
                let with = CHARS[rng.below(CHARS.len())];
                if with != bytes[at] {
                    mutant[at] = with;
                    break;
                }
            }
            (
                "byte: substituted",
                format!("byte {at} → {:?}", char::from(mutant[at])),
            )
        };
        out.reject(op, detail, mutant);
    };
    let mut made = 0;
    for at in (0..bytes.len()).step_by(stride) {
        mutate(at, rng, out);
        made += 1;
    }
    while made < budget {
        mutate(rng.below(bytes.len()), rng, out);
        made += 1;
    }
}

/// Prefixes: every length for short seeds, else every length within 3 bytes of a
/// separator and a stride over the rest. A credential cut right after a '~' is the
/// same credential with its last disclosures withheld.
fn truncations(kind: &Kind, out: &mut Mutants) {
    let text = &kind.seed.text;
    let bytes = text.as_bytes();
    let mut lengths: Vec<usize> = if bytes.len() <= kind.budget.truncations {
        (0..bytes.len()).collect()
    } else {
        let mut near: Vec<usize> = bytes
            .iter()
            .enumerate()
            .filter(|&(_, &b)| b == b'~' || b == b'.')
            .flat_map(|(at, _)| at.saturating_sub(3)..(at + 4).min(bytes.len()))
            .collect();
        let stride = bytes
            .len()
            .div_ceil(kind.budget.truncations.saturating_sub(near.len()).max(1));
        near.extend((0..bytes.len()).step_by(stride.max(1)));
        near
    };
    lengths.sort_unstable();
    lengths.dedup();
    for length in lengths {
        let prefix = &bytes[..length];
        let expect = if kind.seed.request.is_none() && prefix.ends_with(b"~") {
            Expect::Withheld
        } else {
            Expect::Reject
        };
        out.add("truncated", format!("to {length} bytes"), prefix, expect);
    }
    for (what, text) in [
        ("'~'", format!("{text}~")),
        ("'~~'", format!("{text}~~")),
        ("'.'", format!("{text}.")),
        ("'='", format!("{text}=")),
        ("space", format!("{text} ")),
        ("line feed", format!("{text}\n")),
        ("CRLF", format!("{text}\r\n")),
        ("NUL", format!("{text}\0")),
        ("'~x'", format!("{text}~x")),
        ("leading space", format!(" {text}")),
        ("leading '~'", format!("~{text}")),
        ("byte order mark", format!("\u{feff}{text}")),
        ("the input twice", format!("{text}{text}")),
        ("the input twice, '~' between", format!("{text}~{text}")),
    ] {
        out.reject("appended or prepended", what, text);
    }
}

/// Disclosures removed, duplicated, reordered, taken from another credential or
/// moved between segments.
fn disclosure_ops(kind: &Kind, out: &mut Mutants) {
    let shape = &kind.shape;
    let credential_mode = kind.seed.request.is_none();
    for (s, segment) in shape.segments.iter().enumerate() {
        let with = |disclosures: Vec<String>| {
            let mut mutant = shape.clone();
            mutant.segments[s].disclosures = disclosures;
            mutant.join()
        };
        let all = &segment.disclosures;
        // Without key binding the holder may withhold any disclosure (RFC 9901 §4):
        // the result may only lose claims. With it, sd_hash covers every disclosure.
        let removal = if credential_mode {
            Expect::Withheld
        } else {
            Expect::Reject
        };
        for (i, disclosure) in all.iter().enumerate() {
            let mut fewer = all.clone();
            fewer.remove(i);
            out.add(
                "disclosure removed",
                format!("segment {s} #{i}"),
                with(fewer),
                removal.clone(),
            );
            let mut twice = all.clone();
            twice.insert(i, disclosure.clone());
            out.reject(
                "disclosure duplicated",
                format!("segment {s} #{i} in place"),
                with(twice),
            );
            let mut twice = all.clone();
            twice.push(disclosure.clone());
            out.reject(
                "disclosure duplicated",
                format!("segment {s} #{i} at the end"),
                with(twice),
            );
        }
        if !all.is_empty() {
            out.add(
                "disclosure removed",
                format!("segment {s}: all"),
                with(Vec::new()),
                removal.clone(),
            );
            let doubled: Vec<String> = all.iter().chain(all).cloned().collect();
            out.reject(
                "disclosure duplicated",
                format!("segment {s}: all"),
                with(doubled),
            );
        }
        // Harmless: RFC 9901 gives disclosures no order, so a reordered issued
        // credential is the same credential. With key binding, sd_hash is over the
        // string as presented and must then fail; either way no other result.
        let mut orders = Vec::new();
        for k in 1..all.len() {
            let mut rotated = all.clone();
            rotated.rotate_left(k);
            orders.push((format!("rotated by {k}"), rotated));
        }
        for i in 1..all.len() {
            let mut swapped = all.clone();
            swapped.swap(i - 1, i);
            orders.push((format!("#{} and #{i} swapped", i - 1), swapped));
        }
        let mut reversed = all.clone();
        reversed.reverse();
        orders.push(("reversed".to_owned(), reversed));
        for (detail, order) in orders {
            if order != *all {
                out.add(
                    "disclosures reordered",
                    format!("segment {s}: {detail}"),
                    with(order),
                    Expect::Same,
                );
            }
        }
        // Foreign disclosures: the same claims with other salts, digests nowhere here.
        for (o, other) in kind.others.iter().enumerate() {
            let Some(other_segment) = other.segments.get(s) else {
                continue;
            };
            for (f, foreign) in other_segment.disclosures.iter().enumerate() {
                if all.contains(foreign) {
                    continue;
                }
                let detail = format!("segment {s}, other {o} #{f}");
                let mut more = all.clone();
                more.push(foreign.clone());
                out.reject(
                    "foreign disclosure inserted",
                    format!("{detail} at the end"),
                    with(more),
                );
                let mut more = all.clone();
                more.insert(0, foreign.clone());
                out.reject(
                    "foreign disclosure inserted",
                    format!("{detail} first"),
                    with(more),
                );
                for i in 0..all.len() {
                    let mut replaced = all.clone();
                    replaced[i] = foreign.clone();
                    out.reject(
                        "disclosure replaced by a foreign one",
                        format!("{detail} for #{i}"),
                        with(replaced),
                    );
                }
            }
            if !other_segment.disclosures.is_empty() && other_segment.disclosures != *all {
                out.reject(
                    "foreign disclosure inserted",
                    format!("segment {s}: all of other {o}'s instead"),
                    with(other_segment.disclosures.clone()),
                );
            }
        }
        // Disclosures of another segment of the same chain.
        for (s2, other_segment) in shape.segments.iter().enumerate() {
            if s2 == s {
                continue;
            }
            for (f, moved) in other_segment.disclosures.iter().enumerate() {
                let mut more = all.clone();
                more.push(moved.clone());
                out.reject(
                    "disclosure from another segment",
                    format!("segment {s2} #{f} into {s}"),
                    with(more.clone()),
                );
                if !all.is_empty() {
                    out.reject(
                        "disclosure from another segment",
                        format!("segment {s2} #{f} instead of {s}'s"),
                        with(vec![moved.clone()]),
                    );
                }
            }
        }
    }
}

/// Re-signs tokens `from..` with their own keys (later delegates colluding), each
/// bound to the text before it. Issuer tokens stay as they are.
fn rebind(shape: &mut Shape, keys: &[Option<&SigningKey>], from: usize) {
    for t in from..shape.tokens() {
        let Some(key) = keys.get(t).copied().flatten() else {
            continue;
        };
        let previous = shape.segments[t - 1].text();
        let token = open(shape.token(t));
        let mut payload = token.payload.clone();
        if payload.contains_key("sd_hash") {
            payload.insert("sd_hash".into(), sha256_b64(&previous).into());
        } else if payload.contains_key("issuer_jwt_hash") {
            let jwt = previous.split('~').next().unwrap();
            payload.insert("issuer_jwt_hash".into(), sha256_b64(jwt).into());
        }
        let jwt = seal(key, &render_map(&token.header), &render_map(&payload));
        shape.set_token(t, jwt);
    }
}

/// A chain's segments in another order, with the key that signed each.
type Restructured<'k> = (String, Vec<Segment>, Vec<Option<&'k SigningKey>>);

/// Key-binding JWTs and hops removed, doubled, swapped between presentations,
/// reordered, spliced from other chains (also with every later delegate re-binding).
fn structure_ops(kind: &Kind, out: &mut Mutants) {
    let shape = &kind.shape;
    let keys = kind.key_refs();
    if let Some(kb) = &shape.kb {
        let mut without = shape.clone();
        without.kb = None;
        out.reject("KB-JWT removed", "", without.join());
        out.reject(
            "KB-JWT doubled",
            "'~' between",
            format!("{}~{kb}", shape.join()),
        );
        out.reject(
            "KB-JWT doubled",
            "'.' between",
            format!("{}.{kb}", shape.join()),
        );
        out.reject("KB-JWT only", "", kb.clone());
    }
    for (o, other) in kind.others.iter().enumerate() {
        if let Some(other_kb) = &other.kb {
            if shape.kb.as_ref() != Some(other_kb) {
                let mut swapped = shape.clone();
                swapped.kb = Some(other_kb.clone());
                let op = if shape.kb.is_some() {
                    "KB-JWT swapped with another presentation's"
                } else {
                    "KB-JWT appended to an issued credential"
                };
                out.reject(op, format!("other {o}"), swapped.join());
            }
        }
        if other.segments[0].jwt != shape.segments[0].jwt {
            let mut swapped = shape.clone();
            swapped.segments[0].jwt = other.segments[0].jwt.clone();
            out.reject(
                "issuer JWT swapped with another credential's",
                format!("other {o}"),
                swapped.join(),
            );
            // With nothing bound to it, another whole credential is no mutant.
            if shape.tokens() > 1 {
                let mut swapped = shape.clone();
                swapped.segments[0] = other.segments[0].clone();
                out.reject(
                    "credential swapped, bindings kept",
                    format!("other {o}"),
                    swapped.join(),
                );
            }
        }
    }
    let n = shape.segments.len();
    if n < 2 {
        return;
    }
    // Variants with their keys, so that later delegates can re-bind them.
    let mut variants: Vec<Restructured<'_>> = Vec::new();
    let mut push = |detail: String, order: &[usize]| {
        let segments = order.iter().map(|&i| shape.segments[i].clone()).collect();
        let keys = order.iter().map(|&i| keys[i]).collect();
        variants.push((detail, segments, keys));
    };
    for hop in 1..n {
        let order: Vec<usize> = (0..n).filter(|&i| i != hop).collect();
        push(format!("hop {hop} removed"), &order);
        let mut order: Vec<usize> = (0..n).collect();
        order.insert(hop, hop);
        push(format!("hop {hop} duplicated"), &order);
        let mut order: Vec<usize> = (0..n).collect();
        order.push(hop);
        push(format!("hop {hop} repeated at the end"), &order);
    }
    for hop in 2..n {
        let mut order: Vec<usize> = (0..n).collect();
        order.swap(hop - 1, hop);
        push(format!("hops {} and {hop} swapped", hop - 1), &order);
    }
    let mut order: Vec<usize> = (1..n).rev().collect();
    order.insert(0, 0);
    push("hops reversed".into(), &order);
    push("root and terminal hop only".into(), &[0, n - 1]);
    push("root only".into(), &[0]);
    push("hops without the root".into(), &(1..n).collect::<Vec<_>>());
    for (detail, segments, keys) in variants {
        let mutant = Shape { segments, kb: None };
        out.reject("chain restructured", detail.clone(), mutant.join());
        if mutant.segments.len() > 1 {
            let mut rebound = mutant.clone();
            rebind(&mut rebound, &keys, 1);
            out.reject(
                "chain restructured, later delegates re-bind",
                detail,
                rebound.join(),
            );
        }
    }
    for (o, other) in kind.others.iter().enumerate() {
        for (i, spliced) in other.segments.iter().enumerate() {
            if *spliced == shape.segments[i] {
                continue;
            }
            let mut mutant = shape.clone();
            mutant.segments[i] = spliced.clone();
            out.reject(
                "hop spliced from another chain",
                format!("other {o} segment {i}"),
                mutant.join(),
            );
            let mut mutant = shape.clone();
            mutant.segments.insert(i, spliced.clone());
            out.reject(
                "hop spliced from another chain",
                format!("other {o} segment {i} inserted"),
                mutant.join(),
            );
        }
        let mut mutant = shape.clone();
        mutant.segments.push(other.segments[n - 1].clone());
        out.reject(
            "hop spliced from another chain",
            format!("other {o} terminal appended"),
            mutant.join(),
        );
    }
    let joined = shape.join();
    out.reject(
        "chain separators",
        "'~~~' between root and hop 1",
        joined.replacen("~~", "~~~", 1),
    );
    out.reject(
        "chain separators",
        "'~' between root and hop 1",
        joined.replacen("~~", "~", 1),
    );
    out.reject("chain separators", "ends with '~~'", format!("{joined}~"));
    out.reject(
        "chain separators",
        "no trailing '~'",
        joined[..joined.len() - 1].to_owned(),
    );
}

/// Header, payload or signature of one token taken from another token, of this
/// input or of another one in the same position.
fn token_swaps(kind: &Kind, out: &mut Mutants) {
    let shape = &kind.shape;
    for t in 0..shape.tokens() {
        let ours: Vec<&str> = shape.token(t).split('.').collect();
        let mut sources: Vec<(String, String)> = (0..shape.tokens())
            .filter(|&s| s != t)
            .map(|s| (format!("token {s}"), shape.token(s).to_owned()))
            .collect();
        for (o, other) in kind.others.iter().enumerate() {
            if t < other.tokens() {
                sources.push((format!("other {o} token {t}"), other.token(t).to_owned()));
            }
        }
        for (label, source) in sources {
            let theirs: Vec<&str> = source.split('.').collect();
            for mask in 1..8u8 {
                let mixed: Vec<&str> = (0..3)
                    .map(|part| {
                        if mask & (1 << part) != 0 {
                            theirs[part]
                        } else {
                            ours[part]
                        }
                    })
                    .collect();
                let mixed = mixed.join(".");
                if mixed == shape.token(t) {
                    continue;
                }
                let names: Vec<&str> = ["header", "payload", "signature"]
                    .iter()
                    .enumerate()
                    .filter(|(part, _)| mask & (1 << part) != 0)
                    .map(|(_, name)| *name)
                    .collect();
                let mut mutant = shape.clone();
                mutant.set_token(t, mixed);
                out.reject(
                    "JWT parts swapped",
                    format!("token {t} takes {} of {label}", names.join("+")),
                    mutant.join(),
                );
            }
        }
    }
}

/// Headers and payloads re-encoded (equivalent JSON, other base64 forms) without
/// re-signing, signatures malleated, and NumericDates rewritten without re-signing.
fn encoding_ops(kind: &Kind, out: &mut Mutants) {
    let shape = &kind.shape;
    for t in 0..shape.tokens() {
        let token = open(shape.token(t));
        let set = |header: &str, payload: &str| {
            let mut mutant = shape.clone();
            mutant.set_token(t, unsigned(&token, header, payload));
            mutant.join()
        };
        let header = render_map(&token.header);
        let payload = render_map(&token.payload);
        for (what, text) in equivalent_texts(&token.header) {
            out.reject(
                "header re-encoded, not re-signed",
                format!("token {t}: {what}"),
                set(&text, &payload),
            );
        }
        for (what, text) in equivalent_texts(&token.payload) {
            out.reject(
                "payload re-encoded, not re-signed",
                format!("token {t}: {what}"),
                set(&header, &text),
            );
        }
        for (part, name) in ["header", "payload", "signature"].iter().enumerate() {
            for (what, variant) in base64_variants(&token.parts[part]) {
                let mut parts = token.parts.clone();
                parts[part] = variant;
                let mut mutant = shape.clone();
                mutant.set_token(t, parts.join("."));
                out.reject(
                    "base64 re-encoded",
                    format!("token {t} {name}: {what}"),
                    mutant.join(),
                );
            }
        }
        // Signatures: S + ℓ is the same Ed25519 scalar, not canonical (refused on both
        // paths, ZIP-215). For ECDSA, (r, n − s) is the other valid signature: agentid
        // accepts high S (docs/architecture.md, Decisions), so it may verify, and then
        // necessarily to the same result (same key, same signed bytes); the presentation
        // string is not unique, which is why replay protection rests on the nonce.
        let signature = unb64(&token.parts[2]);
        let (what, malleated, expect) = match token.header["alg"].as_str().unwrap() {
            "EdDSA" | "Ed25519" => (
                "Ed25519 S + ℓ",
                ed25519_s_plus_order(&signature),
                Expect::Reject,
            ),
            "ES256" => (
                "P-256 s → n − s",
                ecdsa_negated_s(&signature, P256_ORDER),
                Expect::Same,
            ),
            "ES256K" => (
                "secp256k1 s → n − s",
                ecdsa_negated_s(&signature, SECP256K1_ORDER),
                Expect::Same,
            ),
            other => panic!("alg {other}"),
        };
        let mut parts = token.parts.clone();
        parts[2] = b64url_encode(&malleated);
        let mut mutant = shape.clone();
        mutant.set_token(t, parts.join("."));
        out.add(
            "signature malleated",
            format!("token {t}: {what}"),
            mutant.join(),
            expect,
        );
        // NumericDates rewritten without re-signing.
        for field in ["iat", "exp", "nbf"] {
            let Some(value) = token.payload.get(field).and_then(Value::as_u64) else {
                continue;
            };
            let mut numbers = malformed_numbers(value);
            numbers.push(("one second later".into(), (value + 1).to_string()));
            numbers.push(("zero".into(), "0".into()));
            numbers.push(("u64::MAX".into(), u64::MAX.to_string()));
            for (what, number) in FAR_FUTURE {
                numbers.push((what.into(), number.to_string()));
            }
            numbers.push(("removed".into(), String::new()));
            for (what, number) in numbers {
                let edited = if number.is_empty() {
                    with_member(&token.payload, field, None)
                } else {
                    with_member(&token.payload, field, Some(raw(&number)))
                };
                out.reject(
                    "NumericDate rewritten, not re-signed",
                    format!("token {t} {field}: {what}"),
                    set(&header, &edited),
                );
            }
        }
    }
}

/// NumericDates at the edges of what prints and what a double holds: the last RFC
/// 3339 second, the first of year 10000, 2^53 ± 1 and the top of u64.
const FAR_FUTURE: [(&str, u64); 7] = [
    ("9999-12-31T23:59:59Z", 253_402_300_799),
    ("year 10000", 253_402_300_800),
    ("2^53 - 1", (1 << 53) - 1),
    ("2^53", 1 << 53),
    ("2^53 + 1", (1 << 53) + 1),
    ("u64::MAX - 1", u64::MAX - 1),
    ("u64::MAX", u64::MAX),
];

enum Sign<'a> {
    /// By the token's own signer (the holder or delegate, who may be malicious).
    Own,
    By(&'a SigningKey),
    Literal(String),
}

/// One rewrite of a holder's or delegate's token.
struct Edit<'a> {
    op: &'static str,
    detail: String,
    header: String,
    payload: String,
    /// A hop's new delegate-object disclosure (its digest already in `payload`).
    disclosure: Option<String>,
    sign: Sign<'a>,
    /// What the re-signed mutant may verify to (unsigned, it must be rejected).
    expect: Expect,
}

impl<'a> Edit<'a> {
    fn new(
        op: &'static str,
        detail: impl Into<String>,
        header: String,
        payload: String,
        expect: Expect,
    ) -> Self {
        Edit {
            op,
            detail: detail.into(),
            header,
            payload,
            disclosure: None,
            sign: Sign::Own,
            expect,
        }
    }
}

/// Applies `edit` to token `t`, re-signed (and every later delegate re-binding) or
/// under the old signature.
fn apply(kind: &Kind, t: usize, edit: &Edit<'_>, signed: bool) -> String {
    let mut shape = kind.shape.clone();
    let original = open(shape.token(t));
    let jwt = if signed {
        match &edit.sign {
            Sign::Own => seal(kind.keys[t].as_ref().unwrap(), &edit.header, &edit.payload),
            Sign::By(key) => seal(key, &edit.header, &edit.payload),
            Sign::Literal(signature) => format!(
                "{}.{}.{signature}",
                b64url_encode(edit.header.as_bytes()),
                b64url_encode(edit.payload.as_bytes())
            ),
        }
    } else {
        unsigned(&original, &edit.header, &edit.payload)
    };
    shape.set_token(t, jwt);
    if let Some(disclosure) = &edit.disclosure {
        shape.segments[t].disclosures = vec![disclosure.clone()];
    }
    rebind(&mut shape, &kind.key_refs(), t + 1);
    shape.join()
}

/// The rewrites a malicious holder or delegate can sign for its own token `t`.
fn token_edits<'a>(kind: &'a Kind, t: usize) -> Vec<Edit<'a>> {
    let shape = &kind.shape;
    let last = t + 1 == shape.tokens();
    let is_hop = t < shape.segments.len();
    let token = open(shape.token(t));
    let header = render_map(&token.header);
    let payload = render_map(&token.payload);
    let p = |name: &str, value: Option<Value>| with_member(&token.payload, name, value);
    let h = |name: &str, value: Option<Value>| with_member(&token.header, name, value);
    let mut edits = Vec::new();
    let mut reject = |op: &'static str, detail: String, header: String, payload: String| {
        edits.push(Edit::new(op, detail, header, payload, Expect::Reject));
    };

    // iat.
    let iat = token.payload["iat"].as_u64().unwrap();
    for (what, number) in malformed_numbers(iat) {
        reject("iat", what, header.clone(), p("iat", Some(raw(&number))));
    }
    reject("iat", "removed".into(), header.clone(), p("iat", None));
    reject(
        "iat",
        "an hour ahead".into(),
        header.clone(),
        p("iat", Some(json!(NOW + 3600))),
    );
    reject(
        "iat",
        "u64::MAX".into(),
        header.clone(),
        p("iat", Some(json!(u64::MAX))),
    );
    if last {
        reject(
            "iat",
            "an hour old".into(),
            header.clone(),
            p("iat", Some(json!(NOW - 3600))),
        );
        reject(
            "iat",
            "zero".into(),
            header.clone(),
            p("iat", Some(json!(0))),
        );
    }

    // aud and nonce: of any type but a string, always wrong; other strings are wrong
    // for the token that answers this verifier (an intermediate hop's are free).
    for name in ["aud", "nonce"] {
        let value = token.payload[name].as_str().unwrap().to_owned();
        for (what, wrong) in [
            ("number", json!(42)),
            ("array of it", json!([value])),
            ("null", Value::Null),
            ("object", json!({"value": value})),
            ("bool", json!(true)),
        ] {
            reject(
                "aud/nonce",
                format!("{name}: {what}"),
                header.clone(),
                p(name, Some(wrong)),
            );
        }
        reject(
            "aud/nonce",
            format!("{name}: removed"),
            header.clone(),
            p(name, None),
        );
        if last {
            for (what, wrong) in [
                ("another", json!("https://other.example")),
                ("empty", json!("")),
                ("trailing space", json!(format!("{value} "))),
                ("upper case", json!(value.to_uppercase())),
                (
                    "the other one",
                    json!(if name == "aud" { NONCE } else { AUDIENCE }),
                ),
            ] {
                if wrong != json!(value) {
                    reject(
                        "aud/nonce",
                        format!("{name}: {what}"),
                        header.clone(),
                        p(name, Some(wrong)),
                    );
                }
            }
        }
    }

    // The binding hash.
    let previous = shape.segments[t - 1].text();
    let right = sha256_b64(&previous);
    let previous_jwt = shape.segments[t - 1].jwt.clone();
    let mut flipped = right.clone().into_bytes();
    flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let mut wrong_hashes = vec![
        ("one character changed", json!(flipped)),
        (
            "without the trailing '~'",
            json!(sha256_b64(&previous[..previous.len() - 1])),
        ),
        (
            "with another '~'",
            json!(sha256_b64(&format!("{previous}~"))),
        ),
        ("over the JWT only", json!(sha256_b64(&previous_jwt))),
        ("over the whole input", json!(sha256_b64(&kind.seed.text))),
        ("padded", json!(format!("{right}="))),
        (
            "standard alphabet",
            json!(right.replace('-', "+").replace('_', "/")),
        ),
        ("upper case", json!(right.to_uppercase())),
        (
            "hex",
            json!(right
                .bytes()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()),
        ),
        ("number", json!(1)),
        ("array", json!([right])),
        ("null", Value::Null),
    ];
    if t >= 2 {
        wrong_hashes.push((
            "over the segment before the previous",
            json!(sha256_b64(&shape.segments[t - 2].text())),
        ));
    }
    for other in &kind.others {
        if let Some(segment) = other.segments.get(t - 1) {
            if *segment != shape.segments[t - 1] {
                wrong_hashes.push((
                    "over another input's segment",
                    json!(sha256_b64(&segment.text())),
                ));
            }
        }
    }
    for (what, wrong) in wrong_hashes {
        if wrong != json!(right) {
            reject(
                "sd_hash",
                what.into(),
                header.clone(),
                p("sd_hash", Some(wrong)),
            );
        }
    }
    reject(
        "sd_hash",
        "removed".into(),
        header.clone(),
        p("sd_hash", None),
    );
    let mut both = token.payload.clone();
    both.insert("issuer_jwt_hash".into(), json!(sha256_b64(&previous_jwt)));
    let both = render_map(&both);
    if is_hop {
        reject(
            "sd_hash",
            "and issuer_jwt_hash".into(),
            header.clone(),
            both.clone(),
        );
    }
    let mut jwt_hash = token.payload.clone();
    jwt_hash.remove("sd_hash");
    jwt_hash.insert("issuer_jwt_hash".into(), json!(sha256_b64(&previous_jwt)));
    let jwt_hash_text = render_map(&jwt_hash);
    let mut wrong_jwt_hash = jwt_hash.clone();
    wrong_jwt_hash.insert("issuer_jwt_hash".into(), json!(sha256_b64(&previous)));
    reject(
        "sd_hash",
        "issuer_jwt_hash over the whole segment".into(),
        header.clone(),
        render_map(&wrong_jwt_hash),
    );
    // A duplicate member: RFC 7519 §4 lets a parser take the lexically last one, which
    // is what this verifier does, so the right value last is the holder's own claim.
    let inner = &payload[1..];
    reject(
        "duplicate member",
        "sd_hash: the right one first, a wrong one last".into(),
        header.clone(),
        format!(
            "{},\"sd_hash\":\"{flipped}\"}}",
            &payload[..payload.len() - 1]
        ),
    );
    let last_wins = format!("{{\"sd_hash\":\"{flipped}\",{inner}");

    // typ.
    let typ = token.header["typ"].as_str().unwrap().to_owned();
    let mut wrong_typs = vec![
        json!("JWT"),
        json!("jwt"),
        json!(typ.to_uppercase()),
        json!(format!("{typ} ")),
        json!(42),
        Value::Null,
        json!("dc+sd-jwt"),
        json!("kb+jwt"),
        json!("kb+sd-jwt"),
        json!("kb+sd-jwt+kb"),
        json!("kb-sd-jwt+kb"),
        json!("kb-sd-jwt"),
    ];
    wrong_typs.retain(|wrong| *wrong != json!(typ));
    // The draft -01 spellings of a hop's own typ (accepted as documented) are harmless.
    let alias = match typ.as_str() {
        "kb+sd-jwt" => Some("kb-sd-jwt"),
        "kb+sd-jwt+kb" => Some("kb-sd-jwt+kb"),
        _ => None,
    };
    for wrong in wrong_typs {
        if alias.is_some_and(|alias| wrong == json!(alias)) {
            continue;
        }
        reject(
            "typ",
            format!("{wrong}"),
            h("typ", Some(wrong.clone())),
            payload.clone(),
        );
    }
    reject("typ", "removed".into(), h("typ", None), payload.clone());

    // alg.
    let alg = token.header["alg"].as_str().unwrap().to_owned();
    for wrong in [
        "EdDSA", "ES256", "ES256K", "ES384", "RS256", "PS256", "HS256",
    ] {
        if wrong != alg && !(alg == "EdDSA" && wrong == "Ed25519") {
            reject(
                "alg",
                format!("{wrong}, own signature"),
                h("alg", Some(json!(wrong))),
                payload.clone(),
            );
        }
    }
    reject(
        "alg",
        "lower case".into(),
        h("alg", Some(json!(alg.to_lowercase()))),
        payload.clone(),
    );
    reject("alg", "removed".into(), h("alg", None), payload.clone());
    reject(
        "alg",
        "number".into(),
        h("alg", Some(json!(1))),
        payload.clone(),
    );
    reject(
        "alg",
        "array".into(),
        h("alg", Some(json!([alg]))),
        payload.clone(),
    );
    let mut none = Edit::new(
        "alg",
        "none, empty signature",
        h("alg", Some(json!("none"))),
        payload.clone(),
        Expect::Reject,
    );
    none.sign = Sign::Literal(String::new());
    let mut hs256 = Edit::new(
        "alg",
        "HS256, a MAC-sized signature",
        h("alg", Some(json!("HS256"))),
        payload.clone(),
        Expect::Reject,
    );
    hs256.sign = Sign::Literal(b64url_encode(&[7u8; 32]));

    // Other header members.
    reject(
        "header members",
        "crit [\"exp\"]".into(),
        h("crit", Some(json!(["exp"]))),
        payload.clone(),
    );
    reject(
        "header members",
        "crit []".into(),
        h("crit", Some(json!([]))),
        payload.clone(),
    );
    reject(
        "header members",
        "kid a number".into(),
        h("kid", Some(json!(42))),
        payload.clone(),
    );
    reject(
        "header members",
        "typ and alg swapped".into(),
        render_map(&{
            let mut swapped = token.header.clone();
            swapped.insert("alg".into(), json!(typ));
            swapped.insert("typ".into(), json!(alg));
            swapped
        }),
        payload.clone(),
    );

    // Expiry and not-before in a signed token: RFC 7519 §4.1.4/§4.1.5, a JWT past its
    // exp or before its nbf must not be accepted, whoever signed it.
    reject(
        "exp/nbf in the token",
        "exp an hour ago".into(),
        header.clone(),
        p("exp", Some(json!(NOW - 3600))),
    );
    reject(
        "exp/nbf in the token",
        "exp a float".into(),
        header.clone(),
        p("exp", Some(raw(&format!("{}.5", NOW + 600)))),
    );
    reject(
        "exp/nbf in the token",
        "exp a string".into(),
        header.clone(),
        p("exp", Some(json!((NOW + 600).to_string()))),
    );
    reject(
        "exp/nbf in the token",
        "nbf in an hour".into(),
        header.clone(),
        p("nbf", Some(json!(NOW + 3600))),
    );
    reject(
        "exp/nbf in the token",
        "nbf a float".into(),
        header.clone(),
        p("nbf", Some(raw("1.0e9"))),
    );

    if is_hop {
        reject(
            "_sd_alg",
            "sha-512".into(),
            header.clone(),
            p("_sd_alg", Some(json!("sha-512"))),
        );
        reject(
            "_sd_alg",
            "SHA-256".into(),
            header.clone(),
            p("_sd_alg", Some(json!("SHA-256"))),
        );
        reject(
            "_sd_alg",
            "a number".into(),
            header.clone(),
            p("_sd_alg", Some(json!(256))),
        );
    }

    // Signed by someone else.
    let mut by_others = Vec::new();
    by_others.push(Edit {
        sign: Sign::By(&kind.stranger),
        ..Edit::new(
            "signed by another key",
            "a stranger",
            header.clone(),
            payload.clone(),
            Expect::Reject,
        )
    });
    let mut with_jwk = token.header.clone();
    with_jwk.insert("jwk".into(), kind.stranger.public_key().to_jwk());
    with_jwk.insert("kid".into(), json!(kind.stranger.did().unwrap()));
    with_jwk.insert("alg".into(), json!(kind.stranger.algorithm().as_str()));
    by_others.push(Edit {
        sign: Sign::By(&kind.stranger),
        ..Edit::new(
            "signed by another key",
            "a stranger named in jwk and kid",
            render_map(&with_jwk),
            payload.clone(),
            Expect::Reject,
        )
    });
    for (k, key) in kind.keys.iter().enumerate() {
        let Some(key) = key else { continue };
        if k == t {
            continue;
        }
        let mut header = token.header.clone();
        header.insert("alg".into(), json!(key.algorithm().as_str()));
        by_others.push(Edit {
            sign: Sign::By(key),
            ..Edit::new(
                "signed by another key",
                format!("the signer of token {k}"),
                render_map(&header),
                payload.clone(),
                Expect::Reject,
            )
        });
    }

    // Harmless, re-signed: the same claims written differently (RFC 7515 signs the
    // octets the signer chose; the result depends on the parsed values only), the
    // lexically last duplicate (RFC 7519 §4), an unknown claim or header member
    // (ignored, RFC 7519 §4 / RFC 7515 §4), a future exp and past nbf, a kid string
    // (not used for key lookup), documented aliases.
    let mut same = Vec::new();
    for (what, text) in equivalent_texts(&token.header) {
        same.push(("header re-encoded", what.to_owned(), text, payload.clone()));
    }
    for (what, text) in equivalent_texts(&token.payload) {
        same.push(("payload re-encoded", what.to_owned(), header.clone(), text));
    }
    same.push((
        "duplicate member",
        "sd_hash: a wrong one first, the right one last".into(),
        header.clone(),
        last_wins,
    ));
    same.push((
        "harmless additions",
        "unknown claim".into(),
        header.clone(),
        p("x-note", Some(json!("hello"))),
    ));
    same.push((
        "harmless additions",
        "unknown header member".into(),
        h("x-note", Some(json!(1))),
        payload.clone(),
    ));
    same.push((
        "harmless additions",
        "exp in ten minutes".into(),
        header.clone(),
        p("exp", Some(json!(NOW + 600))),
    ));
    same.push((
        "harmless additions",
        "nbf an hour ago".into(),
        header.clone(),
        p("nbf", Some(json!(NOW - 3600))),
    ));
    same.push((
        "harmless additions",
        "kid a string".into(),
        h("kid", Some(json!("key-1"))),
        payload.clone(),
    ));
    if alg == "EdDSA" {
        same.push((
            "harmless aliases",
            "alg Ed25519 (RFC 9864)".into(),
            h("alg", Some(json!("Ed25519"))),
            payload.clone(),
        ));
    }
    if let Some(alias) = alias {
        same.push((
            "harmless aliases",
            format!("typ {alias} (draft -01)"),
            h("typ", Some(json!(alias))),
            payload.clone(),
        ));
    }
    if is_hop {
        // A hop may bind to the previous JWT alone (draft-gco-oauth-delegate-sd-jwt).
        same.push((
            "harmless aliases",
            "issuer_jwt_hash instead of sd_hash".into(),
            header.clone(),
            jwt_hash_text,
        ));
    } else {
        // RFC 9901 defines no issuer_jwt_hash for a KB-JWT: next to sd_hash it is an
        // unknown claim; instead of it, sd_hash is missing.
        same.push((
            "harmless additions",
            "issuer_jwt_hash next to sd_hash".into(),
            header.clone(),
            both,
        ));
        edits.push(Edit::new(
            "sd_hash",
            "issuer_jwt_hash instead (a KB-JWT needs sd_hash)",
            header.clone(),
            jwt_hash_text,
            Expect::Reject,
        ));
    }
    for (op, detail, header, payload) in same {
        edits.push(Edit::new(op, detail, header, payload, Expect::Same));
    }
    edits.push(none);
    edits.push(hs256);
    edits.extend(by_others);
    edits
}

/// Predicates and proofs rewritten by the holder, who keeps the original proof.
fn predicate_edits<'a>(kind: &'a Kind, t: usize) -> Vec<Edit<'a>> {
    let token = open(kind.shape.token(t));
    let Some(Value::Array(predicates)) = token.payload.get("predicates") else {
        return Vec::new();
    };
    let header = render_map(&token.header);
    let proof = token.payload["predicate_proof"]
        .as_str()
        .unwrap()
        .to_owned();
    let with = |value: Value| with_member(&token.payload, "predicates", Some(value));
    let mut edits = Vec::new();
    let mut reject = |detail: String, payload: String| {
        edits.push(Edit::new(
            "predicates",
            detail,
            header.clone(),
            payload,
            Expect::Reject,
        ));
    };
    if predicates.len() > 1 {
        for i in 0..predicates.len() {
            let mut fewer = predicates.clone();
            fewer.remove(i);
            reject(format!("#{i} dropped"), with(Value::Array(fewer)));
        }
        let mut reversed = predicates.clone();
        reversed.reverse();
        reject("reordered".into(), with(Value::Array(reversed)));
    }
    let mut more = predicates.clone();
    more.push(predicates[0].clone());
    reject("#0 duplicated".into(), with(Value::Array(more)));
    let today = i64::try_from(NOW / 86_400).unwrap();
    for extra in [
        Predicate::at_most("birthdate", birthdate_cutoff(21, today).unwrap()),
        Predicate::at_least("level", 3),
        Predicate::at_least("level", 5),
        Predicate::between("limit", 500, 1000),
    ] {
        let mut more = predicates.clone();
        more.push(extra.to_json());
        reject(
            format!("{} added", extra.to_json()),
            with(Value::Array(more)),
        );
    }
    reject("empty".into(), with(json!([])));
    reject("an object".into(), with(predicates[0].clone()));
    reject("a string".into(), with(json!("age>=18")));
    for (i, predicate) in predicates.iter().enumerate() {
        let predicate = predicate.as_object().unwrap();
        let at = |edited: Map<String, Value>| {
            let mut all = predicates.clone();
            all[i] = Value::Object(edited);
            with(Value::Array(all))
        };
        for bound in ["min", "max"] {
            let other = if bound == "min" { "max" } else { "min" };
            let Some(value) = predicate.get(bound).and_then(Value::as_i64) else {
                continue;
            };
            let set = |text: Value| {
                let mut edited = predicate.clone();
                edited.insert(bound.into(), text);
                at(edited)
            };
            for (what, text) in [
                ("+1", json!(value + 1)),
                ("-1", json!(value - 1)),
                ("+1000", json!(value + 1000)),
                ("-1000", json!(value - 1000)),
                ("MAX_VALUE", json!(MAX_VALUE)),
                ("-MAX_VALUE", json!(-MAX_VALUE)),
                ("float", raw(&format!("{value}.0"))),
                ("exponent", raw(&format!("{:e}", value as f64))),
                ("string", json!(value.to_string())),
                ("huge", raw("1e400")),
                ("2^31", json!(1i64 << 31)),
                ("2^63", raw("9223372036854775808")),
                ("null", Value::Null),
            ] {
                reject(format!("#{i} {bound} {what}"), set(text));
            }
            let mut moved = predicate.clone();
            moved.remove(bound);
            moved.insert(other.into(), json!(value));
            reject(format!("#{i} {bound} turned into {other}"), at(moved));
            if !predicate.contains_key(other) {
                let mut both = predicate.clone();
                both.insert(
                    other.into(),
                    json!(if other == "min" {
                        -MAX_VALUE
                    } else {
                        MAX_VALUE
                    }),
                );
                reject(format!("#{i} a trivially true {other} added"), at(both));
            } else {
                let mut one = predicate.clone();
                one.remove(bound);
                reject(format!("#{i} {bound} removed"), at(one));
            }
        }
        for claim in [
            "birthdate",
            "level",
            "limit",
            "score",
            "Birthdate",
            "birthdate ",
            "given_name",
            "commitments",
        ] {
            if predicate["claim"] != json!(claim) {
                let mut renamed = predicate.clone();
                renamed.insert("claim".into(), json!(claim));
                reject(format!("#{i} claim {claim:?}"), at(renamed));
            }
        }
        let mut extra = predicate.clone();
        extra.insert("encoding".into(), json!("date"));
        reject(format!("#{i} an unknown member"), at(extra));
    }
    // The proof.
    let proof_with = |value: Option<Value>| with_member(&token.payload, "predicate_proof", value);
    let mut proofs: Vec<(String, Value)> = Vec::new();
    for at in [0, proof.len() / 2, proof.len() - 2] {
        let mut bytes = proof.clone().into_bytes();
        bytes[at] = if bytes[at] == b'A' { b'B' } else { b'A' };
        proofs.push((
            format!("character {at} changed"),
            json!(String::from_utf8(bytes).unwrap()),
        ));
    }
    proofs.push((
        "last 4 characters cut".into(),
        json!(proof[..proof.len() - 4].to_owned()),
    ));
    proofs.push((
        "32 zero bytes appended".into(),
        json!(b64url_encode(&[unb64(&proof), vec![0; 32]].concat())),
    ));
    proofs.push(("padded".into(), json!(URL_SAFE.encode(unb64(&proof)))));
    proofs.push((
        "standard alphabet".into(),
        json!(STANDARD.encode(unb64(&proof))),
    ));
    proofs.push(("empty".into(), json!("")));
    proofs.push(("a number".into(), json!(1)));
    proofs.push(("an array".into(), json!([proof])));
    for (o, other) in kind.others.iter().enumerate() {
        let other_proof = open(other.token(t)).payload["predicate_proof"].clone();
        proofs.push((format!("other {o}'s"), other_proof));
    }
    for (what, value) in proofs {
        if value != json!(proof) {
            edits.push(Edit::new(
                "predicate proof",
                what,
                header.clone(),
                proof_with(Some(value)),
                Expect::Reject,
            ));
        }
    }
    edits.push(Edit::new(
        "predicate proof",
        "removed",
        header.clone(),
        proof_with(None),
        Expect::Reject,
    ));
    edits.push(Edit::new(
        "predicates",
        "removed, proof kept",
        header.clone(),
        with_member(&token.payload, "predicates", None),
        Expect::Reject,
    ));
    // Proving nothing is the holder's choice: the result may only lose its predicates.
    let mut neither = token.payload.clone();
    neither.remove("predicates");
    neither.remove("predicate_proof");
    edits.push(Edit::new(
        "predicates",
        "and proof removed",
        header,
        render_map(&neither),
        Expect::Withheld,
    ));
    edits
}

/// True when no authorization against `rights` can grant `action`.
fn outside(rights: &Rights, action: &Value) -> bool {
    let scope = action["scope"].as_str().unwrap_or_default();
    let resource = action["resource"].as_str().unwrap_or_default();
    let amount = action["amount"].as_f64().unwrap_or(0.0);
    !rights
        .scope
        .iter()
        .any(|granted| scope_within(scope, granted))
        || rights
            .resources
            .as_ref()
            .is_some_and(|prefixes| !prefixes.iter().any(|p| resource.starts_with(p.as_str())))
        || rights
            .constraints
            .get("max_amount")
            .and_then(Value::as_f64)
            .is_some_and(|max| amount > max)
}

/// A hop's delegate object rewritten by the hop's signer, every later delegate
/// re-binding: widened rights (any widening must be refused whoever colludes), and
/// for the terminal hop, other actions.
fn hop_object_edits<'a>(kind: &'a Kind, t: usize, expected: &Verified) -> Vec<Edit<'a>> {
    let shape = &kind.shape;
    if t >= shape.segments.len() {
        return Vec::new();
    }
    let token = open(shape.token(t));
    let header = render_map(&token.header);
    let disclosure = &shape.segments[t].disclosures[0];
    let Value::Array(parts) = serde_json::from_slice(&unb64(disclosure)).unwrap() else {
        panic!("a hop disclosure is an array");
    };
    let salt = parts[0].clone();
    let object = parts[1].as_object().unwrap().clone();
    let with_object = |object: Value| {
        let disclosure = b64url_encode(render(&json!([salt, object])).as_bytes());
        let payload = with_member(
            &token.payload,
            "delegate_payload",
            Some(json!([{"...": sha256_b64(&disclosure)}])),
        );
        (payload, disclosure)
    };
    let mut edits = Vec::new();
    let mut push = |detail: String, object: Value, expect: Expect| {
        let (payload, disclosure) = with_object(object);
        edits.push(Edit {
            disclosure: Some(disclosure),
            ..Edit::new("delegate object", detail, header.clone(), payload, expect)
        });
    };
    let chain = expected.chain.as_ref().unwrap();
    let edited = |name: &str, value: Option<Value>| {
        let mut object = object.clone();
        match value {
            Some(value) => {
                object.insert(name.into(), value);
            }
            None => {
                object.remove(name);
            }
        }
        Value::Object(object)
    };
    if object.contains_key("cnf") {
        let parent = if t == 1 {
            &chain.root_rights
        } else {
            &chain.delegations[t - 2].rights
        };
        let mut wider_scope = parent.scope.clone();
        wider_scope.push("admin:*".into());
        let max_amount = parent.constraints["max_amount"].as_f64().unwrap();
        let depth = parent.max_depth;
        let mut max_amount_edits = Vec::new();
        for (what, value) in [
            ("parent's + 1", json!(max_amount + 1.0)),
            ("1e6", json!(1e6)),
            ("huge", raw("1e400")),
            ("a string", json!(max_amount.to_string())),
            ("null", Value::Null),
            ("an array", json!([max_amount])),
        ] {
            let mut constraints = object.get("constraints").cloned().unwrap_or(json!({}));
            constraints["max_amount"] = value;
            max_amount_edits.push((
                format!("max_amount {what}"),
                edited("constraints", Some(constraints)),
            ));
        }
        let mut other_currency = object.get("constraints").cloned().unwrap_or(json!({}));
        other_currency["currency"] = json!("USD");
        let exp = object["exp"].as_u64().unwrap();
        let mut objects = vec![
            (
                "scope widened".to_owned(),
                edited("scope", Some(json!(wider_scope))),
            ),
            (
                "scope a wildcard".to_owned(),
                edited("scope", Some(json!(["*"]))),
            ),
            (
                "scope a string".to_owned(),
                edited("scope", Some(json!("refunds:write"))),
            ),
            (
                "resources widened".to_owned(),
                edited("resources", Some(json!(["https://shop.example/"]))),
            ),
            (
                "resources elsewhere".to_owned(),
                edited("resources", Some(json!(["https://bank.example/"]))),
            ),
            (
                "resources a string".to_owned(),
                edited("resources", Some(json!("https://shop.example/orders/"))),
            ),
            (
                "resources with a tab in a dot segment".to_owned(),
                edited(
                    "resources",
                    Some(json!(["https://shop.example/orders/1234/.\t./.\t./admin"])),
                ),
            ),
            (
                "resources with CR and LF in a dot segment".to_owned(),
                edited(
                    "resources",
                    Some(json!(["https://shop.example/orders/.\r./.\n./admin"])),
                ),
            ),
            (
                "resources with credentials".to_owned(),
                edited(
                    "resources",
                    Some(json!(["https://user:pw@shop.example/orders/1234"])),
                ),
            ),
            (
                "resources on another port".to_owned(),
                edited(
                    "resources",
                    Some(json!(["https://shop.example:8443/orders/"])),
                ),
            ),
            (
                "audience widened".to_owned(),
                edited(
                    "audience",
                    Some(json!([AUDIENCE, "https://bank-c.example"])),
                ),
            ),
            (
                "audience elsewhere".to_owned(),
                edited("audience", Some(json!(["https://bank-b.example"]))),
            ),
            (
                "audience empty".to_owned(),
                edited("audience", Some(json!([]))),
            ),
            (
                "audience a string".to_owned(),
                edited("audience", Some(json!(AUDIENCE))),
            ),
            (
                "currency changed".to_owned(),
                edited("constraints", Some(other_currency)),
            ),
            (
                "constraints an array".to_owned(),
                edited("constraints", Some(json!([]))),
            ),
            (
                "exp past the parent's".to_owned(),
                edited("exp", Some(json!(parent.expires_at + 1))),
            ),
            (
                "exp an hour ago".to_owned(),
                edited("exp", Some(json!(NOW - 3600))),
            ),
            ("exp removed".to_owned(), edited("exp", None)),
            (
                "depth not reduced".to_owned(),
                edited("max_delegation_depth", Some(json!(depth))),
            ),
            (
                "depth huge".to_owned(),
                edited("max_delegation_depth", Some(json!(u64::MAX))),
            ),
            (
                "depth a float".to_owned(),
                edited("max_delegation_depth", Some(raw("0.0"))),
            ),
            (
                "depth negative".to_owned(),
                edited("max_delegation_depth", Some(json!(-1))),
            ),
            (
                "depth a string".to_owned(),
                edited("max_delegation_depth", Some(json!("0"))),
            ),
            ("cnf removed".to_owned(), edited("cnf", None)),
            (
                "cnf without jwk".to_owned(),
                edited("cnf", Some(json!({"kid": "k"}))),
            ),
            (
                "cnf jwk not a key".to_owned(),
                edited(
                    "cnf",
                    Some(json!({"jwk": {"kty": "OKP", "crv": "Ed25519", "x": "AA"}})),
                ),
            ),
            ("not an object".to_owned(), json!(["x"])),
            ("a string".to_owned(), json!("delegation")),
        ];
        for (what, number) in malformed_numbers(exp) {
            objects.push((format!("exp {what}"), edited("exp", Some(raw(&number)))));
        }
        objects.extend(max_amount_edits);
        // A cycle: delegating to a key already in the chain.
        for (k, key) in kind.keys.iter().enumerate().take(t + 1) {
            if let Some(key) = key {
                objects.push((
                    format!("cnf the key of token {k}'s signer"),
                    edited("cnf", Some(cnf(key.public_key()))),
                ));
            }
        }
        for (what, object) in objects {
            push(what, object, Expect::Reject);
        }
    } else {
        // The terminal hop: its signer may ask for any action; the verifier reports it
        // with the effective rights (authorization is `authorize`'s, on the report).
        let rights = &chain.effective_rights;
        for (what, field, value) in [
            ("amount above max_amount", "amount", json!(51)),
            ("amount 1e6", "amount", json!(1e6)),
            ("scope not granted", "scope", json!("admin:delete")),
            ("scope wildcard", "scope", json!("refunds:*")),
            (
                "resource elsewhere",
                "resource",
                json!("https://shop.example/orders/9999"),
            ),
            (
                "resource on another host",
                "resource",
                json!("https://bank.example/"),
            ),
        ] {
            let action = edited(field, Some(value));
            assert!(
                outside(rights, &action),
                "{what} must be outside the rights"
            );
            push(
                format!("terminal action: {what}"),
                action.clone(),
                Expect::Action(action),
            );
        }
        push(
            "terminal action names a delegate (cnf)".into(),
            edited("cnf", Some(cnf(kind.stranger.public_key()))),
            Expect::Reject,
        );
        push(
            "terminal action not an object".into(),
            json!([action()]),
            Expect::Reject,
        );
        push(
            "terminal action a string".into(),
            json!("refund"),
            Expect::Reject,
        );
    }
    // The delegate_payload array itself.
    let digest = token.payload["delegate_payload"].clone();
    for (what, value) in [
        ("empty", json!([])),
        ("the digest twice", json!([digest[0], digest[0]])),
        ("an object", digest[0].clone()),
        (
            "a digest of nothing presented",
            json!([{"...": sha256_b64("nothing")}]),
        ),
        ("a string", json!("x")),
    ] {
        edits.push(Edit::new(
            "delegate_payload",
            what,
            header.clone(),
            with_member(&token.payload, "delegate_payload", Some(value)),
            Expect::Reject,
        ));
    }
    edits
}

fn holder_ops(kind: &Kind, expected: &Verified, out: &mut Mutants) {
    for t in 1..kind.shape.tokens() {
        if kind.keys[t].is_none() {
            continue;
        }
        let mut edits = token_edits(kind, t);
        edits.extend(predicate_edits(kind, t));
        edits.extend(hop_object_edits(kind, t, expected));
        for edit in &edits {
            let role = if t < kind.shape.segments.len() {
                format!("hop {t}")
            } else {
                "KB-JWT".to_owned()
            };
            if matches!(edit.sign, Sign::Own) {
                out.reject(
                    &format!("{}: {} (not re-signed)", role, edit.op),
                    edit.detail.clone(),
                    apply(kind, t, edit, false),
                );
            }
            out.add(
                &format!("{}: {} (re-signed)", role, edit.op),
                edit.detail.clone(),
                apply(kind, t, edit, true),
                edit.expect.clone(),
            );
        }
        // Disclosures changed and the binding re-signed by the holder: dropping one is
        // withholding (unless another disclosure then hangs unreferenced), a foreign one
        // is unreferenced, a reorder is the same presentation.
        if t == kind.shape.segments.len() {
            let keys = kind.key_refs();
            let all = &kind.shape.segments[0].disclosures;
            let mut variants: Vec<(&str, String, Vec<String>, Expect)> = Vec::new();
            for i in 0..all.len() {
                let mut fewer = all.clone();
                fewer.remove(i);
                variants.push((
                    "disclosure removed, KB-JWT re-signed",
                    format!("#{i}"),
                    fewer,
                    Expect::Withheld,
                ));
                let mut twice = all.clone();
                twice.push(all[i].clone());
                variants.push((
                    "disclosure duplicated, KB-JWT re-signed",
                    format!("#{i}"),
                    twice,
                    Expect::Reject,
                ));
            }
            let mut reversed = all.clone();
            reversed.reverse();
            if reversed != *all {
                variants.push((
                    "disclosures reordered, KB-JWT re-signed",
                    "reversed".into(),
                    reversed,
                    Expect::Same,
                ));
            }
            for (o, other) in kind.others.iter().enumerate() {
                for (f, foreign) in other.segments[0].disclosures.iter().enumerate() {
                    if !all.contains(foreign) {
                        let mut more = all.clone();
                        more.push(foreign.clone());
                        variants.push((
                            "foreign disclosure inserted, KB-JWT re-signed",
                            format!("other {o} #{f}"),
                            more,
                            Expect::Reject,
                        ));
                    }
                }
            }
            for (op, detail, disclosures, expect) in variants {
                let mut mutant = kind.shape.clone();
                mutant.segments[0].disclosures = disclosures;
                rebind(&mut mutant, &keys, t);
                out.add(op, detail, mutant.join(), expect);
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// The sweep
// ---------------------------------------------------------------------------------

#[derive(Default)]
struct Tally {
    tried: usize,
    not_utf8: usize,
    verified: usize,
}

fn excerpt(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= 100 {
        return text.to_owned();
    }
    let head: String = chars[..50].iter().collect();
    let tail: String = chars[chars.len() - 40..].iter().collect();
    format!("{head}…{tail}")
}

fn same_verdict(
    single: &Result<Value, VerifyError>,
    batch: &Result<Verified, VerifyError>,
) -> bool {
    match (single, batch) {
        (Ok(single), Ok(batch)) => *single == serde_json::to_value(batch).unwrap(),
        (Err(single), Err(batch)) => single.kind() == batch.kind() && single == batch,
        _ => false,
    }
}

fn sweep(kind: Kind) {
    let started = Instant::now();
    let seed = &kind.seed;
    let expected = seed
        .verify(&seed.text)
        .unwrap_or_else(|error| panic!("the {} seed must verify: {error}", seed.kind));
    let expected_json = serde_json::to_value(&expected).unwrap();

    let mut rng = Rng(seed
        .kind
        .bytes()
        .fold(0xA5A5_5A5A, |h, b| h.rotate_left(5) ^ u64::from(b)));
    let mut out = Mutants::default();
    byte_flips(&kind, &mut rng, &mut out);
    truncations(&kind, &mut out);
    disclosure_ops(&kind, &mut out);
    structure_ops(&kind, &mut out);
    token_swaps(&kind, &mut out);
    encoding_ops(&kind, &mut out);
    holder_ops(&kind, &expected, &mut out);
    let mutants = out.0;
    let generated = started.elapsed();

    let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
    let mut accepted = Vec::new();
    let mut singles: Vec<Option<Result<Value, VerifyError>>> = Vec::with_capacity(mutants.len());
    for mutant in &mutants {
        let tally = tallies.entry(&mutant.op).or_default();
        tally.tried += 1;
        // The verifier takes &str: a mutant that is not UTF-8 cannot even be passed to
        // it (a caller's decoding refuses it first), so it counts as rejected without
        // a call. Only bit flips produce such mutants.
        let Ok(text) = std::str::from_utf8(&mutant.bytes) else {
            tally.not_utf8 += 1;
            singles.push(None);
            continue;
        };
        let result = seed
            .verify(text)
            .map(|verified| serde_json::to_value(verified).unwrap());
        if let Ok(got) = &result {
            if allowed(&mutant.expect, &expected_json, got) {
                tally.verified += 1;
            } else {
                accepted.push(format!(
                    "{}: {} [{}] verified{}: {}",
                    seed.kind,
                    mutant.op,
                    mutant.detail,
                    if *got == expected_json {
                        " (same result)"
                    } else {
                        " to another result"
                    },
                    excerpt(text)
                ));
            }
        }
        singles.push(Some(result));
    }
    let single_time = started.elapsed() - generated;

    // The batch path on every mutant, against the single path's verdict. An issued
    // credential has no batch path of its own: its mutants go through as presentations
    // (nearly all refused for want of key binding), compared with verify_presentation.
    let request = seed.request.clone().unwrap_or_else(request);
    let texts: Vec<(usize, &str)> = mutants
        .iter()
        .enumerate()
        .filter_map(|(index, mutant)| {
            std::str::from_utf8(&mutant.bytes)
                .ok()
                .map(|text| (index, text))
        })
        .collect();
    let mut disagreements = Vec::new();
    for chunk in texts.chunks(512) {
        let items: Vec<BatchItem<'_>> = chunk
            .iter()
            .map(|(_, text)| BatchItem {
                presentation: text,
                request: &request,
            })
            .collect();
        let results = seed.verifier.verify_batch(&items, NOW);
        assert_eq!(results.len(), chunk.len());
        for ((index, text), batch) in chunk.iter().zip(&results) {
            let single = match (&seed.request, &singles[*index]) {
                (Some(_), Some(single)) => single.clone(),
                _ => seed
                    .verifier
                    .verify_presentation(text, &request, NOW)
                    .map(|verified| serde_json::to_value(verified).unwrap()),
            };
            if !same_verdict(&single, batch) {
                let mutant = &mutants[*index];
                disagreements.push(format!(
                    "{}: {} [{}]: single {:?}, batch {:?}",
                    seed.kind,
                    mutant.op,
                    mutant.detail,
                    single.as_ref().err(),
                    batch.as_ref().err()
                ));
            }
        }
    }
    let batch_time = started.elapsed() - generated - single_time;

    let not_utf8: usize = tallies.values().map(|tally| tally.not_utf8).sum();
    let verified: usize = tallies.values().map(|tally| tally.verified).sum();
    let mut report = format!(
        "== {}: {} mutants from a {}-byte seed ({} not UTF-8, {} verified as allowed, {} accepted); \
         generated in {:.2?}, single path {:.2?}, batch path {:.2?}\n",
        seed.kind,
        mutants.len(),
        seed.text.len(),
        not_utf8,
        verified,
        accepted.len(),
        generated,
        single_time,
        batch_time
    );
    for (op, tally) in &tallies {
        report.push_str(&format!(
            "   {:>5}  {op}{}{}\n",
            tally.tried,
            if tally.not_utf8 > 0 {
                format!(" ({} not UTF-8)", tally.not_utf8)
            } else {
                String::new()
            },
            if tally.verified > 0 {
                format!(" ({} verified as allowed)", tally.verified)
            } else {
                String::new()
            },
        ));
    }
    eprint!("{report}");
    assert!(
        accepted.is_empty(),
        "{} accepted mutants:\n{}",
        accepted.len(),
        accepted.join("\n")
    );
    assert!(
        disagreements.is_empty(),
        "{} batch verdicts differ from the single path's:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}

#[test]
fn plain_eddsa_presentation_mutants_are_all_rejected() {
    sweep(plain_kind(Algorithm::EdDSA, "plain EdDSA presentation"));
}

#[test]
fn plain_es256_presentation_mutants_are_all_rejected() {
    sweep(plain_kind(Algorithm::ES256, "plain ES256 presentation"));
}

#[test]
fn plain_es256k_presentation_mutants_are_all_rejected() {
    sweep(plain_kind(Algorithm::ES256K, "plain ES256K presentation"));
}

#[test]
fn one_predicate_presentation_mutants_are_all_rejected() {
    sweep(predicate_kind(
        "presentation with 1 predicate",
        &[adult()],
        Algorithm::EdDSA,
        Algorithm::EdDSA,
    ));
}

#[test]
fn two_predicate_presentation_mutants_are_all_rejected() {
    sweep(predicate_kind(
        "presentation with 2 aggregated predicates",
        &[adult(), Predicate::at_least("level", 3)],
        Algorithm::ES256,
        Algorithm::ES256K,
    ));
}

#[test]
fn delegation_chain_mutants_are_all_rejected() {
    sweep(chain_kind());
}

#[test]
fn issued_credential_mutants_are_all_rejected() {
    sweep(credential_kind());
}

/// Far-future NumericDates that their real signers sign: the issuer (`exp`, `nbf`,
/// `iat` of the credential) and the holder (`exp`, `nbf`, `iat` of the KB-JWT). None
/// makes the verifier panic; each gets the verdict the validity rules give it (a far
/// `exp` is simply a long life; a far `nbf` or `iat` is not yet valid; a far KB-JWT
/// `iat` is outside the window); the batch path agrees with the single path on every
/// one, and an issued credential verifies the same way without key binding.
#[test]
fn numeric_dates_beyond_year_9999_resigned_get_their_verdicts_without_panicking() {
    let secret = [0x42; 32];
    let issuer_key = SigningKey::from_secret_bytes(Algorithm::EdDSA, &secret).unwrap();
    let issuer =
        Issuer::from_did_key(SigningKey::from_secret_bytes(Algorithm::EdDSA, &secret).unwrap())
            .unwrap();
    let agent = SigningKey::generate(Algorithm::EdDSA);
    let credential = issuer
        .issue(
            &CredentialRequest {
                vct: TASK_VCT.into(),
                subject: agent.did().unwrap(),
                holder_key: agent.public_key().clone(),
                claims: task_claims(),
                disclosable: Vec::new(),
                lifetime_secs: 900,
                committed: Vec::new(),
            },
            NOW,
        )
        .unwrap()
        .sd_jwt;
    let presentation = present(&credential, &agent, &[], &request(), NOW).unwrap();
    let verifier = verifier_for(&issuer);
    let seed = verifier
        .verify_presentation(&presentation, &request(), NOW)
        .unwrap();
    let seed_json = serde_json::to_value(&seed).unwrap();
    let shape = Shape::parse(&presentation);
    let keys = [None, Some(&agent)];

    // (token, field, value, detail, mutant)
    let mut mutants: Vec<(usize, &str, u64, String, String)> = Vec::new();
    for (t, signer) in [(0, &issuer_key), (1, &agent)] {
        let token = open(shape.token(t));
        for field in ["exp", "nbf", "iat"] {
            for (what, value) in FAR_FUTURE {
                let payload = with_member(&token.payload, field, Some(json!(value)));
                let mut mutant = shape.clone();
                mutant.set_token(t, seal(signer, &render_map(&token.header), &payload));
                rebind(&mut mutant, &keys, t + 1);
                let detail = format!("token {t} {field} = {what}");
                mutants.push((t, field, value, detail, mutant.join()));
            }
        }
    }

    let request = request();
    let items: Vec<BatchItem<'_>> = mutants
        .iter()
        .map(|(_, _, _, _, text)| BatchItem {
            presentation: text,
            request: &request,
        })
        .collect();
    let batch = verifier.verify_batch(&items, NOW);
    assert_eq!(batch.len(), mutants.len());
    for ((t, field, value, detail, text), batch) in mutants.iter().zip(&batch) {
        let value = *value;
        let single = verifier.verify_presentation(text, &request, NOW);
        let single_json = single
            .clone()
            .map(|verified| serde_json::to_value(verified).unwrap());
        assert!(
            same_verdict(&single_json, batch),
            "{detail}: single {single:?}, batch {batch:?}"
        );
        match (*t, *field) {
            (0, "exp") => {
                let verified = single.unwrap_or_else(|error| panic!("{detail}: {error}"));
                assert_eq!(verified.expires_at, Some(value), "{detail}");
                let mut expected = seed_json.clone();
                expected["expires_at"] = json!(value);
                assert_eq!(
                    serde_json::to_value(&verified).unwrap(),
                    expected,
                    "{detail}"
                );
                // The issued credential alone, without key binding.
                let credential = text.rsplit_once('~').unwrap().0.to_owned() + "~";
                let alone = verifier.verify_credential(&credential, NOW).unwrap();
                assert_eq!(alone.expires_at, Some(value), "{detail}");
            }
            (0, "nbf" | "iat") | (1, "nbf") => assert_eq!(
                single.unwrap_err(),
                VerifyError::NotYetValid { valid_from: value },
                "{detail}"
            ),
            (1, "exp") => assert_eq!(single_json.unwrap(), seed_json, "{detail}"),
            (1, "iat") => assert_eq!(
                single.unwrap_err(),
                VerifyError::StaleKeyBinding { iat: value },
                "{detail}"
            ),
            other => panic!("{other:?}"),
        }
    }
}
