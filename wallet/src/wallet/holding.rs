//! The holder role of the wallet: credentials received (verified, bound to one of its
//! keys), looked up, shown, presented and delegated.
//!
//! Apart from the issuer role because it keeps other records: the
//! `CredentialRecord`s it holds, with their secret openings, found through
//! keyed-tag indexes by type, issuer, holder key, `jti` and expiry hour (the last two
//! also serve [`Wallet::purge`]).

use std::collections::BTreeSet;

use agentid_verifier::delegation::Rights;
use agentid_verifier::predicate::{read_commitments, Predicate, COMMITMENTS_CLAIM};
use agentid_verifier::{
    b64url_encode, did_key, sha256_b64, ClaimPath, Limits, Policy, PresentationRequest, TrustStore,
    UnverifiedSdJwt, Verifier, REGISTERED_CLAIMS,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

use super::{decode, encode, Wallet};
use crate::audit::{self, AuditAction};
use crate::commit::{parse_issuance, Opening, OpeningJson};
use crate::delegate::{present_delegated, DelegationSpec};
use crate::error::WalletError;
use crate::holder::present_with_predicates;
use crate::store::{Batch, Kind, RecordKey, StoreError};

/// Index names (their values are stored only as keyed tags).
const BY_VCT: &str = "vct";
const BY_ISSUER: &str = "issuer";
pub(super) const BY_HOLDER: &str = "holder";
const BY_JTI: &str = "jti";
pub(super) const BY_EXPIRY_HOUR: &str = "expiry-hour";

#[derive(Serialize, Deserialize)]
pub(crate) struct CredentialRecord {
    pub(crate) id: String,
    pub(crate) sd_jwt: Zeroizing<String>,
    pub(crate) vct: Option<String>,
    issuer: String,
    subject: Option<String>,
    pub(super) holder: String,
    jti: Option<String>,
    issued_at: Option<u64>,
    pub(crate) expires_at: Option<u64>,
    received_at: u64,
    /// Openings of the credential's commitments (secret).
    #[serde(default)]
    pub(crate) openings: Vec<OpeningJson>,
}

/// What `list` shows of a credential: no claim values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CredentialSummary {
    /// The wallet's id for it (random; reveals nothing).
    pub id: String,
    /// Its type.
    pub vct: Option<String>,
    /// Its issuer.
    pub issuer: String,
    /// The DID of the wallet key it is bound to.
    pub holder: String,
    /// Its `exp`.
    pub expires_at: Option<u64>,
    /// When the wallet stored it.
    pub received_at: u64,
}

/// What `show` shows: the summary, every claim, and which paths can be disclosed.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct CredentialDetails {
    /// The summary.
    #[serde(flatten)]
    pub summary: CredentialSummary,
    /// Every claim the credential holds (registered claims removed).
    pub claims: Map<String, Value>,
    /// The claim paths that are selectively disclosable.
    pub disclosable: Vec<String>,
}

impl Wallet {
    /// Verifies an issued credential and stores it.
    ///
    /// The issuer must be in `trust` when given; without it, a did:key issuer is
    /// accepted on its own signature (a did:key is self-certifying) and any other
    /// issuer is refused. The credential must be bound (`cnf`) to one of this
    /// wallet's keys, unexpired, and not already held.
    ///
    /// # Errors
    /// [`WalletError::Verify`] for an invalid credential,
    /// [`WalletError::NotBoundToWallet`], [`WalletError::AlreadyHeld`].
    pub fn receive(
        &mut self,
        credential: &str,
        trust: Option<&TrustStore>,
        now: u64,
    ) -> Result<String, WalletError> {
        let mut ids = self.receive_all(&[credential], trust, now)?;
        ids.pop()
            .ok_or_else(|| WalletError::request("nothing received"))
    }

    /// Verifies and stores several credentials in one atomic write (bulk import):
    /// either all are stored or none. Each gets its own audit entry.
    ///
    /// # Errors
    /// As [`receive`](Self::receive), for the first credential that fails.
    pub fn receive_all<S: AsRef<str>>(
        &mut self,
        credentials: &[S],
        trust: Option<&TrustStore>,
        now: u64,
    ) -> Result<Vec<String>, WalletError> {
        let mut batch = Batch::default();
        let mut events = Vec::with_capacity(credentials.len());
        let mut ids = Vec::with_capacity(credentials.len());
        let mut seen_jtis = BTreeSet::new();
        for credential in credentials {
            let record = self.check_received(credential.as_ref(), trust, now)?;
            if let Some(jti) = &record.jti {
                if !seen_jtis.insert(jti.clone()) {
                    return Err(WalletError::request(format!(
                        "credential {jti} given twice"
                    )));
                }
            }
            self.put_credential(&mut batch, &record)?;
            events.push((
                AuditAction::Receive,
                json!({"credential": record.id, "vct": record.vct, "issuer": record.issuer, "holder": record.holder}),
            ));
            ids.push(record.id);
        }
        audit::append_many(&self.store, &mut batch, now, events)?;
        self.store.commit(batch)?;
        Ok(ids)
    }

