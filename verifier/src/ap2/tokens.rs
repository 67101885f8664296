//! AP2 v0.2 mandate chains, as the AP2 SDK builds them (`MandateClient.create` and
//! `.present`): a root SD-JWT signed by a key the verifier trusts, whose one
//! disclosed `delegate_payload` object is an open mandate naming its holder in
//! `cnf.jwk`, then KB-SD-JWT hops (`kb+sd-jwt+kb` with the next holder's `cnf`,
//! ending with a `kb+sd-jwt` closed mandate for one verifier) joined by `~~`.
//!
//! Same pipeline as agentid's own chains — parse with limits, every structural check,
//! then the signatures (single or batched) — with AP2's reading of the root:
//!
//! - an `x5c` header: the chain must end at an `x509_anchor` of the trust file
//!   ([`crate::x509`]), and the leaf's key signs the root;
//! - no `iss`: the root key is a key-only trust entry, found by the header's `kid`
//!   (the JWK's `kid` or RFC 7638 thumbprint) or, without one, tried in turn
//!   ([`crate::TrustStore::add_key`]); a root with `iss` uses the issuer entry;
//! - the root `typ` is the issuer's choice (the SDK emits `example+sd-jwt`); the hop
//!   types and other JWT types (`kb+jwt`, `statuslist+jwt`) are refused there;
//! - no `exp` required; `exp` and `iat`, where present on a token or its delegate
//!   objects, are checked with the policy's skew (the SDK allows 300 s);
//! - the holder key is the root's `delegate_payload[0].cnf.jwk` (else a top-level
//!   `cnf`), each hop's the previous hop's delegate `cnf.jwk`;
//! - the terminal hop's `aud` and `nonce` are the request's; every hop has `iat`
//!   and exactly one of `sd_hash`/`issuer_jwt_hash` over the previous segment.
//!
//! What the mandates say (constraints, amounts, payees) is evaluated by
//! [`crate::ap2::evaluate_chain`] on the payloads this returns.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::delegation::{check_binding, split_chain};
use crate::did_key;
use crate::error::{SignatureRole, VerifyError};
use crate::jws::{numeric_date, string_claim, CompactJws};
use crate::key::PublicKey;
use crate::reveal::reveal;
use crate::sd_jwt::SdJwtParts;
use crate::verify::{
    holder_key_from_cnf, KeyBinding, PendingSignature, PresentationRequest, Verifier, KB_JWT_TYP,
};
use crate::STATUS_LIST_TYP;

/// `typ` values of AP2 hops (the draft's and AP2's spellings).
const HOP_TYPS: [&str; 4] = ["kb+sd-jwt", "kb-sd-jwt", "kb+sd-jwt+kb", "kb-sd-jwt+kb"];
const TERMINAL_TYPS: [&str; 2] = ["kb+sd-jwt", "kb-sd-jwt"];

/// A verified AP2 chain: the root's trusted key, the effective payload of every
/// token (the root's open mandate first, the closed mandate last), and the key
/// binding of the terminal hop. Only this crate builds it.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct VerifiedMandateChain {
    /// The trust entry that signed the root (an issuer id, or the key's RFC 9278
    /// thumbprint URN for a key-only entry).
    pub root_signer: String,
    /// One effective payload per token, as the AP2 SDK's `MandateClient.verify`
    /// returns them: each token's disclosed `delegate_payload` objects.
    pub payloads: Vec<Map<String, Value>>,
    /// The key of the agent that signed the terminal hop.
    pub presenter_key: PublicKey,
    /// The terminal hop's audience, nonce and time.
    pub key_binding: KeyBinding,
}

/// A chain that passed every structural check; signatures pending.
pub(crate) struct CheckedMandateChain {
    pub(crate) verified: VerifiedMandateChain,
    pub(crate) signatures: Vec<PendingSignature>,
}

impl CheckedMandateChain {
    pub(crate) fn finish(self) -> Result<VerifiedMandateChain, VerifyError> {
        for signature in &self.signatures {
            signature.check()?;
        }
        Ok(self.verified)
    }
}

impl Verifier {
    /// Verifies an AP2 mandate chain (root ~~ hops ~~ closed mandate) made for
    /// `request`, as of `now`. The mandates themselves are evaluated by
    /// [`crate::ap2::evaluate_chain`] on the result.
    ///
    /// # Errors
    /// A [`VerifyError`] naming the first check that failed.
    pub fn verify_mandate_chain(
        &self,
        chain: &str,
        request: &PresentationRequest,
        now: u64,
    ) -> Result<VerifiedMandateChain, VerifyError> {
        self.check_mandate_chain(chain, request, now)?.finish()
    }

