//! The agent's wallet: keys and credentials in the encrypted store, the holder and
//! issuer roles on top of them, and an audit entry for every action.

use std::collections::BTreeSet;
use std::path::Path;

use agentid_verifier::authorize::Action;
use agentid_verifier::delegation::Rights;
use agentid_verifier::predicate::{read_commitments, Predicate, COMMITMENTS_CLAIM};
use agentid_verifier::{
    b64url_encode, did_key, sha256_b64, Algorithm, ClaimPath, Limits, Policy, PresentationRequest,
    TrustStore, UnverifiedSdJwt, Verifier, REGISTERED_CLAIMS,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

use crate::audit::{self, AuditAction, AuditEntry, AuditError};
use crate::commit::{parse_issuance, Opening, OpeningJson};
use crate::delegate::{present_delegated, DelegationSpec};
use crate::error::WalletError;
use crate::holder::present_with_predicates;
use crate::issuer::{CredentialRequest, IssuedCredential, Issuer};
use crate::keys::SigningKey;
use crate::status_list::{random_index, StatusListState};
use crate::store::{Batch, KdfLimits, KdfParams, Kind, RecordKey, Store, StoreError};

/// Index names (their values are stored only as keyed tags).
const BY_VCT: &str = "vct";
const BY_ISSUER: &str = "issuer";
const BY_HOLDER: &str = "holder";
const BY_JTI: &str = "jti";
const BY_EXPIRY_HOUR: &str = "expiry-hour";
/// Meta records.
const ROOT_KEY_ID: &[u8] = b"root-key";
const PURGE_WATERMARK_ID: &[u8] = b"purge-watermark";
const STATUS_LIST_ID: &[u8] = b"status-list";
/// Index of issued credentials by status list entry (to allocate unused entries).
const BY_STATUS_INDEX: &str = "status-index";

/// A wallet passphrase. Zeroized on drop; `Debug` prints nothing of it.
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Wraps a passphrase.
    pub fn new(passphrase: impl Into<String>) -> Self {
        Passphrase(Zeroizing::new(passphrase.into()))
    }

    fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Its length in characters (for minimum-length rules).
    pub fn char_count(&self) -> usize {
        self.0.chars().count()
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(..)")
    }
}

#[derive(Serialize, Deserialize)]
struct KeyRecord {
    alg: String,
    secret: Zeroizing<String>,
    did: String,
    /// `None` for the root identity key; the task id for a per-task key.
    task: Option<String>,
    created_at: u64,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct CredentialRecord {
    pub(crate) id: String,
    pub(crate) sd_jwt: Zeroizing<String>,
    pub(crate) vct: Option<String>,
    issuer: String,
    subject: Option<String>,
    holder: String,
    jti: Option<String>,
    issued_at: Option<u64>,
    pub(crate) expires_at: Option<u64>,
    received_at: u64,
    /// Openings of the credential's commitments (secret).
    #[serde(default)]
    pub(crate) openings: Vec<OpeningJson>,
}

#[derive(Serialize, Deserialize)]
struct IssuedRecord {
    jti: String,
    vct: String,
    subject: String,
    issued_at: u64,
    expires_at: u64,
    /// The credential's entry in this wallet's status list.
    #[serde(default)]
    status_index: Option<u32>,
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

/// What `key list` shows of a signing key: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct KeySummary {
    /// Its did:key.
    pub did: String,
    /// Its JOSE algorithm (`EdDSA`, `ES256`, `ES256K`).
    pub alg: String,
    /// True for the wallet's root identity key.
    pub root: bool,
    /// The task a per-task key is for (`None` for the root key).
    pub task: Option<String>,
    /// When the wallet made it (seconds since the Unix epoch).
    pub created_at: u64,
}

/// What `purge` destroyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PurgeReport {
    /// Expired credentials removed.
    pub credentials: usize,
    /// Per-task keys zeroized and deleted.
    pub keys: usize,
}