    /// Everything `receive` checks, ending in the record to store.
    fn check_received(
        &self,
        input: &str,
        trust: Option<&TrustStore>,
        now: u64,
    ) -> Result<CredentialRecord, WalletError> {
        let (credential, openings) = parse_issuance(input)?;
        let credential = credential.trim();
        let trust = match trust {
            Some(trust) => trust.clone(),
            None => self_certifying_trust(credential)?,
        };
        // A holder has no status list to check against offline; verifiers check it.
        let policy = Policy::default().with_unknown_status_accepted(true);
        let verified = Verifier::new(trust, policy).verify_credential(credential, now)?;
        let holder = verified
            .holder_key
            .as_ref()
            .map(did_key::encode)
            .ok_or_else(|| WalletError::NotBoundToWallet("the credential has no cnf key".into()))?;
        if self.store.get(Kind::Key, holder.as_bytes())?.is_none() {
            return Err(WalletError::NotBoundToWallet(format!(
                "{holder} is not a key of this wallet"
            )));
        }
        check_openings(credential, &openings)?;
        if let Some(jti) = &verified.credential_id {
            if let Some(existing) = self.store.lookup(BY_JTI, jti.as_bytes())?.first() {
                let existing = self.credential_at(existing)?;
                return Err(WalletError::AlreadyHeld(existing.id));
            }
        }
        Ok(CredentialRecord {
            id: b64url_encode(&crate::store::random_token()),
            sd_jwt: Zeroizing::new(credential.to_owned()),
            vct: verified.vct,
            issuer: verified.issuer,
            subject: verified.subject,
            holder,
            jti: verified.credential_id,
            issued_at: verified.issued_at,
            expires_at: verified.expires_at,
            received_at: now,
            openings: openings.iter().map(Opening::to_json).collect(),
        })
    }

    fn put_credential(
        &self,
        batch: &mut Batch,
        record: &CredentialRecord,
    ) -> Result<(), WalletError> {
        let key = self.store.put(
            batch,
            Kind::Credential,
            record.id.as_bytes(),
            &encode(record)?,
        );
        for (index, value) in credential_index_entries(record) {
            self.store.index(batch, index, &value, &key);
        }
        Ok(())
    }

    pub(super) fn credential_at(&self, key: &RecordKey) -> Result<CredentialRecord, WalletError> {
        let record = self
            .store
            .get_at(key)?
            .ok_or_else(|| StoreError::Corrupt("dangling index entry".into()))?;
        decode(&record.body)
    }

    fn credential(&self, id: &str) -> Result<CredentialRecord, WalletError> {
        let body = self
            .store
            .get(Kind::Credential, id.as_bytes())?
            .ok_or_else(|| WalletError::NotFound(format!("credential {id}")))?;
        decode(&body)
    }

    /// A held credential that has not expired at `now` (for presenting or delegating it).
    fn unexpired_credential(&self, id: &str, now: u64) -> Result<CredentialRecord, WalletError> {
        let record = self.credential(id)?;
        if record.expires_at.is_some_and(|exp| exp <= now) {
            return Err(WalletError::Expired(id.to_owned()));
        }
        Ok(record)
    }

    /// Every credential held, without claim values.
    ///
    /// # Errors
    /// Store errors.
    pub fn list(&self) -> Result<Vec<CredentialSummary>, WalletError> {
        let mut list = self
            .store
            .scan(Kind::Credential)
            .map(|record| Ok(summary(&decode::<CredentialRecord>(&record?.body)?)))
            .collect::<Result<Vec<_>, WalletError>>()?;
        list.sort_by(|a, b| (a.received_at, &a.id).cmp(&(b.received_at, &b.id)));
        Ok(list)
    }

    /// Credentials of one type, found through the index (only they are decrypted).
    ///
    /// # Errors
    /// Store errors.
    pub fn find_by_vct(&self, vct: &str) -> Result<Vec<CredentialSummary>, WalletError> {
        self.find(BY_VCT, vct)
    }

    /// Credentials from one issuer, found through the index.
    ///
    /// # Errors
    /// Store errors.
    pub fn find_by_issuer(&self, issuer: &str) -> Result<Vec<CredentialSummary>, WalletError> {
        self.find(BY_ISSUER, issuer)
    }

    fn find(&self, index: &str, value: &str) -> Result<Vec<CredentialSummary>, WalletError> {
        self.store
            .lookup(index, value.as_bytes())?
            .iter()
            .map(|key| Ok(summary(&self.credential_at(key)?)))
            .collect()
    }

