//! The agent's wallet: keys and credentials in the encrypted store, the holder and
//! issuer roles on top of them, and an audit entry for every action.
//!
//! This file holds the [`Wallet`] type and what belongs to no one role: creating,
//! opening and restoring a wallet, its signing keys, its passphrase, its audit log,
//! backups and purging. Each role is an `impl Wallet` of its own, in a child module
//! (so it sees the wallet's private store), next to the records and indexes only it
//! uses: `issuing` what the wallet issues and its status list, `holding` the
//! credentials it holds and presents.

use std::collections::BTreeSet;
use std::path::Path;

use agentid_verifier::{b64url_encode, Algorithm};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::audit::{self, AuditAction, AuditEntry, AuditError};
use crate::error::WalletError;
use crate::keys::SigningKey;
use crate::store::{Batch, KdfLimits, KdfParams, Kind, Store, StoreError};

mod holding;
mod issuing;

use holding::{credential_index_entries, CredentialRecord, BY_EXPIRY_HOUR, BY_HOLDER};
pub(crate) use holding::{decode_credential, root_segment};
pub use holding::{CredentialDetails, CredentialSummary};
use issuing::{issued_index_entries, IssuedRecord};

/// Meta records.
const ROOT_KEY_ID: &[u8] = b"root-key";
const PURGE_WATERMARK_ID: &[u8] = b"purge-watermark";

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

fn encode<T: Serialize>(value: &T) -> Result<Zeroizing<Vec<u8>>, WalletError> {
    serde_json::to_vec(value)
        .map(Zeroizing::new)
        .map_err(|error| WalletError::Store(StoreError::Corrupt(error.to_string())))
}

fn decode<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, WalletError> {
    serde_json::from_slice(body)
        .map_err(|error| WalletError::Store(StoreError::Corrupt(error.to_string())))
}
