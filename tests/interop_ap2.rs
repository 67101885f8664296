//! Interop with the AP2 v0.2 Python SDK (`ap2.sdk.mandate.MandateClient`), both ways:
//! (a) the SDK verifies delegation chains agentid's wallet makes, and refuses
//! tampered ones; (b) the SDK makes a corpus of mandate chains (checkout and payment,
//! with and without a sub-agent, both binding modes, tampered copies, every
//! constraint kind met and broken, the verifier's expectations, mandates that cannot
//! be checked) whose verdicts agentid must match.
//!
//! The SDK runs, unmodified, in the interpreter named by `AGENTID_PEER_PYTHON` (a venv
//! made by `.ci/install-peers`) with `PYTHONPATH` = `AGENTID_AP2_SDK` (the directory
//! holding its `ap2` package; `.ci/run` sets it from `../shared/peers/ap2`). Without
//! either, or when the SDK does not import, the tests pass after saying they were
//! skipped. The peer scripts are `tests/peers/ap2_verify.py` and
//! `tests/peers/ap2_make.py` (their docstrings list the SDK's quirks).

// Test code: a panic is the failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write as _;
use std::process::{Command, Stdio};

use agentid_verifier::delegation::Rights;
use agentid_verifier::{Algorithm, Policy, PresentationRequest, TrustStore, Verifier};
use agentid_wallet::{
    delegate, present_delegated, CredentialRequest, DelegationSpec, Issuer, SigningKey,
    DELEGATION_VCT, TASK_VCT,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};

const VERIFY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/ap2_verify.py");
const MAKE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/ap2_make.py");

/// A fixed point in time (2027-01-15T08:00:00Z), as in the other tests; the corpus
/// of `ap2_make.py` uses the same.
const NOW: u64 = 1_800_000_000;
const AUDIENCE: &str = "https://merchant.example";
const NONCE: &str = "n-0S6_WzA2Mj";
const PRINCIPAL: &str = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp";

/// The SDK's refusal of a `cnf` key that is not P-256: its generated `JsonWebKey`
/// model (kty "EC", crv "P-256" only) reads every hop's signing key.
const NOT_P256: [&str; 2] = ["validation errors for JsonWebKey", "Input should be 'EC'"];

// ---------------------------------------------------------------------------------
// The peer
// ---------------------------------------------------------------------------------

struct Peer {
    python: String,
    sdk: String,
}

/// The peer, or `None` (after saying why) when it is not configured or the SDK does
/// not import.
fn peer() -> Option<Peer> {
    let python = match std::env::var("AGENTID_PEER_PYTHON") {
        Ok(python) if !python.is_empty() => python,
        _ => {
            println!("skipped: AGENTID_PEER_PYTHON not set (run .ci/install-peers)");
            return None;
        }
    };
    let sdk = match std::env::var("AGENTID_AP2_SDK") {
        Ok(sdk) if !sdk.is_empty() => sdk,
        _ => {
            println!(
                "skipped: AGENTID_AP2_SDK not set (the directory holding the AP2 v0.2 \
                 SDK's `ap2` package, ../shared/peers/ap2/code/sdk/python; .ci/run sets it)"
            );
            return None;
        }
    };
    let peer = Peer { python, sdk };
    let (status, stdout, stderr) = peer.run(VERIFY, &["--check"], "");
    if !status {
        println!(
            "skipped: the AP2 SDK does not import from {} with {}: {}",
            peer.sdk,
            peer.python,
            stderr.trim()
        );
        return None;
    }
    assert!(stdout.contains("\"ok\": true"), "--check said: {stdout}");
    Some(peer)
}