/// An open wallet. Holds the directory's lock: a second process gets
/// [`StoreError::InUse`].
#[derive(Debug)]
pub struct Wallet {
    store: Store,
    root_did: String,
}

impl Wallet {
    /// Creates a wallet in `dir` with a fresh root identity key of `alg`.
    ///
    /// Any `kdf` within the format's range is accepted; a wallet created above the
    /// default [`KdfLimits`] then opens only with
    /// [`open_with_limits`](Self::open_with_limits).
    ///
    /// # Errors
    /// [`WalletError::Store`] if `dir` is not empty, or the parameters are invalid.
    pub fn create(
        dir: &Path,
        passphrase: &Passphrase,
        kdf: &KdfParams,
        alg: Algorithm,
        now: u64,
    ) -> Result<Self, WalletError> {
        let store = Store::create(dir, passphrase.bytes(), kdf)?;
        let key = SigningKey::generate(alg);
        let root_did = key.did()?;
        let mut batch = Batch::default();
        put_key(&store, &mut batch, &key, None, now)?;
        store.put(&mut batch, Kind::Meta, ROOT_KEY_ID, root_did.as_bytes());
        store.put(
            &mut batch,
            Kind::Meta,
            PURGE_WATERMARK_ID,
            &(now / 3600).to_be_bytes(),
        );
        audit::append(
            &store,
            &mut batch,
            now,
            AuditAction::Init,
            json!({"did": root_did}),
        )?;
        store.commit(batch)?;
        Ok(Wallet { store, root_did })
    }

    /// Opens the wallet in `dir`, within the default [`KdfLimits`]: a header asking
    /// for more Argon2id work than [`MAX_KDF_MEMORY_KIB`](crate::MAX_KDF_MEMORY_KIB)
    /// or [`MAX_KDF_PASSES`](crate::MAX_KDF_PASSES) is refused before any is done.
    ///
    /// # Errors
    /// [`StoreError::WrongPassphrase`] (nothing is changed), [`StoreError::InUse`],
    /// [`StoreError::NotAWallet`], [`StoreError::KdfAboveCeiling`] (nothing is
    /// changed).
    pub fn open(dir: &Path, passphrase: &Passphrase) -> Result<Self, WalletError> {
        Self::open_with_limits(dir, passphrase, &KdfLimits::DEFAULT)
    }

    /// Opens the wallet in `dir`, running Argon2id only if the header's parameters
    /// are within `limits` ([`KdfLimits::FORMAT_MAXIMUM`] for a wallet created with
    /// parameters above the default ceiling).
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_with_limits(
        dir: &Path,
        passphrase: &Passphrase,
        limits: &KdfLimits,
    ) -> Result<Self, WalletError> {
        let store = Store::open_with_limits(dir, passphrase.bytes(), limits)?;
        let root = store
            .get(Kind::Meta, ROOT_KEY_ID)?
            .ok_or_else(|| StoreError::Corrupt("no root key".into()))?;
        let root_did = String::from_utf8(root.to_vec())
            .map_err(|_| StoreError::Corrupt("root key id".into()))?;
        Ok(Wallet { store, root_did })
    }

    /// The wallet's root DID.
    pub fn did(&self) -> &str {
        &self.root_did
    }

    /// The underlying store (for tools and tests that inspect storage).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Generates a fresh per-task key and returns its DID. The key is destroyed by
    /// [`purge`](Self::purge) once the credentials bound to it have expired.
    ///
    /// # Errors
    /// Store errors.
    pub fn new_task_key(
        &mut self,
        task_id: &str,
        alg: Algorithm,
        now: u64,
    ) -> Result<String, WalletError> {
        if task_id.is_empty() || task_id.len() > 128 {
            return Err(WalletError::request("task id must be 1 to 128 bytes"));
        }
        let key = SigningKey::generate(alg);
        let did = key.did()?;
        let mut batch = Batch::default();
        put_key(&self.store, &mut batch, &key, Some(task_id), now)?;
        audit::append(
            &self.store,
            &mut batch,
            now,
            AuditAction::KeyNew,
            json!({"did": did, "task": task_id}),
        )?;
        self.store.commit(batch)?;
        Ok(did)
    }