    pub(crate) fn check_mandate_chain(
        &self,
        chain: &str,
        request: &PresentationRequest,
        now: u64,
    ) -> Result<CheckedMandateChain, VerifyError> {
        let policy = self.policy();
        let limit = policy.limits.max_presentation_bytes;
        if chain.len() > limit {
            return Err(VerifyError::LimitExceeded(format!(
                "presentation is larger than {limit} bytes"
            )));
        }
        let restored = split_chain(chain)?;
        if restored.len() < 2 {
            return Err(VerifyError::malformed(
                "an AP2 mandate chain has a root and at least one hop",
            ));
        }
        let depth = policy.limits.max_json_depth;
        let skew = policy.clock_skew_secs;

        // The root.
        let parts = SdJwtParts::parse(&restored[0], &policy.limits)?;
        if parts.kb_jwt.is_some() {
            return Err(VerifyError::malformed(
                "the root of a chain carries no KB-JWT",
            ));
        }
        let mut root = CompactJws::parse(parts.issuer_jwt, depth, "mandate root")?;
        if let Some(typ) = root.typ.as_deref() {
            if HOP_TYPS.contains(&typ) || typ == KB_JWT_TYP || typ == STATUS_LIST_TYP {
                return Err(VerifyError::UnexpectedType {
                    found: Some(typ.to_owned()),
                    expected: "an SD-JWT mandate root".into(),
                });
            }
        }
        let (root_signer, root_key) = self.root_key(&root, now)?;
        let mut signatures = vec![PendingSignature {
            role: SignatureRole::Issuer,
            key: root_key,
            alg: root.alg,
            message: root.signing_input.as_bytes().to_vec(),
            signature: std::mem::take(&mut root.signature),
        }];
        let root_claims = reveal(std::mem::take(&mut root.payload), &parts.disclosures, depth)?;
        check_times(&root_claims, "mandate root", now, skew)?;
        let root_items = delegate_items(&root_claims, "mandate root", true)?;
        let mut holder = match root_items.first().and_then(|item| item.get("cnf")) {
            Some(cnf) => holder_key_from_cnf(cnf)?,
            None => match root_claims.get("cnf") {
                Some(cnf) => holder_key_from_cnf(cnf)?,
                None => {
                    return Err(VerifyError::MissingHolderKey(
                        "the mandate root names no holder (delegate_payload[0].cnf)".into(),
                    ))
                }
            },
        };
        let mut payloads = if root_items.is_empty() {
            vec![root_claims]
        } else {
            root_items
        };
        let mut seen = vec![did_key::encode(&holder)];

        for (position, segment) in restored.iter().enumerate().skip(1) {
            let last = position + 1 == restored.len();
            let what = if last {
                "closed mandate"
            } else {
                "delegation hop"
            };
            let parts = SdJwtParts::parse(segment, &policy.limits)?;
            if parts.kb_jwt.is_some() {
                return Err(VerifyError::malformed("a mandate hop ends with '~'"));
            }
            let mut hop = CompactJws::parse(parts.issuer_jwt, depth, what)?;
            let typ = hop.typ.clone();
            let expected: &[&str] = if last { &TERMINAL_TYPS } else { &HOP_TYPS[2..] };
            if !typ.as_deref().is_some_and(|typ| expected.contains(&typ)) {
                return Err(VerifyError::UnexpectedType {
                    found: typ,
                    expected: expected.join(" or "),
                });
            }
            if hop.alg != holder.algorithm() {
                return Err(VerifyError::InvalidSignature(SignatureRole::Delegation));
            }
            signatures.push(PendingSignature {
                role: SignatureRole::Delegation,
                key: holder.clone(),
                alg: hop.alg,
                message: hop.signing_input.as_bytes().to_vec(),
                signature: std::mem::take(&mut hop.signature),
            });
            check_binding(&hop.payload, &restored[position - 1])?;
            let issued_at = numeric_date(&hop.payload, "iat", what)?
                .ok_or_else(|| VerifyError::malformed(format!("a {what} has no iat")))?;
            let audience = string_claim(&hop.payload, "aud", what)?
                .ok_or_else(|| VerifyError::malformed(format!("a {what} has no aud")))?
                .to_owned();
            let nonce = string_claim(&hop.payload, "nonce", what)?
                .ok_or_else(|| VerifyError::malformed(format!("a {what} has no nonce")))?
                .to_owned();
            let claims = reveal(std::mem::take(&mut hop.payload), &parts.disclosures, depth)?;
            check_times(&claims, what, now, skew)?;
            let items = delegate_items(&claims, what, !last)?;
            if items.is_empty() {
                return Err(VerifyError::malformed(format!(
                    "a {what} discloses no delegate_payload object"
                )));
            }
            let next = items.iter().find_map(|item| item.get("cnf"));
            if last {
                if next.is_some() {
                    return Err(VerifyError::malformed(
                        "a closed mandate must not name a further holder (cnf)",
                    ));
                }
                if audience != request.audience {
                    return Err(VerifyError::AudienceMismatch);
                }
                if nonce != request.nonce {
                    return Err(VerifyError::NonceMismatch);
                }
                // AP2 closed mandates carry no transaction_data_hashes.
                if !request.transaction_data.is_empty() {
                    return Err(VerifyError::TransactionDataMismatch(
                        "an AP2 mandate chain cannot acknowledge transaction data".into(),
                    ));
                }
                let oldest =
                    now.saturating_sub(policy.max_key_binding_age_secs.saturating_add(skew));
                if issued_at < oldest {
                    return Err(VerifyError::StaleKeyBinding { iat: issued_at });
                }
                payloads.extend(items);
                return Ok(CheckedMandateChain {
                    verified: VerifiedMandateChain {
                        root_signer,
                        payloads,
                        presenter_key: holder,
                        key_binding: KeyBinding {
                            audience,
                            nonce,
                            issued_at,
                            transaction_data_hashes: Vec::new(),
                        },
                    },
                    signatures,
                });
            }
            let Some(cnf) = next else {
                return Err(VerifyError::malformed(
                    "a delegation hop must name the next holder (cnf)",
                ));
            };
            let next_holder = holder_key_from_cnf(cnf)?;
            let did = did_key::encode(&next_holder);
            if seen.contains(&did) {
                return Err(VerifyError::DelegationCycle);
            }
            seen.push(did);
            holder = next_holder;
            payloads.extend(items);
        }
        Err(VerifyError::malformed("the chain has no closed mandate"))
    }