    /// One credential with all its claims and its disclosable paths.
    ///
    /// # Errors
    /// [`WalletError::NotFound`].
    pub fn show(&self, id: &str) -> Result<CredentialDetails, WalletError> {
        let record = self.credential(id)?;
        let root = root_segment(&record.sd_jwt);
        let parsed = UnverifiedSdJwt::parse(&root, &Limits::default())?;
        let map = parsed.disclosure_map()?;
        let mut claims = map.claims;
        for name in REGISTERED_CLAIMS {
            claims.remove(name);
        }
        let mut disclosable: Vec<String> =
            map.paths.iter().map(|(path, _)| path.to_string()).collect();
        disclosable.sort();
        Ok(CredentialDetails {
            summary: summary(&record),
            claims,
            disclosable,
        })
    }

    /// The stored SD-JWT of a credential (every disclosure): for export to its holder.
    ///
    /// # Errors
    /// [`WalletError::NotFound`].
    pub fn credential_sd_jwt(&self, id: &str) -> Result<Zeroizing<String>, WalletError> {
        Ok(self.credential(id)?.sd_jwt)
    }

    /// Presents a held credential to one verifier, disclosing `disclose`, and
    /// records which claims went to which audience with which nonce.
    ///
    /// # Errors
    /// [`WalletError::NotFound`], [`WalletError::Expired`], or as
    /// [`present`](crate::present).
    pub fn present(
        &mut self,
        id: &str,
        disclose: &[ClaimPath],
        request: &PresentationRequest,
        now: u64,
    ) -> Result<String, WalletError> {
        self.present_with_predicates(id, disclose, &[], request, now)
    }

    /// Like [`present`](Self::present), also proving `predicates` about committed
    /// claims in zero knowledge with the openings the wallet holds. The audit entry
    /// records the statements, never the values.
    ///
    /// # Errors
    /// As [`present`](Self::present); [`WalletError::FalseStatement`] when a
    /// predicate does not hold.
    pub fn present_with_predicates(
        &mut self,
        id: &str,
        disclose: &[ClaimPath],
        predicates: &[Predicate],
        request: &PresentationRequest,
        now: u64,
    ) -> Result<String, WalletError> {
        let record = self.unexpired_credential(id, now)?;
        if record.sd_jwt.contains("~~") {
            return Err(WalletError::request(format!(
                "{id} is a delegation: present it with an action (agentid present --action '{{…}}')"
            )));
        }
        let key = self.signing_key(&record.holder)?;
        let openings = record
            .openings
            .iter()
            .map(Opening::from_json)
            .collect::<Result<Vec<_>, _>>()?;
        let presentation = present_with_predicates(
            &record.sd_jwt,
            &key,
            disclose,
            predicates,
            &openings,
            request,
            now,
        )?;
        let disclosed: Vec<String> = disclose.iter().map(ToString::to_string).collect();
        let proved: Vec<Value> = predicates.iter().map(Predicate::to_json).collect();
        let mut details = json!({
            "credential": id, "audience": request.audience, "nonce": request.nonce,
            "disclosed": disclosed, "proved": proved
        });
        if !request.transaction_data.is_empty() {
            // What the holder authorized, by hash (the KB-JWT's own values).
            let hashes: Vec<String> = request
                .transaction_data
                .iter()
                .map(|data| sha256_b64(data))
                .collect();
            details["transaction_data_hashes"] = json!(hashes);
        }
        self.log(now, AuditAction::Present, details)?;
        Ok(presentation)
    }

    /// Delegates a narrower part of a held credential's rights to a sub-agent's key
    /// and returns the delegation (the chain the sub-agent receives). The wallet
    /// refuses any widening; the audit log records to whom and what.
    ///
    /// # Errors
    /// [`WalletError::NotFound`], [`WalletError::Expired`], or
    /// [`WalletError::Verify`] (`DelegationWidened`) for a widening request.
    pub fn delegate(
        &mut self,
        id: &str,
        spec: &DelegationSpec,
        now: u64,
    ) -> Result<String, WalletError> {
        let record = self.unexpired_credential(id, now)?;
        let key = self.signing_key(&record.holder)?;
        let parent = self.rights_of(&record.sd_jwt, now)?;
        let delegation = crate::delegate::delegate(&record.sd_jwt, &key, &parent, spec, now)?;
        let details = json!({
            "credential": id, "to": did_key::encode(&spec.to), "scope": spec.scope,
            "resources": spec.resources, "lifetime_secs": spec.lifetime_secs
        });
        self.log(now, AuditAction::Delegate, details)?;
        Ok(delegation)
    }