    /// Every signing key the wallet holds (purged task keys are gone): the root key
    /// first, then by creation time. No secret leaves the store.
    ///
    /// # Errors
    /// Store errors.
    pub fn keys(&self) -> Result<Vec<KeySummary>, WalletError> {
        let mut keys = self
            .store
            .scan(Kind::Key)
            .map(|record| {
                let record: KeyRecord = decode(&record?.body)?;
                Ok(KeySummary {
                    root: record.did == self.root_did,
                    did: record.did.clone(),
                    alg: record.alg.clone(),
                    task: record.task.clone(),
                    created_at: record.created_at,
                })
            })
            .collect::<Result<Vec<_>, WalletError>>()?;
        keys.sort_by(|a, b| (!a.root, a.created_at, &a.did).cmp(&(!b.root, b.created_at, &b.did)));
        Ok(keys)
    }

    /// The signing key with this DID, read from the store.
    ///
    /// # Errors
    /// [`WalletError::NotFound`] if the wallet has no such key (or purged it).
    pub fn signing_key(&self, did: &str) -> Result<SigningKey, WalletError> {
        let body = self
            .store
            .get(Kind::Key, did.as_bytes())?
            .ok_or_else(|| WalletError::NotFound(format!("key {did}")))?;
        let record: KeyRecord = decode(&body)?;
        let secret = Zeroizing::new(
            URL_SAFE_NO_PAD
                .decode(record.secret.as_bytes())
                .map_err(|_| StoreError::Corrupt("key bytes".into()))?,
        );
        let alg = Algorithm::from_header(&record.alg)
            .map_err(|_| StoreError::Corrupt("key algorithm".into()))?;
        Ok(SigningKey::from_secret_bytes(alg, &secret)?)
    }

    /// An issuer backed by this wallet's root key (its DID is the issuer id).
    ///
    /// # Errors
    /// Store errors.
    pub fn issuer(&self) -> Result<Issuer, WalletError> {
        Issuer::from_did_key(self.signing_key(&self.root_did)?)
    }

    /// Issues a credential with the root key, records it in the issuance log and
    /// the audit log.
    ///
    /// # Errors
    /// As [`Issuer::issue`], and store errors.
    pub fn issue(
        &mut self,
        request: &CredentialRequest,
        now: u64,
    ) -> Result<IssuedCredential, WalletError> {
        let state = self.status_list()?;
        let index = self.free_status_index()?;
        let issued =
            self.issuer()?
                .issue_with_status(request, Some((u64::from(index), &state.uri)), now)?;
        let record = IssuedRecord {
            jti: issued.credential_id.clone(),
            vct: request.vct.clone(),
            subject: request.subject.clone(),
            issued_at: now,
            expires_at: issued.expires_at,
            status_index: Some(index),
        };
        let mut batch = Batch::default();
        let key = self.store.put(
            &mut batch,
            Kind::Issued,
            record.jti.as_bytes(),
            &encode(&record)?,
        );
        for (index_name, value) in issued_index_entries(&record) {
            self.store.index(&mut batch, index_name, &value, &key);
        }
        self.store
            .put(&mut batch, Kind::Meta, STATUS_LIST_ID, &encode(&state)?);
        let details = json!({"jti": record.jti, "vct": record.vct, "subject": record.subject, "expires_at": record.expires_at});
        audit::append(&self.store, &mut batch, now, AuditAction::Issue, details)?;
        self.store.commit(batch)?;
        Ok(issued)
    }