    /// The trust entry and key that signed a mandate root.
    fn root_key(
        &self,
        root: &CompactJws<'_>,
        now: u64,
    ) -> Result<(String, PublicKey), VerifyError> {
        if let Some(x5c) = &root.x5c {
            // The SDK's X5cOrKidPublicKeyProvider: a chain to a trusted root wins.
            let (name, key) = crate::x509::verify_x5c(x5c, self.trust().x509_anchors(), now)?;
            if key.algorithm() != root.alg {
                return Err(VerifyError::KeyIdMismatch(format!(
                    "alg {} does not fit the x5c leaf key",
                    root.alg
                )));
            }
            return Ok((name, key));
        }
        if let Some(iss) = string_claim(&root.payload, "iss", "mandate root")? {
            let issuer = self.trust().resolve(iss, root.kid.as_deref())?;
            return Ok((issuer.id().to_owned(), issuer.key().clone()));
        }
        let candidates = self.trust().keys_for(root.kid.as_deref())?;
        let usable: Vec<_> = candidates
            .iter()
            .filter(|entry| entry.key().algorithm() == root.alg)
            .collect();
        // One candidate (the usual case, with a kid): its signature is checked with
        // the others, on the batch path too. Several (no kid): the one that verifies.
        match usable.as_slice() {
            [] => Err(VerifyError::KeyIdMismatch(format!(
                "no trusted key for alg {}",
                root.alg
            ))),
            [only] => Ok((only.id().to_owned(), only.key().clone())),
            several => several
                .iter()
                .find(|entry| {
                    entry
                        .key()
                        .verify(root.alg, root.signing_input.as_bytes(), &root.signature)
                        .is_ok()
                })
                .map(|entry| (entry.id().to_owned(), entry.key().clone()))
                .ok_or(VerifyError::InvalidSignature(SignatureRole::Issuer)),
        }
    }
}

/// The disclosed objects of `delegate_payload` (none when the claim is absent);
/// `single` requires exactly one.
fn delegate_items(
    claims: &Map<String, Value>,
    what: &str,
    single: bool,
) -> Result<Vec<Map<String, Value>>, VerifyError> {
    let Some(value) = claims.get("delegate_payload") else {
        return Ok(Vec::new());
    };
    let Value::Array(items) = value else {
        return Err(VerifyError::malformed(format!(
            "the {what}'s delegate_payload is not an array"
        )));
    };
    let objects: Vec<Map<String, Value>> = items
        .iter()
        .filter_map(|item| item.as_object().cloned())
        .collect();
    if single && objects.len() > 1 {
        return Err(VerifyError::malformed(format!(
            "the {what} discloses {} delegate objects, expected one",
            objects.len()
        )));
    }
    if objects.len() != items.len() {
        return Err(VerifyError::malformed(format!(
            "the {what}'s delegate_payload holds an undisclosed or non-object entry"
        )));
    }
    Ok(objects)
}

/// `exp` not passed and `iat` not in the future (with `skew`), on the token's claims
/// and on each of its delegate objects, where present.
fn check_times(
    claims: &Map<String, Value>,
    what: &str,
    now: u64,
    skew: u64,
) -> Result<(), VerifyError> {
    let objects = std::iter::once(claims).chain(
        claims
            .get("delegate_payload")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_object),
    );
    for object in objects {
        if let Some(exp) = numeric_date(object, "exp", what)? {
            if now > exp.saturating_add(skew) {
                return Err(VerifyError::Expired { expired_at: exp });
            }
        }
        if let Some(iat) = numeric_date(object, "iat", what)? {
            if iat > now.saturating_add(skew) {
                return Err(VerifyError::NotYetValid { valid_from: iat });
            }
        }
        if let Some(nbf) = numeric_date(object, "nbf", what)? {
            if nbf > now.saturating_add(skew) {
                return Err(VerifyError::NotYetValid { valid_from: nbf });
            }
        }
    }
    Ok(())
}
