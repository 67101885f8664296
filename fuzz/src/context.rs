//! The fixed verification context of the fuzz targets, shared with the seed test.
//!
//! `fuzz/seeds/context.json` holds the trust file, `now`, the request (audience and
//! nonce), the status list tokens the verifier knows, the two Ed25519 test secrets
//! the harnesses sign with (the issuer's and the holder's: throwaway keys made from
//! fixed bytes, not secrets of anyone) and the base of the predicate presentations.
//! `tests/fuzz_seeds.rs` writes it and checks every seed against it; the targets
//! embed it with `include_str!`. This file is compiled into both (`#[path]` module),
//! so the harness code that turns fuzz input into signed tokens is the code the test
//! checks the seeds with.

#![allow(dead_code)]

use agentid_verifier::predicate::Predicate;
use agentid_verifier::{
    b64url_encode, sha256_b64, Policy, PresentationRequest, StatusLists, TrustStore, Verified,
    Verifier,
};
use serde_json::{json, Map, Value};

/// A signer for the harness: message → 64-byte Ed25519 signature.
pub(crate) type Sign<'a> = &'a dyn Fn(&[u8]) -> Vec<u8>;

/// The context, read from `context.json`.
pub(crate) struct Context {
    /// The verification time (seconds since the Unix epoch).
    pub(crate) now: u64,
    /// The audience and nonce every presentation answers.
    pub(crate) request: PresentationRequest,
    /// The trust file, as JSON text.
    pub(crate) trust_json: String,
    /// Status list tokens the verifier knows (checked at `now`).
    pub(crate) status_tokens: Vec<String>,
    /// Oldest status list accepted, in seconds.
    pub(crate) status_max_age_secs: u64,
    /// The Ed25519 issuer (a did:key in the trust file) the harness signs as.
    pub(crate) issuer_did: String,
    /// Its DID URL, the `kid` it signs with.
    pub(crate) issuer_kid: String,
    /// Its 32-byte Ed25519 seed.
    pub(crate) issuer_seed: [u8; 32],
    /// The 32-byte Ed25519 seed of the holder of the predicate credential.
    pub(crate) holder_seed: [u8; 32],
    /// `<issuer JWT>~` of the credential the predicate presentations show.
    pub(crate) predicate_base: String,
    /// The statements the seed predicate presentations prove, each list in order.
    pub(crate) predicate_statements: Vec<Vec<Value>>,
}

impl Context {
    /// Reads `context.json`; `None` if it does not have the expected shape.
    pub(crate) fn from_json(text: &str) -> Option<Self> {
        let value: Value = serde_json::from_str(text).ok()?;
        let string = |name: &str| value.get(name)?.as_str().map(str::to_owned);
        let seed = |name: &str| hex32(value.get(name)?.as_str()?);
        Some(Context {
            now: value.get("now")?.as_u64()?,
            request: PresentationRequest::new(string("audience")?, string("nonce")?),
            trust_json: value.get("trust")?.to_string(),
            status_tokens: value
                .get("status_tokens")?
                .as_array()?
                .iter()
                .map(|token| token.as_str().map(str::to_owned))
                .collect::<Option<_>>()?,
            status_max_age_secs: value.get("status_max_age_secs")?.as_u64()?,
            issuer_did: string("issuer_did")?,
            issuer_kid: string("issuer_kid")?,
            issuer_seed: seed("issuer_ed25519_seed")?,
            holder_seed: seed("holder_ed25519_seed")?,
            predicate_base: string("predicate_base")?,
            predicate_statements: value
                .get("predicate_statements")?
                .as_array()?
                .iter()
                .map(|list| list.as_array().cloned())
                .collect::<Option<_>>()?,
        })
    }

    /// The trust store of the trust file.
    pub(crate) fn trust(&self) -> Option<TrustStore> {
        TrustStore::from_json(self.trust_json.as_bytes()).ok()
    }

    /// The status lists of `status_tokens`, each checked against the trust store.
    pub(crate) fn status_lists(&self) -> Option<StatusLists> {
        let trust = self.trust()?;
        let mut lists = StatusLists::new();
        for token in &self.status_tokens {
            lists
                .add_token(token, &trust, self.now, self.status_max_age_secs)
                .ok()?;
        }
        Some(lists)
    }

    /// The verifier every presentation target uses: the trust store, the default
    /// policy and the status lists.
    pub(crate) fn verifier(&self) -> Option<Verifier> {
        let policy = Policy::default().with_status_max_age(self.status_max_age_secs);
        Some(Verifier::new(self.trust()?, policy).with_status_lists(self.status_lists()?))
    }

    /// The `predicate_proof` target's input → a presentation: the input is
    /// `<predicates JSON>\n<raw proof bytes>`; the KB-JWT over `predicate_base`
    /// (`iat` = now, the request's `aud` and `nonce`, the right `sd_hash`) carries the
    /// JSON as `predicates` and the base64url of the bytes as `predicate_proof`, and
    /// is signed by the holder. `None` when the input has no newline or the JSON
    /// part is not JSON.
    pub(crate) fn predicate_presentation(&self, input: &[u8], sign: Sign<'_>) -> Option<String> {
        let split = input.iter().position(|&byte| byte == b'\n')?;
        let predicates: Value = serde_json::from_slice(&input[..split]).ok()?;
        let proof = &input[split + 1..];
        let mut payload = Map::new();
        payload.insert("iat".into(), self.now.into());
        payload.insert("aud".into(), self.request.audience.clone().into());
        payload.insert("nonce".into(), self.request.nonce.clone().into());
        payload.insert("sd_hash".into(), sha256_b64(&self.predicate_base).into());
        payload.insert("predicates".into(), predicates);
        payload.insert("predicate_proof".into(), b64url_encode(proof).into());
        let header = json!({"alg": "EdDSA", "typ": "kb+jwt"});
        let kb_jwt = sign_compact(&header, &Value::Object(payload), sign);
        Some(format!("{}{kb_jwt}", self.predicate_base))
    }