    /// The rights a held credential or delegation gives this wallet.
    fn rights_of(&self, credential: &str, now: u64) -> Result<Rights, WalletError> {
        let trust = self_certifying_trust(credential)?;
        let policy = Policy::default().with_unknown_status_accepted(true);
        let verified = Verifier::new(trust, policy).verify_credential(credential, now)?;
        match verified.chain {
            Some(chain) => Ok(chain.effective_rights),
            None => Ok(Rights::from_root(&verified.claims, verified.expires_at)?),
        }
    }

    /// Presents a delegation this wallet received: ends the chain with a terminal
    /// hop for one verifier carrying `action`.
    ///
    /// # Errors
    /// [`WalletError::NotFound`], [`WalletError::Expired`],
    /// [`WalletError::InvalidRequest`] for a credential that is not a delegation.
    pub fn present_action(
        &mut self,
        id: &str,
        action: &Value,
        request: &PresentationRequest,
        now: u64,
    ) -> Result<String, WalletError> {
        let record = self.unexpired_credential(id, now)?;
        if !record.sd_jwt.contains("~~") {
            return Err(WalletError::request(format!(
                "{id} is not a delegation: present it with disclosures"
            )));
        }
        let key = self.signing_key(&record.holder)?;
        let presentation = present_delegated(&record.sd_jwt, &key, action, request, now)?;
        let details = json!({"credential": id, "audience": request.audience, "nonce": request.nonce, "delegated": true});
        self.log(now, AuditAction::Present, details)?;
        Ok(presentation)
    }
}

/// The index entries of a credential record.
pub(super) fn credential_index_entries(record: &CredentialRecord) -> Vec<(&'static str, Vec<u8>)> {
    let mut entries = vec![
        (BY_ISSUER, record.issuer.as_bytes().to_vec()),
        (BY_HOLDER, record.holder.as_bytes().to_vec()),
    ];
    if let Some(vct) = &record.vct {
        entries.push((BY_VCT, vct.as_bytes().to_vec()));
    }
    if let Some(jti) = &record.jti {
        entries.push((BY_JTI, jti.as_bytes().to_vec()));
    }
    if let Some(exp) = record.expires_at {
        entries.push((BY_EXPIRY_HOUR, (exp / 3600).to_be_bytes().to_vec()));
    }
    entries
}

fn summary(record: &CredentialRecord) -> CredentialSummary {
    CredentialSummary {
        id: record.id.clone(),
        vct: record.vct.clone(),
        issuer: record.issuer.clone(),
        holder: record.holder.clone(),
        expires_at: record.expires_at,
        received_at: record.received_at,
    }
}

/// Every commitment of a (verified) credential must come with an opening that opens
/// it, and every opening must belong to a commitment.
fn check_openings(credential: &str, openings: &[Opening]) -> Result<(), WalletError> {
    let root = root_segment(credential);
    let parsed = UnverifiedSdJwt::parse(&root, &Limits::default())?;
    let commitments = match parsed.payload().get(COMMITMENTS_CLAIM) {
        Some(value) => read_commitments(value)?,
        None => Vec::new(),
    };
    for (claim, commitment) in &commitments {
        let opening = openings.iter().find(|opening| opening.claim() == claim).ok_or_else(|| {
            WalletError::request(format!(
                "the credential commits to {claim} but no opening came with it (receive the file `agentid issue` wrote)"
            ))
        })?;
        if !opening.opens(commitment) {
            return Err(WalletError::request(format!(
                "the opening of {claim} does not open its commitment"
            )));
        }
    }
    if let Some(stray) = openings.iter().find(|opening| {
        commitments
            .iter()
            .all(|(claim, _)| claim != opening.claim())
    }) {
        return Err(WalletError::request(format!(
            "an opening for {} matches no commitment",
            stray.claim()
        )));
    }
    Ok(())
}

/// A trust store holding the credential's own issuer when it is a did:key.
fn self_certifying_trust(credential: &str) -> Result<TrustStore, WalletError> {
    let root = root_segment(credential);
    let parsed = UnverifiedSdJwt::parse(&root, &Limits::default())?;
    let mut trust = TrustStore::new();
    if let Some(iss) = parsed.payload().get("iss").and_then(Value::as_str) {
        if iss.starts_with("did:key:") {
            trust.add_did(iss)?;
        }
    }
    Ok(trust)
}

/// The root credential of a delegation chain (the whole input when it is none), with
/// its trailing `~`.
pub(crate) fn root_segment(credential: &str) -> String {
    match credential.split_once("~~") {
        Some((root, _)) => format!("{root}~"),
        None => credential.to_owned(),
    }
}

/// Decodes a stored credential record.
pub(crate) fn decode_credential(body: &[u8]) -> Result<CredentialRecord, WalletError> {
    decode(body)
}