    /// Issues, as the principal this wallet belongs to, an approval of exactly
    /// `action` to the agent key `holder` (a did:key), valid for `lifetime_secs`: a
    /// credential of type [`crate::APPROVAL_VCT`] showing the action and its RFC 8785
    /// digest, on this wallet's status list so it can be revoked like any other.
    ///
    /// # Errors
    /// [`WalletError::InvalidRequest`] for a malformed action or a holder that is not
    /// a did:key; as [`Wallet::issue`] otherwise (the approval schema caps the
    /// lifetime at an hour).
    pub fn approve(
        &mut self,
        holder: &str,
        action: &Action,
        lifetime_secs: u64,
        now: u64,
    ) -> Result<IssuedCredential, WalletError> {
        action
            .check()
            .map_err(|error| WalletError::request(error.to_string()))?;
        let holder_key = did_key::decode(holder).map_err(|error| {
            WalletError::request(format!("the approved agent must be a did:key: {error}"))
        })?;
        let claims = json!({"action": action.to_json(), "action_digest": action.digest()});
        let request = CredentialRequest {
            vct: crate::APPROVAL_VCT.into(),
            subject: holder.to_owned(),
            holder_key,
            claims: claims.as_object().cloned().unwrap_or_default(),
            disclosable: Vec::new(),
            lifetime_secs,
            committed: Vec::new(),
        };
        self.issue(&request, now)
    }

    /// This wallet's status list (created on first use; its URI names the wallet's DID).
    fn status_list(&self) -> Result<StatusListState, WalletError> {
        match self.store.get(Kind::Meta, STATUS_LIST_ID)? {
            Some(body) => decode(&body),
            None => {
                let id = self
                    .root_did
                    .strip_prefix("did:key:")
                    .unwrap_or(&self.root_did);
                Ok(StatusListState::new(format!(
                    "urn:agentid:status-list:{id}"
                )))
            }
        }
    }

    /// The URI of this wallet's status list (the `sub` of its status list token).
    ///
    /// # Errors
    /// Store errors.
    pub fn status_list_uri(&self) -> Result<String, WalletError> {
        Ok(self.status_list()?.uri)
    }

    /// A random status list entry no issued credential uses yet.
    fn free_status_index(&self) -> Result<u32, WalletError> {
        for _ in 0..64 {
            let index = random_index();
            if self
                .store
                .lookup(BY_STATUS_INDEX, &index.to_be_bytes())?
                .is_empty()
            {
                return Ok(index);
            }
        }
        Err(WalletError::request("the status list is (nearly) full"))
    }

    /// Revokes a credential this wallet issued, by its `jti`: its status list entry
    /// becomes INVALID in every token published from now on.
    ///
    /// # Errors
    /// [`WalletError::NotFound`] for a `jti` this wallet did not issue.
    pub fn revoke(&mut self, jti: &str, now: u64) -> Result<(), WalletError> {
        let body = self
            .store
            .get(Kind::Issued, jti.as_bytes())?
            .ok_or_else(|| WalletError::NotFound(format!("issued credential {jti}")))?;
        let record: IssuedRecord = decode(&body)?;
        let index = record.status_index.ok_or_else(|| {
            WalletError::request(format!("{jti} was issued without a status entry"))
        })?;
        let mut state = self.status_list()?;
        state.revoke(index);
        let mut batch = Batch::default();
        self.store
            .put(&mut batch, Kind::Meta, STATUS_LIST_ID, &encode(&state)?);
        audit::append(
            &self.store,
            &mut batch,
            now,
            AuditAction::Revoke,
            json!({"jti": jti}),
        )?;
        self.store.commit(batch)?;
        Ok(())
    }

    /// The signed status list token of this wallet's list, valid for `ttl_secs`.
    ///
    /// # Errors
    /// Store errors.
    pub fn publish_status(&mut self, now: u64, ttl_secs: u64) -> Result<String, WalletError> {
        let state = self.status_list()?;
        let key = self.signing_key(&self.root_did)?;
        let kid = crate::did::did_key_url(key.public_key())?;
        let token = state.token(&self.root_did, &kid, &key, now, ttl_secs)?;
        let details = json!({"uri": state.uri, "revoked": state.revoked.len(), "ttl": ttl_secs});
        self.log(now, AuditAction::StatusPublish, details)?;
        Ok(token)
    }

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