impl Peer {
    /// Runs a peer script; (success, stdout, stderr).
    fn run(&self, script: &str, args: &[&str], stdin: &str) -> (bool, String, String) {
        let mut child = Command::new(&self.python)
            .arg(script)
            .args(args)
            .env("PYTHONPATH", &self.sdk)
            // The SDK's directory is shared and not ours: no __pycache__ there.
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|error| panic!("cannot run {}: {error}", self.python));
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        (
            output.status.success(),
            String::from_utf8(output.stdout).unwrap(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    /// `MandateClient().verify` on each chain (with the root key, aud, nonce, now of
    /// its input), one answer per input, in order.
    fn verify(&self, inputs: &[Value]) -> Vec<SdkAnswer> {
        let stdin: String = inputs.iter().map(|input| format!("{input}\n")).collect();
        let (ok, stdout, stderr) = self.run(VERIFY, &[], &stdin);
        assert!(ok, "ap2_verify.py failed: {stderr}");
        let answers: Vec<SdkAnswer> = stdout
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
        assert_eq!(
            answers.len(),
            inputs.len(),
            "one answer per chain: {stderr}"
        );
        answers
    }
}

/// One line of `ap2_verify.py`'s output.
#[derive(Debug, Deserialize)]
struct SdkAnswer {
    ok: bool,
    #[serde(default)]
    payloads: Vec<Value>,
    #[serde(default)]
    error: Option<String>,
}

impl SdkAnswer {
    fn error(&self) -> &str {
        self.error.as_deref().unwrap_or("")
    }
}

fn sdk_input(chain: &str, root_jwk: &Value, aud: &str, nonce: &str) -> Value {
    json!({"chain": chain, "root_jwk": root_jwk, "aud": aud, "nonce": nonce, "now": NOW})
}

// ---------------------------------------------------------------------------------
// (a) agentid -> AP2: chains the wallet makes
// ---------------------------------------------------------------------------------

/// A chain made by agentid's wallet: root credential ~~ `delegations` delegation
/// hops ~~ a terminal hop carrying [`action`].
struct Built {
    what: String,
    /// The root issuer's public JWK: what the SDK's key provider returns.
    issuer_jwk: Value,
    /// `keys[0]` holds the root credential; `keys[i]` is delegate `i`.
    keys: Vec<SigningKey>,
    /// root ~~ delegations (no terminal hop yet).
    delegated: String,
    /// The whole chain, ready for [`AUDIENCE`] and [`NONCE`].
    presentation: String,
    holder_alg: Algorithm,
}

fn action() -> Value {
    json!({
        "scope": "payments:execute",
        "resource": "https://merchant.example/checkout/chk-1",
        "amount": 40,
        "currency": "EUR"
    })
}

fn request() -> PresentationRequest {
    PresentationRequest::new(AUDIENCE, NONCE)
}

/// Builds a chain with the wallet's own code. `forwarded`: whether the root has a
/// disclosure the delegation keeps (`on_behalf_of` made disclosable) or none.
/// `wrong_signer`: the hop (0 = the agent's delegation, …, `delegations` = the
/// terminal hop) signed by a key that is not the previous segment's `cnf` key.
fn build(
    issuer_alg: Algorithm,
    holder_alg: Algorithm,
    delegations: usize,
    forwarded: bool,
    wrong_signer: Option<usize>,
) -> Built {
    let what = format!(
        "issuer {issuer_alg}, holders {holder_alg}, {delegations} delegation(s), root {}",
        if forwarded {
            "forwarding on_behalf_of"
        } else {
            "forwarding no disclosure"
        }
    );
    let issuer = Issuer::from_did_key(SigningKey::generate(issuer_alg)).unwrap();
    let keys: Vec<SigningKey> = (0..=delegations)
        .map(|_| SigningKey::generate(holder_alg))
        .collect();
    let claims = json!({
        "task": {"id": "T-12", "purpose": "buy the weekly groceries"},
        "scope": ["payments:*", "orders:read"],
        "resources": ["https://merchant.example/"],
        "constraints": {"max_amount": 100, "currency": "EUR"},
        "max_delegation_depth": 3,
        "on_behalf_of": PRINCIPAL
    });
    let mut disclosable = vec!["task.purpose".parse().unwrap()];
    if forwarded {
        disclosable.push("on_behalf_of".parse().unwrap());
    }
    let root = issuer
        .issue(
            &CredentialRequest {
                vct: TASK_VCT.into(),
                subject: keys[0].did().unwrap(),
                holder_key: keys[0].public_key().clone(),
                claims: claims.as_object().cloned().unwrap(),
                disclosable,
                lifetime_secs: 3600,
                committed: Vec::new(),
            },
            NOW,
        )
        .unwrap()
        .sd_jwt;
    let mut trust = TrustStore::new();
    trust.add_did(issuer.id()).unwrap();
    let verifier = Verifier::new(trust, Policy::default());
    let verified = verifier.verify_credential(&root, NOW).unwrap();
    let mut rights = Rights::from_root(&verified.claims, verified.expires_at).unwrap();

    let outsider = SigningKey::generate(holder_alg);
    let signer = |hop: usize| {
        if wrong_signer == Some(hop) {
            &outsider
        } else {
            &keys[hop]
        }
    };
    let mut chain = root;
    for hop in 0..delegations {
        let narrower = 90 - 10 * u64::try_from(hop).unwrap();
        let spec = DelegationSpec {
            to: keys[hop + 1].public_key().clone(),
            scope: Some(vec!["payments:execute".into(), "orders:read".into()]),
            resources: None,
            constraints: json!({"max_amount": narrower})
                .as_object()
                .cloned()
                .unwrap(),
            lifetime_secs: 1800 - 300 * u64::try_from(hop).unwrap(),
            max_depth: None,
        };
        chain = delegate(&chain, signer(hop), &rights, &spec, NOW).unwrap();
        // After a wrongly signed hop agentid refuses the chain: the rights so far
        // still let the wallet sign the next (it checks narrowing, not signatures).
        if let Some(effective) = verifier
            .verify_credential(&chain, NOW)
            .ok()
            .and_then(|verified| verified.chain)
        {
            rights = effective.effective_rights;
        }
    }
    let presentation =
        present_delegated(&chain, signer(delegations), &action(), &request(), NOW).unwrap();
    if wrong_signer.is_none() {
        // agentid accepts its own chain: what the SDK is asked about is well-formed.
        let ours = verifier
            .verify_presentation(&presentation, &request(), NOW)
            .unwrap_or_else(|error| panic!("{what}: agentid refuses its own chain: {error}"));
        assert_eq!(ours.chain.unwrap().delegations.len(), delegations, "{what}");
    }
    Built {
        what,
        issuer_jwk: issuer.public_key().to_jwk(),
        keys,
        delegated: chain,
        presentation,
        holder_alg,
    }
}

impl Built {
    fn input(&self) -> Value {
        sdk_input(&self.presentation, &self.issuer_jwk, AUDIENCE, NONCE)
    }

    /// What the SDK must return for this chain: the root's payload (its claims, the
    /// forwarded disclosure resolved), one delegation object per delegation, each
    /// naming the next delegate's key, and the action.
    fn check_payloads(&self, answer: &SdkAnswer, failures: &mut Vec<String>) {
        let what = &self.what;
        let delegations = self.keys.len() - 1;
        if !answer.ok {
            failures.push(format!("{what}: refused: {}", answer.error()));
            return;
        }
        let payloads = &answer.payloads;
        if payloads.len() != delegations + 2 {
            failures.push(format!(
                "{what}: {} payloads, expected the root's, {delegations} delegation(s) and \
                 the action's: {payloads:?}",
                payloads.len()
            ));
            return;
        }
        let root = &payloads[0];
        let expected_root = [
            ("vct", json!(TASK_VCT)),
            ("sub", json!(self.keys[0].did().unwrap())),
            ("cnf", json!({"jwk": self.keys[0].public_key().to_jwk()})),
            ("scope", json!(["payments:*", "orders:read"])),
            // task.purpose is disclosable and never forwarded.
            ("task", json!({"id": "T-12"})),
            // Forwarded as a disclosure, or in the clear when not disclosable.
            ("on_behalf_of", json!(PRINCIPAL)),
        ];
        for (name, value) in expected_root {
            if root.get(name) != Some(&value) {
                failures.push(format!(
                    "{what}: root payload {name} = {:?}, expected {value}",
                    root.get(name)
                ));
            }
        }
        for (hop, object) in payloads.iter().enumerate().take(delegations + 1).skip(1) {
            let next = json!({"jwk": self.keys[hop].public_key().to_jwk()});
            if object.get("vct") != Some(&json!(DELEGATION_VCT)) || object.get("cnf") != Some(&next)
            {
                failures.push(format!(
                    "{what}: payload {hop} is not the delegation to key {hop}: {object}"
                ));
            }
        }
        if payloads[delegations + 1] != action() {
            failures.push(format!(
                "{what}: last payload {} is not the action",
                payloads[delegations + 1]
            ));
        }
    }
}

fn expect_not_p256(what: &str, answer: &SdkAnswer, failures: &mut Vec<String>) {
    if answer.ok || !NOT_P256.iter().all(|part| answer.error().contains(part)) {
        failures.push(format!(
            "{what}: expected the SDK's refusal of a non-P-256 cnf key ({NOT_P256:?}), got \
             ok = {}, error {:?}",
            answer.ok,
            answer.error()
        ));
    }
}

fn report(failures: &[String], total: usize) {
    assert!(
        failures.is_empty(),
        "{} of {total} checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// P-256 holders (the only `cnf` keys the SDK reads), an ES256 or EdDSA issuer (the
/// SDK checks the root signature with jwcrypto, which knows both), 1 to 3
/// delegations, a root forwarding `on_behalf_of`.
#[test]
fn the_ap2_sdk_accepts_agentid_chains_with_p256_holders() {
    let Some(peer) = peer() else { return };
    let chains: Vec<Built> = [Algorithm::ES256, Algorithm::EdDSA]
        .into_iter()
        .flat_map(|issuer| (1..=3).map(move |n| build(issuer, Algorithm::ES256, n, true, None)))
        .collect();
    let answers = peer.verify(&chains.iter().map(Built::input).collect::<Vec<_>>());
    let mut failures = Vec::new();
    for (chain, answer) in chains.iter().zip(&answers) {
        chain.check_payloads(answer, &mut failures);
    }
    report(&failures, chains.len());
}

/// EdDSA holders: the SDK reads each hop's key through its P-256-only `JsonWebKey`
/// model and refuses the chain at the first hop, before any signature is checked.
/// (The day the SDK takes Ed25519 `cnf` keys this test fails: then check the payloads
/// as for P-256.)
#[test]
fn the_ap2_sdk_refuses_agentid_chains_with_eddsa_holders_for_the_key_type_alone() {
    let Some(peer) = peer() else { return };
    let chains: Vec<Built> = [Algorithm::ES256, Algorithm::EdDSA]
        .into_iter()
        .flat_map(|issuer| (1..=3).map(move |n| build(issuer, Algorithm::EdDSA, n, true, None)))
        .collect();
    let answers = peer.verify(&chains.iter().map(Built::input).collect::<Vec<_>>());
    let mut failures = Vec::new();
    for (chain, answer) in chains.iter().zip(&answers) {
        expect_not_p256(&chain.what, answer, &mut failures);
    }
    report(&failures, chains.len());
}

/// A root credential issued without any selectively disclosable claim still makes
/// chains the SDK reads: agentid's issuer keeps `on_behalf_of` disclosable in every
/// delegable credential and delegation forwards it, so the root segment is never a
/// bare `JWT` (docs/notes-delegation.md, "Serialization"). Same verdicts as with a
/// disclosure chosen by the issuer: P-256 holders accepted, EdDSA holders refused for
/// their key type only.
#[test]
fn the_ap2_sdk_accepts_agentid_chains_whose_root_was_issued_without_disclosable_claims() {
    let Some(peer) = peer() else { return };
    let mut chains = Vec::new();
    for holder in [Algorithm::ES256, Algorithm::EdDSA] {
        for delegations in 1..=3 {
            chains.push(build(Algorithm::ES256, holder, delegations, false, None));
        }
    }
    let answers = peer.verify(&chains.iter().map(Built::input).collect::<Vec<_>>());
    let mut failures = Vec::new();
    for (chain, answer) in chains.iter().zip(&answers) {
        if chain.holder_alg == Algorithm::EdDSA {
            expect_not_p256(&chain.what, answer, &mut failures);
        } else {
            chain.check_payloads(answer, &mut failures);
        }
    }
    report(&failures, chains.len());
}

/// The segments of a chain as joined (`~~` removed), and their join.
fn segments(chain: &str) -> Vec<String> {
    chain.split("~~").map(str::to_owned).collect()
}

fn join(segments: &[String]) -> String {
    segments.join("~~")
}

/// `segment` with one byte of its JWT's signature flipped.
fn flip_signature(segment: &str) -> String {
    let (jwt, rest) = segment.split_once('~').unwrap_or((segment, ""));
    let (signed, signature) = jwt.rsplit_once('.').unwrap();
    let mut raw = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let middle = raw.len() / 2;
    raw[middle] ^= 0x01;
    let flipped = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(raw));
    if segment.contains('~') {
        format!("{flipped}~{rest}")
    } else {
        flipped
    }
}

#[test]
fn the_ap2_sdk_refuses_tampered_agentid_chains() {
    let Some(peer) = peer() else { return };
    let base = build(Algorithm::ES256, Algorithm::ES256, 2, true, None);
    let jwk = &base.issuer_jwk;
    let parts = segments(&base.presentation);
    assert_eq!(parts.len(), 4, "root, two delegations, terminal");

    // (what, input, a part of the SDK's error)
    let mut cases: Vec<(String, Value, &str)> = Vec::new();
    let names = [
        "root",
        "first delegation",
        "second delegation",
        "terminal hop",
    ];
    for (index, name) in names.iter().enumerate() {
        let mut tampered = parts.clone();
        tampered[index] = flip_signature(&tampered[index]);
        cases.push((
            format!("{name}: a signature byte flipped"),
            sdk_input(&join(&tampered), jwk, AUDIENCE, NONCE),
            "InvalidJWSSignature",
        ));
    }
    cases.push((
        "another audience expected".into(),
        sdk_input(&base.presentation, jwk, "https://other.example", NONCE),
        "aud mismatch",
    ));
    cases.push((
        "another nonce expected".into(),
        sdk_input(&base.presentation, jwk, AUDIENCE, "n-another"),
        "nonce mismatch",
    ));
    let other_issuer = SigningKey::generate(Algorithm::ES256).public_key().to_jwk();
    cases.push((
        "another root key".into(),
        sdk_input(&base.presentation, &other_issuer, AUDIENCE, NONCE),
        "InvalidJWSSignature",
    ));
    let without_first = join(&[parts[0].clone(), parts[2].clone(), parts[3].clone()]);
    cases.push((
        "the first delegation dropped".into(),
        sdk_input(&without_first, jwk, AUDIENCE, NONCE),
        "InvalidJWSSignature",
    ));
    for hop in 0..=2 {
        let forged = build(Algorithm::ES256, Algorithm::ES256, 2, true, Some(hop));
        cases.push((
            format!("hop {hop} signed by a key the chain does not name"),
            forged.input(),
            "InvalidJWSSignature",
        ));
    }
    // A well-formed terminal hop, signed by a key the last delegation does not name.
    let outsider = SigningKey::generate(Algorithm::ES256);
    let by_outsider =
        present_delegated(&base.delegated, &outsider, &action(), &request(), NOW).unwrap();
    cases.push((
        "terminal hop signed by an outsider".into(),
        sdk_input(&by_outsider, jwk, AUDIENCE, NONCE),
        "InvalidJWSSignature",
    ));

    let mut inputs = vec![base.input()];
    inputs.extend(cases.iter().map(|(_, input, _)| input.clone()));
    let answers = peer.verify(&inputs);
    let mut failures = Vec::new();
    base.check_payloads(&answers[0], &mut failures);
    for ((what, _, error), answer) in cases.iter().zip(&answers[1..]) {
        if answer.ok {
            failures.push(format!("{what}: accepted"));
        } else if !answer.error().contains(error) {
            failures.push(format!(
                "{what}: refused, but not for {error:?}: {}",
                answer.error()
            ));
        }
    }
    report(&failures, cases.len() + 1);
}

// ---------------------------------------------------------------------------------
// (b) AP2 -> agentid: chains the SDK makes
// ---------------------------------------------------------------------------------

/// One chain of `ap2_make.py`'s corpus (see its docstring).
#[derive(Debug, Deserialize)]
#[allow(dead_code)] // The fields agentid_verdict will read once it is wired.
struct CorpusItem {
    name: String,
    kind: String,
    hops: usize,
    hash_mode: String,
    chain: String,
    root_jwk: Value,
    aud: Option<String>,
    nonce: Option<String>,
    now: u64,
    sdk_verdict: SdkVerdict,
    #[serde(default)]
    constraint_violations: Option<Vec<String>>,
    /// The SDK's typed check raised (it could not read a mandate).
    #[serde(default)]
    constraint_error: Option<String>,
    /// What the verifier expects or knows beyond the chain: passed to the SDK's
    /// `PaymentMandateChain.verify` and to agentid's [`MandateContext`] alike.
    ///
    /// [`MandateContext`]: agentid_verifier::ap2::MandateContext
    #[serde(default)]
    expected_transaction_id: Option<String>,
    #[serde(default)]
    expected_open_checkout_hash: Option<String>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    expect_error: Option<String>,
}

/// The SDK's `constraints.MandateContext`: the mandate's use before this payment.
#[derive(Debug, Deserialize)]
struct Usage {
    total_amount: i64,
    total_uses: i64,
}

#[derive(Debug, Deserialize)]
struct SdkVerdict {
    ok: bool,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    payloads: Option<usize>,
}

/// A verifier's answer to one corpus item. The SDK's and agentid's are compared by
/// kind: their messages differ.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(dead_code)] // Built by agentid_verdict once it is wired.
enum Verdict {
    /// The chain verifies and its closed mandate meets every open mandate's
    /// constraints.
    Accepted,
    /// The chain verifies (signatures, bindings, times, aud and nonce), but the closed
    /// mandate breaks constraints: what they are.
    ConstraintViolations(Vec<String>),
    /// The chain verifies, but its mandates cannot be checked (a constraint type
    /// nobody defines, a payload that is not its mandate): the SDK's typed check
    /// raises, agentid answers an `Ap2Violation` that `could_not_check()`. Why.
    CouldNotCheck(String),
    /// The chain does not verify: why.
    Refused(String),
}

impl Verdict {
    fn kind(&self) -> &'static str {
        match self {
            Verdict::Accepted => "accepted",
            Verdict::ConstraintViolations(_) => "constraint violations",
            Verdict::CouldNotCheck(_) => "could not check",
            Verdict::Refused(_) => "refused",
        }
    }
}

impl CorpusItem {
    fn category(&self) -> &str {
        [
            "/valid",
            "/sdk-lenient/",
            "/tampered/",
            "/constraint/",
            "/unchecked/",
        ]
        .into_iter()
        .find(|category| self.name.contains(category))
        .unwrap_or_else(|| panic!("{}: no category in the name", self.name))
    }

    /// The SDK's verdict: `MandateClient.verify`'s, then its typed constraint checks'
    /// (an exception there before any violation, as agentid reads every mandate
    /// before checking one).
    fn sdk(&self) -> Verdict {
        match (
            &self.sdk_verdict,
            &self.constraint_error,
            &self.constraint_violations,
        ) {
            (
                SdkVerdict {
                    ok: false, error, ..
                },
                _,
                _,
            ) => Verdict::Refused(error.clone().unwrap_or_default()),
            (_, Some(error), _) => Verdict::CouldNotCheck(error.clone()),
            (_, None, Some(violations)) if !violations.is_empty() => {
                Verdict::ConstraintViolations(violations.clone())
            }
            _ => Verdict::Accepted,
        }
    }

    /// agentid's context for this item: what a verifier knowing only the chain
    /// uses, plus the item's expectations.
    fn context(
        &self,
        closed: &serde_json::Map<String, Value>,
    ) -> agentid_verifier::ap2::MandateContext {
        use agentid_verifier::ap2::{MandateContext, MandateUsage};
        let mut context = MandateContext::from_closed_mandate(closed);
        if let Some(id) = &self.expected_transaction_id {
            context = context.with_expected_transaction_id(id);
        }
        if let Some(hash) = &self.expected_open_checkout_hash {
            context = context.with_expected_open_checkout_hash(hash);
        }
        if let Some(usage) = &self.usage {
            context = context.with_usage(MandateUsage::new(usage.total_amount, usage.total_uses));
        }
        context
    }
}

/// agentid's verdict on an SDK-made chain: `agentid verify --profile ap2` (the root
/// key pinned to `item.root_jwk`, `item.aud`/`item.nonce` as the request, at
/// `item.now`), then the ported mandate constraints. `None` until that is wired.
fn agentid_verdict(item: &CorpusItem) -> Option<Verdict> {
    use agentid_verifier::{Policy, PresentationRequest, TrustStore, Verifier};
    let trust = TrustStore::from_json(
        serde_json::json!({"issuers": [{"jwk": item.root_jwk}]})
            .to_string()
            .as_bytes(),
    )
    .unwrap();
    // The SDK's clock skew (clock_skew_seconds = 300).
    let verifier = Verifier::new(trust, Policy::default().with_clock_skew(300));
    let request = PresentationRequest::new(
        item.aud.clone().unwrap_or_default(),
        item.nonce.clone().unwrap_or_default(),
    );
    Some(
        match verifier.verify_mandate_chain(&item.chain, &request, item.now) {
            Err(error) => Verdict::Refused(error.to_string()),
            Ok(chain) => mandate_verdict(&chain, item),
        },
    )
}

/// What the mandates of a verified chain say, with the item's expectations in the
/// context: accepted, the violations, or could not check. When the SDK reported
/// violations, agentid's must be the same ones (compared by kind, as
/// `Ap2Violation::matches_sdk` maps the SDK's messages), or the verdict is marked
/// as differing.
fn mandate_verdict(chain: &agentid_verifier::VerifiedMandateChain, item: &CorpusItem) -> Verdict {
    use agentid_verifier::ap2::{evaluate_chain, Ap2Violation};
    let Some(closed) = chain.payloads.last() else {
        return Verdict::Refused("no closed mandate".into());
    };
    match evaluate_chain(&chain.payloads, &item.context(closed)) {
        Ok(_) => Verdict::Accepted,
        Err(refused @ Ap2Violation::Refused(_)) => {
            let sdk_violations = item.constraint_violations.as_deref();
            if let Some(sdk) = sdk_violations.filter(|sdk| !sdk.is_empty()) {
                if !refused.matches_sdk(sdk) {
                    return Verdict::Refused(format!(
                        "other violations than the SDK's: {refused} vs {sdk:?}"
                    ));
                }
            }
            Verdict::ConstraintViolations(
                refused
                    .violations()
                    .iter()
                    .map(|violation| violation.message.clone())
                    .collect(),
            )
        }
        Err(other) => {
            assert!(other.could_not_check(), "{other}");
            Verdict::CouldNotCheck(other.to_string())
        }
    }
}

fn corpus(peer: &Peer) -> Vec<CorpusItem> {
    let (ok, stdout, stderr) = peer.run(MAKE, &[], "");
    assert!(ok, "ap2_make.py failed: {stderr}");
    serde_json::from_str(&stdout).unwrap()
}

/// The corpus is what its names say, by the SDK's own verdicts, and ap2_verify.py
/// (what (a) relies on) gives the same verdicts as the SDK did in ap2_make.py.
#[test]
fn the_ap2_sdk_corpus_has_the_verdicts_its_names_say() {
    let Some(peer) = peer() else { return };
    let corpus = corpus(&peer);
    // 65 items: every constraint kind the SDK evaluates, and each expectation its
    // chain verify takes, has an item it accepts and one it refuses (the list below).
    assert!((30..=80).contains(&corpus.len()), "{} items", corpus.len());
    let mut failures = Vec::new();
    for item in &corpus {
        let name = &item.name;
        if !name.starts_with(&format!(
            "{}/{}hop/{}/",
            item.kind, item.hops, item.hash_mode
        )) {
            failures.push(format!("{name}: kind/hops/hash_mode not in the name"));
        }
        if item.chain.split("~~").count() != item.hops || !item.chain.ends_with('~') {
            failures.push(format!("{name}: not a chain of {} segments", item.hops));
        }
        if item.now != NOW || item.aud.is_none() || item.nonce.is_none() {
            failures.push(format!("{name}: now/aud/nonce missing"));
        }
        let expects = item.expected_transaction_id.is_some()
            || item.expected_open_checkout_hash.is_some()
            || item.usage.is_some();
        if expects && item.kind != "payment" {
            failures.push(format!(
                "{name}: payment expectations on a {} chain",
                item.kind
            ));
        }
        let verdict = item.sdk();
        let good = match item.category() {
            "/valid" => {
                verdict == Verdict::Accepted && item.sdk_verdict.payloads == Some(item.hops)
            }
            "/sdk-lenient/" => item.sdk_verdict.ok,
            "/tampered/" => {
                let part = item.expect_error.as_deref().unwrap_or("(no expect_error)");
                matches!(&verdict, Verdict::Refused(error) if error.contains(part))
            }
            "/unchecked/" => {
                let part = item.expect_error.as_deref().unwrap_or("(no expect_error)");
                matches!(&verdict, Verdict::CouldNotCheck(error) if error.contains(part))
            }
            _ => matches!(verdict, Verdict::ConstraintViolations(_)),
        };
        if !good {
            failures.push(format!("{name}: the SDK's verdict is {verdict:?}"));
        }
    }
    for needed in [
        "checkout/2hop/sd_hash/valid",
        "checkout/2hop/issuer_jwt_hash/valid",
        "payment/2hop/sd_hash/valid",
        "payment/2hop/issuer_jwt_hash/valid",
        "payment/3hop/sd_hash/valid",
        "payment/3hop/issuer_jwt_hash/valid",
        "checkout/3hop/sd_hash/valid",
        // Each constraint kind and expectation: accepted, then refused.
        "payment/2hop/sd_hash/valid/budget-within",
        "payment/2hop/sd_hash/constraint/budget-exceeded",
        "payment/2hop/sd_hash/valid/pisp-allowed",
        "payment/2hop/sd_hash/constraint/pisp-not-allowed",
        "payment/2hop/sd_hash/valid/recurrence-within",
        "payment/2hop/sd_hash/constraint/recurrence-exceeded",
        "payment/2hop/sd_hash/valid/execution-date-inside",
        "payment/2hop/sd_hash/constraint/execution-date-after",
        "payment/2hop/sd_hash/valid/reference-matching",
        "payment/2hop/sd_hash/constraint/reference-mismatch",
        "payment/2hop/sd_hash/valid/transaction-id-expected",
        "payment/2hop/sd_hash/constraint/transaction-id-mismatch",
        "checkout/3hop/sd_hash/valid/delegate-line-items",
        "checkout/3hop/sd_hash/constraint/above-delegate-line-items",
        "payment/2hop/sd_hash/unchecked/unknown-constraint-type",
    ] {
        if !corpus.iter().any(|item| item.name == needed) {
            failures.push(format!("{needed}: missing"));
        }
    }

    let inputs: Vec<Value> = corpus
        .iter()
        .map(|item| {
            json!({"chain": item.chain, "root_jwk": item.root_jwk, "aud": item.aud,
                   "nonce": item.nonce, "now": item.now})
        })
        .collect();
    for (item, answer) in corpus.iter().zip(peer.verify(&inputs)) {
        let same = answer.ok == item.sdk_verdict.ok
            && answer.error == item.sdk_verdict.error
            && (!answer.ok || Some(answer.payloads.len()) == item.sdk_verdict.payloads);
        if !same {
            failures.push(format!(
                "{}: ap2_verify.py says ok = {} {:?}, ap2_make.py said {:?}",
                item.name, answer.ok, answer.error, item.sdk_verdict
            ));
        }
    }
    report(&failures, corpus.len());
}

/// The differential check: agentid's verdict on each SDK-made chain, by kind, is the
/// SDK's. Where the SDK is lenient (`…/sdk-lenient/…`: chains it accepts that are
/// not a chain ending in a disclosed closed mandate) agentid must not accept.
#[test]
fn agentid_verdicts_on_the_ap2_sdk_corpus_match_the_sdk() {
    let Some(peer) = peer() else { return };
    let corpus = corpus(&peer);
    let mut compared = 0;
    let mut lenient = 0;
    let mut failures = Vec::new();
    for item in &corpus {
        let Some(ours) = agentid_verdict(item) else {
            println!(
                "{}: agentid --profile ap2 not wired yet, skipped",
                item.name
            );
            continue;
        };
        compared += 1;
        let theirs = item.sdk();
        if item.category() == "/sdk-lenient/" {
            lenient += 1;
            if ours == Verdict::Accepted {
                failures.push(format!(
                    "{}: agentid accepts what only the lenient SDK should: {theirs:?}",
                    item.name
                ));
            } else {
                println!("{}: agentid stricter than the SDK: {ours:?}", item.name);
            }
        } else if ours.kind() != theirs.kind() {
            failures.push(format!(
                "{}: agentid {ours:?}, the SDK {theirs:?}",
                item.name
            ));
        }
    }
    if compared == 0 {
        println!(
            "skipped: agentid --profile ap2 not wired yet (fill in agentid_verdict in \
             tests/interop_ap2.rs); {} items waiting",
            corpus.len()
        );
    } else {
        println!(
            "{} of {compared} corpus items pass: {} compared by kind with the SDK's verdict, \
             {lenient} sdk-lenient ones where agentid must not accept",
            compared - failures.len(),
            compared - lenient
        );
    }
    report(&failures, compared);
}

/// The demo's delegation step produces a chain the SDK accepts (the line the demo
/// prints as "on the wire"), with the demo's own issuer key as the root key.
#[test]
fn the_demo_chain_verifies_in_the_ap2_sdk() {
    let Some(peer) = peer() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_agentid"))
        .args(["demo", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    let chain = read("chain.sd-jwt");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&chain),
        "the demo prints the chain"
    );
    let request: Value = serde_json::from_str(&read("chain-request.json")).unwrap();
    let trust: Value = serde_json::from_str(&read("trust.json")).unwrap();
    let issuer = trust["issuers"][0]["id"].as_str().unwrap();
    let root_jwk = agentid_verifier::did_key::decode(issuer).unwrap().to_jwk();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let input = json!({"chain": chain, "root_jwk": root_jwk, "aud": request["audience"],
        "nonce": request["nonce"], "now": now});
    let answer = &peer.verify(&[input])[0];
    assert!(
        answer.ok,
        "the SDK refuses the demo's chain: {}",
        answer.error()
    );
    assert_eq!(answer.payloads.len(), 3, "root, delegation, action");
}

/// Mandates the wallet signs (`agentid_wallet::ap2`, ES256 throughout) verify in the
/// SDK: an open payment mandate, a delegation to a sub-agent, the closed mandate.
#[test]
fn the_ap2_sdk_verifies_mandates_the_wallet_signs() {
    use agentid_wallet::ap2::{close_mandate, create_open_mandate, delegate_mandate};
    use agentid_wallet::HopBinding;
    let Some(peer) = peer() else { return };
    let user = SigningKey::generate(Algorithm::ES256);
    let agent = SigningKey::generate(Algorithm::ES256);
    let sub = SigningKey::generate(Algorithm::ES256);
    let open = json!({"vct": "mandate.payment.open.1", "constraints": [
        {"type": "payment.amount_range", "currency": "USD", "min": 100, "max": 5000}]});
    let closed = json!({"vct": "mandate.payment.1", "transaction_id": "tx-w",
        "payee": {"id": "m-1", "name": "Good Store"}, "payment_amount": {"amount": 4000, "currency": "USD"},
        "payment_instrument": {"id": "pi-1", "type": "card"}});
    let mut inputs = Vec::new();
    for binding in [HopBinding::SdHash, HopBinding::IssuerJwtHash] {
        let root = create_open_mandate(&user, &open, agent.public_key()).unwrap();
        let delegated = delegate_mandate(
            &root,
            &agent,
            &open,
            sub.public_key(),
            "https://sub.example",
            "n0",
            binding,
            NOW,
        )
        .unwrap();
        let chain = close_mandate(
            &delegated,
            &sub,
            &closed,
            "https://merchant.example",
            "n1",
            binding,
            NOW,
        )
        .unwrap();
        inputs.push(sdk_input(
            &chain,
            &user.public_key().to_jwk(),
            "https://merchant.example",
            "n1",
        ));
        // Wrong nonce: refused by the SDK as well.
        inputs.push(sdk_input(
            &chain,
            &user.public_key().to_jwk(),
            "https://merchant.example",
            "n2",
        ));
    }
    let answers = peer.verify(&inputs);
    let mut failures = Vec::new();
    for (index, answer) in answers.iter().enumerate() {
        let should_pass = index % 2 == 0;
        if answer.ok != should_pass {
            failures.push(format!(
                "input {index}: ok {} error {}",
                answer.ok,
                answer.error()
            ));
        }
        if should_pass && answer.payloads.len() != 3 {
            failures.push(format!("input {index}: {} payloads", answer.payloads.len()));
        }
    }
    report(&failures, answers.len());
}