    /// True when `verified` proves exactly one of the seed statement lists (in any
    /// order): what an accepted predicate presentation must prove.
    pub(crate) fn proves_a_seed_statement(&self, verified: &Verified) -> bool {
        let mut proven: Vec<String> = verified
            .predicates
            .iter()
            .map(|proven| {
                let predicate = Predicate {
                    claim: proven.claim.clone(),
                    min: proven.min,
                    max: proven.max,
                };
                predicate.to_json().to_string()
            })
            .collect();
        proven.sort();
        self.predicate_statements.iter().any(|statements| {
            let mut expected: Vec<String> = statements.iter().map(Value::to_string).collect();
            expected.sort();
            expected == proven
        })
    }

    /// The `status_token` target's input → a token. The first byte says how:
    /// `r`: the rest is the token text as it is; `s`: the rest is
    /// `<payload JSON>[\n<raw lst bytes>]`, signed by the issuer under the header
    /// `{"alg": "EdDSA", "typ": "statuslist+jwt", "kid": <issuer kid>}`, with
    /// `status_list.lst` set to the base64url of the raw bytes when they are given
    /// (so the fuzzer mutates ZLIB data itself and reaches the decoder past the
    /// signature). `None` for anything else.
    pub(crate) fn status_token(&self, input: &[u8], sign: Sign<'_>) -> Option<String> {
        let (&mode, rest) = input.split_first()?;
        match mode {
            b'r' => std::str::from_utf8(rest).ok().map(str::to_owned),
            b's' => {
                let (json, lst) = match rest.iter().position(|&byte| byte == b'\n') {
                    Some(split) => (&rest[..split], Some(&rest[split + 1..])),
                    None => (rest, None),
                };
                let mut payload: Value = serde_json::from_slice(json).ok()?;
                if let Some(lst) = lst {
                    if let Some(list) = payload
                        .get_mut("status_list")
                        .and_then(Value::as_object_mut)
                    {
                        list.insert("lst".into(), b64url_encode(lst).into());
                    }
                }
                let header =
                    json!({"alg": "EdDSA", "typ": "statuslist+jwt", "kid": self.issuer_kid});
                Some(sign_compact(&header, &payload, sign))
            }
            _ => None,
        }
    }

    /// The `signed_credential` target's input → a credential or presentation the
    /// trusted issuer really signed: the input is `<credential payload
    /// JSON>[\n<KB-JWT payload JSON>]`. The payload is signed by the issuer under
    /// `{"alg": "EdDSA", "typ": "dc+sd-jwt", "kid": <issuer kid>}` and followed by `~`;
    /// a KB-JWT payload gets the right `sd_hash` (so it reaches the time checks) and
    /// is signed by `sign_holder` under `{"alg": "EdDSA", "typ": "kb+jwt"}`. The
    /// fuzzer thus mutates NumericDates (`iat`, `nbf`, `exp`, up to `u64::MAX` and
    /// past it) behind valid signatures. `None` when a part is not JSON.
    pub(crate) fn signed_presentation(
        &self,
        input: &[u8],
        sign_issuer: Sign<'_>,
        sign_holder: Sign<'_>,
    ) -> Option<String> {
        let (credential, key_binding) = match input.iter().position(|&byte| byte == b'\n') {
            Some(split) => (&input[..split], Some(&input[split + 1..])),
            None => (input, None),
        };
        let payload: Value = serde_json::from_slice(credential).ok()?;
        let header = json!({"alg": "EdDSA", "typ": "dc+sd-jwt", "kid": self.issuer_kid});
        let mut presentation = sign_compact(&header, &payload, sign_issuer);
        presentation.push('~');
        if let Some(key_binding) = key_binding {
            let mut payload: Value = serde_json::from_slice(key_binding).ok()?;
            if let Some(object) = payload.as_object_mut() {
                object.insert("sd_hash".into(), sha256_b64(&presentation).into());
            }
            let header = json!({"alg": "EdDSA", "typ": "kb+jwt"});
            let kb_jwt = sign_compact(&header, &payload, sign_holder);
            presentation.push_str(&kb_jwt);
        }
        Some(presentation)
    }
}

/// A compact JWS of `header` and `payload` (any JSON) signed with `sign`.
pub(crate) fn sign_compact(header: &Value, payload: &Value, sign: Sign<'_>) -> String {
    let input = format!(
        "{}.{}",
        b64url_encode(header.to_string().as_bytes()),
        b64url_encode(payload.to_string().as_bytes())
    );
    let signature = sign(input.as_bytes());
    format!("{input}.{}", b64url_encode(&signature))
}

/// 64 hex digits → 32 bytes.
pub(crate) fn hex32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (index, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * index..2 * index + 2], 16).ok()?;
    }
    Some(out)
}