    fn credential_at(&self, key: &RecordKey) -> Result<CredentialRecord, WalletError> {
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
        let record = self.credential(id)?;
        if record.expires_at.is_some_and(|exp| exp <= now) {
            return Err(WalletError::Expired(id.to_owned()));
        }
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
        let record = self.credential(id)?;
        if record.expires_at.is_some_and(|exp| exp <= now) {
            return Err(WalletError::Expired(id.to_owned()));
        }
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
        let record = self.credential(id)?;
        if record.expires_at.is_some_and(|exp| exp <= now) {
            return Err(WalletError::Expired(id.to_owned()));
        }
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

    /// Removes every credential expired at `now` and destroys the per-task keys no
    /// unexpired credential is bound to. The root key is never destroyed. Only the
    /// expiry buckets since the last purge are read.
    ///
    /// # Errors
    /// Store errors; then nothing is removed.
    pub fn purge(&mut self, now: u64) -> Result<PurgeReport, WalletError> {
        let watermark = match self.store.get(Kind::Meta, PURGE_WATERMARK_ID)? {
            Some(body) => body
                .as_slice()
                .try_into()
                .map(u64::from_be_bytes)
                .unwrap_or(0),
            None => 0,
        };
        let current_hour = now / 3600;
        let mut batch = Batch::default();
        let mut expired = Vec::new();
        for hour in watermark..=current_hour {
            for key in self.store.lookup(BY_EXPIRY_HOUR, &hour.to_be_bytes())? {
                let record = self.credential_at(&key)?;
                if record.expires_at.is_some_and(|exp| exp <= now) {
                    self.store.delete(&mut batch, &key);
                    for (index, value) in credential_index_entries(&record) {
                        self.store.unindex(&mut batch, index, &value, &key);
                    }
                    expired.push(record);
                }
            }
        }
        let removed: BTreeSet<&str> = expired.iter().map(|record| record.id.as_str()).collect();
        let mut destroyed = Vec::new();
        for holder in expired
            .iter()
            .map(|record| record.holder.as_str())
            .collect::<BTreeSet<_>>()
        {
            if holder == self.root_did {
                continue;
            }
            let still_bound = self
                .store
                .lookup(BY_HOLDER, holder.as_bytes())?
                .iter()
                .map(|key| self.credential_at(key))
                .collect::<Result<Vec<_>, _>>()?
                .iter()
                .any(|record| !removed.contains(record.id.as_str()));
            if !still_bound {
                let key = self.store.record_key(Kind::Key, holder.as_bytes());
                if self.store.get_at(&key)?.is_some() {
                    self.store.delete(&mut batch, &key);
                    destroyed.push(holder.to_owned());
                }
            }
        }
        // The current hour may still hold unexpired credentials: start there next time.
        self.store.put(
            &mut batch,
            Kind::Meta,
            PURGE_WATERMARK_ID,
            &current_hour.to_be_bytes(),
        );
        let report = PurgeReport {
            credentials: expired.len(),
            keys: destroyed.len(),
        };
        let ids: Vec<&str> = removed.iter().copied().collect();
        audit::append(
            &self.store,
            &mut batch,
            now,
            AuditAction::Purge,
            json!({"credentials": ids, "keys": destroyed}),
        )?;
        self.store.commit(batch)?;
        Ok(report)
    }

    /// Appends one audit entry on its own (for actions that change no other record).
    fn log(&self, now: u64, action: AuditAction, details: Value) -> Result<(), WalletError> {
        let mut batch = Batch::default();
        audit::append(&self.store, &mut batch, now, action, details)?;
        self.store.commit(batch)?;
        Ok(())
    }

    /// Whether a key (by DID) is still in the wallet.
    ///
    /// # Errors
    /// Store errors.
    pub fn has_key(&self, did: &str) -> Result<bool, WalletError> {
        Ok(self.store.get(Kind::Key, did.as_bytes())?.is_some())
    }

    /// Re-seals the data key under `new` passphrase; every record stays as it is.
    ///
    /// # Errors
    /// Store errors; on error the old passphrase still works.
    pub fn change_passphrase(
        &mut self,
        new: &Passphrase,
        kdf: &KdfParams,
        now: u64,
    ) -> Result<(), WalletError> {
        self.store.change_passphrase(new.bytes(), kdf)?;
        self.log(now, AuditAction::Rekey, json!({"kdf": kdf}))?;
        Ok(())
    }

    /// Verifies the audit chain; returns the number of entries.
    ///
    /// # Errors
    /// [`AuditError::Broken`] naming the first bad entry.
    pub fn audit_verify(&self) -> Result<u64, AuditError> {
        audit::verify(&self.store)
    }

    /// Every audit entry, in order.
    ///
    /// # Errors
    /// Store errors or unreadable entries.
    pub fn audit_entries(&self) -> Result<Vec<AuditEntry>, AuditError> {
        audit::entries(&self.store)
    }

    /// Writes an encrypted backup of every record to `path`, sealed under a key
    /// derived from `passphrase` (Argon2id with `kdf`).
    ///
    /// # Errors
    /// Store or I/O errors.
    pub fn export(
        &mut self,
        path: &Path,
        passphrase: &Passphrase,
        kdf: &KdfParams,
        now: u64,
    ) -> Result<usize, WalletError> {
        self.log(now, AuditAction::Export, json!({}))?;
        let count = crate::store::backup::write(&self.store, path, passphrase.bytes(), kdf)?;
        Ok(count)
    }

    /// Restores a backup written by [`export`](Self::export) into a new wallet at
    /// `dir`, sealed under `passphrase`. Indexes are rebuilt; the audit log is kept
    /// and an import entry appended. The backup's Argon2id parameters must be
    /// within the default [`KdfLimits`].
    ///
    /// # Errors
    /// [`StoreError::WrongPassphrase`] for a backup the passphrase does not open,
    /// [`StoreError::KdfAboveCeiling`] for one asking for more Argon2id work than
    /// the limits allow (both before `dir` is created),
    /// [`StoreError::AlreadyExists`] if `dir` holds files.
    pub fn import(
        dir: &Path,
        backup: &Path,
        backup_passphrase: &Passphrase,
        passphrase: &Passphrase,
        kdf: &KdfParams,
        now: u64,
    ) -> Result<Self, WalletError> {
        Self::import_with_limits(
            dir,
            backup,
            backup_passphrase,
            passphrase,
            kdf,
            &KdfLimits::DEFAULT,
            now,
        )
    }

    /// [`import`](Self::import), running Argon2id on the backup only if its
    /// parameters are within `limits`.
    ///
    /// # Errors
    /// As [`import`](Self::import).
    pub fn import_with_limits(
        dir: &Path,
        backup: &Path,
        backup_passphrase: &Passphrase,
        passphrase: &Passphrase,
        kdf: &KdfParams,
        limits: &KdfLimits,
        now: u64,
    ) -> Result<Self, WalletError> {
        let records = crate::store::backup::read(backup, backup_passphrase.bytes(), limits)?;
        let store = Store::create(dir, passphrase.bytes(), kdf)?;
        let mut batch = Batch::default();
        let mut credentials = 0usize;
        for (kind, id, body) in &records {
            let key = store.put(&mut batch, *kind, id, body);
            match kind {
                Kind::Credential => {
                    let record: CredentialRecord = decode(body)?;
                    for (index, value) in credential_index_entries(&record) {
                        store.index(&mut batch, index, &value, &key);
                    }
                    credentials += 1;
                }
                // Without its status index a restored issuer could hand a used (even
                // revoked) status entry to a new credential.
                Kind::Issued => {
                    let record: IssuedRecord = decode(body)?;
                    for (index, value) in issued_index_entries(&record) {
                        store.index(&mut batch, index, &value, &key);
                    }
                }
                _ => {}
            }
        }
        store.commit(batch)?;
        let wallet = Wallet::open_store(store)?;
        let mut batch = Batch::default();
        audit::append(
            &wallet.store,
            &mut batch,
            now,
            AuditAction::Import,
            json!({"records": records.len(), "credentials": credentials}),
        )?;
        wallet.store.commit(batch)?;
        wallet.audit_verify()?;
        Ok(wallet)
    }

    fn open_store(store: Store) -> Result<Self, WalletError> {
        let root = store
            .get(Kind::Meta, ROOT_KEY_ID)?
            .ok_or_else(|| StoreError::Corrupt("backup has no root key".into()))?;
        let root_did = String::from_utf8(root.to_vec())
            .map_err(|_| StoreError::Corrupt("root key id".into()))?;
        Ok(Wallet { store, root_did })
    }
}

fn put_key(
    store: &Store,
    batch: &mut Batch,
    key: &SigningKey,
    task: Option<&str>,
    now: u64,
) -> Result<(), WalletError> {
    let did = key.did()?;
    let record = KeyRecord {
        alg: key.algorithm().as_str().into(),
        secret: Zeroizing::new(b64url_encode(&key.expose_secret_bytes())),
        did: did.clone(),
        task: task.map(str::to_owned),
        created_at: now,
    };
    store.put(batch, Kind::Key, did.as_bytes(), &encode(&record)?);
    Ok(())
}

/// The index entries of a record of a credential this wallet issued.
fn issued_index_entries(record: &IssuedRecord) -> Vec<(&'static str, Vec<u8>)> {
    record
        .status_index
        .map(|index| (BY_STATUS_INDEX, index.to_be_bytes().to_vec()))
        .into_iter()
        .collect()
}

/// The index entries of a credential record.
fn credential_index_entries(record: &CredentialRecord) -> Vec<(&'static str, Vec<u8>)> {
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

fn encode<T: Serialize>(value: &T) -> Result<Zeroizing<Vec<u8>>, WalletError> {
    serde_json::to_vec(value)
        .map(Zeroizing::new)
        .map_err(|error| WalletError::Store(StoreError::Corrupt(error.to_string())))
}

/// Decodes a stored credential record.
pub(crate) fn decode_credential(body: &[u8]) -> Result<CredentialRecord, WalletError> {
    decode(body)
}

fn decode<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, WalletError> {
    serde_json::from_slice(body)
        .map_err(|error| WalletError::Store(StoreError::Corrupt(error.to_string())))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::schema::TASK_VCT;

    const NOW: u64 = 1_800_000_000;

    #[test]
    fn import_restores_the_status_indexes_of_issued_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let passphrase = Passphrase::new("correct horse battery staple");
        let kdf = KdfParams::MINIMUM;
        let mut issuer = Wallet::create(
            &dir.path().join("issuer"),
            &passphrase,
            &kdf,
            Algorithm::EdDSA,
            NOW,
        )
        .unwrap();
        let holder = SigningKey::generate(Algorithm::EdDSA);
        let claims = json!({
            "task": {"id": "T-1", "purpose": "p"},
            "scope": ["refunds:write"],
            "on_behalf_of": "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
        });
        let issued = issuer
            .issue(
                &CredentialRequest {
                    vct: TASK_VCT.into(),
                    subject: holder.did().unwrap(),
                    holder_key: holder.public_key().clone(),
                    claims: claims.as_object().cloned().unwrap(),
                    disclosable: vec![],
                    lifetime_secs: 600,
                    committed: vec![],
                },
                NOW,
            )
            .unwrap();
        let backup = dir.path().join("backup");
        issuer.export(&backup, &passphrase, &kdf, NOW).unwrap();
        drop(issuer);
        let restored = Wallet::import(
            &dir.path().join("restored"),
            &backup,
            &passphrase,
            &passphrase,
            &kdf,
            NOW,
        )
        .unwrap();
        let record: IssuedRecord = decode(
            &restored
                .store
                .get(Kind::Issued, issued.credential_id.as_bytes())
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        let index = record.status_index.unwrap();
        assert_eq!(
            restored
                .store
                .lookup(BY_STATUS_INDEX, &index.to_be_bytes())
                .unwrap()
                .len(),
            1,
            "the used entry is known after the restore, so it is never handed out again"
        );
    }
}
